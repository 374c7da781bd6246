"""The train stage: offline templates and the scripted LLM, real TensorFlow in the sandbox."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from tinyml_autopilot.errors import UserError
from tinyml_autopilot.llm import get_model
from tinyml_autopilot.runs import Run, read_output
from tinyml_autopilot.stages import train
from tinyml_autopilot.stages.base import StageContext
from tinyml_autopilot.stages.train_budget import model_budget
from tinyml_autopilot.stages.train_data import load_processed
from tinyml_autopilot.stages.train_fixtures import cached_train_run, write_data_run, write_fixture

CLI = Path(sys.executable).with_name("tinyml-autopilot")


def context(settings, stage: str = "train") -> StageContext:
    return StageContext(settings, get_model(settings), Run.create(settings.out, stage), Console(stderr=True))


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["tabular", "timeseries"])
def test_offline_training_fits_the_uno_and_learns(kind, train_cache):
    run_dir = cached_train_run(kind, train_cache)
    report = json.loads((run_dir / "artifacts" / "train_report.json").read_text())
    budget = model_budget("uno")
    assert report["params"] <= budget.max_params and report["activation_bytes"] <= budget.max_activation_bytes
    assert report["val_accuracy"] >= 0.85 and report["test_accuracy"] >= 0.85
    assert report["input_shape"] == ([13] if kind == "tabular" else [40, 3])
    for name in ("model.keras", "training_curves.png", "confusion_matrix.png"):
        assert (run_dir / "artifacts" / name).stat().st_size > 1000
    out = read_output(run_dir, ("train",))
    assert Path(out["model"]).is_file() and Path(out["processed_dir"], "train.npz").is_file()
    assert out["board"] == "uno"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "ok" and metrics["test_accuracy"] == report["test_accuracy"]


def test_budget_comes_from_board_or_explicit_sizes():
    uno = model_budget("uno")
    assert uno.runtime == "portable-c" and uno.flash_bytes == 32256 - 8192 and uno.ram_bytes == 1024
    assert 10_000 < uno.max_params < 24_000
    explicit = model_budget("uno", flash_kb=4, ram_kb=0.5)
    assert explicit.source == "explicit" and explicit.max_params < 2000 and explicit.max_activation_bytes == 512
    assert model_budget(None).runtime == "tflm"
    with pytest.raises(UserError, match="leaves no room"):
        model_budget(None, flash_kb=1)


@pytest.mark.slow
def test_npz_input_is_split_and_trained_with_an_explicit_budget(offline_settings, tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 6)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    np.savez(tmp_path / "xy.npz", X=x, y=y)
    before = (tmp_path / "xy.npz").read_bytes()
    result = train.run(context(offline_settings), data=tmp_path / "xy.npz", flash_kb=3, ram_kb=0.25, epochs=40,
                       trials=2, search_time=20)
    assert result.ok, result.message
    assert result.figures["params"] <= model_budget(None, 3, 0.25).max_params
    assert result.figures["test_accuracy"] >= 0.8
    assert (result.run_dir / "processed" / "test.npz").is_file()
    assert (tmp_path / "xy.npz").read_bytes() == before


TOO_BIG = """```python
import json
from pathlib import Path
import keras
cfg = json.loads(Path("train_config.json").read_text())
model = keras.Sequential([keras.Input(tuple(cfg["input_shape"])), keras.layers.Flatten(), keras.layers.Dense(512),
                          keras.layers.Dense(cfg["n_classes"], activation="softmax")])
model.save("model.keras")
Path("history.json").write_text("{}")
Path("metrics.json").write_text(json.dumps({"val_accuracy": 0.5}))
Path("trials.json").write_text(json.dumps([{"number": 0, "state": "complete", "val_accuracy": 0.5, "params": 61955,
    "settings": {"family": "mlp", "units": 512}, "activation_bytes": 632, "macs": 61952, "latency_ms": 426.0}]))
```"""


@pytest.mark.slow
def test_llm_training_is_repaired_when_the_model_exceeds_the_budget(scripted, llm_settings, tmp_path):
    data = write_data_run("timeseries", tmp_path / "data")
    template = train.packaged_script("train_template.py").read_text()
    server = scripted([TOO_BIG, f"Smaller now:\n```python\n{template}```"])
    settings = llm_settings(server, board="uno")
    result = train.run(context(settings), data=data, description="gesture from 3 accelerometer axes", epochs=30,
                       trials=2, search_time=20)
    assert result.ok, result.message
    assert result.figures["attempts"] == 2 and result.figures["params"] < model_budget("uno").max_params
    first_prompt = server.requests[0]["messages"][-1]["content"]
    assert "[40, 3]" in first_prompt and "gesture from 3 accelerometer axes" in first_prompt
    assert "optuna" in first_prompt and "GlobalAveragePooling1D" in first_prompt and "2 trained trials" in first_prompt
    repair = server.requests[1]["messages"][-1]["content"]
    assert "[params]" in repair and "exceed the budget" in repair
    assert "best trials of this search: trial 0: val 0.500, 61955 params" in repair and "units=512" in repair
    attempt = json.loads((result.run_dir / "attempts" / "train" / "01" / "attempt.json").read_text())
    assert attempt["category"] == "check" and "params" in attempt["checks"]  # (it is untrained, too)


def test_bad_data_is_one_line_exit_2(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    for data in (tmp_path / "missing", tmp_path / "notes.txt", tmp_path):
        proc = subprocess.run([str(CLI), "train", "--data", str(data), "--llm", "offline", "--out",
                               str(tmp_path / "runs")], capture_output=True, text=True)
        assert proc.returncode == 2, proc.stderr
        assert "error:" in proc.stderr and "Traceback" not in proc.stderr
    proc = subprocess.run([str(CLI), "train", "--data", str(tmp_path), "--epochs", "0", "--llm", "offline", "--out",
                           str(tmp_path / "runs")], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.strip() == "error: --epochs 0 is not a number of epochs of at " \
        "least 1"


def test_processed_folder_is_accepted_directly(offline_settings, tmp_path):
    folder = write_fixture("tabular", tmp_path / "processed")
    ctx = context(offline_settings)
    processed = train.resolve_processed(folder, ctx.run)
    assert processed.input_shape == [13] and processed.labels == ["class_0", "class_1", "class_2"]
    assert processed.feature_spec["scaling"]["method"] == "standard"


def test_accuracy_floor_and_honesty_findings(tmp_path):
    processed = load_processed(write_fixture("tabular", tmp_path / "processed"))
    majority, floor = train.accuracy_floor(processed)
    _, y_val = processed.load("val")
    assert majority == pytest.approx(np.bincount(y_val).max() / len(y_val)) and floor == pytest.approx(majority + 0.05)
    budget = model_budget("uno")
    base = {"loads": True, "input_shape": [13], "output_shape": [3], "params": 100, "activation_bytes": 20}

    def checks(measured, reported):
        found = train.train_findings({**base, "val_accuracy": measured, "test_accuracy": measured},
                                     {"val_accuracy": reported}, processed, budget)
        return [f.check for f in found]

    assert checks(0.95, 0.96) == []
    assert checks(majority, majority) == ["accuracy"]  # an untrained model answering the majority class
    assert checks(0.95, 0.99) == ["reported_accuracy"]
    assert checks(0.95, 95.0) == ["reported_accuracy"]  # a percentage is not a fraction
    assert checks(0.95, None) == ["val_accuracy"]


def test_accuracy_floor_adapts_to_a_dominant_class(tmp_path):
    folder = write_fixture("tabular", tmp_path / "processed")
    with np.load(folder / "val.npz") as d:
        x = d["X"]
    np.savez(folder / "val.npz", X=x, y=np.r_[np.ones(len(x) - 1, np.int64), 0])
    majority, floor = train.accuracy_floor(load_processed(folder))
    assert majority > 0.95 and majority < floor < 1.0 and floor == pytest.approx((1 + majority) / 2)


UNTRAINED_AND_LYING = """```python
import json
from pathlib import Path
import keras
cfg = json.loads(Path("train_config.json").read_text())
model = keras.Sequential([keras.Input(tuple(cfg["input_shape"])),
                          keras.layers.Dense(cfg["n_classes"], activation="softmax", kernel_initializer="zeros")])
model.save("model.keras")
Path("history.json").write_text("{}")
Path("metrics.json").write_text(json.dumps({"val_accuracy": 0.97}))
```"""


@pytest.mark.slow
def test_untrained_model_is_refused_and_a_bad_history_costs_only_the_plot(scripted, llm_settings, tmp_path):
    data = write_data_run("tabular", tmp_path / "data")
    template = train.packaged_script("train_template.py").read_text()
    bad_history = template + '\nPath("history.json").write_text("not json")\n'
    server = scripted([UNTRAINED_AND_LYING, f"Trained now:\n```python\n{bad_history}```"])
    result = train.run(context(llm_settings(server)), data=data, epochs=30, trials=2, search_time=20)
    assert result.ok, result.message
    assert result.figures["attempts"] == 2 and result.figures["val_accuracy"] >= 0.85
    assert "must reach at least" in server.requests[0]["messages"][-1]["content"]
    attempt = json.loads((result.run_dir / "attempts" / "train" / "01" / "attempt.json").read_text())
    assert attempt["category"] == "check" and attempt["checks"] == ["accuracy", "reported_accuracy"]
    repair = server.requests[1]["messages"][-1]["content"]
    assert "most common class" in repair and "0.9700" in repair
    report = json.loads((result.run_dir / "artifacts" / "train_report.json").read_text())
    assert isinstance(report["test_accuracy"], float) and (result.run_dir / "artifacts" / "model.keras").is_file()
    assert not (result.run_dir / "artifacts" / "training_curves.png").exists()


@pytest.mark.slow
def test_a_crash_in_the_trusted_evaluation_fails_the_attempt(offline_settings, tmp_path):
    folder = write_fixture("tabular", tmp_path / "processed")
    with np.load(folder / "test.npz") as d:  # test samples the model cannot take: evaluation crashes
        np.savez(folder / "test.npz", X=d["X"][:, :12], y=d["y"])
    settings = offline_settings.model_copy(update={"max_attempts": 1})
    result = train.run(context(settings), data=folder, epochs=5, trials=1, search_time=10)
    assert not result.ok
    assert "evaluating model.keras failed" in result.message


def test_a_budget_no_layer_can_meet_is_refused_before_training(tmp_path):
    data = write_data_run("timeseries", tmp_path / "data")
    proc = subprocess.run([str(CLI), "train", "--data", str(data), "--flash-kb", "8", "--ram-kb", "0.1", "--llm",
                           "offline", "--out", str(tmp_path / "runs")], capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == ("error: one sample is 120 values [40, 3], but the activation budget (explicit) "
                                   "holds 61: no layer can read it; raise --ram-kb, pick a board with more RAM or "
                                   "use shorter windows / fewer features")


@pytest.mark.slow
def test_the_template_counts_flatten_and_says_when_nothing_fits(offline_settings, tmp_path):
    data = write_data_run("timeseries", tmp_path / "data")
    # 153 activation elements: the smallest CNN (4 filters, stride 4) needs 120 + 40, an MLP 2 x 120 for its Flatten
    result = train.run(context(offline_settings), data=data, flash_kb=8, ram_kb=0.25, epochs=5, trials=2,
                       search_time=20)
    assert not result.ok
    assert result.message == ("training failed (attempts): no model of the search space with [40, 3] inputs fits 5222 "
                              "parameters, 153 activation elements (all candidates pruned): raise the budget "
                              "(--flash-kb/--ram-kb/--latency-ms)")
    trials = json.loads((result.run_dir / "attempts" / "train" / "01" / "trials.json").read_text())
    assert trials and all(t["state"] == "pruned" and t["pruned_by"].startswith("budget: ") for t in trials)


def test_sandbox_errors_drop_tensorflow_chatter_and_name_a_crash():
    from tinyml_autopilot.sandbox.python import ExecResult
    from tinyml_autopilot.stages.train_sandbox import _last_error, crash_signal

    chatter = ("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
               "I0000 00:00:1796153525.527543       2 port.cc:153] oneDNN custom operations are on.\n"
               "/x/convert.py:846: UserWarning: Statistics for quantized inputs were expected\n  warnings.warn(\n")
    assert _last_error(ExecResult(139, "", chatter, 1.0)) == (
        "the script crashed: killed by SIGSEGV (exit code 139), inside native code (TensorFlow or its converter), "
        "with no Python traceback")
    assert _last_error(ExecResult(1, "", chatter + "ValueError: bad shape\n", 1.0)) == "ValueError: bad shape"
    assert crash_signal(-6) == "SIGABRT" and crash_signal(1) is None and crash_signal(130) is None
