"""Rewriting a converted model for the board's TFLite Micro library, on real Conv1D models and the real
vendored libraries: the rewritten file computes the same bytes, and uses only kernels the library has."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from stages import tflm_sketches as ts
from tinyml_autopilot.checks import tflite
from tinyml_autopilot.checks.sketch.libraries import ops_without_kernel
from tinyml_autopilot.stages.convert_library import int32_gaps
from tinyml_autopilot.stages.convert_rewrite import rewrite_to_reshape

CLI = str(Path(sys.executable).parent / "tinyml-autopilot")


@pytest.fixture(scope="module")
def conv1d(tmp_path_factory):
    """A Keras Conv1D-MaxPool-Conv1D-AvgPool-Flatten-Dense int8 model, converted with an open batch (as
    TFLiteConverter.from_keras_model(model) does): EXPAND_DIMS before each 2-D kernel, SHAPE -> STRIDED_SLICE
    -> PACK for the Flatten."""
    from tinyml_autopilot.cruntime.reference_models import cnn1d

    ref = cnn1d(epochs=1, n_train=48, n_test=40)
    path = tmp_path_factory.mktemp("conv1d") / "cnn.tflite"
    path.write_bytes(ref.tflite)
    return path, ref.x_test


def test_a_conv1d_model_rewritten_for_harvard_computes_the_same_bytes(conv1d, tmp_path):
    harvard, chirale = ts.needs_library("Harvard_TinyMLx"), ts.needs_library("Chirale_TensorFlowLite")
    path, x = conv1d
    before = tflite.inspect(path).ops
    assert before.count("EXPAND_DIMS") == 4 and {"SHAPE", "STRIDED_SLICE", "PACK"} <= set(before)
    assert ops_without_kernel(before, harvard.resolver_methods()) == ["EXPAND_DIMS"]
    assert int32_gaps(path.read_bytes(), harvard) == ["STRIDED_SLICE"]  # TFLM 2.4's has no int32 case
    assert ops_without_kernel(before, chirale.resolver_methods()) == [] and int32_gaps(path.read_bytes(),
                                                                                      chirale) == []
    rewritten = rewrite_to_reshape(path.read_bytes(), {"EXPAND_DIMS"}, fold_shapes=True)
    assert rewritten.counts["EXPAND_DIMS -> RESHAPE"] == 4
    assert rewritten.counts["RESHAPE shape computed at run time -> constant"] == 1
    new = tmp_path / "rewritten.tflite"
    new.write_bytes(rewritten.content)
    after = tflite.inspect(new).ops
    assert "EXPAND_DIMS" not in after and not {"SHAPE", "STRIDED_SLICE", "PACK"} & set(after)
    assert ops_without_kernel(after, harvard.resolver_methods()) == [] and int32_gaps(new.read_bytes(), harvard) == []
    noise = np.random.default_rng(3).normal(0, 2, size=(40, *x.shape[1:])).astype(np.float32)
    for inputs in (x, noise):
        assert np.array_equal(tflite.predict(path, inputs), tflite.predict(new, inputs))  # int8: bit for bit
    assert tflite.measure_arena(new).bytes > 0  # the TFLite Micro interpreter allocates and invokes it


def _as_squeeze(content: bytes) -> bytes:
    """The same model with the RESHAPE after the first CONV_2D written as SQUEEZE(axis 1), as older
    converters wrote it."""
    import flatbuffers

    from tinyml_autopilot.cruntime.parser import load_schema

    s = load_schema()
    model = s.ModelT.InitFromObj(s.Model.GetRootAs(bytearray(content), 0))
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in model.operatorCodes]
    graph = model.subgraphs[0]
    ops = [codes[op.opcodeIndex] for op in graph.operators]
    op = graph.operators[ops.index(s.BuiltinOperator.RESHAPE, ops.index(s.BuiltinOperator.CONV_2D))]
    code = s.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = s.BuiltinOperator.SQUEEZE
    code.version = 1
    model.operatorCodes.append(code)
    options = s.SqueezeOptionsT()
    options.squeezeDims = [1]
    op.opcodeIndex, op.inputs = len(model.operatorCodes) - 1, [int(op.inputs[0])]
    op.builtinOptionsType, op.builtinOptions = s.BuiltinOptions.SqueezeOptions, options
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def test_squeeze_becomes_reshape_too(conv1d, tmp_path):
    path, x = conv1d
    squeezed = tmp_path / "squeeze.tflite"
    squeezed.write_bytes(_as_squeeze(path.read_bytes()))
    assert "SQUEEZE" in tflite.inspect(squeezed).ops
    new = tmp_path / "rewritten.tflite"
    new.write_bytes(rewrite_to_reshape(squeezed.read_bytes(), {"SQUEEZE"}).content)
    assert "SQUEEZE" not in tflite.inspect(new).ops
    assert np.array_equal(tflite.predict(squeezed, x), tflite.predict(new, x))


def test_an_op_no_rewrite_can_replace_fails_the_conversion_in_one_line(tmp_path):
    """LeakyReLU lowers to LEAKY_RELU, which TFLM 2.4 has no kernel for and no exact rewrite replaces."""
    lib = ts.needs_library("Harvard_TinyMLx")
    import keras

    from stages.sketch_fixtures.fixture_model import int8_tflite

    x = np.random.default_rng(0).normal(size=(64, 8)).astype(np.float32)
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(8), keras.layers.LeakyReLU(0.1),
                              keras.layers.Dense(3, activation="softmax")])
    leaky = tmp_path / "leaky.tflite"
    leaky.write_bytes(int8_tflite(model, x, 64, per_tensor=True))
    env = {**os.environ, "TINYML_LIBRARIES": str(lib.path.parent)}
    proc = subprocess.run([CLI, "convert", "--check", str(leaky), "--board", "nano33ble_tinymlx", "--json",
                           "--out", str(tmp_path / "runs")], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 1, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    lines = [f for f in result["findings"] if f.startswith("library_ops")]
    assert lines == [f"library_ops: the model needs LEAKY_RELU, which Harvard_TinyMLx {lib.version} has no kernel "
                     "for (no AddLeakyRelu in its MicroMutableOpResolver) and which cannot be rewritten into ops "
                     "it has: change the layers that produce it, or use a board entry with a newer TFLite Micro "
                     "library (Chirale_TensorFlowLite)"]
    assert not (Path(result["run_dir"]) / "artifacts" / "rewrite.json").exists()
