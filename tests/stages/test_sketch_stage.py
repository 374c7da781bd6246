"""The sketch stage end to end: offline templates through the loop, the scripted LLM repairing each
failure, `sketch --check` as a linter, and the one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from stages.sketch_fixtures import fixture_model as fm
from tinyml_autopilot.llm import get_model
from tinyml_autopilot.runs import Run
from tinyml_autopilot.sandbox.arduino import avr_toolchain_available, tool_available
from tinyml_autopilot.stages import sketch
from tinyml_autopilot.stages.base import StageContext
from tinyml_autopilot.stages.sketch.generate import render_sketch
from tinyml_autopilot.stages.sketch.inputs import resolve
from tinyml_autopilot.stages.sketch.spec import default_spec

CLI = str(Path(sys.executable).parent / "tinyml-autopilot")
needs_avr = pytest.mark.skipif(not (avr_toolchain_available() and tool_available("simavr")),
                               reason="arduino-builder/AVR core or simavr missing")


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, "sketch", *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def ctx_for(settings) -> StageContext:
    run = Run.create(settings.out, "sketch")
    return StageContext(settings, get_model(settings), run, Console(stderr=True))


def replies_for(board: str):
    inp = resolve(fm.convert_run(), board, None, None, None, None)
    inp.name, inp.output = "activity", "serial"
    spec = default_spec(inp)
    return f"```json\n{spec.model_dump_json()}\n```", render_sketch(spec, inp)


def attempt_records(result) -> list[dict]:
    """The saved attempt.json of each sketch-generation attempt, in order."""
    return [json.loads(p.read_text()) for p in sorted((result.run_dir / "attempts" / "sketch").glob("*/attempt.json"))]


def fenced(code: str) -> str:
    return f"Here is the sketch.\n```cpp\n{code}```\n"


@needs_avr
@pytest.mark.slow
def test_offline_uno_sketch_compiles_and_simulates(tmp_path):
    res = cli("--data", str(fm.convert_run()), "--board", "uno", "--name", "activity monitor", "--llm", "offline",
              "--out", str(tmp_path), "--yes", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["verdicts"]["compile"] == "passed" and out["verdicts"]["simulation"] == "passed"
    assert out["simulation_agreement"] == "20/20"
    assert 0 < out["flash_used"] <= out["flash_budget"] == 32256 and 0 < out["ram_used"] < 2048
    folder = Path(out["run_dir"]) / "sketch" / "activity_monitor"
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "activity_monitor.ino", "model.c", "model.h"]
    assert "PRED" in (Path(out["run_dir"]) / "logs" / "simulation.log").read_text()
    verdicts = json.loads((Path(out["run_dir"]) / "verdicts.json").read_text())
    assert verdicts["checks"]["quantization"]["status"] == "passed"


def test_offline_nano33ble_sketch_is_checked_but_plainly_not_compiled(tmp_path):
    if tool_available("arduino-cli"):
        pytest.skip("arduino-cli is installed here: the sketch would be compiled")
    res = cli("--data", str(fm.convert_run()), "--board", "nano33ble", "--output", "led", "--llm", "offline",
              "--out", str(tmp_path), "--yes", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["verdicts"]["compile"] == "not compiled" and out["compiled"] is False
    assert ("not compiled: no compiler for arduino:mbed_nano:nano33ble here (install arduino-cli and core "
            "arduino:mbed_nano)") in out["message"]
    assert all(out["verdicts"][c] == "passed" for c in ("ops_registered", "resolver_count", "arena_size", "api"))
    ino = next((Path(out["run_dir"]) / "sketch").glob("*/*.ino")).read_text()
    assert "MicroMutableOpResolver<2>" in ino and "ErrorReporter" not in ino
    readme = next((Path(out["run_dir"]) / "sketch").glob("*/README.md")).read_text()
    assert 'arduino-cli lib install "Chirale_TensorFlowLite"' in readme


@needs_avr
@pytest.mark.slow
def test_llm_sketch_that_fails_to_compile_then_predicts_wrongly_is_repaired(scripted, llm_settings):
    spec, good = replies_for("uno")
    broken = good.replace("int best = 0;", "int best = 0")
    wrong = good.replace("/ kFeatureScale[c]", "/ kFeatureScale[(c + 1) % kChannels]")
    server = scripted([spec, fenced(broken), fenced(wrong), fenced(good)])
    settings = llm_settings(server, max_attempts=4)
    result = sketch.run(ctx_for(settings), data=fm.convert_run(), board="uno", name="activity")
    assert result.ok, result.message
    attempts = attempt_records(result)
    assert [a["category"] for a in attempts] == ["compile", "check", None]
    assert attempts[1]["checks"] == ["simulation"]
    repair = server.requests[2]["messages"][-1]["content"]
    assert "did not compile" in repair and "activity.ino" in repair
    assert "predictions differ from the host model's" in server.requests[3]["messages"][-1]["content"]
    assert result.figures["simulation_agreement"] == "20/20"


@needs_avr
@pytest.mark.slow
def test_sketch_without_acquire_markers_fails_simulation_and_is_repaired(scripted, llm_settings):
    spec, good = replies_for("uno")
    unmarked = "".join(ln for ln in good.splitlines(keepends=True) if "TINYML_ACQUIRE" not in ln)
    assert unmarked != good
    server = scripted([spec, fenced(unmarked), fenced(good)])
    result = sketch.run(ctx_for(llm_settings(server, max_attempts=3)), data=fm.convert_run(), board="uno",
                        name="activity")
    assert result.ok, result.message
    attempts = attempt_records(result)
    assert [a["status"] for a in attempts] == ["failed", "ok"]
    assert attempts[0]["checks"] == ["simulation"]
    repair = server.requests[2]["messages"][-1]["content"]
    assert "TINYML_ACQUIRE_BEGIN" in repair and "acquire_sample" in repair
    assert result.figures["simulation_agreement"] == "20/20"


def test_llm_tflm_sketch_with_missing_op_and_error_reporter_is_repaired(scripted, llm_settings):
    spec, good = replies_for("nano33ble")
    bad = good.replace("  resolver.AddSoftmax();\n", "").replace(
        "  model = tflite::GetModel", "  static tflite::MicroErrorReporter reporter;\n  model = tflite::GetModel")
    small = good.replace("kTensorArenaSize = 2048", "kTensorArenaSize = 1000")
    server = scripted([spec, fenced(bad), fenced(small), fenced(good)])
    result = sketch.run(ctx_for(llm_settings(server, max_attempts=4)), data=fm.convert_run(), board="nano33ble",
                        name="activity")
    assert result.ok, result.message
    records = attempt_records(result)
    # with a TFLite Micro library installed the host build and run add their verdicts ("compile", "run")
    assert {"api", "ops_registered"} <= set(records[0]["checks"]) <= {"api", "ops_registered", "compile", "run"}
    assert {"arena_size"} <= set(records[1]["checks"]) <= {"arena_size", "run"}
    assert "[ops_registered] the model uses SOFTMAX" in server.requests[2]["messages"][-1]["content"]
    assert "AddFullyConnected(), AddSoftmax()" in server.requests[1]["messages"][-1]["content"]


def test_llm_spec_with_wrong_labels_is_repaired(scripted, llm_settings):
    spec, good = replies_for("nano33ble")
    data = json.loads(spec.split("```json\n")[1].split("```")[0])
    wrong = json.dumps({**data, "labels": ["run", "walk", "idle"]})
    server = scripted([f"```json\n{wrong}\n```", spec, fenced(good)])
    result = sketch.run(ctx_for(llm_settings(server)), data=fm.convert_run(), board="nano33ble", name="activity")
    assert result.ok
    assert "labels must be the model's" in server.requests[1]["messages"][-1]["content"]


@needs_avr
@pytest.mark.slow
def test_check_mode_lints_compiles_and_simulates_a_hand_written_uno_sketch(tmp_path):
    from tinyml_autopilot.cruntime import emit_c

    folder = fm.sketch_folder(tmp_path / "user", "handmade", fm.render("good_portable.ino"), model=False)
    emit_c((fm.convert_run() / "artifacts" / "model.tflite").read_bytes()).write(folder)
    before = {p.name: p.read_text() for p in folder.iterdir()}
    res = cli("--check", str(folder), "--data", str(fm.convert_run()), "--board", "uno", "--json",
              "--out", str(tmp_path / "runs"), cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    out = json.loads(res.stdout)
    assert out["verdicts"]["simulation"] == "passed" and out["findings"] == []
    assert {p.name: p.read_text() for p in folder.iterdir()} == before
    swapped = fm.render("good_portable.ino").replace("(raw[i] - kOffset[i]) / kScale[i]",
                                                     "(raw[i] - kOffset[i]) / kScale[3 - i]")
    bad = fm.sketch_folder(tmp_path / "user2", "handmade", swapped, model=False)
    emit_c((fm.convert_run() / "artifacts" / "model.tflite").read_bytes()).write(bad)
    res = cli("--check", str(bad), "--data", str(fm.convert_run()), "--board", "uno", "--json",
              "--out", str(tmp_path / "runs"), cwd=tmp_path)
    assert res.returncode == 1
    out = json.loads(res.stdout)
    assert out["verdicts"]["simulation"] == "failed"
    assert any(f.startswith("[simulation]") and "#" in f for f in out["findings"])


def _portable_sketch(root: Path, text: str) -> Path:
    from tinyml_autopilot.cruntime import emit_c

    folder = fm.sketch_folder(root, "handmade", text, model=False)
    emit_c((fm.convert_run() / "artifacts" / "model.tflite").read_bytes()).write(folder)
    return folder


@needs_avr
def test_check_mode_on_a_sketch_without_acquire_markers_says_it_was_not_simulated(tmp_path, offline_settings):
    """Someone else's sketch need not know the markers: it is linted and compiled, and the result says
    plainly that it was not simulated and how to make it so (a generated sketch must have them)."""
    text = "".join(ln for ln in fm.render("good_portable.ino").splitlines(keepends=True)
                   if "TINYML_ACQUIRE" not in ln)
    folder = _portable_sketch(tmp_path / "user", text)
    result = sketch.run(ctx_for(offline_settings), data=fm.convert_run(), board="uno", check=folder)
    assert result.status == "ok" and json.loads((result.run_dir / "findings.json").read_text()) == []
    sim = json.loads((result.run_dir / "verdicts.json").read_text())["simulation"]
    assert sim["status"] == "not simulated"
    assert "TINYML_ACQUIRE_BEGIN" in sim["message"] and "not simulated" in result.message
    assert result.figures["verdicts"]["compile"] == "passed"


@needs_avr
def test_a_secret_the_sketch_includes_never_reaches_the_run_folder(tmp_path, offline_settings, monkeypatch):
    key = "sk-proj-fake0123456789abcdefghij"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    dotenv = tmp_path / "home" / ".env"
    dotenv.parent.mkdir()
    dotenv.write_text(f"OPENAI_API_KEY={key}\n")
    text = f'#include "{dotenv}"\n' + fm.render("good_portable.ino")
    result = sketch.run(ctx_for(offline_settings), data=fm.convert_run(), board="uno",
                        check=_portable_sketch(tmp_path / "user", text))
    assert result.status == "failed"
    checks = {f["check"] for f in json.loads((result.run_dir / "findings.json").read_text())}
    assert {"includes", "compile"} <= checks
    assert "No such file or directory" in (result.run_dir / "logs" / "compile.log").read_text()  # sandboxed compile
    leaked = [p for p in result.run_dir.rglob("*") if p.is_file() and key.encode() in p.read_bytes()]
    assert leaked == []


PLAIN_UNO = "void setup() { Serial.begin(9600); }\nvoid loop() { Serial.println(analogRead(A0)); delay(100); }\n"


def test_check_mode_uses_the_boards_runtime_when_the_sketch_shows_none(tmp_path, offline_settings):
    folder = fm.sketch_folder(tmp_path / "user", "plain", PLAIN_UNO, model=False)
    result = sketch.run(ctx_for(offline_settings), data=fm.convert_run(), board="uno", check=folder)
    verdicts = json.loads((result.run_dir / "verdicts.json").read_text())
    messages = [f["message"] for f in json.loads((result.run_dir / "findings.json").read_text())]
    assert verdicts["runtime"] == "portable-c" and result.status == "failed"
    assert not any(w in m for m in messages for w in ("TensorFlow", "tflite", "MicroInterpreter", "model_data.h"))
    assert any("expected model.h" in m for m in messages), messages


def test_check_mode_copes_with_misnamed_and_empty_sketch_folders(tmp_path, offline_settings):
    from tinyml_autopilot.errors import UserError

    folder = _portable_sketch(tmp_path / "user", fm.render("good_portable.ino"))
    (folder / "handmade.ino").rename(folder / "other_name.ino")
    result = sketch.run(ctx_for(offline_settings), data=fm.convert_run(), board="uno", check=folder)
    verdicts = json.loads((result.run_dir / "verdicts.json").read_text())
    assert "Arduino requires the main file to be named like its folder (handmade/handmade.ino)" in verdicts["notes"][0]
    assert verdicts["compile"]["status"] == ("passed" if avr_toolchain_available() else "not compiled")
    assert sorted(p.name for p in folder.glob("*.ino")) == ["other_name.ino"]  # the user's folder is untouched
    empty = tmp_path / "empty_sketch"
    empty.mkdir()
    with pytest.raises(UserError, match=f"{empty} holds no .ino file"):
        sketch.run(ctx_for(offline_settings), data=fm.convert_run(), board="uno", check=empty)


@needs_avr
def test_check_mode_without_a_feature_spec_compiles_but_does_not_simulate(tmp_path):
    """Without the spec the right inputs are unknown: a scaling sketch would differ from an unscaled host."""
    folder = _portable_sketch(tmp_path / "user", fm.render("good_portable.ino"))
    res = cli("--check", str(folder), "--model", str(fm.convert_run() / "artifacts" / "model.tflite"),
              "--labels", "idle,walk,run", "--board", "uno", "--json", "--out", str(tmp_path / "runs"), cwd=tmp_path)
    out = json.loads(res.stdout)
    assert res.returncode == 0 and out["findings"] == [], res.stderr
    assert (out["verdicts"]["compile"], out["verdicts"]["simulation"]) == ("passed", "not simulated")
    assert "not simulated: no feature spec" in out["message"] and "compiled but not simulated" in res.stderr
    assert "no LLM configured" not in res.stderr  # the linter asks no LLM


def test_check_mode_with_model_and_labels_reports_findings_and_exits_1(tmp_path):
    folder = fm.sketch_folder(tmp_path, "user_sketch", fm.render("good_tflm.ino").replace(
        "MicroMutableOpResolver<2>", "MicroMutableOpResolver<1>"))
    res = cli("--check", str(folder), "--model", str(fm.convert_run() / "artifacts" / "model.tflite"),
              "--labels", "idle,walk,run", "--spec", str(fm.convert_run() / "processed" / "feature_spec.json"),
              "--board", "nano33ble", "--out", str(tmp_path / "runs"), cwd=tmp_path)
    assert res.returncode == 1
    text = " ".join(res.stderr.split())
    assert "[resolver_count] MicroMutableOpResolver<1> holds 1 ops but 2 are added" in text
    assert "not compiled: no compiler for arduino:mbed_nano:nano33ble" in text or tool_available("arduino-cli")


@pytest.mark.parametrize(("args", "words"), [
    (["--board", "nosuch"], "unknown board 'nosuch'"),
    (["--board", "uno", "--runtime", "tflm"], "TensorFlow Lite Micro does not run on Arduino Uno"),
    (["--board", "esp32", "--output", "ble", "--sensor", "imu"], "ESP32 DevKit (ESP32-WROOM-32) has no on-board "
                                                                 "sensor 'imu': use --sensor serial"),
    (["--board", "esp32", "--output", "ble"], None),
])
def test_bad_inputs_get_one_line(tmp_path, args, words):
    res = cli("--data", str(fm.convert_run()), *args, "--llm", "offline", "--out", str(tmp_path), "--yes",
              cwd=tmp_path)
    if words is None:  # serial input by default
        assert res.returncode == 0, res.stderr
        return
    assert res.returncode == 2
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and words in " ".join(res.stderr.split()) and "Traceback" not in res.stderr


@pytest.mark.slow
def test_model_too_big_for_the_board_is_one_line(tmp_path):
    import numpy as np
    import tensorflow as tf

    model = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(256, activation="relu"),
                                 tf.keras.layers.Dense(160, activation="relu"), tf.keras.layers.Dense(3)])
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([np.random.rand(1, 4).astype(np.float32)] for _ in range(20))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.int8
    big = tmp_path / "big.tflite"
    big.write_bytes(conv.convert())
    res = cli("--model", str(big), "--labels", "a,b,c", "--board", "uno", "--llm", "offline",
              "--out", str(tmp_path), "--yes", cwd=tmp_path)
    assert res.returncode == 2
    assert "do not fit Arduino Uno (ATmega328P)'s 32256 B of flash" in " ".join(res.stderr.split())
    # the Mega's flash holds it, but no AVR object may exceed 32767 B: stopped before any attempt
    res = cli("--model", str(big), "--labels", "a,b,c", "--board", "mega2560", "--llm", "offline",
              "--out", str(tmp_path), "--yes", cwd=tmp_path)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert ("the model cannot run on Arduino Mega 2560: one constant array of this model is 40960 bytes, AVR "
            "objects are limited to 32767 bytes") in " ".join(res.stderr.split())


def test_boards_lists_the_catalogue_as_table_and_json(tmp_path):
    table = subprocess.run([CLI, "boards"], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert table.returncode == 0 and "nano33ble_rev2" in table.stdout and "BMI270+BMM150" in table.stdout
    data = json.loads(subprocess.run([CLI, "boards", "--json"], capture_output=True, text=True, cwd=tmp_path,
                                     timeout=60).stdout)
    ids = {b["id"]: b for b in data}
    assert {"nano33ble", "nano33ble_rev2", "nano_rp2040_connect", "esp32", "portenta_h7", "uno", "nano",
            "mega2560"} <= set(ids)
    assert ids["uno"]["runtime"] == "portable-c" and ids["nano33ble_tinymlx"]["tflm_api"] == "errorreporter"


def _sub(pattern: str, replacement: str):
    import re

    return lambda code: re.sub(pattern, replacement, code, count=1)


def _error_reporter_era(code: str) -> str:
    """The sketch as LLMs trained on 2020-era examples write it: ErrorReporter, 5-argument interpreter."""
    code = code.replace('#include "tensorflow/lite/micro/micro_interpreter.h"',
                        '#include "tensorflow/lite/micro/micro_error_reporter.h"\n'
                        '#include "tensorflow/lite/micro/micro_interpreter.h"')
    code = code.replace("  model = tflite::GetModel", "  static tflite::MicroErrorReporter micro_error_reporter;\n"
                        "  tflite::ErrorReporter *error_reporter = &micro_error_reporter;\n  model = tflite::GetModel")
    return code.replace("tensor_arena, kTensorArenaSize);", "tensor_arena, kTensorArenaSize, error_reporter);")


FAILURE_MODES = {
    "missing op": (_sub(r"  resolver\.AddSoftmax\(\);\n", ""), "ops_registered"),
    "ErrorReporter-era API": (_error_reporter_era, "api"),
    "wrong resolver count": (_sub(r"MicroMutableOpResolver<\d+>", "MicroMutableOpResolver<1>"), "resolver_count"),
    "uint8 input": (_sub(r"memcpy\(input->data\.int8", "memcpy(input->data.uint8"), "quantization"),
    "wrong zero point": (_sub(r"kInputZeroPoint = -?\d+", "kInputZeroPoint = 99"), "quantization"),
    "wrong label count": (lambda code: _sub(r"kNumClasses = 3;", "kNumClasses = 2;")(
        _sub(r'\{"idle", "walk", "run"\}', '{"idle", "walk"}')(code)), "label_count"),
    "class count constant too small": (_sub(r"kNumClasses = 3;", "kNumClasses = 2;"), "label_count"),
    "wrong scaling constants": (_sub(r"kFeatureOffset\[kChannels\] = \{[\d.]+f", "kFeatureOffset[kChannels] = {0.5f"),
                                "feature_scaling"),
    "arena too small": (_sub(r"kTensorArenaSize = \d+", "kTensorArenaSize = 512"), "arena_size"),
}


@pytest.mark.parametrize("mode", list(FAILURE_MODES))
def test_llm_failure_mode_is_caught_by_its_check_and_repaired(scripted, llm_settings, mode):
    """Each known way LLM-written sketches go wrong, replayed over HTTP: caught by name, then repaired."""
    mutate, check = FAILURE_MODES[mode]
    spec, good = replies_for("nano33ble")
    bad = mutate(good)
    assert bad != good
    server = scripted([spec, fenced(bad), fenced(good)])
    result = sketch.run(ctx_for(llm_settings(server, max_attempts=3)), data=fm.convert_run(), board="nano33ble",
                        name="activity")
    assert result.ok, result.message
    attempts = attempt_records(result)
    assert [a["status"] for a in attempts] == ["failed", "ok"]
    assert check in attempts[0]["checks"], attempts[0]
    assert f"[{check}]" in server.requests[2]["messages"][-1]["content"]


def test_a_spec_file_that_disagrees_with_the_model_is_one_line(tmp_path, offline_settings):
    from tinyml_autopilot.errors import UserError

    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"labels": ["run", "walk", "idle"], "window": 2}))
    with pytest.raises(UserError, match=r"spec file .* disagrees with the model or board: labels must be the "
                                        r"model's, in output order: \['idle', 'walk', 'run'\]; window \(2\)"):
        sketch.run(ctx_for(offline_settings), data=fm.convert_run(), board="nano33ble", spec_file=spec)


def test_readme_wires_each_analog_channel_to_its_pin():
    from tinyml_autopilot.stages.sketch.generate import render_readme

    inp = resolve(fm.convert_run(), "uno", None, None, None, None)
    inp.sensor = "analog"
    readme = render_readme(default_spec(inp), inp, ["model.h", "model.c"])
    assert "a0 → A0, a1 → A1, a2 → A2, a3 → A3" in readme
    assert "analogRead()` gives counts from 0 to 1023" in readme
