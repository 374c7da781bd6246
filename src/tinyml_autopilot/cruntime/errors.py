"""Errors raised while compiling a .tflite model to C."""

from __future__ import annotations

from tinyml_autopilot.errors import UserError

SUPPORTED_OPS: tuple[str, ...] = (
    "FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D",
    "RESHAPE", "EXPAND_DIMS", "SQUEEZE", "SOFTMAX", "QUANTIZE", "DEQUANTIZE",
)


class UnsupportedOpError(UserError):
    """The model uses an operator (or a variant of one) the C runtime cannot emit."""

    def __init__(self, op: str, detail: str = "", also: tuple[str, ...] = ()) -> None:
        self.op = op
        self.ops = (op, *also)
        why = f" ({detail})" if detail else ""
        more = f" (also {', '.join(also)})" if also else ""
        super().__init__(
            f"unsupported op {op}{why}{more}: the C runtime supports int8 "
            + ", ".join(SUPPORTED_OPS)
            + " with fused RELU/RELU6 (QUANTIZE/DEQUANTIZE at the model edges)"
        )
