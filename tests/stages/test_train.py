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
from tinyml_autopilot.stages.train_fixtures import cached_train_run, write_data_run, write_fixture

CLI = Path(sys.executable).with_name("tinyml-autopilot")


def context(settings, stage: str = "train") -> StageContext:
    return StageContext(settings, get_model(settings), Run.create(settings.out, stage), Console(stderr=True))


@pytest.fixture(scope="session")
def train_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.getbasetemp() / "train-cache"


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
    result = train.run(context(offline_settings), data=tmp_path / "xy.npz", flash_kb=3, ram_kb=0.25, epochs=40)
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
```"""


@pytest.mark.slow
def test_llm_training_is_repaired_when_the_model_exceeds_the_budget(scripted, llm_settings, tmp_path):
    data = write_data_run("timeseries", tmp_path / "data")
    template = train.packaged_script("train_template.py").read_text()
    server = scripted([TOO_BIG, f"Smaller now:\n```python\n{template}```"])
    settings = llm_settings(server, board="uno")
    result = train.run(context(settings), data=data, description="gesture from 3 accelerometer axes", epochs=30)
    assert result.ok, result.message
    assert result.figures["attempts"] == 2 and result.figures["params"] < model_budget("uno").max_params
    first_prompt = server.requests[0]["messages"][-1]["content"]
    assert "[40, 3]" in first_prompt and "gesture from 3 accelerometer axes" in first_prompt
    repair = server.requests[1]["messages"][-1]["content"]
    assert "[params]" in repair and "exceed the budget" in repair
    attempt = json.loads((result.run_dir / "attempts" / "train" / "01" / "attempt.json").read_text())
    assert attempt["category"] == "check" and attempt["checks"] == ["params"]


def test_bad_data_is_one_line_exit_2(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    for data in (tmp_path / "missing", tmp_path / "notes.txt", tmp_path):
        proc = subprocess.run([str(CLI), "train", "--data", str(data), "--llm", "offline", "--out",
                               str(tmp_path / "runs")], capture_output=True, text=True)
        assert proc.returncode == 2, proc.stderr
        assert "error:" in proc.stderr and "Traceback" not in proc.stderr


def test_processed_folder_is_accepted_directly(offline_settings, tmp_path):
    folder = write_fixture("tabular", tmp_path / "processed")
    ctx = context(offline_settings)
    processed = train.resolve_processed(folder, ctx.run)
    assert processed.input_shape == [13] and processed.labels == ["class_0", "class_1", "class_2"]
    assert processed.feature_spec["scaling"]["method"] == "standard"
