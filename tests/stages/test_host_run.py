"""TFLite Micro sketches built on the host against the real Arduino libraries and run on recorded readings:
each mistake gets its named verdict, a correct sketch agrees with the host model on every library."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from stages import tflm_sketches as ts
from stages.sketch_fixtures import fixture_model as fm
from tinyml_autopilot.sandbox.libraries import Library, find, installed, library_dirs, not_found_message
from tinyml_autopilot.stages.sketch.host_run import run_on_host
from tinyml_autopilot.stages.sketch.inputs import resolve
from tinyml_autopilot.stages.sketch.run_tflm import label_index

CLI = str(Path(sys.executable).parent / "tinyml-autopilot")
LABELS = ["idle", "walk", "run"]


def inputs(board: str = "nano33ble_tinymlx", run: Path | None = None):
    inp = resolve(run or fm.convert_run(), board, None, None, None, None, measure=False)
    inp.libraries = ts.library_setting()
    return inp


def host_verdict(tmp_path: Path, text: str, board: str = "nano33ble_tinymlx", run: Path | None = None):
    folder = ts.write_sketch(tmp_path / "src", "probe", text, run)
    return run_on_host(folder, inputs(board, run), tmp_path / "work")


def test_libraries_are_found_in_the_setting_with_their_versions(tmp_path):
    lib = tmp_path / "libs" / "Chirale_TensorFlowLite"
    (lib / "src").mkdir(parents=True)
    (lib / "library.properties").write_text("name=Chirale_TensorFLowLite\nversion=2.0.0\n")
    (tmp_path / "libs" / "NotALibrary").mkdir()
    found = installed(str(tmp_path / "libs"))
    assert list(found) == ["Chirale_TensorFlowLite"] and found["Chirale_TensorFlowLite"].version == "2.0.0"
    assert find("chirale_tensorflowlite", str(tmp_path / "libs")) == found["Chirale_TensorFlowLite"]
    assert find("Harvard_TinyMLx", str(tmp_path / "libs")) is None
    message = not_found_message("Harvard_TinyMLx", str(tmp_path / "libs"))
    assert "needs Harvard_TinyMLx" in message and "found Chirale_TensorFlowLite" in message


def test_without_a_setting_the_default_sketchbook_folder_is_searched(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no arduino-cli
    monkeypatch.setenv("HOME", str(tmp_path))
    assert library_dirs(None) == [tmp_path / "Arduino" / "libraries"]
    assert not_found_message(None, None) == (f"not run: no TFLite Micro library found in {tmp_path}/Arduino/"
                                             "libraries (arduino-cli lib install Chirale_TensorFlowLite, or set "
                                             "libraries)")


@pytest.mark.parametrize(("line", "index"), [
    ("Prediction: walk", 1), ("🍏 RUN detected", 2), ("idle: 0.10 walk: 0.75 run: 0.15", 1),
    ("idle=12 walk=-40 run=80", 2), ("class 2", 2), ("pred=0 conf 0.9", 0), ("walking", None),
    ("setup complete", None), ("idle walk run", None)])
def test_a_printed_prediction_is_read_back_as_a_class_index(line, index):
    assert label_index(line, LABELS) == index


def test_without_a_library_the_verdict_is_not_run_never_passed(tmp_path):
    inp = inputs("nano33ble")
    inp.libraries = str(tmp_path / "empty")
    folder = ts.write_sketch(tmp_path / "src", "probe", ts.sketch_text("current"))
    out = run_on_host(folder, inp, tmp_path / "work")
    assert out.run.status == "not run" and out.run.message == (
        f"not run: no TFLite Micro library found in {tmp_path}/empty (arduino-cli lib install "
        "Chirale_TensorFlowLite, or set libraries)")


# library, API era of the sketch, board: TFLM 2.4's ErrorReporter API and the current one
CORRECT = [("Harvard_TinyMLx", "errorreporter", "nano33ble_tinymlx"),
           ("Chirale_TensorFlowLite", "current", "nano33ble"),
           ("Arduino_TensorFlowLite", "current", "nano33ble")]


@pytest.mark.slow
@pytest.mark.parametrize(("library", "era", "board"), CORRECT)
def test_a_correct_sketch_agrees_with_the_host_model(tmp_path, library, era, board):
    ts.needs_library(library)
    out = host_verdict(tmp_path, ts.sketch_text(era, library=library if era == "current" else None), board=board)
    assert out.build["status"] == "passed", out.build
    assert out.build["library"].startswith(library + " ")
    run = out.run
    assert run.status == "passed", run.message
    assert run.predictions == run.readings == run.agree == 200
    assert 0 < run.arena_used_bytes < 4096  # 32-bit build: what the board's interpreter uses


@pytest.mark.slow
def test_per_channel_fully_connected_weights_are_named_when_outputs_differ(tmp_path):
    ts.needs_library("Harvard_TinyMLx")
    out = host_verdict(tmp_path, ts.sketch_text("errorreporter"), run=ts.per_channel_run())  # TF's default conversion
    assert out.run.status == "failed" and out.run.reason == "predictions differ"
    assert "per-channel FULLY_CONNECTED weights" in out.run.message and out.run.agree < out.run.predictions


EXPECTED = ts.VERDICTS


@pytest.mark.slow
@pytest.mark.parametrize("mistake", list(EXPECTED))
def test_each_mistake_gets_its_named_verdict(tmp_path, mistake, monkeypatch):
    ts.needs_library("Harvard_TinyMLx")
    monkeypatch.setattr("tinyml_autopilot.stages.sketch.run_tflm.RUN_TIMEOUT_S", 8)
    out = host_verdict(tmp_path, ts.sketch_text("errorreporter", mistake))
    assert out.build["status"] == "passed", out.build
    assert out.run.status == "failed" and out.run.reason == EXPECTED[mistake], out.run.message


@pytest.mark.slow
def test_a_host_compile_error_points_at_the_sketch_line(tmp_path):
    ts.needs_library("Harvard_TinyMLx")
    text = ts.sketch_text("errorreporter").replace("resolver.AddSoftmax();", "resolver.AddSoftMax();")
    out = host_verdict(tmp_path, text)
    line = text.splitlines().index("  resolver.AddSoftMax();") + 1
    assert out.build["status"] == "failed" and out.build["lines"] == [line]
    assert f"probe.ino:{line}: error:" in out.build["message"] and "AddSoftMax" in out.build["message"]


@pytest.mark.slow
def test_check_several_sketches_writes_one_table(tmp_path):
    lib: Library = ts.needs_library("Harvard_TinyMLx")
    good = ts.write_sketch(tmp_path / "sk", "good", ts.sketch_text("errorreporter"))
    ts.write_sketch(tmp_path / "sk", "swapped", ts.sketch_text("errorreporter", "label order swapped"))
    readings = tmp_path / "readings.csv"
    readings.write_text("a0,a1,a2,a3,label\n612,300,20,5,idle\n400,250,28,1,run\n512,330,18,7,walk\n")
    env = {**os.environ, "TINYML_LIBRARIES": str(lib.path.parent)}
    proc = subprocess.run([CLI, "sketch", "--data", str(fm.convert_run()), "--board", "nano33ble_tinymlx",
                           "--check", str(good), "--check", str(tmp_path / "sk" / "sw*"), "--readings",
                           str(readings), "--json", "--out", str(tmp_path / "runs")],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env)
    assert proc.returncode == 1, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    rows = {r["sketch"]: r for r in json.loads((Path(result["run_dir"]) / "check_table.json").read_text())}
    assert rows["good"]["run"] == "passed" and rows["good"]["agree"] == 3 and rows["good"]["readings"] == 3
    assert rows["swapped"]["run"] == "failed" and rows["swapped"]["run_reason"] == "predictions differ"
    assert rows["good"]["m4_run"] == "passed" and rows["good"]["m4_instructions_per_inference"] > 0
    assert rows["swapped"]["m4_run"] == "not run" and rows["swapped"]["m4_reason"] == "host run"
    assert (Path(result["run_dir"]) / "check_table.csv").read_text().startswith("sketch,findings,")


@pytest.mark.slow
def test_llm_sketch_with_a_host_compile_error_then_swapped_labels_is_repaired(scripted, llm_settings):
    ts.needs_library("Harvard_TinyMLx")
    from stages.test_sketch_stage import attempt_records, ctx_for, fenced, replies_for
    from tinyml_autopilot.stages import sketch

    spec, good = replies_for("nano33ble_tinymlx")
    broken = good.replace("interpreter->input(0)", "interpreter->inputs(0)", 1)
    swapped = good.replace("output->data.int8[i] > output->data.int8[best]",  # argmin: only a run shows it
                           "output->data.int8[i] < output->data.int8[best]")
    assert broken != good and swapped != good
    server = scripted([spec, fenced(broken), fenced(swapped), fenced(good)])
    settings = llm_settings(server, max_attempts=4, libraries=ts.library_setting())
    result = sketch.run(ctx_for(settings), data=fm.convert_run(), board="nano33ble_tinymlx", name="activity")
    assert result.ok, result.message
    attempts = attempt_records(result)
    assert [a["status"] for a in attempts] == ["failed", "failed", "ok"]
    assert "compile" in attempts[0]["checks"] and "run" in attempts[1]["checks"]
    line = broken.splitlines().index(next(x for x in broken.splitlines() if "inputs(0)" in x)) + 1
    assert f"activity.ino:{line}: error:" in server.requests[2]["messages"][-1]["content"]
    assert "predictions differ from the host model's" in server.requests[3]["messages"][-1]["content"]
    assert result.figures["verdicts"]["run"] == "passed" and result.figures["run_agreement"] == "200/200"
    assert result.figures["verdicts"]["m4_run"] == "passed" and result.figures["m4"]["flash_bytes"] > 0


def test_a_host_build_cannot_include_host_files(tmp_path):
    """The sketch is generated code: an #include of a host file must not reach the build log or a prompt."""
    ts.needs_library("Harvard_TinyMLx")
    secret = Path.home() / ".tinyml-host-build-probe"
    secret.write_text("host-only-text-4711\n")
    try:
        text = f'#include "{secret}"\n#include "/etc/shadow"\n' + ts.sketch_text("errorreporter")
        out = host_verdict(tmp_path, text)
    finally:
        secret.unlink()
    assert out.build["status"] == "failed"
    log = "".join(p.read_text(errors="replace") for p in tmp_path.rglob("*.log"))
    assert "host-only-text-4711" not in log + json.dumps(out.build) and "root:" not in log + json.dumps(out.build)
    assert "No such file or directory" in log


def test_a_model_op_the_library_has_no_kernel_for_is_named_before_building(tmp_path):
    """A Conv1D model lowers to EXPAND_DIMS, which TFLM 2.4 (Harvard_TinyMLx) has no kernel for: a model that
    did not go through the convert stage for this board cannot run there, and the verdict says so (and how
    to convert it) instead of a compile error about AddExpandDims."""
    from tinyml_autopilot.checks.sketch.facts import load_facts
    from tinyml_autopilot.checks.sketch.libraries import ops_without_kernel
    from tinyml_autopilot.cruntime.reference_models import cnn1d

    harvard, chirale = ts.needs_library("Harvard_TinyMLx"), ts.needs_library("Chirale_TensorFlowLite")
    model = tmp_path / "cnn.tflite"
    model.write_bytes(cnn1d(epochs=1, n_train=32, n_test=8).tflite)
    ops = load_facts(model).ops
    assert ops_without_kernel(ops, harvard.resolver_methods()) == ["EXPAND_DIMS"]
    assert ops_without_kernel(ops, chirale.resolver_methods()) == []
    inp = inputs()
    inp.facts.ops = ops
    folder = ts.write_sketch(tmp_path / "src", "probe", ts.sketch_text("errorreporter"))
    out = run_on_host(folder, inp, tmp_path / "work")
    assert out.run.reason == "op not in library" and not (tmp_path / "work" / "host_build").exists()
    assert "needs EXPAND_DIMS, which Harvard_TinyMLx" in out.run.message and "AddExpandDims" in out.run.message
    assert "convert --check MODEL.tflite --board nano33ble_tinymlx" in out.run.message
