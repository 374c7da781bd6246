"""Resource checks of a sketch: ops registered, resolver size, tensor arena, flash and RAM budget."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..loop import Finding
from . import sketch_api as api
from .sketch_source import call_args

if TYPE_CHECKING:
    from .sketch_contract import Context, Result

TFLM_FLASH_BYTES = 60_000  # interpreter + a few kernels on Cortex-M, a planning figure


def _f(check: str, message: str, lines: list[int] | None = None) -> Finding:
    return Finding(check=check, message=message, lines=lines or [])


def _registered(ctx: Context) -> tuple[list[str], bool]:
    code = ctx.sketch.code
    adds = re.findall(r"(?:\.|->)\s*(Add(?!Builtin\b)[A-Z]\w*)\s*\(", code)
    adds += ["Add" + "".join(w if w[0].isdigit() else w.capitalize() for w in m.split("_"))
             for m in re.findall(r"AddBuiltin\s*\(\s*(?:tflite::)?BuiltinOperator_(\w+)", code)]
    return adds, bool(re.search(r"\bAllOpsResolver\b", code))


def check_ops(ctx: Context) -> Result:
    if ctx.runtime != "tflm":
        return None
    adds, all_ops = _registered(ctx)
    methods = set(adds)
    found = []
    if not adds and not all_ops:
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


def check_resolver_count(ctx: Context) -> Result:
    if ctx.runtime != "tflm":
        return None
    s = ctx.sketch
    decls = list(re.finditer(r"MicroMutableOpResolver\s*<\s*([^>]*)>", s.code))
    if not decls:
        return None
    adds, _ = _registered(ctx)
    found = []
    for m in decls:
        n = s.eval(m.group(1))
        lines = s.lines(re.escape(m.group(0)))
        if n is None:
            found.append(_f("resolver_count", f"cannot evaluate the resolver size '{m.group(1)}': use a "
                                              "constant", lines))
        elif n < len(adds):
            found.append(_f("resolver_count", f"MicroMutableOpResolver<{m.group(1).strip()}> holds {int(n)} ops "
                                              f"but {len(adds)} are added: use <{len(adds)}>", lines))
        elif n > len(adds):
            ctx.notes.append(f"MicroMutableOpResolver<{int(n)}> has room for {int(n) - len(adds)} unused ops")
    dupes = sorted({m for m in adds if adds.count(m) > 1})
    if dupes:
        found.append(_f("resolver_count", f"added twice (the second Add fails at run time): {', '.join(dupes)}"))
    return found, f"resolver sized for its {len(adds)} ops"


def check_arena(ctx: Context) -> Result:
    if ctx.runtime != "tflm":
        return None  # the portable C runtime plans its own static arena (checked under budget)
    s = ctx.sketch
    need = ctx.facts.arena_bytes
    for _pos, args in call_args(s.code, r"\bMicroInterpreter\s*(?:\w+)?"):
        if len(args) < 4:
            continue
        size = s.eval(args[3])
        lines = s.lines(r"\bMicroInterpreter\b")
        if size is None:
            return [_f("arena_size", f"cannot evaluate the arena size '{args[3]}': declare it as a constant "
                                     "(e.g. constexpr int kTensorArenaSize = 8 * 1024;)", lines)], ""
        arena = re.sub(r"[&\s]|\[0\]", "", args[2])
        declared = s.consts.get(f"__sizeof_{arena}")
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
