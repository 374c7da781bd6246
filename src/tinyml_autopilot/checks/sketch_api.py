"""Library facts the sketch checks need: TFLite Micro headers and API per Arduino library,
resolver method names per op, and sensor headers per board."""

from __future__ import annotations

from ..boards import Board, catalogue

# The top header each Arduino library is included by, and which TFLM API generation it bundles.
TFLM_LIBRARIES = {
    "Chirale_TensorFlowLite": {"header": "Chirale_TensorFlowLite.h", "api": "current"},
    "Arduino_TensorFlowLite": {"header": "TensorFlowLite.h", "api": "current"},
    "Harvard_TinyMLx": {"header": "TensorFlowLite.h", "api": "errorreporter"},
}
# Headers that no longer exist in the current TFLM (and the replacement).
REMOVED_IN_CURRENT = {
    "tensorflow/lite/version.h": "TFLITE_SCHEMA_VERSION now comes from tensorflow/lite/schema/schema_generated.h",
    "tensorflow/lite/micro/micro_error_reporter.h": "the ErrorReporter is gone: use MicroPrintf from "
                                                    "tensorflow/lite/micro/micro_log.h or Serial",
    "tensorflow/lite/micro/kernels/micro_ops.h": "register ops with MicroMutableOpResolver::Add...()",
}
# Headers the old (TFLM 2.4) library bundled in Harvard_TinyMLx does not have.
MISSING_IN_ERRORREPORTER = {
    "tensorflow/lite/micro/micro_log.h": "use TF_LITE_REPORT_ERROR(error_reporter, ...) or Serial",
    "tensorflow/lite/micro/system_setup.h": "not needed with this library",
    "tensorflow/lite/micro/tflite_bridge/micro_error_reporter.h": "use tensorflow/lite/micro/micro_error_reporter.h",
}
KNOWN_TFLM_HEADERS = {
    "tensorflow/lite/micro/micro_interpreter.h", "tensorflow/lite/micro/micro_mutable_op_resolver.h",
    "tensorflow/lite/micro/all_ops_resolver.h", "tensorflow/lite/schema/schema_generated.h",
    "tensorflow/lite/micro/micro_log.h", "tensorflow/lite/micro/system_setup.h",
    "tensorflow/lite/micro/tflite_bridge/micro_error_reporter.h", "tensorflow/lite/c/common.h",
    "tensorflow/lite/micro/micro_op_resolver.h", "tensorflow/lite/micro/micro_allocator.h",
    "tensorflow/lite/micro/micro_profiler.h", "tensorflow/lite/micro/micro_utils.h",
    "tensorflow/lite/core/c/common.h", "tensorflow/lite/micro/micro_resource_variable.h",
} | set(REMOVED_IN_CURRENT) | set(MISSING_IN_ERRORREPORTER)

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


def library_for(board: Board, included: set[str]) -> str | None:
    """The TFLM library a sketch uses: its top include decides, the board entry breaks ties."""
    if "Chirale_TensorFlowLite.h" in included:
        return "Chirale_TensorFlowLite"
    if "TensorFlowLite.h" in included:
        return "Harvard_TinyMLx" if board.tflm_library == "Harvard_TinyMLx" else "Arduino_TensorFlowLite"
    return board.tflm_library


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
