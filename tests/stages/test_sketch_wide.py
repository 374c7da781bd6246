"""Wide tabular data on the Uno: scaling constants in flash, a RAM prediction that agrees with the linker, and
the linker's own line when a sketch does not fit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from stages.sketch_fixtures import fixture_model as fm
from tinyml_autopilot.boards import get_board
from tinyml_autopilot.sandbox.arduino import avr_toolchain_available, tool_available
from tinyml_autopilot.stages.convert_output import write_c_array
from tinyml_autopilot.stages.sketch.compile import compile_for
from tinyml_autopilot.stages.sketch.generate import render_sketch
from tinyml_autopilot.stages.sketch.inputs import resolve
from tinyml_autopilot.stages.sketch.memory import STACK_RESERVE, avr_portable_c_ram, linker_lines
from tinyml_autopilot.stages.sketch.spec import default_spec

CLI = str(Path(sys.executable).parent / "tinyml-autopilot")
needs_avr = pytest.mark.skipif(not (avr_toolchain_available() and tool_available("simavr")),
                               reason="arduino-builder/AVR core or simavr missing")


BUILT: dict[int, Path] = {}


@pytest.fixture(scope="module")
def wide_run(tmp_path_factory):
    def get(features: int) -> Path:
        if features not in BUILT:
            BUILT[features] = build(tmp_path_factory.mktemp(f"wide{features}"), features)
        return BUILT[features]
    return get


def build(root: Path, features: int) -> Path:
    """A convert run folder: an int8 MLP on `features` standardised features, offsets and scales far from 0/1."""
    import tensorflow as tf

    rng = np.random.default_rng(features)
    x = rng.normal(size=(600, features)).astype(np.float32)
    y = np.argmax(x[:, :3] + 0.3 * x[:, 3:6], axis=1).astype(np.int64)
    tf.keras.utils.set_random_seed(0)
    model = tf.keras.Sequential([tf.keras.Input((features,)), tf.keras.layers.Dense(8, activation="relu"),
                                 tf.keras.layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=8, batch_size=32, verbose=0)
    art, proc = root / "artifacts", root / "processed"
    art.mkdir(parents=True)
    proc.mkdir()
    (art / "model.tflite").write_bytes(fm.int8_tflite(model, x, 100, per_tensor=False))
    write_c_array(art / "model.tflite", art)
    np.savez(proc / "test.npz", X=x[:12], y=y[:12])
    names = [f"f{i}" for i in range(features)]
    spec = {"kind": "tabular", "input_shape": [features], "feature_columns": names, "window": None, "stride": None,
            "sample_rate_hz": None, "label_column": "label", "labels": fm.LABELS,
            "scaling": {"method": "standard", "offset": rng.uniform(100, 900, features).round(3).tolist(),
                        "scale": rng.uniform(2, 60, features).round(3).tolist()}}
    (proc / "feature_spec.json").write_text(json.dumps(spec))
    (proc / "labels.json").write_text(json.dumps(fm.LABELS))
    (art / "model_card.json").write_text(json.dumps(fm._card(art / "model.tflite")))
    (root / "output.json").write_text(json.dumps({
        "stage": "convert", "tflite": "artifacts/model.tflite", "model_card": "artifacts/model_card.json",
        "processed_dir": "processed", "feature_spec": "processed/feature_spec.json", "labels": fm.LABELS}))
    return root


def predicted(run: Path, features: int):
    from tinyml_autopilot.cruntime import emit_c

    inp = resolve(run, "uno", None, None, None, None)
    cm = emit_c(inp.facts.tflite.read_bytes(), prefix="model")
    return inp, cm, avr_portable_c_ram(features, inp.facts.labels, cm.arena_bytes, inp.facts.input_size,
                                       inp.facts.output_size, 2048)


@needs_avr
def test_251_features_fit_the_uno_with_the_constants_in_flash(tmp_path, wide_run):
    res = subprocess.run([CLI, "sketch", "--data", str(wide_run(251)), "--board", "uno", "--llm", "offline",
                          "--json", "--yes", "--out", str(tmp_path / "runs")], capture_output=True, text=True,
                         cwd=tmp_path, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    figures = json.loads(res.stdout)
    assert figures["verdicts"]["compile"] == "passed" and figures["verdicts"]["simulation"] == "passed", figures
    assert figures["simulation_agreement"] == "12/12"
    ino = next((Path(figures["run_dir"]) / "sketch").rglob("*.ino")).read_text()
    assert "kFeatureOffset[kChannels] PROGMEM" in ino and "pgm_read_float(&kFeatureScale[c])" in ino
    _, _, budget = predicted(wide_run(251), 251)
    globals_predicted = budget.total - STACK_RESERVE
    assert abs(globals_predicted - figures["ram_used"]) <= 0.1 * figures["ram_used"], (budget, figures["ram_used"])


@needs_avr
def test_427_features_are_refused_in_one_line_as_the_linker_refuses_them(tmp_path, wide_run):
    res = subprocess.run([CLI, "sketch", "--data", str(wide_run(427)), "--board", "uno", "--llm", "offline",
                          "--out", str(tmp_path / "runs")], capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    line = " ".join(res.stderr.split())
    assert "B of RAM and Arduino Uno (ATmega328P) has 2048 B" in line and "raw sample (floats) 1708 B" in line
    assert "427 input features are too many" in line
    inp, cm, budget = predicted(wide_run(427), 427)
    assert not budget.fits
    inp.name, inp.output = "wide", "serial"
    folder = tmp_path / "wide"
    folder.mkdir()
    (folder / "wide.ino").write_text(render_sketch(default_spec(inp), inp))
    cm.write(folder)
    verdict = compile_for(folder, get_board("uno"), tmp_path / "build")
    assert verdict.status == "failed"
    assert any("not within region" in e or "overflowed" in e for e in verdict.errors[:3]), verdict.message
    assert "ld returned 1 exit status" not in verdict.message.splitlines()[1]


def test_linker_lines_are_picked_out_of_a_log():
    log = ("Compiling sketch...\n"
           "/usr/lib/avr/bin/ld: address 0x800a1c of wide.ino.elf section `.data' is not within region `data'\n"
           "/usr/lib/avr/bin/ld: region `data' overflowed by 123 bytes\n"
           "collect2: error: ld returned 1 exit status\n")
    assert linker_lines(log) == [log.splitlines()[1].strip(), log.splitlines()[2].strip()]
