"""`run` passes every data, train and convert option to its stage."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tinyml_autopilot.stages.pipeline import ARGUMENTS, stage_inputs

from .recordings_data import har

CLI = Path(sys.executable).with_name("tinyml-autopilot")


def test_every_stage_option_reaches_its_stage():
    given = {"data": "raw.csv", "group": "subject", "segment": "recording", "split_column": "fold",
             "test_data": "test.csv", "kind": "timeseries", "example": "recording", "fit": "resample",
             "test_size": 0.3, "val_size": 0.15, "seed": 4, "drop_steps": [2], "ops_file": "ops.json", "epochs": 3,
             "flash_kb": 20.0, "ram_kb": 1.5, "quant": "float32", "rep_data": "rep.npz", "tolerance": 4.0}
    assert set(given) <= set(ARGUMENTS)
    data = stage_inputs("data", given, None, None)
    assert {k: data[k] for k in ("group", "segment", "split_column", "kind", "test_size", "drop_steps")} == {
        "group": "subject", "segment": "recording", "split_column": "fold", "kind": "timeseries", "test_size": 0.3,
        "drop_steps": [2]}
    assert data["test_data"] == Path("test.csv") and data["ops_file"] == Path("ops.json")
    train = stage_inputs("train", given, Path("prev"), None)
    assert (train["epochs"], train["flash_kb"], train["ram_kb"], train["data"]) == (3, 20.0, 1.5, Path("prev"))
    convert = stage_inputs("convert", given, Path("prev"), None)
    assert (convert["quant"], convert["tolerance"], convert["rep_data"]) == ("float32", 4.0, Path("rep.npz"))
    assert "group" not in train and "tolerance" not in train and "epochs" not in convert


def test_run_hands_the_data_options_to_data_and_the_train_ones_to_train(tmp_path):
    raw = tmp_path / "har.csv"
    har(subjects=5).to_csv(raw, index=False)
    done = subprocess.run([str(CLI), "run", "--data", str(raw), "--board", "uno", "--llm", "offline", "--yes",
                           "--out", str(tmp_path / "runs"), "--group", "subject", "--segment", "recording",
                           "--test-size", "0.4", "--ram-kb", "0.01", "--json"], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 2 and "activation budget" in done.stderr, done.stderr  # refused by train
    run_dir = next((tmp_path / "runs").iterdir())
    saved = json.loads((run_dir / "data" / "inputs.json").read_text())["arguments"]
    assert (saved["group"], saved["segment"], saved["test_size"]) == ("subject", "recording", 0.4)
    figures = json.loads((run_dir / "data" / "metrics.json").read_text())
    assert figures["groups_out"]["test"] == 2, "--test-size 0.4 of 5 subjects"
    done = subprocess.run([str(CLI), "run", "--data", str(raw), "--board", "uno", "--llm", "offline", "--yes",
                           "--out", str(tmp_path / "runs2"), "--example", "frames"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 2 and "--example frames is not one of" in done.stderr
