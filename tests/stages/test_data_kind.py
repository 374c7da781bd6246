"""Input shapes that were misread: a time-named feature, ';'-separated CSVs, CSVs one folder down, --kind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tinyml_autopilot.errors import UserError
from tinyml_autopilot.stages.data import columns, profile
from tinyml_autopilot.stages.data.inputs import inspect_source

CLI = Path(sys.executable).with_name("tinyml-autopilot")


def response_times(path: Path, sep: str = ",", decimal: str = ".") -> Path:
    """A tabular survey sorted by class; `response_time` is a feature (random within each class)."""
    rng = np.random.default_rng(0)
    rows = []
    for cls, shift in (("fast", 0.0), ("slow", 2.0)):
        for _ in range(60):
            rows.append({"response_time": round(float(rng.gamma(2.0, 1.0) + shift), 1),
                         "errors": int(rng.integers(0, 4)), "score": float(rng.normal(shift, 1)), "label": cls})
    pd.DataFrame(rows).to_csv(path, index=False, sep=sep, decimal=decimal)
    return path


def clocked(path: Path) -> Path:
    """No recording column: one run of rows per class with a millisecond clock that restarts."""
    rng = np.random.default_rng(1)
    frames = [pd.DataFrame({"time": np.arange(200) * 20, "ax": rng.normal(size=200) + k, "label": cls})
              for k, cls in enumerate(("up", "down"))]
    pd.concat(frames).to_csv(path, index=False)
    return path


def run_data(raw: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(CLI), "data", "--data", str(raw), "--out", str(out), "--yes", "--llm", "offline",
                           "--json", *extra], capture_output=True, text=True, env={**os.environ, "COLUMNS": "250"},
                          timeout=300)


def test_a_time_named_feature_is_not_a_clock(tmp_path):
    raw = response_times(tmp_path / "survey.csv")
    prof = profile.build(raw, inspect_source(raw, None))
    assert prof["kind"] == "tabular" and prof["time"] is None
    assert "response_time" in profile.features(prof)
    forced = profile.build(raw, inspect_source(raw, None), kind="timeseries")
    assert forced["kind"] == "timeseries" and forced["recordings"] == 2


def test_a_real_clock_still_makes_a_time_series(tmp_path):
    raw = clocked(tmp_path / "imu.csv")
    prof = profile.build(raw, inspect_source(raw, None))
    assert prof["kind"] == "timeseries" and prof["time"] == "time" and prof["sample_rate_hz"] == 50.0
    forced = profile.build(raw, inspect_source(raw, None), kind="tabular")
    assert forced["kind"] == "tabular" and forced["time"] is None and "time" in profile.features(forced)


def test_semicolon_csv_is_read_with_its_separator(tmp_path):
    raw = response_times(tmp_path / "survey.csv", sep=";")
    assert inspect_source(raw, None).sep == ";"
    done = run_data(raw, tmp_path / "runs", "--kind", "tabular")
    assert done.returncode == 0, done.stderr
    run_dir = Path(json.loads(done.stdout)["run_dir"])
    spec = json.loads((run_dir / "processed" / "feature_spec.json").read_text())
    assert spec["kind"] == "tabular" and spec["feature_columns"] == ["response_time", "errors", "score"]
    assert "kind: tabular (--kind" in (run_dir / "logs" / "data.log").read_text()


def test_decimal_commas_are_numbers(tmp_path):
    raw = response_times(tmp_path / "survey.csv", sep=";", decimal=",")
    assert ";2,5;" in raw.read_text() or ",5;" in raw.read_text()
    source = inspect_source(raw, None)
    assert (source.sep, source.decimal) == (";", ",")
    done = run_data(raw, tmp_path / "runs", "--kind", "tabular")
    assert done.returncode == 0, done.stderr
    spec = json.loads((Path(json.loads(done.stdout)["run_dir"]) / "processed" / "feature_spec.json").read_text())
    assert spec["feature_columns"] == ["response_time", "errors", "score"]


def test_csvs_one_folder_down_are_named(tmp_path):
    (tmp_path / "export" / "gestures").mkdir(parents=True)
    for cls in ("wave", "punch"):
        (tmp_path / "export" / "gestures" / f"{cls}.csv").write_text("aX,aY\n1,2\n3,4\n")
    with pytest.raises(UserError, match=f"pass --data {tmp_path / 'export' / 'gestures'}"):
        inspect_source(tmp_path / "export", None)


def test_unknown_kind_is_one_line_exit_2(tmp_path):
    done = run_data(response_times(tmp_path / "s.csv"), tmp_path / "runs", "--kind", "images")
    assert done.returncode == 2 and "--kind images is not one of auto, tabular, timeseries" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(("name", "largest", "step", "hz"), [
    ("timestamp_ms", 2e4, 20, 50.0), ("time", 5e3, 20, 50.0), ("seconds", 100, 1, 1.0), ("time", 50, 0.02, 50.0),
    ("micros", 1e6, 1e4, 100.0), ("time_ns", 1e9, 2e7, 50.0), ("timestamp", 1.7e18, 2e7, 50.0),
    ("timestamp", 1.7e12, 20, 50.0), ("timestamp", 1.7e9, 0.01, 100.0), ("t_ms", 9e3, 20, 50.0),
    ("time_s", 30.0, 0.02, 50.0), ("millis", 3e3, 20, 50.0), ("tsUs", 1e6, 2e4, 50.0)])
def test_clock_units(name, largest, step, hz):
    assert round(1 / (step * columns.clock_unit(name, largest, step)), 3) == hz


def test_a_rate_outside_any_sensor_range_is_unknown(tmp_path):
    raw = clocked(tmp_path / "imu.csv")
    df = pd.read_csv(raw)
    df.assign(time=df["time"] * 10**6).to_csv(raw, index=False)  # a nanosecond clock, not named so
    assert profile.build(raw, inspect_source(raw, None))["sample_rate_hz"] is None
