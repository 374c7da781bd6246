"""Turn a parsed TFLite graph into a list of C kernel calls with constant arrays.

Reshape-like ops (RESHAPE, EXPAND_DIMS, SQUEEZE) become aliases: the output shares the
input's storage. Shape-computing side chains (SHAPE, STRIDED_SLICE, PACK feeding a
RESHAPE's shape input) are dead code for static shapes and are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tinyml_autopilot.cruntime.errors import (
    DYNAMIC_BATCH_HINT,
    DYNAMIC_BATCH_OPS,
    MalformedModelError,
    UnsupportedOpError,
)
from tinyml_autopilot.cruntime.ops import LOWERINGS, ConstArray, Ctx, lower_copy, same_quant
from tinyml_autopilot.cruntime.parser import Graph, Operator
from tinyml_autopilot.errors import UserError

ALIAS_OPS = {"RESHAPE", "EXPAND_DIMS", "SQUEEZE"}


@dataclass
class Step:
    opcode: str
    kernel: str  # kernel snippet name (templates/k_<kernel>.c)
    call: str  # C statement with {in} / {out} placeholders
    reads: int  # tensor index
    writes: int  # tensor index


@dataclass
class Lowered:
    graph: Graph
    input: int
    output: int
    steps: list[Step]
    aliases: dict[int, int]  # tensor -> representative tensor sharing its storage
    ops: list[str]
    arrays: list[ConstArray] = field(default_factory=list)


def _data_inputs(g: Graph, op: Operator) -> list[int]:
    idx = op.inputs[:1] if op.opcode in ALIAS_OPS else op.inputs
    return [i for i in idx if i >= 0 and not g.tensors[i].is_const]


def _edges(g: Graph) -> tuple[int, int, set[int]]:
    """Model input/output int8 tensors, and the float edge ops to drop."""
    if len(g.inputs) != 1 or len(g.outputs) != 1:
        raise UserError(f"the C runtime needs one input and one output, model has "
                        f"{len(g.inputs)} and {len(g.outputs)}")
    inp, out, dropped = g.inputs[0], g.outputs[0], set()
    if g.tensors[inp].dtype == "float32":
        users = [i for i, op in enumerate(g.operators) if inp in op.inputs]
        op = g.operators[users[0]] if len(users) == 1 else None
        if op is None or op.opcode != "QUANTIZE" or g.tensors[op.outputs[0]].dtype != "int8":
            raise UserError("model input is float32 without a QUANTIZE edge: convert with full "
                            "int8 quantization (inference_input_type=tf.int8)")
        dropped.add(users[0])
        inp = op.outputs[0]
    if g.tensors[out].dtype == "float32":
        prods = [i for i, op in enumerate(g.operators) if out in op.outputs]
        op = g.operators[prods[0]] if prods else None
        if op is None or op.opcode != "DEQUANTIZE" or g.tensors[op.inputs[0]].dtype != "int8":
            raise UserError("model output is float32 without a DEQUANTIZE edge: convert with "
                            "full int8 quantization (inference_output_type=tf.int8)")
        dropped.add(prods[0])
        out = op.inputs[0]
    for t in (inp, out):
        if g.tensors[t].dtype != "int8":
            raise UserError(f"model edge tensor is {g.tensors[t].dtype}; the C runtime is int8 only")
    return inp, out, dropped


def _live_ops(g: Graph, inp: int, out: int, dropped: set[int]) -> list[int]:
    producer = {t: i for i, op in enumerate(g.operators) if i not in dropped for t in op.outputs}
    live, todo = set(), [out]
    while todo:
        t = todo.pop()
        i = producer.get(t)
        if t == inp or i is None or i in live:
            continue
        live.add(i)
        todo.extend(_data_inputs(g, g.operators[i]))
    return sorted(live)


def _find(aliases: dict[int, int], t: int) -> int:
    while aliases.get(t, t) != t:
        t = aliases[t]
    return t


def _lower_op(c: Ctx, op: Operator, inp: int, out: int, steps: list[Step],
              aliases: dict[int, int]) -> None:
    """Append the op's kernel call to `steps`, or record a reshape-like op as an alias."""
    g = c.g
    if len(op.outputs) != 1 or not _data_inputs(g, op):
        raise UnsupportedOpError(op.opcode, "needs one activation input and one output")
    src, dst = _data_inputs(g, op)[0], op.outputs[0]
    if op.opcode in ALIAS_OPS:
        if c.t(src).size != c.t(dst).size:  # only a shape computed at run time does this
            raise UnsupportedOpError(op.opcode, f"{list(c.t(src).shape)} to {list(c.t(dst).shape)} "
                                                "changes the number of values")
        root = _find(aliases, src)
        io = {root, dst} & {inp, out}
        if same_quant(c.t(src), c.t(dst)) and len(io) < 2 and c.t(dst).dtype == "int8":
            aliases[dst] = root
            return
        steps.append(Step(op.opcode, "copy", lower_copy(c, op), src, dst))
        return
    kernel, fn = LOWERINGS[op.opcode]
    c.tag = f"{op.opcode.lower()}_{len(steps)}"
    steps.append(Step(op.opcode, kernel, fn(c, op), src, dst))


def lower(g: Graph, prefix: str) -> Lowered:
    try:
        return _lower(g, prefix)
    except (KeyError, ValueError, IndexError, TypeError, ZeroDivisionError) as exc:
        raise MalformedModelError(f"cannot read the model's graph: {type(exc).__name__}: {exc}") from exc


def _lower(g: Graph, prefix: str) -> Lowered:
    inp, out, dropped = _edges(g)
    live = _live_ops(g, inp, out, dropped)
    bad = [g.operators[i].opcode for i in live
           if g.operators[i].opcode not in LOWERINGS and g.operators[i].opcode not in ALIAS_OPS]
    hint = DYNAMIC_BATCH_HINT if DYNAMIC_BATCH_OPS & {op.opcode for op in g.operators} else ""
    if bad:
        names = list(dict.fromkeys(bad))
        raise UnsupportedOpError(names[0], also=tuple(names[1:]), hint=hint)
    c, steps, aliases = Ctx(g, prefix), [], {}
    for i in live:
        op = g.operators[i]
        c.opcode = op.opcode
        try:
            _lower_op(c, op, inp, out, steps, aliases)
        except UnsupportedOpError as err:
            if not hint:
                raise
            raise err.with_hint(hint) from None
        except (KeyError, ValueError, IndexError, TypeError, ZeroDivisionError) as exc:
            raise MalformedModelError(f"cannot read operator {i} ({op.opcode}) of the model: "
                                      f"{type(exc).__name__}: {exc}") from exc
    ops = [g.operators[i].opcode for i in live]
    if not steps:  # the model is a pure reshape from input to output
        steps.append(Step("RESHAPE", "copy", f"copy_s8({{in}}, {{out}}, {g.tensors[out].size});",
                          inp, out))
    return Lowered(g, inp, out, steps, aliases, ops, c.arrays)
