"""Errors raised while compiling a .tflite model to C."""

from __future__ import annotations

from tinyml_autopilot.errors import UserError

SUPPORTED_OPS: tuple[str, ...] = (
    "FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D",
    "MEAN", "RESHAPE", "EXPAND_DIMS", "SQUEEZE", "SOFTMAX", "QUANTIZE", "DEQUANTIZE",
)
SUPPORTED_LINE = ("the C runtime supports int8 " + ", ".join(SUPPORTED_OPS)
                  + " with fused RELU/RELU6 (QUANTIZE/DEQUANTIZE at the model edges)")
# Ops a converter emits only for a dynamic batch dimension (shape arithmetic, Keras' dilated
# convolution as space-to-batch); converting with a fixed batch of 1 removes them.
DYNAMIC_BATCH_OPS = {"SHAPE", "SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND"}
DYNAMIC_BATCH_HINT = ("; the model was converted with a dynamic batch size: convert it with a fixed "
                      "batch of 1 (keras.Input(shape, batch_size=1), as `tinyml-autopilot convert` "
                      "does), which also keeps a dilated convolution one CONV_2D")


class UnsupportedOpError(UserError):
    """The model uses an operator (or a variant of one) the C runtime cannot emit."""

    def __init__(self, op: str, detail: str = "", also: tuple[str, ...] = (), hint: str = "") -> None:
        self.op, self.detail, self.also, self.hint = op, detail, also, hint
        self.ops = (op, *also)
        more = f" (also {', '.join(also)})" if also else ""
        if detail:  # a supported op in a form the kernels do not cover
            text = f"unsupported {op}: {detail}{more}; {SUPPORTED_LINE}"
        else:
            text = f"unsupported op {op}{more}: {SUPPORTED_LINE}"
        super().__init__(text + hint)

    def with_hint(self, hint: str) -> UnsupportedOpError:
        return UnsupportedOpError(self.op, self.detail, self.also, hint)


class MalformedModelError(UserError):
    """The flatbuffer parses but its graph is inconsistent (truncated or hand-edited file)."""
