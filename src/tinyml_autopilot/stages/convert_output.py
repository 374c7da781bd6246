"""What the convert stage hands on: the C array for a sketch and the model card."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..checks.tflite import ModelInfo

SYMBOL = "g_model_data"
HEADER = "model_data.h"


def c_array(data: bytes, symbol: str = SYMBOL, header: str = HEADER) -> tuple[str, str]:
    """(header, source) defining `alignas(16) const unsigned char symbol[]` and its length."""
    guard = header.upper().replace(".", "_").replace("-", "_") + "_"
    head = (f"// TensorFlow Lite model as a C array ({len(data)} bytes).\n#ifndef {guard}\n#define {guard}\n\n"
            f"extern const unsigned char {symbol}[];\nextern const unsigned int {symbol}_len;\n\n#endif  // {guard}\n")
    rows = [", ".join(f"0x{b:02x}" for b in data[i:i + 12]) for i in range(0, len(data), 12)]
    body = ",\n  ".join(rows)
    source = (f'#include "{header}"\n\n// 16-byte alignment lets TFLite Micro read the flatbuffer in place.\n'
              f"alignas(16) const unsigned char {symbol}[] = {{\n  {body}\n}};\n"
              f"const unsigned int {symbol}_len = {len(data)};\n")
    return head, source


def write_c_array(tflite: Path, folder: Path) -> list[Path]:
    head, source = c_array(tflite.read_bytes())
    (folder / HEADER).write_text(head)
    (folder / "model_data.cc").write_text(source)
    return [folder / HEADER, folder / "model_data.cc"]


def model_card(info: ModelInfo, quant: str | None, labels: list[str] | None, arena_bytes: int | None,
               float_acc: float | None, converted_acc: float | None, board: str | None,
               **extra: Any) -> dict[str, Any]:
    delta = round((float_acc - converted_acc) * 100, 2) if None not in (float_acc, converted_acc) else None
    return {
        "quant": quant, "input_shape": info.input.shape, "output_shape": info.output.shape,
        "input_dtype": info.input.dtype, "output_dtype": info.output.dtype,
        "input_scale": info.input.scale, "input_zero_point": info.input.zero_point,
        "output_scale": info.output.scale, "output_zero_point": info.output.zero_point,
        "labels": labels, "ops": info.op_table(), "arena_bytes": arena_bytes, "model_bytes": info.model_bytes,
        "float_accuracy": float_acc, "converted_accuracy": converted_acc, "accuracy_delta": delta,
        "board": board, "model_symbol": SYMBOL, "model_header": HEADER, **extra,
    }


def guess_quant(info: ModelInfo) -> str:
    """The quantization a model was converted with, read from its tensors (for --check)."""
    if info.input.dtype == "int8" and not info.float_ops:
        return "int8"
    if "float16" in info.weight_dtypes:
        return "float16"
    return "dynamic" if "int8" in info.weight_dtypes else "float32"
