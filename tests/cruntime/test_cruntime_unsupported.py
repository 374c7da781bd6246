"""Ops and model forms outside what the C runtime covers fail with one clear line naming them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tinyml_autopilot.cruntime import SUPPORTED_OPS, UnsupportedOpError, emit_c
from tinyml_autopilot.cruntime.reference_models import to_int8_tflite
from tinyml_autopilot.errors import UserError

keras = pytest.importorskip("keras")
L = keras.layers


def _tanh_model() -> object:
    return keras.Sequential([keras.Input((6,)), L.Dense(4, activation="tanh")])


def _add_model() -> object:
    inp = keras.Input((6,))
    return keras.Model(inp, L.Add()([L.Dense(6)(inp), inp]))


def _concat_model() -> object:
    inp = keras.Input((6,))
    return keras.Model(inp, L.Concatenate()([L.Dense(3)(inp), L.Dense(2)(inp)]))


def _lstm_model() -> object:
    # unroll=True: the int8 converter cannot lower the TensorList loop of a rolled LSTM.
    return keras.Sequential([keras.Input((5, 3)), L.LSTM(4, unroll=True), L.Dense(2)])


def _convert(model: object) -> bytes:
    x = np.random.default_rng(0).normal(size=(40, *model.input_shape[1:])).astype(np.float32)
    return to_int8_tflite(model, x)


def _one_line(err: pytest.ExceptionInfo) -> str:
    msg = str(err.value)
    assert "\n" not in msg and isinstance(err.value, UserError)
    return msg


@pytest.mark.parametrize(("factory", "op"), [(_tanh_model, "TANH"), (_add_model, "ADD"),
                                             (_concat_model, "CONCATENATION")])
def test_unsupported_op_is_named(factory, op: str) -> None:
    with pytest.raises(UnsupportedOpError) as info:
        emit_c(_convert(factory()))
    msg = _one_line(info)
    assert info.value.op == op
    assert f"unsupported op {op}" in msg
    assert all(name in msg for name in SUPPORTED_OPS)


def test_lstm_is_rejected_naming_its_ops() -> None:
    with pytest.raises(UnsupportedOpError) as info:
        emit_c(_convert(_lstm_model()))
    assert _one_line(info).startswith("unsupported op ")
    assert {"TANH", "LOGISTIC"} <= set(info.value.ops), info.value.ops


@pytest.mark.parametrize(("layers", "op"), [
    ((keras.Input((12, 6)), L.Dense(5), L.Dense(3)), "RESHAPE"),  # shape computed at run time
    ((keras.Input((12, 6)), L.Conv1D(4, 3, dilation_rate=2), L.Flatten(), L.Dense(3)),
     "SPACE_TO_BATCH_ND"),
])
def test_dynamic_batch_models_say_how_to_convert(layers: tuple, op: str) -> None:
    """Without a fixed batch the converter emits shape arithmetic and space-to-batch: the
    message names the op and says to convert with batch 1 (no silent wrong row count)."""
    with pytest.raises(UnsupportedOpError) as info:
        emit_c(_convert(keras.Sequential(list(layers))))
    msg = _one_line(info)
    assert info.value.op == op and "fixed batch of 1" in msg, msg


def test_batch_above_one_in_a_convolution_is_named() -> None:
    model = keras.Sequential([keras.Input((6, 6, 2), batch_size=2), L.Conv2D(3, 3)])
    with pytest.raises(UnsupportedOpError) as info:
        emit_c(to_int8_tflite(model, np.random.default_rng(0).normal(size=(40, 6, 6, 2))))
    assert _one_line(info).startswith("unsupported CONV_2D: needs a batch-1 NHWC tensor, got [2, 6, 6, 2]")


def test_garbage_is_a_user_error() -> None:
    with pytest.raises(UserError):
        emit_c(b"not a flatbuffer at all")


def test_damaged_models_are_user_errors(cnn) -> None:
    """Truncated or byte-flipped files either still compile or fail with a UserError line."""
    data = cnn.ref.tflite
    rng = np.random.default_rng(0)
    damaged = [data[:int(n)] for n in np.linspace(0, len(data) - 1, 40)]
    for _ in range(120):
        b = bytearray(data)
        for i in rng.integers(0, len(b), 4):
            b[int(i)] = int(rng.integers(0, 256))
        damaged.append(bytes(b))
    errors = 0
    for blob in damaged:
        try:
            emit_c(blob)
        except UserError as err:
            errors += 1
            assert "\n" not in str(err)
    assert errors > len(damaged) // 4  # the damage was real; no other exception type escaped


def _avr_model() -> object:
    """Two layers of 32000 int8 weights each: each array fits AVR, together > 60 KB."""
    return keras.Sequential([keras.Input((160,)), L.Dense(200), L.Dense(160)])


def test_model_beyond_avr_progmem_reach_fails_to_compile_for_avr(tmp_path: Path) -> None:
    """pgm_read_* use 16-bit addresses: past 64 KB of PROGMEM the weights would be read from the
    wrong place, so the generated C stops an AVR build with the reason."""
    cm = emit_c(_convert(_avr_model()))
    assert cm.largest_array_bytes == 32000 and cm.weights_bytes > 61440
    problems = cm.avr_problems()
    assert len(problems) == 1 and "16-bit addresses" in problems[0]
    if shutil.which("avr-gcc") is None:
        pytest.skip("not installed: avr-gcc")
    cm.write(tmp_path)
    proc = subprocess.run(["avr-gcc", "-mmcu=atmega2560", "-Os", "-std=c99", "-c", str(tmp_path / "model.c"),
                           "-o", str(tmp_path / "model.o")], capture_output=True, text=True)
    assert proc.returncode != 0 and "16-bit addresses" in proc.stderr
    host = subprocess.run(["gcc", "-std=c99", "-c", str(tmp_path / "model.c"), "-o", str(tmp_path / "h.o")])
    assert host.returncode == 0  # only AVR builds are stopped
