"""The data stage on recordings shaped like public sets: the right grouping, windows and counts, in the summary
and the feature spec, and no subject (speaker, participant) in two splits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tinyml_autopilot.checks import dataset_arrays
from tinyml_autopilot.cli import app

from .recordings_data import blank_labels, colour_folder, count_windows, gestures, har, utterances

SPLITS = ("train", "val", "test")


def refused(args: list[str], out: Path) -> str:
    """The CLI as users run it: one line on stderr, exit 2."""
    cli = Path(sys.executable).with_name("tinyml-autopilot")
    done = subprocess.run([str(cli), "data", *args, "--out", str(out), "--yes", "--llm", "offline"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    return done.stderr


def data(args: list[str], out: Path) -> tuple[int, dict, str]:
    result = CliRunner().invoke(app, ["data", *args, "--out", str(out), "--yes", "--json", "--llm", "offline"])
    lines = result.stdout.strip().splitlines()
    figures = json.loads(lines[-1]) if result.exit_code == 0 else {}
    return result.exit_code, figures, result.output


def ok(args: list[str], out: Path) -> tuple[dict, Path, dict]:
    code, figures, output = data(args, out)
    assert code == 0 and figures["status"] == "ok", output
    run_dir = Path(figures["run_dir"])
    return figures, run_dir, json.loads((run_dir / "processed" / "feature_spec.json").read_text())


def groups_of(run_dir: Path) -> dict[str, set[str]]:
    found = {}
    for name in SPLITS:
        with np.load(run_dir / "processed" / f"{name}.npz", allow_pickle=False) as archive:
            found[name] = set(archive["groups"].astype(str).tolist())
    return found


def assert_apart(groups: dict[str, set[str]]) -> None:
    assert all(groups.values())
    assert not groups["train"] & groups["test"] and not groups["train"] & groups["val"]
    assert not groups["val"] & groups["test"]


def reproduced(run_dir: Path, raw: Path, tmp: Path) -> None:
    done = subprocess.run([sys.executable, str(run_dir / "pipeline.py"), str(raw), str(tmp / "again")],
                          capture_output=True, text=True, cwd=tmp, timeout=300)
    assert done.returncode == 0, done.stderr
    for name in SPLITS:
        with np.load(run_dir / "processed" / f"{name}.npz") as a, np.load(tmp / "again" / f"{name}.npz") as b:
            assert np.array_equal(a["X"], b["X"]) and np.array_equal(a["groups"], b["groups"])
    assert json.loads((tmp / "again" / "feature_spec.json").read_text()) == json.loads(
        (run_dir / "processed" / "feature_spec.json").read_text())


@pytest.mark.parametrize("order", [("subject", "recording"), ("recording", "subject")])
def test_subjects_with_several_recordings_are_split_by_subject_and_windowed_by_recording(tmp_path, order):
    df, blanks = blank_labels(har(), 0.01)
    df = df[[*order, *[c for c in df.columns if c not in order]]]
    df.to_csv(tmp_path / "har.csv", index=False)
    figures, run_dir, spec = ok(["--data", str(tmp_path / "har.csv")], tmp_path / "runs")
    assert spec["channels"] == ["ax", "ay", "az"] and spec["sample_rate_hz"] == 50.0
    assert (spec["window"], spec["stride"]) == (50, 25), "blank labels must not shrink the window"
    grouping = {"split_by": "subject", "recordings": "recording", "time": "t_ms", "clock_unit_s": 0.001}
    assert {k: figures["grouping"][k] for k in grouping} == grouping
    assert {k: spec["grouping"][k] for k in grouping} == grouping
    assert figures["dropped"]["unlabelled_rows"] == spec["dropped"]["unlabelled_rows"] == len(blanks)
    expected = count_windows(df, "activity", ["subject", "recording"], 50, 25)
    assert sum(figures["rows_out"].values()) == expected
    groups = groups_of(run_dir)
    assert_apart(groups)
    assert set().union(*groups.values()) <= {str(s) for s in range(1, 9)}, "groups are the subjects"
    assert figures["groups_in_two_splits"] == 0 and "split by 'subject'" in figures["message"]
    if order[0] == "subject":
        reproduced(run_dir, tmp_path / "har.csv", tmp_path)


def test_restarting_clocks_and_gaps_end_windows_without_a_recording_column(tmp_path):
    df = har(subjects=6).drop(columns=["recording"])
    df = df.drop(index=range(925, 936))  # subject 2, first recording: 11 samples (t 500..700 ms) lost
    df.to_csv(tmp_path / "har.csv", index=False)
    figures, run_dir, spec = ok(["--data", str(tmp_path / "har.csv"), "--label", "activity"], tmp_path / "runs")
    profile = json.loads((run_dir / "profile.json").read_text())
    assert (profile["group"], profile["time"]) == ("subject", "t_ms")
    assert profile["clock_restarts"] == 6 * 2 and profile["clock_gaps"] == 1
    # every activity run is 100 rows = 3 windows of 50 every 25; the cut one is 25 + 64 rows: 0 + 1 window
    assert sum(figures["rows_out"].values()) == 6 * 3 * 3 * 3 - 3 + 1
    assert figures["dropped"]["short_segments"] == 1 and figures["dropped"]["rows_in_short_segments"] == 25
    assert_apart(groups_of(run_dir))


def test_mostly_blank_labels_keep_the_window_and_say_why_nothing_fits(tmp_path):
    blank_labels(har(subjects=4), 0.3)[0].to_csv(tmp_path / "har.csv", index=False)
    error = " ".join(refused(["--data", str(tmp_path / "har.csv")], tmp_path / "runs").split())
    assert "window 50 is longer than every segment" in error and "1080 blank labels" in error


def test_variable_length_gestures_give_one_example_per_take(tmp_path):
    df = gestures()
    df.to_csv(tmp_path / "gestures.csv", index=False)
    figures, run_dir, spec = ok(["--data", str(tmp_path / "gestures.csv")], tmp_path / "runs")
    lengths = df.groupby("take").size()
    length = round(lengths.quantile(0.9))
    assert spec["example"] == "recording" and spec["window"] == length and spec["input_shape"] == [length, 6]
    assert spec["fixed_length"]["method"] == "pad" and f"capture {length} samples" in spec["fixed_length"]["rule"]
    assert sum(figures["rows_out"].values()) == df["take"].nunique() == 45
    assert spec["grouping"]["split_by"] == "participant" and spec["grouping"]["recordings"] == "take"
    assert "sample" not in spec["channels"] and figures["dropped"]["short_segments"] == 0
    groups = groups_of(run_dir)
    assert_apart(groups)
    assert set().union(*groups.values()) <= set(df["participant"])
    with np.load(run_dir / "processed" / "train.npz") as train:
        scaling = spec["scaling"]
        raw = train["X"] * np.array(scaling["scale"], np.float32) + np.array(scaling["offset"], np.float32)
    short = lengths[lengths < length]
    assert len(short) and np.any(np.all(np.isclose(raw[:, -1], raw[:, -2], atol=1e-3), axis=1)), \
        "a short take is padded by repeating its last sample"
    reproduced(run_dir, tmp_path / "gestures.csv", tmp_path)


def test_a_recording_is_padded_or_resampled_to_the_fixed_length():
    table = pd.DataFrame({"take": ["a"] * 5 + ["b"] * 9, "v": np.r_[np.arange(5.0), 10 + np.arange(9.0)],
                          "label": ["x"] * 5 + ["y"] * 9})
    config = {"label": "label", "group": "take", "segment": "take", "time": None, "channels": ["v"], "window": 7,
              "stride": 7, "example": "recording", "min_length": 2}
    x, labels, groups = dataset_arrays.expected_windows(table, {**config, "fit": "pad"})
    assert x[:, :, 0].tolist() == [[0, 1, 2, 3, 4, 4, 4], [10, 11, 12, 13, 14, 15, 16]]
    assert labels.tolist() == ["x", "y"] and groups.tolist() == ["a", "b"]
    x, _, _ = dataset_arrays.expected_windows(table, {**config, "fit": "resample"})
    assert np.allclose(x[0, :, 0], np.linspace(0, 4, 7)) and np.allclose(x[1, :, 0], np.linspace(10, 18, 7))


def test_an_utterance_table_groups_by_speaker_and_names_the_utterances_it_drops(tmp_path):
    df = utterances()
    df.to_csv(tmp_path / "mfcc.csv", index=False)
    figures, run_dir, spec = ok(["--data", str(tmp_path / "mfcc.csv")], tmp_path / "runs")
    assert spec["channels"] == [f"c{k}" for k in range(1, 13)], "the frame index is never a channel"
    assert spec["grouping"]["split_by"] == "speaker" and spec["grouping"]["recordings"] == "utterance"
    assert figures["dropped"]["recordings_without_example"] == 2
    assert figures["dropped"]["recordings_without_example_named"] == ["spk0/u0004", "spk3/u0031"]
    assert sum(figures["rows_out"].values()) == df["utterance"].nunique() - 2
    groups = groups_of(run_dir)
    assert_apart(groups)
    assert set().union(*groups.values()) <= set(df["speaker"])


def test_a_given_split_column_and_a_given_test_file_are_kept(tmp_path):
    df = har(subjects=6)
    df["fold"] = np.where(df["subject"] >= 5, "TEST", "Train")
    df.to_csv(tmp_path / "har.csv", index=False)
    figures, run_dir, spec = ok(["--data", str(tmp_path / "har.csv"), "--split-column", "fold"], tmp_path / "runs")
    groups = groups_of(run_dir)
    assert groups["test"] == {"5", "6"} and "fold" not in spec["channels"]
    assert_apart(groups)
    assert spec["grouping"]["given_split"] == "fold" and "given split 'fold'" in figures["message"]
    df[df["subject"] < 5].drop(columns="fold").to_csv(tmp_path / "train.csv", index=False)
    df[df["subject"] >= 5].drop(columns="fold").to_csv(tmp_path / "test.csv", index=False)
    again, run_dir, _ = ok(["--data", str(tmp_path / "train.csv"), "--test-data", str(tmp_path / "test.csv")],
                           tmp_path / "runs2")
    assert groups_of(run_dir)["test"] == {"5", "6"} and again["rows_out"]["test"] == figures["rows_out"]["test"]
    error = refused(["--data", str(tmp_path / "har.csv"), "--split-column", "subject"], tmp_path / "r3")
    error = " ".join(error.split())
    assert "every row needs train, val or test" in error


def test_a_folder_of_independent_readings_is_tabular_and_its_row_index_is_no_input(tmp_path):
    raw = colour_folder(tmp_path / "colours")
    figures, run_dir, spec = ok(["--data", str(raw)], tmp_path / "runs")
    assert spec["kind"] == "tabular" and spec["feature_columns"] == ["r", "g", "b", "c"]
    assert sum(figures["rows_out"].values()) == 3 * 40, "the repeated readings are removed"
    parts = {}
    for name in SPLITS:
        with np.load(run_dir / "processed" / f"{name}.npz") as archive:
            parts[name] = {row.tobytes() for row in archive["X"]}
    assert not parts["train"] & parts["test"], "a repeated reading hid in both train and test"


def test_a_data_run_folder_given_to_data_is_named_not_an_attempt_folder(tmp_path):
    df = har(subjects=4)
    df.to_csv(tmp_path / "har.csv", index=False)
    _, run_dir, _ = ok(["--data", str(tmp_path / "har.csv")], tmp_path / "runs")
    error = " ".join(refused(["--data", str(run_dir)], tmp_path / "runs").split())
    assert "is a data run folder" in error and f"train --data {run_dir}" in error
    assert "attempts" not in error.replace(str(tmp_path), "") and "har.csv" in error


@pytest.mark.parametrize("text", [False, True])
def test_a_clock_is_found_by_content_and_unit(tmp_path, text):
    df = har(subjects=4).rename(columns={"t_ms": "acq"})  # a name that says nothing
    if text:  # ISO date-times
        df["acq"] = (np.datetime64("2024-03-01T10:00:00") + df["acq"].to_numpy().astype("timedelta64[ms]")).astype(str)
    df.to_csv(tmp_path / "a.csv", index=False)
    _, run_dir, spec = ok(["--data", str(tmp_path / "a.csv")], tmp_path / "runs")
    assert spec["grouping"]["time"] == "acq" and spec["sample_rate_hz"] == 50.0
    assert spec["channels"] == ["ax", "ay", "az"] and spec["grouping"]["clock_unit_s"] == (1.0 if text else 1e-3)


def test_a_wide_table_with_a_subject_column_is_tabular_and_split_by_subject(tmp_path):
    rng = np.random.default_rng(0)
    rows = [{"subject": s, **{f"f{i}": rng.normal(k % 3 * (i % 3 == k % 3)) for i in range(40)},
             "activity": ("walk", "sit", "lie")[k % 3]} for s in range(1, 11) for k in range(24)]
    pd.DataFrame(rows).to_csv(tmp_path / "features.csv", index=False)
    figures, run_dir, spec = ok(["--data", str(tmp_path / "features.csv")], tmp_path / "runs")
    assert spec["kind"] == "tabular" and spec["feature_columns"] == [f"f{i}" for i in range(40)]
    assert spec["grouping"]["split_by"] == "subject" and figures["groups_out"]["test"] == 2
    assert_apart(groups_of(run_dir))
