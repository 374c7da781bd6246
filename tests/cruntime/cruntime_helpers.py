"""Helpers shared by the C runtime tests (imported by conftest and the test modules)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tinyml_autopilot.cruntime import CModel, emit_c
from tinyml_autopilot.cruntime.harness import build_host, run_host
from tinyml_autopilot.cruntime.reference_models import RefModel, quantize_inputs
from tinyml_autopilot.cruntime.tflm import tflm_run


def need_tool(*names: str) -> None:
    missing = [n for n in names if shutil.which(n) is None]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)}")


class Built:
    """A reference model compiled to C and run on the host, with TFLM's outputs beside."""

    def __init__(self, ref: RefModel, workdir: Path) -> None:
        self.ref = ref
        self.cmodel: CModel = emit_c(ref.tflite)
        self.q_inputs = quantize_inputs(ref.x_test, self.cmodel.input_scale,
                                        self.cmodel.input_zero_point)
        self.q_inputs = self.q_inputs.reshape(len(self.q_inputs), -1)
        self.exe = build_host(self.cmodel, workdir)
        self.c_out = run_host(self.exe, self.q_inputs, int(np.prod(self.cmodel.output_shape)))
        shape = (len(self.q_inputs), *self.cmodel.input_shape[1:])
        self.tflm_out = tflm_run(ref.tflite, self.q_inputs.reshape(shape)).reshape(
            len(self.q_inputs), -1)
