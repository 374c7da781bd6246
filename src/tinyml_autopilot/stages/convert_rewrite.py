"""Rewrite shape-only ops a TFLite Micro library has no kernel for into RESHAPE, on the .tflite flatbuffer.

EXPAND_DIMS and SQUEEZE only relabel the dimensions of their input's bytes; with a static output shape and
the same type and quantization on both sides, RESHAPE to that shape computes the same bytes. Keras Conv1D
converts to EXPAND_DIMS + CONV_2D, and TFLite Micro 2.4 (Harvard_TinyMLx) has no EXPAND_DIMS kernel.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..cruntime.parser import load_schema, op_names

REWRITABLE = ("EXPAND_DIMS", "SQUEEZE")  # -> RESHAPE
EFFECTS = ("ASSIGN_VARIABLE", "VAR_HANDLE", "READ_VARIABLE", "CALL_ONCE", "WHILE", "IF", "CUSTOM")
BUFFER_ALIGNMENT = 16  # TFLite Micro reads weights in place: aligned for any type a kernel reads them as


class NotEquivalent(Exception):
    """An op that cannot become RESHAPE without changing what the model computes."""


@dataclass
class Rewritten:
    content: bytes
    counts: dict[str, int]  # what changed ("EXPAND_DIMS -> RESHAPE") -> how many times


def _model_op_names(schema: Any, model: Any) -> list[str]:
    """The name of each of the model's operator codes, by index."""
    table = op_names(schema)
    values = [max(int(code.builtinCode), int(code.deprecatedBuiltinCode)) for code in model.operatorCodes]
    return [table.get(value, f"OP_{value}") for value in values]


def _quant(tensor: Any) -> tuple:
    q = tensor.quantization
    if q is None:
        return ((), ())
    scale = () if q.scale is None else tuple(float(s) for s in q.scale)
    zero = () if q.zeroPoint is None else tuple(int(z) for z in q.zeroPoint)
    return scale, zero


def _static_shape(op: str, inp: Any, out: Any) -> list[int]:
    """The shape RESHAPE must produce (one -1, e.g. an open batch, is computed from the input's size as
    EXPAND_DIMS / SQUEEZE would), or NotEquivalent with the reason."""
    shape = [int(n) for n in (out.shape if out.shape is not None else [])]
    signature = [int(n) for n in out.shapeSignature] if out.shapeSignature is not None else []
    signature = signature or shape
    if len(signature) != len(shape) or any(n < 0 for n in shape) or sum(n < 0 for n in signature) > 1:
        raise NotEquivalent(f"{op} output {out.name.decode(errors='replace')} has a dynamic shape {signature}")
    if inp.type != out.type or _quant(inp) != _quant(out):
        raise NotEquivalent(f"{op} changes the type or quantization of {inp.name.decode(errors='replace')}")
    in_size = int(np.prod([int(n) for n in inp.shape])) if inp.shape is not None else 1
    if in_size != int(np.prod(shape)):
        raise NotEquivalent(f"{op} output has {int(np.prod(shape))} values, its input {in_size}")
    return signature


class _AlignedBuffer:
    """A BufferT whose data vector starts on a 16-byte boundary (the object API aligns to 1)."""

    def __init__(self, schema: Any, buffer: Any):
        self.schema, self.buffer = schema, buffer

    def Pack(self, builder: Any) -> int:  # noqa: N802 - the object API's name
        s, buf, data = self.schema, self.buffer, None
        if buf.data is not None:
            payload = bytes(np.asarray(buf.data, dtype=np.uint8))
            builder.StartVector(1, len(payload), BUFFER_ALIGNMENT)
            builder.head -= len(payload)
            builder.Bytes[builder.head:builder.head + len(payload)] = payload
            data = builder.EndVector()
        s.BufferStart(builder)
        if data is not None:
            s.BufferAddData(builder, data)
        s.BufferAddOffset(builder, buf.offset)
        s.BufferAddSize(builder, buf.size)
        return s.BufferEnd(builder)


def rewrite_to_reshape(content: bytes, ops: set[str], fold_shapes: bool = False) -> Rewritten:
    """Every EXPAND_DIMS / SQUEEZE named in `ops` becomes RESHAPE to its static output shape; with
    `fold_shapes`, a RESHAPE whose shape is computed at run time (SHAPE -> STRIDED_SLICE -> PACK, from an
    open batch dimension) gets that shape as a constant, and the ops that computed it go.

    The shape goes in an int32 constant (LiteRT reads it) and in ReshapeOptions; TFLite Micro 2.4 takes
    the output tensor's shape, which the rewrite leaves as it was. NotEquivalent when an op cannot."""
    schema = load_schema()
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(bytearray(content), 0))
    if any(b.offset for b in model.buffers or []):
        raise NotEquivalent("the model keeps its weights outside the flatbuffer (a model over 2 GB)")
    names = _model_op_names(schema, model)
    counts: Counter[str] = Counter()
    reshape = _opcode(schema, model, names, "RESHAPE")
    for graph in model.subgraphs:
        shapes: dict[tuple[int, ...], int] = {}  # one shape constant per distinct shape
        for op in graph.operators:
            name = names[op.opcodeIndex]
            folds = fold_shapes and name == "RESHAPE" and len(op.inputs) > 1 and op.inputs[1] >= 0 \
                and not _is_constant(model, graph, op.inputs[1])
            if not folds and (name not in ops or name not in REWRITABLE):
                continue
            inp, out = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
            if name == "EXPAND_DIMS" and not _is_constant(model, graph, op.inputs[1]):
                raise NotEquivalent("EXPAND_DIMS takes its axis from a computed tensor, not a constant")
            shape = _static_shape(name, inp, out)
            if name == "EXPAND_DIMS" and _owned(model, graph, op.inputs[1]):  # the axis becomes the shape
                constant = _set_shape(schema, model, graph.tensors[op.inputs[1]], shape)
            else:
                if tuple(shape) not in shapes:
                    shapes[tuple(shape)] = _shape_constant(schema, model, graph, shape, out.name)
                constant = shapes[tuple(shape)]
            op.opcodeIndex, op.inputs = reshape, [op.inputs[0], constant]
            options = schema.ReshapeOptionsT()
            options.newShape = shape
            op.builtinOptionsType, op.builtinOptions = schema.BuiltinOptions.ReshapeOptions, options
            counts["RESHAPE shape computed at run time -> constant" if folds else f"{name} -> RESHAPE"] += 1
        for dead in _drop_dead_ops(graph, names) if fold_shapes else []:
            counts[f"{names[dead.opcodeIndex]} removed (its output no longer used)"] += 1
    _drop_unused_opcodes(model)
    _drop_unused_tensors(model)
    model.buffers = [_AlignedBuffer(schema, b) for b in model.buffers]
    import flatbuffers

    builder = flatbuffers.Builder(len(content) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return Rewritten(bytes(builder.Output()), dict(counts))


def computed_shape_ops(content: bytes) -> list[str]:
    """The ops that compute a RESHAPE's shape at run time (int32 arithmetic, e.g. SHAPE -> STRIDED_SLICE)."""
    schema = load_schema()
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(bytearray(content), 0))
    names = _model_op_names(schema, model)
    found: list[str] = []
    for graph in model.subgraphs:
        producer = {t: op for op in graph.operators for t in _ints(op.outputs)}
        todo = [op.inputs[1] for op in graph.operators if names[op.opcodeIndex] == "RESHAPE"
                and len(op.inputs) > 1 and op.inputs[1] >= 0 and not _is_constant(model, graph, op.inputs[1])]
        seen: set[int] = set()
        while todo:
            op = producer.get(todo.pop())
            if op is None or id(op) in seen:
                continue
            seen.add(id(op))
            found.append(names[op.opcodeIndex])
            if names[op.opcodeIndex] != "SHAPE":  # SHAPE reads only its input's dimensions
                todo += [t for t in _ints(op.inputs) if t >= 0 and graph.tensors[t].type == schema.TensorType.INT32]
    return sorted(set(found))


def _ints(values: Any) -> list[int]:
    return [] if values is None else [int(v) for v in values]


def _drop_dead_ops(graph: Any, names: list[str]) -> list[Any]:
    """Remove ops none of whose outputs is read (by an op or as a graph output), until none is left;
    never one that acts beyond its outputs (variables, control flow, custom ops)."""
    removed = []
    while True:
        read = {t for op in graph.operators for t in _ints(op.inputs)} | set(_ints(graph.outputs))
        dead = [op for op in graph.operators if _ints(op.outputs) and not set(_ints(op.outputs)) & read
                and names[op.opcodeIndex] not in EFFECTS]
        if not dead:
            return removed
        removed += dead
        graph.operators = [op for op in graph.operators if all(op is not d for d in dead)]


def _opcode(schema: Any, model: Any, names: list[str], op: str) -> int:
    if op in names:
        return names.index(op)
    code = schema.OperatorCodeT()
    value = getattr(schema.BuiltinOperator, op)
    code.builtinCode, code.deprecatedBuiltinCode, code.version = value, min(value, 127), 1
    model.operatorCodes.append(code)
    names.append(op)
    return len(names) - 1


def _is_constant(model: Any, graph: Any, index: int) -> bool:
    if index < 0:
        return False
    buffer = model.buffers[graph.tensors[index].buffer]
    return buffer.data is not None and len(buffer.data) > 0


def _owned(model: Any, graph: Any, index: int) -> bool:
    """True when only one op reads the tensor and no other tensor shares its buffer (a new tensor would
    cost TFLite Micro arena bytes; this one can be reused)."""
    readers = sum(op.inputs.count(index) if isinstance(op.inputs, list) else list(op.inputs).count(index)
                  for g in model.subgraphs for op in g.operators)
    buffer = graph.tensors[index].buffer
    sharing = sum(t.buffer == buffer for g in model.subgraphs for t in g.tensors)
    io = index in [*list(graph.inputs), *list(graph.outputs)]
    return readers == 1 and sharing == 1 and not io


def _set_shape(schema: Any, model: Any, tensor: Any, shape: list[int]) -> int:
    """Make `tensor` the int32 constant `shape`; returns its index in the graph (found by identity)."""
    model.buffers[tensor.buffer].data = np.frombuffer(np.asarray(shape, dtype="<i4").tobytes(), dtype=np.uint8)
    tensor.shape, tensor.shapeSignature, tensor.type = [len(shape)], None, schema.TensorType.INT32
    tensor.quantization = None
    return next(i for g in model.subgraphs for i, t in enumerate(g.tensors) if t is tensor)


def _shape_constant(schema: Any, model: Any, graph: Any, shape: list[int], out_name: bytes) -> int:
    buffer = schema.BufferT()
    model.buffers.append(buffer)
    tensor = schema.TensorT()
    tensor.buffer, tensor.name = len(model.buffers) - 1, out_name + b"/reshape_shape"
    graph.tensors.append(tensor)
    _set_shape(schema, model, tensor, shape)
    return len(graph.tensors) - 1


def _drop_unused_tensors(model: Any) -> None:
    """Tensors no op reads or writes go (TFLite Micro 2.4's memory planner fails on an activation tensor
    without a lifetime), and so do buffers no tensor or metadata entry points to; indices are renumbered."""
    for number, graph in enumerate(model.subgraphs):
        used = sorted({t for op in graph.operators for t in [*_ints(op.inputs), *_ints(op.outputs)] if t >= 0}
                      | set(_ints(graph.inputs)) | set(_ints(graph.outputs)))
        remap = {old: new for new, old in enumerate(used)}
        graph.tensors = [graph.tensors[i] for i in used]
        for op in graph.operators:
            op.inputs = [remap[t] if t >= 0 else t for t in _ints(op.inputs)]
            op.outputs = [remap[t] for t in _ints(op.outputs)]
            if op.intermediates is not None:
                op.intermediates = [remap[t] for t in _ints(op.intermediates) if t in remap]
        graph.inputs, graph.outputs = [remap[t] for t in _ints(graph.inputs)], [remap[t] for t in _ints(graph.outputs)]
        for signature in model.signatureDefs or []:
            if signature.subgraphIndex == number:
                for entry in [*(signature.inputs or []), *(signature.outputs or [])]:
                    entry.tensorIndex = remap[entry.tensorIndex]
    kept = sorted({0} | {t.buffer for g in model.subgraphs for t in g.tensors}
                  | {m.buffer for m in model.metadata or []} | set(_ints(model.metadataBuffer)))
    renumber = {old: new for new, old in enumerate(kept)}
    model.buffers = [model.buffers[i] for i in kept]
    for tensor in (t for g in model.subgraphs for t in g.tensors):
        tensor.buffer = renumber[tensor.buffer]
    for entry in model.metadata or []:
        entry.buffer = renumber[entry.buffer]
    if model.metadataBuffer is not None:
        model.metadataBuffer = [renumber[b] for b in _ints(model.metadataBuffer)]


def _drop_unused_opcodes(model: Any) -> None:
    used = sorted({op.opcodeIndex for g in model.subgraphs for op in g.operators})
    remap = {old: new for new, old in enumerate(used)}
    model.operatorCodes = [model.operatorCodes[i] for i in used]
    for graph in model.subgraphs:
        for op in graph.operators:
            op.opcodeIndex = remap[op.opcodeIndex]
