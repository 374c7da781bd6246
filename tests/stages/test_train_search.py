"""The train stage's model search: the budget prunes candidates before training, every trial is recorded,
the report shows the trade-off. Real optuna and TensorFlow in the sandbox, tiny bounds."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from rich.console import Console

from tinyml_autopilot.errors import UserError
from tinyml_autopilot.llm import get_model
from tinyml_autopilot.report import build_report
from tinyml_autopilot.runs import Run
from tinyml_autopilot.stages import train
from tinyml_autopilot.stages.base import StageContext
from tinyml_autopilot.stages.train_budget import model_budget
from tinyml_autopilot.stages.train_data import load_processed
from tinyml_autopilot.stages.train_fixtures import write_data_run, write_fixture
from tinyml_autopilot.stages.train_search import best_trials, search_settings

CLI = Path(sys.executable).with_name("tinyml-autopilot")


def test_latency_limit_becomes_a_mac_budget():
    uno, nano = model_budget("uno", latency_ms=10), model_budget("nano33ble", latency_ms=10)
    assert uno.clock_hz == 16_000_000 and nano.clock_hz == 64_000_000
    assert uno.max_macs == int(0.01 * 16_000_000 / uno.cycles_per_mac) and nano.max_macs > 10 * uno.max_macs
    assert uno.latency_of(uno.max_macs) == pytest.approx(10, rel=1e-3)
    assert model_budget("uno").max_macs is None and model_budget("uno").as_dict()["max_macs"] is None
    with pytest.raises(UserError, match="--latency-ms 0"):
        model_budget("uno", latency_ms=0)
    assert search_settings(None, None, 60)["trials"] == 30 and search_settings(4, 9, 10)["epochs"] == 10
    assert [search_settings(None, None, 60, n)["trials"] for n in (5, 9, 30, 66, 500)] == [3, 3, 10, 22, 30]
    assert search_settings(7, None, 60, 9)["trials"] == 7
    for bad in ({"trials": 0}, {"search_time": -1}):
        with pytest.raises(UserError):
            search_settings(bad.get("trials"), bad.get("search_time"), 60)


def test_trials_rank_by_val_accuracy_then_val_loss_then_size():
    """Equal val accuracies (float32 noise aside) are told apart by val loss, then by size; the stop rule
    that goes with it waits for several perfect trials."""
    rows = [{"number": 0, "state": "complete", "val_accuracy": 1.0, "val_loss": 0.2, "params": 100},
            {"number": 1, "state": "complete", "val_accuracy": 0.99999994, "val_loss": 0.05, "params": 900},
            {"number": 2, "state": "complete", "val_accuracy": 0.9666667, "val_loss": 0.01, "params": 50},
            {"number": 3, "state": "complete", "val_accuracy": 1.0, "val_loss": 0.05, "params": 400},
            {"number": 4, "state": "complete", "val_accuracy": 1.0, "params": 10},
            {"number": 5, "state": "pruned", "val_accuracy": None, "params": 5}]
    assert [t["number"] for t in best_trials(rows)] == [3, 1, 0, 4, 2]
    assert search_settings(None, None, 60)["perfect"] == 3 and search_settings(None, None, 60)["refit"] is True


def test_bad_search_bounds_are_one_line_exit_2(tmp_path):
    data = write_data_run("tabular", tmp_path / "data")
    for flag, value, want in (("--trials", "0", "error: --trials 0: give at least 1"),
                              ("--search-time", "0", "error: --search-time 0.0: give a positive number"),
                              ("--latency-ms", "-2", "error: --latency-ms -2.0: give a positive number")):
        proc = subprocess.run([str(CLI), "train", "--data", str(data), flag, value, "--llm", "offline", "--out",
                               str(tmp_path / "runs")], capture_output=True, text=True)
        assert proc.returncode == 2 and proc.stderr.startswith(want), proc.stderr
        assert "Traceback" not in proc.stderr


def test_a_model_over_the_latency_limit_is_a_finding(tmp_path):
    processed = load_processed(write_fixture("tabular", tmp_path / "processed"))
    budget = model_budget("uno", latency_ms=1)
    evaluation = {"loads": True, "input_shape": [13], "output_shape": [3], "params": 100, "activation_bytes": 20,
                  "macs": budget.max_macs + 1}
    found = train.train_findings(evaluation, None, processed, budget, scores=False)
    assert [f.check for f in found] == ["latency"] and "over --latency-ms 1" in found[0].message
    assert train.train_findings({**evaluation, "macs": budget.max_macs}, None, processed, budget, scores=False) == []


@pytest.mark.slow
def test_search_prunes_over_budget_candidates_records_trials_and_reports_the_trade_off(offline_settings, tmp_path):
    data = write_data_run("timeseries", tmp_path / "data")
    settings = offline_settings.model_copy(update={"board": "uno"})
    ctx = StageContext(settings, get_model(settings), Run.create(settings.out, "train"), Console(stderr=True))
    # 15 ms on an Uno leaves ~2,200 multiply-accumulates: the strided CNN tried first (15,136) cannot run in time
    result = train.run(ctx, data=data, flash_kb=6, latency_ms=15, epochs=15, trials=3, search_time=40)
    assert result.ok, result.message
    report = json.loads((result.run_dir / "artifacts" / "train_report.json").read_text())
    budget = model_budget("uno", flash_kb=6, latency_ms=15)
    search, trials = report["search"], report["search"]["trials"]
    assert report["budget"]["max_macs"] == budget.max_macs
    pruned = [t for t in trials if t["state"] == "pruned" and t["pruned_by"].startswith("budget")]
    assert trials[0]["settings"]["family"] == "cnn" and trials[0] in pruned and "macs 15136 >" in trials[0]["pruned_by"]
    assert search["pruned_by_budget"] == len(pruned) >= 1
    # tried next: the same network made to fit, with the next larger first stride and the most filters that fit
    small = trials[1]["settings"]
    assert {key: small[key] for key in trials[0]["settings"]} == {**trials[0]["settings"], "stride": 4, "filters": 4}
    assert trials[1]["state"] == "complete" and trials[1]["macs"] <= budget.max_macs
    done = [t for t in trials if t["state"] == "complete"]
    assert 1 <= len(done) <= 3 and search["trained"] == len(done)
    for t in done:  # every trained candidate fits, with its figures recorded
        assert t["params"] <= budget.max_params and t["macs"] <= budget.max_macs
        assert t["activation_bytes"] <= budget.max_activation_bytes and 0 < t["val_accuracy"] <= 1
        assert t["latency_ms"] == pytest.approx(budget.latency_of(t["macs"]))
    chosen = next(t for t in trials if t["number"] == search["chosen_trial"])
    assert chosen == best_trials(trials, 1)[0] and report["params"] == chosen["params"]
    assert report["macs"] == chosen["macs"] and report["latency_ms"] <= 15
    assert result.figures["trials"] == len(done) and result.figures["latency_ms"] == report["latency_ms"]
    assert (result.run_dir / "artifacts" / "search_tradeoff.png").read_bytes().startswith(b"\x89PNG")
    html = build_report(result.run_dir).read_text()
    assert "Model search" in html and "chosen" in html and f"{len(pruned)} over the board" in html
    images = re.findall(r'<b>Model search: val accuracy[^<]*</b></figcaption><img src="data:image/png;base64,([^"]+)"',
                        html)
    assert len(images) == 1 and base64.b64decode(images[0]).startswith(b"\x89PNG")


@pytest.mark.slow
def test_a_winner_still_improving_when_its_epochs_ran_out_is_retrained_then_refit_on_train_and_val(tmp_path):
    """The built-in search script on its own: 2 epochs per trial, then the winner gets the full 4, then it is
    trained again on train + val for the epochs its best val score took."""
    from tinyml_autopilot.stages.train_search import config_fields

    processed = load_processed(write_fixture("tabular", tmp_path / "processed"))
    budget = model_budget("uno")
    search = {"trials": 1, "time_s": 60.0, "epochs": 2, "patience": 6, "stall": 10, "refit": True}
    cfg = {"processed_dir": str(processed.dir), "input_shape": processed.input_shape, "n_classes": 3,
           "labels": processed.labels, "kind": "tabular", "max_params": budget.max_params,
           "max_activation_bytes": budget.max_activation_bytes, "epochs": 4, "seed": 42,
           **config_fields(budget, search, processed.input_shape)}
    (tmp_path / "train_config.json").write_text(json.dumps(cfg))
    proc = subprocess.run([sys.executable, str(train.packaged_script("train_template.py"))], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    history = json.loads((tmp_path / "history.json").read_text())
    trials = json.loads((tmp_path / "trials.json").read_text())
    assert metrics["chosen_trial"] == 0 and trials[0]["settings"]["family"] == "mlp" and trials[0]["epochs"] == 2
    assert trials[0]["val_loss"] > 0
    assert metrics["retrained"] is True and (tmp_path / "model.keras").is_file()
    # the retrained model is kept only when it does at least as well on val as the 2-epoch one
    assert len(history["loss"]) == (4 if metrics["kept"] == "retrained" else 2)
    # the refit: as many epochs as the kept history's best val score took; kept only when it gets at least the val
    # accuracy the searched model reached without seeing val, and then it is the model saved and reported
    refit = metrics["refit"]
    assert refit["epochs"] == max(range(len(history["val_score"])), key=lambda i: (history["val_score"][i], -i)) + 1
    assert 0 < metrics["search_val_accuracy"] <= 1 and isinstance(refit["kept"], bool)
    assert (metrics["val_accuracy"] >= metrics["search_val_accuracy"]) if refit["kept"] else \
        metrics["val_accuracy"] == metrics["search_val_accuracy"]


@pytest.mark.slow
def test_batch_norm_is_folded_into_its_convolutions_before_saving(tmp_path):
    """The built-in search script trains the fully convolutional network with batch norm; model.keras holds plain
    convolutions with their ReLU (the script itself checks that the folded model computes the same outputs)."""
    from tinyml_autopilot.stages.train_search import FIRST_TRIALS, config_fields

    processed = load_processed(write_fixture("timeseries", tmp_path / "processed"))
    budget = model_budget("nano33ble")
    network = FIRST_TRIALS["series"][1]
    assert network["batch_norm"] and network["head"] == "gap"
    search = {"trials": 1, "time_s": 60.0, "epochs": 12, "patience": 20, "stall": 10}
    cfg = {"processed_dir": str(processed.dir), "input_shape": processed.input_shape, "n_classes": 3,
           "labels": processed.labels, "kind": "timeseries", "max_params": budget.max_params,
           "max_activation_bytes": budget.max_activation_bytes, "epochs": 12, "seed": 42,
           **config_fields(budget, search, processed.input_shape)}
    cfg["search"]["first_trials"] = [network]
    (tmp_path / "train_config.json").write_text(json.dumps(cfg))
    proc = subprocess.run([sys.executable, str(train.packaged_script("train_template.py"))], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    trials = json.loads((tmp_path / "trials.json").read_text())
    assert trials[0]["state"] == "complete" and trials[0]["settings"]["batch_norm"] is True
    with zipfile.ZipFile(tmp_path / "model.keras") as saved:
        layers = json.loads(saved.read("config.json"))["config"]["layers"]
    kinds = [layer["class_name"] for layer in layers]
    assert "BatchNormalization" not in kinds and "ReLU" not in kinds and kinds.count("Conv1D") == 3
    convs = [layer["config"] for layer in layers if layer["class_name"] == "Conv1D"]
    assert all(c["activation"] == "relu" and c["use_bias"] for c in convs)
    assert [c["filters"] for c in convs] == [16, 32, 64] and "GlobalAveragePooling1D" in kinds
    # the folded network's figures are the ones recorded and budgeted: 3 conv kernels and biases, the softmax layer
    assert trials[0]["params"] == 7 * 3 * 16 + 16 + 7 * 16 * 32 + 32 + 7 * 32 * 64 + 64 + 64 * 3 + 3
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["val_accuracy"] >= 0.85 and metrics["refit"] is None  # no refit unless the search asks for it


def test_slicing_and_warping_copies_stay_inside_the_window_and_keep_order():
    """The built-in script's augmentation, run on its own: each slice_warp copy reads a 90% slice of its window at a
    varying but forward pace (a ramp stays a rising ramp, within the window's values)."""
    import ast

    import numpy as np

    source = train.packaged_script("train_template.py").read_text()
    tree = ast.parse(source)
    function = next(node for node in tree.body if isinstance(node, ast.FunctionDef) and node.name == "augmented")
    scope = {"np": np}
    exec(compile(ast.Module([function], []), "train_template.py", "exec"), scope)
    steps = 100
    ramp = np.tile(np.linspace(0.0, 1.0, steps, dtype=np.float32)[None, :, None], (8, 1, 2))
    x, y = scope["augmented"](ramp, np.arange(8), np.random.default_rng(0), "slice_warp")
    assert x.shape == (16, steps, 2) and x.dtype == np.float32 and list(y) == [*range(8), *range(8)]
    copies = x[8:]
    assert np.allclose(x[:8], ramp) and np.all(np.diff(copies, axis=1) > 0)  # forward, never repeating a step
    spans = copies[:, -1, 0] - copies[:, 0, 0]
    assert np.allclose(spans, 0.9, atol=1e-4) and copies.min() >= 0.0 and copies.max() <= 1.0
    paces = np.diff(copies[:, :, 0], axis=1)
    assert paces.max() / paces.min() > 1.2  # warped: not one uniform stretch
    assert not np.allclose(copies[0], copies[1])  # each window gets its own slice and warp
    x, _ = scope["augmented"](ramp, np.arange(8), np.random.default_rng(0), "jitter_scale_shift")
    assert x.shape == (16, steps, 2) and np.allclose(x[:8], ramp) and not np.allclose(x[8:], ramp, atol=0.01)


@pytest.mark.slow
def test_a_trial_trains_the_same_whatever_ran_before_it(tmp_path):
    """How many trials fit in the search time depends on the machine's load: each trial starts from the seed, so
    the same settings give the same model after any other trials (and the winner's refit does too)."""
    from tinyml_autopilot.stages.train_search import FIRST_TRIALS, config_fields

    processed = load_processed(write_fixture("tabular", tmp_path / "processed"))
    budget = model_budget("uno")
    wanted = {**FIRST_TRIALS["tabular"][0], "units": 16, "layers": 1}
    results = []
    for name, first in (("alone", [wanted]), ("after", [FIRST_TRIALS["tabular"][0], wanted])):
        folder = tmp_path / name
        folder.mkdir()
        search = {"trials": len(first), "time_s": 60.0, "epochs": 3, "patience": 6, "stall": 10, "perfect": 9}
        cfg = {"processed_dir": str(processed.dir), "input_shape": processed.input_shape, "n_classes": 3,
               "labels": processed.labels, "kind": "tabular", "max_params": budget.max_params,
               "max_activation_bytes": budget.max_activation_bytes, "epochs": 3, "seed": 7,
               **config_fields(budget, search, processed.input_shape)}
        cfg["search"]["first_trials"] = first
        (folder / "train_config.json").write_text(json.dumps(cfg))
        proc = subprocess.run([sys.executable, str(train.packaged_script("train_template.py"))], cwd=folder,
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-2000:]
        trials = json.loads((folder / "trials.json").read_text())
        assert [t["state"] for t in trials] == ["complete"] * len(first)
        results.append(trials[-1])
    alone, after = results
    assert alone["settings"] == after["settings"]
    assert (alone["val_accuracy"], alone["val_loss"], alone["epochs"]) == \
        (after["val_accuracy"], after["val_loss"], after["epochs"])
