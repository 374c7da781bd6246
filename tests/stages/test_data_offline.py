"""The data stage offline, end to end through the CLI, on every supported input shape."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from tinyml_autopilot.cli import app
from tinyml_autopilot.data import DEMO_OPTIONS, demo_dataset

from .conftest_data import (
    IMU,
    arduino_captures,
    digest,
    imu_folder,
    long_csv,
    messy_iris,
    user_stream_csv,
    windows_npz,
    wine_npz,
)

SLOW = pytest.mark.slow
SHAPES = {
    "csv": (lambda d: messy_iris(d / "iris.csv"), ["--label", "species"]),
    "long-csv": (lambda d: long_csv(d / "imu_long.csv"), ["--label", "gesture", "--window", "50", "--stride", "25"]),
    "folder": (lambda d: imu_folder(d / "captures"), ["--label", "file name"]),
    "npz": (lambda d: wine_npz(d / "wine.npz"), []),
    "npz-windows": (lambda d: windows_npz(d / "windows.npz"), []),
    "captures": (lambda d: arduino_captures(d / "serial"), []),
    "user-stream": (lambda d: user_stream_csv(d / "wisdm.csv"), []),
}


def run_data(args: list[str], out: Path) -> tuple[dict, Path]:
    result = CliRunner().invoke(app, ["data", *args, "--out", str(out), "--yes", "--json", "--llm", "offline"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["status"] == "ok", figures
    return figures, Path(figures["run_dir"])


def load_split(folder: Path, name: str) -> dict[str, np.ndarray]:
    with np.load(folder / f"{name}.npz", allow_pickle=False) as archive:
        return {k: archive[k] for k in archive.files}


@pytest.fixture(scope="module", params=[pytest.param(s, marks=SLOW) if s == "csv" else s for s in SHAPES])
def processed(request, tmp_path_factory):
    base = tmp_path_factory.mktemp(request.param)
    build, args = SHAPES[request.param]
    raw = build(base)
    before = digest(raw)
    figures, run_dir = run_data(["--data", str(raw), *args], base / "runs")
    return request.param, raw, before, figures, run_dir


def test_outputs_follow_the_contract(processed):
    shape, raw, before, figures, run_dir = processed
    assert digest(raw) == before, "the raw data was modified"
    spec = json.loads((run_dir / "processed" / "feature_spec.json").read_text())
    labels = json.loads((run_dir / "processed" / "labels.json").read_text())
    assert spec["labels"] == labels == sorted(labels) and len(labels) == figures["classes"] == 3
    for name in ("train", "val", "test"):
        part = load_split(run_dir / "processed", name)
        assert part["X"].dtype == np.float32 and part["y"].dtype == np.int64
        assert list(part["X"].shape[1:]) == spec["input_shape"] == figures["input_shape"]
        assert len(part["y"]) == figures["rows_out"][name] > 0
        assert set(np.unique(part["y"])) == set(range(3)), f"{name} lacks a class"
        assert np.isfinite(part["X"]).all()
    train = load_split(run_dir / "processed", "train")["X"]
    flat = train.reshape(-1, train.shape[-1])
    assert np.allclose(flat.mean(0), 0, atol=1e-4) and np.allclose(flat.std(0), 1, atol=1e-3)
    assert len(spec["scaling"]["offset"]) == len(spec["scaling"]["scale"]) == spec["input_shape"][-1]
    output = json.loads((run_dir / "output.json").read_text())
    assert output["stage"] == "data" and output["processed_dir"] == "processed"
    for name in ("profile.json", "operations.json", "metrics.json", "pipeline.py"):
        assert (run_dir / name).is_file(), name
    assert any((run_dir / "inputs").iterdir()), "the raw input was not kept"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "ok" and metrics["rows_out"] == figures["rows_out"]


def test_shape_specific_results(processed):
    shape, raw, before, figures, run_dir = processed
    spec = json.loads((run_dir / "processed" / "feature_spec.json").read_text())
    ops = [o["operation"] for o in json.loads((run_dir / "operations.json").read_text())["operations"]]
    if shape == "csv":
        assert spec["kind"] == "tabular" and spec["labels"] == ["setosa", "versicolor", "virginica"]
        assert spec["feature_columns"] == ["sepal_length", "sepal_width", "petal_length", "petal_width"]
        assert ops == ["drop_columns", "coerce_numeric", "normalise_labels", "deduplicate", "impute", "split",
                       "scale"]
        assert sum(figures["rows_out"].values()) == 149  # 150 iris rows, one natural duplicate
    elif shape == "long-csv":
        assert spec["channels"] == IMU and spec["window"] == 50 and spec["stride"] == 25
        assert spec["sample_rate_hz"] == 50.0 and spec["input_shape"] == [50, 6]
        assert ops == ["impute", "window", "split", "scale"]
        assert sum(figures["rows_out"].values()) == 18 * 5  # 18 sessions of 150 rows: 5 windows each
    elif shape == "folder":
        assert spec["channels"] == IMU and spec["label_column"] == "file name"
        assert spec["window"] == 60 and spec["input_shape"] == [60, 6]
    elif shape == "npz":
        assert spec["kind"] == "tabular" and spec["input_shape"] == [13]
    elif shape == "captures":  # 4 recordings of 119 samples per class, each one whole window
        assert spec["channels"] == IMU and spec["labels"] == ["Punch", "flex", "still"]
        assert figures["rows_in"] == 3 * 4 * 119 and spec["input_shape"] == [119, 6]
        assert sum(figures["rows_out"].values()) == 12
    elif shape == "user-stream":  # the user is the recording, not a channel; no window spans two activities
        assert spec["channels"] == ["x-axis", "y-axis", "z-axis"] and spec["sample_rate_hz"] == 50.0
        profile = json.loads((run_dir / "profile.json").read_text())
        assert profile["group"] == "user" and profile["recordings"] == 5
    else:
        assert spec["kind"] == "timeseries" and spec["input_shape"] == [32, 3] and spec["window"] == 32


def test_no_recording_is_split_across_train_and_test(processed):
    shape, _, _, _, run_dir = processed
    groups = {n: set(load_split(run_dir / "processed", n)["groups"]) for n in ("train", "val", "test")}
    assert not groups["train"] & groups["test"] and not groups["train"] & groups["val"]
    assert not groups["val"] & groups["test"] and all(groups.values())


def test_pipeline_py_reproduces_processed(processed, tmp_path):
    _, raw, _, _, run_dir = processed
    out = tmp_path / "again"
    done = subprocess.run([sys.executable, str(run_dir / "pipeline.py"), str(raw), str(out)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for name in ("train", "val", "test"):
        first, again = load_split(run_dir / "processed", name), load_split(out, name)
        assert np.array_equal(first["X"], again["X"]) and np.array_equal(first["y"], again["y"])
    for name in ("labels.json", "feature_spec.json"):
        assert json.loads((out / name).read_text()) == json.loads((run_dir / "processed" / name).read_text())


def test_demo_dataset_is_deterministic_and_fits_an_uno(tmp_path):
    first, second = demo_dataset(tmp_path / "a"), demo_dataset(tmp_path / "b")
    assert digest(first) == digest(second)
    assert sorted(p.name for p in first.iterdir()) == ["idle.csv", "shake.csv", "wave.csv"]
    figures, run_dir = run_data(["--data", str(first), "--label", DEMO_OPTIONS["label"], "--window",
                                 str(DEMO_OPTIONS["window"]), "--rate", str(DEMO_OPTIONS["rate"])], tmp_path / "runs")
    assert figures["input_shape"] == [40, 3] and figures["classes"] == 3
    assert sum(figures["rows_out"].values()) == 90
    spec = json.loads((run_dir / "processed" / "feature_spec.json").read_text())
    assert spec["channels"] == ["ax", "ay", "az"] and spec["sample_rate_hz"] == 50.0


@pytest.mark.slow
def test_drop_step_and_ops_file_change_the_operations(tmp_path):
    raw = messy_iris(tmp_path / "iris.csv")
    figures, run_dir = run_data(["--data", str(raw), "--label", "species", "--drop-step", "3"], tmp_path / "r1")
    assert figures["classes"] > 3, "without normalising, label variants stay separate classes"
    table = {"operations": [
        {"operation": "drop_columns", "columns": ["sample_id", "device"], "reason": "ids"},
        {"operation": "coerce_numeric", "columns": ["petal_width"]},
        {"operation": "normalize_labels"}, {"operation": "impute"}, {"operation": "split"},
        {"operation": "scale"}]}
    ops_file = tmp_path / "ops.yaml"
    ops_file.write_text(yaml.safe_dump(table))
    figures, run_dir = run_data(["--data", str(raw), "--label", "species", "--ops-file", str(ops_file)],
                                tmp_path / "r2")
    saved = json.loads((run_dir / "operations.json").read_text())["operations"]
    assert [o["operation"] for o in saved] == ["drop_columns", "coerce_numeric", "normalise_labels", "impute",
                                               "split", "scale"]
    assert sum(figures["rows_out"].values()) == 155 and figures["classes"] == 3  # no deduplication


def test_resume_reuses_the_finished_steps(tmp_path):
    raw = imu_folder(tmp_path / "captures", recordings=4, rows=40)
    figures, run_dir = run_data(["--data", str(raw)], tmp_path / "runs")
    again, same_dir = run_data(["--resume", str(run_dir)], tmp_path / "runs")
    assert same_dir == run_dir and again["rows_out"] == figures["rows_out"]
    assert not list((run_dir / "attempts").glob("*/02")), "a finished step was run again"


def test_datetime_timestamps_give_the_sample_rate(tmp_path):
    import pandas as pd

    df = pd.read_csv(long_csv(tmp_path / "long.csv", sessions_per_class=4))
    stamps = pd.Timestamp("2024-01-01") + pd.to_timedelta(df.pop("timestamp_ms"), unit="ms")
    df.insert(1, "time", stamps.astype(str))
    df.to_csv(tmp_path / "dated.csv", index=False)
    figures, run_dir = run_data(["--data", str(tmp_path / "dated.csv"), "--label", "gesture"], tmp_path / "runs")
    assert figures["sample_rate_hz"] == 50.0 and figures["window"] == 50 and figures["input_shape"] == [50, 6]
    profile = json.loads((run_dir / "profile.json").read_text())
    assert profile["time"] == "time" and profile["group"] == "session_id"
