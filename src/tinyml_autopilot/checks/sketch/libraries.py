"""Library facts the sketch checks need: the TFLite Micro library a sketch uses and the rules of
its API era (data in boards/tflm_libraries.yaml, beside the board catalogue), resolver method names
per op, and sensor headers per board."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources

import yaml

from ...boards import Board, catalogue


@dataclass(frozen=True)
class Era:
    id: str
    title: str
    min_args: int
    max_args: int
    usage: str
    error_reporter: bool  # the interpreter's 5th argument is an ErrorReporter*
    missing_headers: dict[str, str] = field(default_factory=dict)
    missing_names: dict[str, str] = field(default_factory=dict)
    needs_header: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Library:
    name: str
    header: str  # the top header a sketch includes first
    era: Era


@cache
def _data() -> dict:
    return yaml.safe_load(resources.files("tinyml_autopilot.boards").joinpath("tflm_libraries.yaml").read_text())


@cache
def eras() -> dict[str, Era]:
    out = {}
    for key, e in _data()["eras"].items():
        args = e["interpreter_args"]
        out[key] = Era(key, e["title"], int(args["min"]), int(args["max"]), args["usage"],
                       bool(e["interpreter_error_reporter"]), dict(e.get("missing_headers") or {}),
                       dict(e.get("missing_names") or {}), dict(e.get("needs_header") or {}))
    return out


@cache
def libraries() -> dict[str, Library]:
    return {x["name"]: Library(x["name"], x["header"], eras()[x["era"]]) for x in _data()["libraries"]}


@cache
def known_headers() -> frozenset[str]:
    return frozenset(_data()["known_headers"])


# name -> {"header", "api"}: the shape the sketch stage's prompts read
TFLM_LIBRARIES = {n: {"header": lib.header, "api": "errorreporter" if lib.era.error_reporter else "current"}
                  for n, lib in libraries().items()}

# Resolver method names that do not follow the plain CamelCase rule.
_SPECIAL = {"BATCH_MATMUL": "BatchMatMul", "UNIDIRECTIONAL_SEQUENCE_LSTM": "UnidirectionalSequenceLSTM",
            "L2_NORMALIZATION": "L2Normalization", "L2_POOL_2D": "L2Pool2D", "LOG_SOFTMAX": "LogSoftmax",
            "PRELU": "Prelu", "RELU_N1_TO_1": "ReluN1To1", "RELU_0_TO_1": "Relu0To1",
            "SQUARED_DIFFERENCE": "SquaredDifference", "HARD_SWISH": "HardSwish", "PADV2": "PadV2",
            "CUMSUM": "CumSum"}


def resolver_method(op: str) -> str:
    """MicroMutableOpResolver method for a builtin op: FULLY_CONNECTED -> AddFullyConnected."""
    if op in _SPECIAL:
        return "Add" + _SPECIAL[op]
    return "Add" + "".join(w if w[0].isdigit() else w.capitalize() for w in op.split("_"))


def ops_without_kernel(ops: list[str], methods: frozenset[str] | None) -> list[str]:
    """The builtin ops for which a resolver with these Add<Op> methods has no kernel (none when not known)."""
    if methods is None:
        return []
    return sorted({op for op in ops if op.isupper() and resolver_method(op) not in methods})


def method_op(method: str) -> str:
    """Inverse of resolver_method for the ops we know; upper-snake guess otherwise."""
    for op in list(_SPECIAL) + COMMON_OPS:
        if resolver_method(op) == method:
            return op
    name = method[3:] if method.startswith("Add") else method
    out = ""
    for i, ch in enumerate(name):
        if ch.isupper() and i and not name[i - 1].isdigit() and not name[i - 1].isupper():
            out += "_"
        out += ch.upper()
    return out.replace("2_D", "_2D")


COMMON_OPS = ["FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D", "SOFTMAX", "RESHAPE", "QUANTIZE",
              "DEQUANTIZE", "MAX_POOL_2D", "AVERAGE_POOL_2D", "EXPAND_DIMS", "SQUEEZE", "MEAN", "ADD",
              "MUL", "SUB", "RELU", "RELU6", "LOGISTIC", "TANH", "CONCATENATION", "PAD", "STRIDED_SLICE",
              "PACK", "UNPACK", "SHAPE", "TRANSPOSE", "LEAKY_RELU", "GATHER", "SPLIT", "MAXIMUM",
              "MINIMUM", "RSQRT", "SUM", "CONV_1D", "TRANSPOSE_CONV", "FLOOR", "ABS", "EXP", "LOG"]


def library_for(board: Board, included: set[str]) -> Library | None:
    """The TFLM library a sketch uses: its top include decides, the board entry breaks ties."""
    libs = libraries()
    by_header = [lib for lib in libs.values() if lib.header in included]
    if any(lib.name == board.tflm_library for lib in by_header) or not by_header:
        return libs.get(board.tflm_library or "")
    if "TensorFlowLite.h" in included and "Arduino_TensorFlowLite" in libs:
        return libs["Arduino_TensorFlowLite"]
    return by_header[0]


def sensor_headers(board: Board) -> dict[str, str]:
    return {s.header: s.library for s in board.sensors if s.header != "Arduino.h"}


def foreign_sensor_headers(board: Board) -> dict[str, str]:
    """Sensor library headers of other boards that this board's sensors do not use."""
    own = sensor_headers(board)
    out: dict[str, str] = {}
    for other in catalogue().values():
        for s in other.sensors:
            if s.header not in own and s.header != "Arduino.h":
                out.setdefault(s.header, f"{s.part} on {other.name}")
    return out


@cache
def library_headers(name: str) -> frozenset[str]:
    """Every header path the library's src/ holds (boards/tflm_headers/NAME.txt); empty if unlisted."""
    path = resources.files("tinyml_autopilot.boards").joinpath("tflm_headers", f"{name}.txt")
    if not path.is_file():
        return frozenset()
    return frozenset(x.strip() for x in path.read_text().splitlines() if x.strip() and not x.startswith("#"))
