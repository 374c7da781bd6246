"""Read a .tflite flatbuffer into plain Python objects (no TensorFlow import).

The generated flatbuffer bindings come from a package that ships them: ai-edge-litert,
tflite-micro or the `tflite` package, tried in that order. Each imports in about 0.1 s.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from tinyml_autopilot.errors import UserError

_SCHEMA_MODULES = (
    "ai_edge_litert.schema_py_generated",
    "tflite_micro.tensorflow.lite.micro.python.schema_py_generated",
    "tflite",
)

# TensorType enum values from the TFLite schema.
DTYPES: dict[int, str] = {0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64",
                          6: "bool", 7: "int16", 9: "int8", 10: "float64", 12: "uint64", 15: "uint32",
                          16: "uint16", 17: "int4"}
_PACKED = {"int4"}  # no numpy dtype: constant contents kept as raw bytes


@dataclass
class Tensor:
    index: int
    name: str
    dtype: str
    shape: tuple[int, ...]
    scale: np.ndarray  # float32, empty if not quantized
    zero_point: np.ndarray  # int64
    quantized_dimension: int
    data: np.ndarray | None  # constant contents, None for activations

    @property
    def size(self) -> int:
        return int(np.prod(self.shape)) if self.shape else 1

    @property
    def is_const(self) -> bool:
        return self.data is not None


@dataclass
class Operator:
    opcode: str
    inputs: list[int]  # -1 means an omitted optional input
    outputs: list[int]
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Graph:
    tensors: list[Tensor]
    operators: list[Operator]
    inputs: list[int]
    outputs: list[int]


def load_schema() -> ModuleType:
    for name in _SCHEMA_MODULES:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise UserError("reading .tflite files needs one of: ai-edge-litert, tflite-micro, tflite "
                    "(pip install ai-edge-litert)")


def op_names(schema: ModuleType) -> dict[int, str]:
    """BuiltinOperator value -> name ("CONV_2D")."""
    enum = schema.BuiltinOperator
    return {v: k for k, v in vars(enum).items() if not k.startswith("_") and isinstance(v, int)}


def _options(schema: ModuleType, op: Any) -> dict[str, Any]:
    table = op.BuiltinOptions()
    if table is None:
        return {}
    types = {v: k for k, v in vars(schema.BuiltinOptions).items() if isinstance(v, int)}
    cls_name = types.get(op.BuiltinOptionsType())
    cls = getattr(schema, cls_name, None) if cls_name else None
    if cls is None:
        return {}
    obj = cls()
    obj.Init(table.Bytes, table.Pos)
    out: dict[str, Any] = {}
    for attr in dir(cls):
        if attr.startswith("_") or attr in ("Init", "GetRootAs") or attr.startswith("GetRootAs"):
            continue
        if attr.endswith(("AsNumpy", "Length", "IsNone")) or "BufferHasIdentifier" in attr:
            continue
        try:
            out[attr] = getattr(obj, attr)()
        except TypeError:
            continue
    return out


def _tensor(model: Any, graph: Any, index: int) -> Tensor:
    t = graph.Tensors(index)
    dtype = DTYPES.get(t.Type(), f"type{t.Type()}")
    shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
    q = t.Quantization()
    scale = np.zeros(0, np.float32)
    zp = np.zeros(0, np.int64)
    qdim = 0
    if q is not None and q.ScaleLength():
        scale = np.asarray(q.ScaleAsNumpy(), dtype=np.float32)
        zp = np.asarray(q.ZeroPointAsNumpy(), dtype=np.int64)
        qdim = int(q.QuantizedDimension())
    data = None
    buf = model.Buffers(t.Buffer())
    if buf is not None and buf.DataLength():
        raw = buf.DataAsNumpy().tobytes()
        if dtype in _PACKED or dtype not in DTYPES.values():
            data = np.frombuffer(raw, dtype=np.uint8)
        else:
            data = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).reshape(shape)
    name = t.Name().decode(errors="replace") if t.Name() else f"t{index}"
    return Tensor(index, name, dtype, shape, scale, zp, qdim, data)


def parse_tflite(data: bytes) -> Graph:
    """Parse the first subgraph of a .tflite model."""
    schema = load_schema()
    try:
        graph = _read_graph(schema, bytearray(data))
    except UserError:
        raise
    except Exception as exc:  # flatbuffers raises a variety of errors on garbage input
        raise UserError(f"not a readable .tflite model: {type(exc).__name__}: {exc}") from exc
    _check_indices(graph)
    return graph


def _read_graph(schema: ModuleType, data: bytearray) -> Graph:
    model = schema.Model.GetRootAsModel(data, 0)
    graph = model.Subgraphs(0)
    if graph is None:
        raise UserError("not a readable .tflite model: no subgraph")
    names = op_names(schema)
    tensors = [_tensor(model, graph, i) for i in range(graph.TensorsLength())]
    ops = []
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        num = max(int(code.BuiltinCode()), int(code.DeprecatedBuiltinCode()))
        opcode = names.get(num, f"BUILTIN_{num}")
        if opcode == "CUSTOM":
            custom = code.CustomCode()
            opcode = f"CUSTOM({custom.decode(errors='replace') if custom else '?'})"
        ins = [int(x) for x in op.InputsAsNumpy()] if op.InputsLength() else []
        outs = [int(x) for x in op.OutputsAsNumpy()] if op.OutputsLength() else []
        ops.append(Operator(opcode, ins, outs, _options(schema, op)))
    inputs = [int(x) for x in graph.InputsAsNumpy()] if graph.InputsLength() else []
    outputs = [int(x) for x in graph.OutputsAsNumpy()] if graph.OutputsLength() else []
    return Graph(tensors, ops, inputs, outputs)


def _check_indices(g: Graph) -> None:
    n = len(g.tensors)
    refs = [*g.inputs, *g.outputs] + [i for op in g.operators for i in (*op.inputs, *op.outputs)]
    bad = [i for i in refs if i < -1 or i >= n]
    if bad or -1 in g.inputs or -1 in g.outputs:
        raise UserError(f"not a readable .tflite model: tensor index {bad[0] if bad else -1} "
                        f"outside the {n} tensors")
