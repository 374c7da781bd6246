"""Ops outside the supported set fail with one clear line naming the op."""

from __future__ import annotations

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


def _lstm_model() -> object:
    # unroll=True: the int8 converter cannot lower the TensorList loop of a rolled LSTM.
    return keras.Sequential([keras.Input((5, 3)), L.LSTM(4, unroll=True), L.Dense(2)])


@pytest.mark.parametrize(("factory", "op"), [(_tanh_model, "TANH"), (_add_model, "ADD")])
def test_unsupported_op_is_named(factory, op: str) -> None:
    model = factory()
    x = np.random.default_rng(0).normal(size=(40, *model.input_shape[1:])).astype(np.float32)
    with pytest.raises(UnsupportedOpError) as info:
        emit_c(to_int8_tflite(model, x))
    msg = str(info.value)
    assert info.value.op == op
    assert f"unsupported op {op}" in msg and "\n" not in msg
    assert all(name in msg for name in SUPPORTED_OPS)
    assert isinstance(info.value, UserError)


def test_lstm_is_rejected_naming_its_ops() -> None:
    model = _lstm_model()
    x = np.random.default_rng(1).normal(size=(40, 5, 3)).astype(np.float32)
    with pytest.raises(UnsupportedOpError) as info:
        emit_c(to_int8_tflite(model, x))
    msg = str(info.value)
    assert msg.startswith("unsupported op ") and "\n" not in msg
    assert {"TANH", "LOGISTIC"} <= set(info.value.ops), info.value.ops


def test_garbage_is_a_user_error() -> None:
    with pytest.raises(UserError):
        emit_c(b"not a flatbuffer at all")
