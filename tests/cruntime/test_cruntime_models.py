"""Whole models (MLP on iris/wine, 1-D CNNs with and without global average pooling on synthetic
windows) compiled to C: host gcc output equals TFLite Micro on the full test set; the same C runs on
an Uno in simavr and on a Cortex-M4 in QEMU with identical outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from cruntime_helpers import Built, need_tool

from tinyml_autopilot.cruntime.harness import (
    arm_main_source,
    build_host,
    parse_outputs,
    run_host,
    write_avr_sketch,
)
from tinyml_autopilot.sandbox.arduino import compile_sketch, simulate_avr
from tinyml_autopilot.sandbox.arm import arm_tools_missing, build_and_run_cortex_m4

N_DEVICE_VECTORS = 8


@pytest.fixture(params=["mlp_iris", "mlp_wine", "cnn", "cnn_gap"])
def built(request: pytest.FixtureRequest) -> Built:
    return request.getfixturevalue(request.param)


def test_host_matches_tflm_on_full_test_set(built: Built) -> None:
    assert len(built.c_out) == len(built.ref.x_test) >= 40
    mismatch = np.argwhere(built.c_out != built.tflm_out)
    assert mismatch.size == 0, f"{len(mismatch)} bytes differ, first {mismatch[:3].tolist()}"
    # The model is not random: argmax of the int8 output agrees with the labels mostly.
    acc = float(np.mean(built.c_out.argmax(1) == built.ref.y_test))
    assert acc > 0.5, acc


def test_memory_plan_shares_activations(cnn: Built) -> None:
    cm = cnn.cmodel
    assert {"CONV_2D", "MAX_POOL_2D", "AVERAGE_POOL_2D", "FULLY_CONNECTED", "SOFTMAX"} <= set(
        cm.ops)
    assert 0 < cm.arena_bytes < cm.unshared_arena_bytes
    assert f"#define MODEL_ARENA_BYTES {cm.arena_bytes}" in cm.header


def test_avr_arithmetic_path_matches_on_host(cnn: Built) -> None:
    """The 64-bit-free fixed-point path and the shared kernels (borders without a patch) used on
    AVR give the same bytes (checked on host)."""
    exe = build_host(cnn.cmodel, cnn.exe.parent, cflags=["-DMODEL_SRDHM_NO_INT64", "-DMODEL_SHARED_KERNELS"],
                     name="runner32")
    out = run_host(exe, cnn.q_inputs, cnn.c_out.shape[1])
    assert np.array_equal(out, cnn.tflm_out)


def _device_vectors(b: Built) -> np.ndarray:
    idx = np.linspace(0, len(b.q_inputs) - 1, N_DEVICE_VECTORS).astype(int)
    return b.q_inputs[idx], b.c_out[idx]


@pytest.mark.parametrize("name", ["mlp_iris", "cnn", "cnn_gap"])
def test_uno_build_and_simavr_match_host(name: str, request: pytest.FixtureRequest,
                                         tmp_path: Path) -> None:
    need_tool("arduino-builder", "simavr")
    b: Built = request.getfixturevalue(name)
    vectors, expected = _device_vectors(b)
    sketch = write_avr_sketch(b.cmodel, vectors, tmp_path / "ModelTest")
    res = compile_sketch(sketch, "arduino:avr:uno", tmp_path / "build")
    assert res.ok, res.errors or res.log[-2000:]
    assert res.tool in ("arduino-cli", "arduino-builder")
    assert res.flash_bytes and res.flash_bytes < 32256, res.flash_bytes
    assert res.ram_bytes and res.ram_bytes < 2048, res.ram_bytes
    sim = simulate_avr(res.elf, timeout=120)
    assert sim.ok, sim.output[-2000:]
    outs, micros = parse_outputs(sim.output)
    assert sorted(outs) == list(range(N_DEVICE_VECTORS)), sim.output[-2000:]
    for i, row in enumerate(expected):
        assert outs[i] == row.tolist(), (i, outs[i], row.tolist())
    print(f"\n{name} Uno: flash {res.flash_bytes} B, RAM {res.ram_bytes} B, "
          f"{np.mean(list(micros.values())):.0f} us/inference (simavr)")


@pytest.mark.parametrize("name", ["mlp_iris", "cnn", "cnn_gap"])
def test_cortex_m4_qemu_matches_host(name: str, request: pytest.FixtureRequest,
                                     tmp_path: Path, record_property) -> None:
    if missing := arm_tools_missing():
        pytest.skip(f"not installed: {', '.join(missing)}")
    b: Built = request.getfixturevalue(name)
    vectors, expected = _device_vectors(b)
    b.cmodel.write(tmp_path)
    (tmp_path / "main.c").write_text(arm_main_source("model", vectors))
    res = build_and_run_cortex_m4([tmp_path / "model.c", tmp_path / "main.c"], [tmp_path],
                                  tmp_path / "build", timeout=60,
                                  cflags=["-std=c99", "-Wall", "-Wextra", "-Werror"])
    assert res.ok, f"{res.stage}: {res.log[-2000:]}\n{res.output[-1000:]}"
    outs, _ = parse_outputs(res.output)
    assert [outs[i] for i in range(N_DEVICE_VECTORS)] == expected.tolist()
    assert res.text and res.bss is not None
    record_property("arm_size", {"text": res.text, "data": res.data, "bss": res.bss})
    print(f"\n{name} Cortex-M4: text {res.text} data {res.data} bss {res.bss}")
