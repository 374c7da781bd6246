"""Models from the train stage, converted by `tinyml-autopilot convert --emit c`: the C files the
user gets, compiled with gcc -std=c99 -pedantic, equal TFLite Micro byte for byte on the whole
test split (and their argmax reproduces the accuracy the convert stage measured)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinyml_autopilot.cruntime.harness import HOST_CFLAGS, host_main_source, run_host
from tinyml_autopilot.cruntime.reference_models import quantize_inputs
from tinyml_autopilot.cruntime.tflm import tflm_run
from tinyml_autopilot.runs import read_output
from tinyml_autopilot.stages.train_fixtures import cached_train_run

CLI = Path(sys.executable).with_name("tinyml-autopilot")
pytestmark = pytest.mark.slow


@pytest.mark.parametrize("kind", ["tabular", "timeseries"])
def test_convert_emit_c_matches_tflm_on_the_test_split(kind: str, train_cache: Path, tmp_path: Path) -> None:
    train_run = cached_train_run(kind, train_cache)
    proc = subprocess.run([str(CLI), "convert", "--data", str(train_run), "--emit", "c", "--board", "uno",
                           "--llm", "offline", "--out", str(tmp_path / "runs"), "--json"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout)
    out = read_output(Path(result["run_dir"]), ("convert",))
    c_dir, card = Path(out["c_dir"]), json.loads(Path(out["model_card"]).read_text())
    (c_dir / "main.c").write_text(host_main_source("model"))
    exe = tmp_path / "runner"
    build = subprocess.run(["gcc", *HOST_CFLAGS, "-I", str(c_dir), str(c_dir / "model.c"), str(c_dir / "main.c"),
                            "-o", str(exe)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    with np.load(Path(out["processed_dir"]) / "test.npz") as split:
        x, y = split["X"], split["y"]
    assert len(x) >= 20
    q = quantize_inputs(x, card["input_scale"], card["input_zero_point"]).reshape(len(x), -1)
    ours = run_host(exe, q, int(np.prod(card["output_shape"])))
    ref = tflm_run(Path(out["tflite"]).read_bytes(), q.reshape(len(x), *card["input_shape"])).reshape(len(x), -1)
    assert ours.shape == ref.shape == (len(x), card["output_shape"][-1])
    assert np.array_equal(ours, ref), f"{int((ours != ref).sum())} bytes differ"
    accuracy = float(np.mean(ours.argmax(1) == y))
    # converted_accuracy comes from LiteRT, which may round a tie differently than TFLM: one row of slack
    assert abs(accuracy - card["converted_accuracy"]) <= 1 / len(x) + 1e-9 and accuracy > 0.6
    assert card["c_arena_bytes"] == result["c_arena_bytes"] > 0
    assert f"#define MODEL_ARENA_BYTES {card['c_arena_bytes']}" in (c_dir / "model.h").read_text()


def _check_cli(model: bytes, tmp_path: Path, *flags: str) -> tuple[int, dict]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "m.tflite"
    path.write_bytes(model)
    proc = subprocess.run([str(CLI), "convert", "--check", str(path), "--emit", "c", *flags,
                           "--out", str(tmp_path / "runs"), "--json"], capture_output=True, text=True, timeout=300)
    return proc.returncode, json.loads(proc.stdout)


def test_check_emit_c_takes_float_edges_and_names_what_it_cannot_take(tmp_path: Path) -> None:
    keras = pytest.importorskip("keras")
    from tinyml_autopilot.cruntime.reference_models import to_int8_tflite

    x = np.random.default_rng(0).normal(size=(60, 6)).astype(np.float32)
    float_io = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4), keras.layers.Dense(3)])
    code, out = _check_cli(to_int8_tflite(float_io, x, int8_io=False), tmp_path / "a")
    assert code == 0 and out["findings"] == [] and out["c_weights_bytes"] > 0, out
    assert "model_invoke" in (Path(out["run_dir"]) / "artifacts" / "c" / "model.h").read_text()
    inp = keras.Input((6,))
    two = keras.Model(inp, [keras.layers.Dense(2)(inp), keras.layers.Dense(3)(inp)])
    code, out = _check_cli(to_int8_tflite(two, x), tmp_path / "b")
    assert code == 1 and out["findings"] == ["c_runtime: the C runtime needs one input and one output, "
                                             "model has 1 and 2"], out
    assert not (Path(out["run_dir"]) / "artifacts" / "c").exists()  # no empty folder left behind
