"""Deterministic checks of a .tflite model: loads, tensor types, accuracy, TFLM ops, arena, fit.

LiteRT (`ai_edge_litert`) is imported lazily: it is light, unlike TensorFlow. The TFLite Micro
arena is measured in a child process (a too-small arena can abort the process).
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..loop import Finding
from .model_file import looks_like

# Builtin ops the TFLite Micro interpreter resolves (tflite-micro's all_ops_resolver, checked against
# the installed interpreter by tests/checks/test_tflite.py); others fail with "Didn't find op for
# builtin opcode".
TFLM_OPS = frozenset((
    "ABS", "ADD", "ADD_N", "ARG_MAX", "ARG_MIN", "ASSIGN_VARIABLE", "AVERAGE_POOL_2D", "BATCH_MATMUL",
    "BATCH_TO_SPACE_ND", "BROADCAST_ARGS", "BROADCAST_TO", "CALL_ONCE", "CAST", "CEIL", "CONCATENATION", "CONV_2D",
    "COS", "CUMSUM", "DEPTH_TO_SPACE", "DEPTHWISE_CONV_2D", "DEQUANTIZE", "DIV", "DYNAMIC_UPDATE_SLICE", "ELU",
    "EMBEDDING_LOOKUP", "EQUAL", "EXP", "EXPAND_DIMS", "FILL", "FLOOR", "FLOOR_DIV", "FLOOR_MOD", "FULLY_CONNECTED",
    "GATHER", "GATHER_ND", "GREATER", "GREATER_EQUAL", "HARD_SWISH", "IF", "L2_NORMALIZATION", "L2_POOL_2D",
    "LEAKY_RELU", "LESS", "LESS_EQUAL", "LOG", "LOGICAL_AND", "LOGICAL_NOT", "LOGICAL_OR", "LOGISTIC", "LOG_SOFTMAX",
    "MAXIMUM", "MAX_POOL_2D", "MEAN", "MINIMUM", "MIRROR_PAD", "MUL", "NEG", "NOT_EQUAL", "PACK", "PAD", "PADV2",
    "PRELU", "QUANTIZE", "READ_VARIABLE", "REDUCE_ALL", "REDUCE_MAX", "REDUCE_MIN", "RELU", "RELU6", "RESHAPE",
    "RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR", "REVERSE_V2", "ROUND", "RSQRT", "SELECT_V2", "SHAPE", "SIN",
    "SLICE", "SOFTMAX", "SPACE_TO_BATCH_ND", "SPACE_TO_DEPTH", "SPLIT", "SPLIT_V", "SQRT", "SQUARE",
    "SQUARED_DIFFERENCE", "SQUEEZE", "STRIDED_SLICE", "SUB", "SUM", "SVDF", "TANH", "TRANSPOSE", "TRANSPOSE_CONV",
    "UNIDIRECTIONAL_SEQUENCE_LSTM", "UNPACK", "VAR_HANDLE", "WHILE", "ZEROS_LIKE",
))
PROBE = Path(__file__).with_name("arena_probe.py")
ARENA_CEILING = 8 * 1024 * 1024
QUANT_MODES = ("float32", "float16", "dynamic", "int8")


@dataclass
class TensorInfo:
    shape: list[int]
    dtype: str
    scale: float
    zero_point: int


@dataclass
class ModelInfo:
    path: Path
    model_bytes: int
    input: TensorInfo
    output: TensorInfo
    ops: list[str]
    float_ops: list[str] = field(default_factory=list)  # ops with float32 inputs or outputs
    weight_dtypes: list[str] = field(default_factory=list)
    constants: list[tuple[str, int]] = field(default_factory=list)  # (dtype, elements) of constant op inputs

    def op_table(self) -> list[dict[str, Any]]:
        return [{"name": op, "tflm_supported": op in TFLM_OPS} for op in dict.fromkeys(self.ops)]


class LoadFailed(Exception):
    pass


def _interpreter(content: bytes):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interp = Interpreter(model_content=content,
                         experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interp.allocate_tensors()
    return interp


def _tensor(detail: dict) -> TensorInfo:
    scale, zero = detail["quantization"]
    return TensorInfo([int(n) for n in detail["shape"]], np.dtype(detail["dtype"]).name, float(scale), int(zero))


def inspect(path: Path) -> ModelInfo:
    """Load the model in LiteRT and describe it; LoadFailed with the reason when it does not load."""
    kind = looks_like(Path(path))
    if kind != "a TFLite model":  # LiteRT would read a length from any 4 bytes and fail obscurely
        raise LoadFailed(f"{Path(path).name} is not a TFLite model: it looks like {kind}")
    try:
        content = Path(path).read_bytes()
        interp = _interpreter(content)
    except (OSError, ValueError, RuntimeError) as err:
        raise LoadFailed(f"{Path(path).name} does not load in the LiteRT interpreter: "
                         f"{str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__}") from err
    details = {d["index"]: d for d in interp.get_tensor_details()}
    tensors = {i: np.dtype(d["dtype"]).name for i, d in details.items()}
    ops, float_ops, io, made = [], [], set(), {d["index"] for d in interp.get_input_details()}
    for op in interp._get_ops_details():  # noqa: SLF001 - the only op listing LiteRT offers
        ops.append(op["op_name"])
        used = [tensors[i] for i in [*op["inputs"], *op["outputs"]] if i >= 0]
        if "float32" in used:
            float_ops.append(op["op_name"])
        io.update(i for i in op["inputs"] if i >= 0)
        made.update(i for i in op["outputs"] if i >= 0)
    weights = sorted({tensors[i] for i in io if i in tensors} - {"int32"})
    constants = [(tensors[i], int(np.prod(details[i]["shape"]))) for i in sorted(io - made) if i in details]
    return ModelInfo(Path(path), len(content), _tensor(interp.get_input_details()[0]),
                     _tensor(interp.get_output_details()[0]), ops, float_ops, weights, constants)


def type_findings(info: ModelInfo, quant: str) -> list[Finding]:
    """Do the tensor types match the quantization asked for?"""
    found = []
    io = {"input": info.input.dtype, "output": info.output.dtype}
    if quant == "int8":
        found += [Finding("tensor_types", f"{name} tensor is {dtype}, int8 was asked: set converter.inference_"
                          f"{name}_type = tf.int8") for name, dtype in io.items() if dtype != "int8"]
        if info.float_ops:
            found.append(Finding("tensor_types", "ops still computing in float32 where full integer was asked: "
                                 f"{', '.join(dict.fromkeys(info.float_ops))}: give a representative dataset and "
                                 "target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]"))
        return found
    found += [Finding("tensor_types", f"{name} tensor is {dtype}; {quant} keeps float32 inputs and outputs")
              for name, dtype in io.items() if dtype != "float32"]
    # dynamic range leaves small tensors (< 1024 values) in float32: only large ones must be int8
    large = [n for dtype, n in info.constants if dtype not in ("int32", "int64") and n >= 1024]
    if quant == "dynamic" and large and not any(dtype == "int8" for dtype, _ in info.constants):
        found.append(Finding("tensor_types", f"no int8 weights although {len(large)} weight tensor(s) hold "
                             f">= 1024 values: dynamic range quantization needs "
                             "converter.optimizations = [tf.lite.Optimize.DEFAULT] (no representative dataset)"))
    if quant == "float16" and "float16" not in info.weight_dtypes:
        found.append(Finding("tensor_types", "no float16 weights in the model: set "
                             "converter.target_spec.supported_types = [tf.float16]"))
    if quant == "float32" and set(info.weight_dtypes) - {"float32"}:
        found.append(Finding("tensor_types", f"weights are {', '.join(info.weight_dtypes)}: float32 asks for no "
                             "quantization (no optimizations)"))
    return found


def op_findings(info: ModelInfo) -> list[Finding]:
    missing = [op for op in dict.fromkeys(info.ops) if op not in TFLM_OPS]
    if not missing:
        return []
    return [Finding("tflm_ops", f"op{'s' if len(missing) > 1 else ''} {', '.join(missing)} not supported by "
                    "TensorFlow Lite Micro: change the layers that produce "
                    f"{'them' if len(missing) > 1 else 'it'} (e.g. relu instead of gelu)")]


def shape_findings(info: ModelInfo, input_shape: list[int] | None) -> list[Finding]:
    if input_shape is None or info.input.shape[1:] == list(input_shape):
        return []
    expected = [1, *input_shape]
    return [Finding("input_shape", f"input tensor is {info.input.shape}, expected {expected}")]


def predict(path: Path, x: np.ndarray) -> np.ndarray:
    """Class scores of the converted model for every sample (inputs quantized as the model says)."""
    interp = _interpreter(Path(path).read_bytes())
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    scale, zero = inp["quantization"]
    if np.issubdtype(inp["dtype"], np.integer) and scale:
        info = np.iinfo(inp["dtype"])
        x = np.clip(np.round(x / scale + zero), info.min, info.max)
    x = x.astype(inp["dtype"])
    rows = []
    for sample in x:
        interp.set_tensor(inp["index"], sample.reshape(inp["shape"]))
        interp.invoke()
        rows.append(interp.get_tensor(out["index"]).reshape(-1).astype(np.float32))
    return np.stack(rows)


def accuracy(path: Path, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.argmax(predict(path, x), axis=-1) == y))


def accuracy_findings(float_acc: float | None, converted_acc: float | None, tolerance: float,
                      samples: int | None = None) -> list[Finding]:
    if float_acc is None or converted_acc is None:
        return []
    delta = (float_acc - converted_acc) * 100
    if delta <= tolerance + 1e-9:
        return []
    on = f" on {samples} test samples (one sample is {100 / samples:.1f} points)" if samples else ""
    return [Finding("accuracy", f"converted accuracy {converted_acc:.1%} is {delta:.1f} points below the original "
                    f"{float_acc:.1%}{on}, more than the tolerance of {tolerance:g}: use more, representative "
                    "calibration samples from the training split")]


@dataclass
class Arena:
    bytes: int | None
    error: str | None = None


def measure_arena(path: Path, timeout_s: float = 60) -> Arena:
    """Smallest TFLM arena the model allocates and invokes in, by bisection in a child process."""
    low, high = 0, ARENA_CEILING
    for _ in range(6):  # each restart resumes the bisection past the size that crashed
        try:
            proc = subprocess.run([sys.executable, str(PROBE), str(path), str(low), str(high)],
                                  capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired as err:
            return Arena(None, _timeout_reason(err, timeout_s))
        sizes: dict[str, list[int]] = {"try": [], "ok": [], "fail": []}
        for line in proc.stdout.splitlines():
            kind, _, value = line.partition(" ")
            if kind == "min":
                return Arena(int(value))
            if kind == "error":
                return Arena(None, f"TFLite Micro cannot run the model: {value}")
            if kind in sizes:
                sizes[kind].append(int(value))
        if not sizes["ok"]:
            return Arena(None, f"TFLite Micro crashed loading the model (exit {proc.returncode}): "
                               f"{proc.stderr.strip()[-300:]}")
        high = min(sizes["ok"])
        crashed_at = [n for n in sizes["try"][-1:] if n not in sizes["ok"] + sizes["fail"]]
        low = max([low, *sizes["fail"], *crashed_at])
        if high - low <= 16:
            return Arena(high)
    return Arena(None, "the TFLite Micro probe kept crashing")


def _timeout_reason(err: subprocess.TimeoutExpired, timeout_s: float) -> str:
    out = err.stdout.decode() if isinstance(err.stdout, bytes) else err.stdout or ""
    if out.splitlines() and out.splitlines()[-1].startswith("invoke "):
        return (f"TFLite Micro allocated the model but one inference did not finish within {timeout_s:g} s "
                "(a loop in the graph that never ends there)")
    return f"TFLite Micro did not finish loading the model within {timeout_s:g} s"


def fit_findings(board: str | None, model_bytes: int, arena_bytes: int | None) -> list[Finding]:
    if not board:
        return []
    from ..stages.train_budget import device_fit

    return [Finding("fit", problem) for problem in device_fit(board, model_bytes, arena_bytes or 0)]
