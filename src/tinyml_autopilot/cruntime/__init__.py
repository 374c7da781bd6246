"""Compile int8 TFLite models to dependency-free C99 (weights in flash, one static arena).

    from tinyml_autopilot.cruntime import emit_c
    cmodel = emit_c(Path("model.tflite").read_bytes(), prefix="model")
    cmodel.write(Path("sketch/"))  # model.h + model.c
"""

from __future__ import annotations

from tinyml_autopilot.cruntime.codegen import CModel, emit_c
from tinyml_autopilot.cruntime.errors import SUPPORTED_OPS, UnsupportedOpError

__all__ = ["CModel", "SUPPORTED_OPS", "UnsupportedOpError", "emit_c"]
