"""Resource checks of a sketch: ops registered, resolver size, tensor arena, flash and RAM budget."""

from __future__ import annotations

import re

from . import libraries as api
from .cpp import text, walk
from .types import Context, Result, finding
from .units import Call, Decl

TFLM_FLASH_BYTES = 60_000  # interpreter + a few kernels on Cortex-M, a planning figure


_f = finding


def _resolvers(ctx: Context) -> dict[tuple[str, str], Decl]:
    """(scope, name) -> declaration of each MicroMutableOpResolver object."""
    return {(d.scope, d.name): d for d in ctx.sketch.decls if "MicroMutableOpResolver" in d.type and not d.pointer}


def _owner(ctx: Context, call: Call, resolvers: dict[tuple[str, str], Decl]) -> tuple[str, str]:
    """The resolver a method call is made on: the object's declaration in the call's function, else at
    file scope; a pointer or reference to a resolver counts as that resolver."""
    name = re.sub(r"[\s*&()]", "", call.obj or "")
    for key in ((call.scope, name), ("", name)):
        if key in resolvers:
            return key
    for d in ctx.sketch.decls:  # a pointer to the resolver: `resolver = &micro_op_resolver`
        if d.name == name and d.pointer and d.value is not None:
            target = re.sub(r"[\s*&()]", "", text(d.value))
            for key in ((d.scope, target), ("", target)):
                if key in resolvers:
                    return key
    return ("?", name)


def _registered(ctx: Context) -> tuple[dict[tuple[str, str], list[str]], bool]:
    """Methods added per resolver object, and whether an AllOpsResolver is used."""
    resolvers = _resolvers(ctx)
    adds: dict[tuple[str, str], list[str]] = {}
    for c in ctx.sketch.calls:
        if c.kind != "call" or c.obj is None or not re.fullmatch(r"Add[A-Z]\w*", c.name):
            continue
        method = c.name
        if method == "AddBuiltin":
            m = re.search(r"BuiltinOperator_(\w+)", c.arg_texts[0] if c.args else "")
            if not m:
                continue
            method = "Add" + "".join(w if w[0].isdigit() else w.capitalize() for w in m.group(1).split("_"))
        adds.setdefault(_owner(ctx, c, resolvers), []).append(method)
    return adds, ctx.sketch.uses("AllOpsResolver")


def check_ops(ctx: Context) -> Result:
    if ctx.runtime != "tflm":
        return None
    per, all_ops = _registered(ctx)
    methods = {m for ms in per.values() for m in ms}
    found = []
    if not methods and not all_ops:
        found.append(_f("ops_registered", "no op resolver: declare tflite::MicroMutableOpResolver<"
                                          f"{len(ctx.facts.ops)}> and add {_method_list(ctx.facts.ops)}"))
        return found, ""
    if not all_ops:
        for op in ctx.facts.ops:
            if api.resolver_method(op) not in methods:
                found.append(_f("ops_registered", f"the model uses {op} but {api.resolver_method(op)}() is "
                                                  "never called on the resolver"))
    for op in ctx.facts.tflm_unsupported:
        found.append(_f("ops_registered", f"the model uses {op}, which TFLite Micro has no kernel for"))
    extra = sorted(methods - {api.resolver_method(o) for o in ctx.facts.ops})
    if extra:
        ctx.notes.append(f"ops registered but not in the model: {', '.join(extra)}")
    return found, f"all {len(ctx.facts.ops)} model ops registered ({', '.join(ctx.facts.ops)})"


def _method_list(ops: list[str]) -> str:
    return ", ".join(api.resolver_method(o) + "()" for o in ops)


def _template_size(d: Decl):
    type_node = d.node.child_by_field_name("type") if d.node is not None else None
    for n in walk(type_node) if type_node is not None else []:
        if n.type == "template_argument_list":
            return n.named_children[0] if n.named_child_count else None
    return None


def check_resolver_count(ctx: Context) -> Result:
    if ctx.runtime != "tflm":
        return None
    s = ctx.sketch
    resolvers = _resolvers(ctx)
    if not resolvers:
        return None
    per, _ = _registered(ctx)
    found = []
    for key, d in resolvers.items():
        adds = per.get(key, [])
        arg = _template_size(d)
        n = s.eval(arg) if arg is not None else None
        lines = [d.line] if d.file == s.main else []
        where = f" in {key[0]}()" if key[0] else ""
        if arg is not None and n is None:
            ctx.notes.append(f"the size of resolver {d.name}{where} ('{text(arg)}') is not a constant the checks "
                             "can tell; the compiler will")
        elif n is not None and n < len(adds):
            found.append(_f("resolver_count", f"MicroMutableOpResolver<{text(arg)}> holds {int(n)} ops but "
                                              f"{len(adds)} are added to {d.name}{where}: use <{len(adds)}>", lines))
        elif n is not None and n > len(adds):
            ctx.notes.append(f"MicroMutableOpResolver<{int(n)}> {d.name}{where} has room for {int(n) - len(adds)} "
                             "unused ops")
        dupes = sorted({m for m in adds if adds.count(m) > 1})
        if dupes:
            found.append(_f("resolver_count", f"{d.name}{where}: added twice (the second Add fails at run time): "
                                              f"{', '.join(dupes)}", lines))
    total = sum(len(v) for v in per.values())
    return found, f"resolver sized for its {total} ops"


def _value(s, node) -> float | None:
    """A constant, or the initial value of the variable the node names (sizes are set once)."""
    v = s.eval(node)
    if v is None and node is not None and node.type in ("identifier", "qualified_identifier"):
        d = next((d for d in s.decls if d.name == text(node).split("::")[-1] and d.value is not None), None)
        v = s.eval(d.value) if d is not None else None
    return v


def check_arena(ctx: Context) -> Result:
    if ctx.runtime != "tflm":
        return None  # the portable C runtime plans its own static arena (checked under budget)
    s = ctx.sketch
    need = ctx.facts.arena_bytes
    for c in s.calls_named("MicroInterpreter"):
        if len(c.args) < 4:
            continue
        lines = [c.line] if c.file == s.main else []
        arena_node, size_node = c.args[2], c.args[3]
        arena = re.sub(r"[&\s]|\[0\]|\(.*?\)", "", text(arena_node))
        size = _value(s, size_node)
        if size is None and _value(s, arena_node) is not None and arena_node.type != "number_literal" \
                and re.sub(r"[&\s]|\[0\]", "", text(size_node)) in s.env.sizes:
            return [_f("arena_size", f"the buffer and size arguments are swapped: MicroInterpreter(model, resolver, "
                                     f"{text(size_node)}, {text(arena_node)}, ...) takes the arena before its size",
                       lines)], ""
        if size is None:
            ctx.notes.append(f"the arena size '{text(size_node)}' is not a constant the checks can tell")
            return [], "arena size not known statically"
        declared = s.env.sizes.get(arena)
        if declared is not None and declared < size:
            return [_f("arena_size", f"the arena array {arena} has {int(declared)} bytes but the interpreter is "
                                     f"told {int(size)}", lines)], ""
        if need and size < need:
            return [_f("arena_size", f"tensor arena is {int(size)} bytes but the model needs {need} (measured): "
                                     f"use {ctx.facts.arena_with_margin}", lines)], ""
        if size > ctx.board.ram_bytes:
            return [_f("arena_size", f"tensor arena of {int(size)} bytes exceeds the RAM of {ctx.board.name} "
                                     f"({ctx.board.ram_bytes} bytes)", lines)], ""
        return [], f"arena {int(size)} bytes >= measured {need}" if need else f"arena {int(size)} bytes"
    return None


def check_budget(ctx: Context) -> Result:
    f, b, consts = ctx.facts, ctx.board, ctx.sketch.consts
    if ctx.runtime == "tflm":
        what, flash_need = "model + TFLite Micro", f.model_bytes + TFLM_FLASH_BYTES
    else:  # the portable C runtime keeps only the weights (MODEL_WEIGHTS_BYTES of model.h) in flash
        what, flash_need = "model weights", int(consts.get("MODEL_WEIGHTS_BYTES", f.model_bytes))
    if flash_need > b.flash_bytes:
        return [_f("budget", f"the {what} need {flash_need} B of flash but {b.name} has {b.flash_bytes} B")], ""
    arena = consts.get("MODEL_ARENA_BYTES") if ctx.runtime != "tflm" else None
    if arena is not None and arena > 0.75 * b.ram_bytes:
        return [_f("budget", f"the model's activations need {int(arena)} B of {b.name}'s {b.ram_bytes} B RAM: "
                             "too little is left for the sketch and the stack; train a smaller model")], ""
    ram = f"; activations {int(arena)} B of {b.ram_bytes} B RAM" if arena is not None else ""
    return [], f"{what} ~{flash_need} B of {b.flash_bytes} B flash{ram}"
