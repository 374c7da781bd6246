"""The dataset checks catch what LLM-written data steps typically get wrong."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tinyml_autopilot.checks import dataset, dataset_arrays
from tinyml_autopilot.loop import CheckFailed

CFG = {"label": "label", "group": None, "time": None, "features": ["a", "b"], "columns": []}


def table(folder: Path, df: pd.DataFrame) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    df.to_csv(folder / "data.csv", index=False)
    return folder


def failed_checks(fn, *args) -> list[str]:
    with pytest.raises(CheckFailed) as info:
        fn(*args)
    return info.value.checks


@pytest.fixture
def raw(tmp_path) -> Path:
    df = pd.DataFrame({"a": [1.0, np.nan, 3.0, 3.0, 5.0], "b": [1, 2, 3, 3, 5], "id": range(5),
                       "label": ["Up", "down", "up ", "up ", None]})
    return table(tmp_path / "in", df)


def test_impute_that_leaves_nan_is_caught(raw, tmp_path):
    df = pd.read_csv(raw / "data.csv").dropna(subset=["label"])
    out = table(tmp_path / "bad", df)
    assert "missing" in failed_checks(dataset.check_table, raw, out, {**CFG, "operation": "impute"})
    good = table(tmp_path / "good", df.fillna({"a": 3.0}))
    dataset.check_table(raw, good, {**CFG, "operation": "impute"})
    infinite = table(tmp_path / "inf", df.fillna({"a": np.inf}))
    assert "missing" in failed_checks(dataset.check_table, raw, infinite, {**CFG, "operation": "impute"})


def test_cleaning_steps_keep_the_values_they_are_not_for(raw, tmp_path):
    df = pd.read_csv(raw / "data.csv")
    labelled = df.dropna(subset=["label"])
    rounded = table(tmp_path / "impute", labelled.fillna({"a": 3.0}).assign(b=lambda d: d["b"] * 2))
    assert failed_checks(dataset.check_table, raw, rounded, {**CFG, "operation": "impute"}) == ["values"]
    text = table(tmp_path / "text", df.assign(b=df["b"].astype(str) + " "))
    zeroed = table(tmp_path / "coerce", df.assign(b=0.0))
    cfg = {**CFG, "operation": "coerce_numeric", "columns": ["b"]}
    dataset.check_table(text, table(tmp_path / "coerced", df), cfg)
    assert failed_checks(dataset.check_table, text, zeroed, cfg) == ["values"]
    altered = table(tmp_path / "dedup", df.drop_duplicates().assign(a=lambda d: d["a"] + 1))
    assert failed_checks(dataset.check_table, raw, altered, {**CFG, "operation": "deduplicate"}) == ["values"]


def test_lost_label_column_and_changed_rows_are_caught(raw, tmp_path):
    df = pd.read_csv(raw / "data.csv")
    out = table(tmp_path / "o1", df.drop(columns=["label"]))
    assert "columns" in failed_checks(dataset.check_table, raw, out, {**CFG, "operation": "coerce_numeric"})
    out = table(tmp_path / "o2", df.iloc[:2])
    assert "rows" in failed_checks(dataset.check_table, raw, out, {**CFG, "operation": "deduplicate"})
    out = table(tmp_path / "o3", df.drop(columns=["id"]))
    dataset.check_table(raw, out, {**CFG, "operation": "drop_columns", "columns": ["id"]})


def test_label_normalisation_must_merge_variants(raw, tmp_path):
    df = pd.read_csv(raw / "data.csv")
    changed = table(tmp_path / "changed", df.assign(label=df["label"].str.upper()))
    assert "labels" in failed_checks(dataset.check_table, raw, changed, {**CFG, "operation": "coerce_numeric"})
    wrong = table(tmp_path / "wrong", df.assign(label=df["label"].str.strip()))
    assert "labels" in failed_checks(dataset.check_table, raw, wrong, {**CFG, "operation": "normalise_labels"})
    right = table(tmp_path / "right", df.assign(label=dataset.normalise_label(df["label"])))
    dataset.check_table(raw, right, {**CFG, "operation": "normalise_labels"})


def _windows(folder: Path, x: np.ndarray, labels, groups) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "windows.npz", X=np.asarray(x, np.float32), labels=np.asarray(labels), groups=np.asarray(groups))
    return folder


@pytest.fixture
def recordings(tmp_path) -> tuple[Path, dict]:
    """Two recordings (10 and 7 samples, two channels); r1 changes label after 6 samples."""
    df = pd.DataFrame({"rec": ["r1"] * 10 + ["r2"] * 7, "a": np.arange(17.0), "b": 100 + np.arange(17.0),
                       "label": ["x"] * 6 + ["y"] * 4 + ["x"] * 7})
    cfg = {**CFG, "group": "rec", "channels": ["a", "b"], "window": 3, "stride": 2, "group_windows": False}
    return table(tmp_path / "in", df), cfg


def test_expected_windows_stay_inside_one_label_of_one_recording(recordings):
    src, cfg = recordings
    x, labels, groups = dataset_arrays.expected_windows(pd.read_csv(src / "data.csv"), cfg)
    assert [int(w[0, 0]) for w in x] == [0, 2, 6, 10, 12, 14]  # r1 x: 0..5, r1 y: 6..9, r2: 10..16
    assert labels.tolist() == ["x", "x", "y", "x", "x", "x"] and groups.tolist() == ["r1"] * 3 + ["r2"] * 3
    assert x[1].tolist() == [[2, 102], [3, 103], [4, 104]]


def test_windows_are_compared_with_the_recordings(recordings, tmp_path):
    src, cfg = recordings
    x, labels, groups = dataset_arrays.expected_windows(pd.read_csv(src / "data.csv"), cfg)
    order = [5, 0, 3, 1, 4, 2]  # any order of windows is fine
    dataset_arrays.check_windows(src, _windows(tmp_path / "ok", x[order], labels[order], groups[order]), cfg)
    cases = {
        "content": (x[:, :, ::-1], labels, groups),  # channels swapped
        "labels": (x, np.array(["x"] * 6), groups),
        "groups": (x, labels, np.arange(6).astype(str)),  # every window its own group: leaks a recording
        "rows": (x[:5], labels[:5], groups[:5]),
        "shape": (x[:, :2], labels, groups),
    }
    for check, arrays in cases.items():
        assert failed_checks(dataset_arrays.check_windows, src, _windows(tmp_path / check, *arrays), cfg) == [check]
    renamed = np.char.add("rec-", groups)  # names are free, the partition is not
    dataset_arrays.check_windows(src, _windows(tmp_path / "renamed", x, labels, renamed), cfg)


def _splits(folder: Path, parts: dict[str, tuple[list[int], list[str]]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, (y, groups) in parts.items():
        np.savez(folder / f"{name}.npz", X=np.zeros((len(y), 3, 2), np.float32),
                 y=np.asarray(y, np.int64), groups=np.asarray(groups))
    (folder / "labels.json").write_text(json.dumps(["a", "b"]))
    return folder


def test_split_leakage_and_missing_classes_are_caught(tmp_path):
    src = _windows(tmp_path / "in", np.zeros((20, 3, 2)), ["x"] * 20, ["g"] * 20)
    cfg = {**CFG, "grouped": True, "test_size": 0.2, "val_size": 0.1}
    train = ([0, 1] * 7, [f"g{i}" for i in range(14)])
    good = _splits(tmp_path / "good", {"train": train, "val": ([0, 1], ["v0", "v1"]),
                                       "test": ([0, 1, 0, 1], ["t0", "t1", "t2", "t3"])})
    dataset_arrays.check_split(src, good, cfg)
    leak = _splits(tmp_path / "leak", {"train": train, "val": ([0, 1], ["v0", "v1"]),
                                       "test": ([0, 1, 0, 1], ["g0", "t1", "t2", "t3"])})
    assert "leakage" in failed_checks(dataset_arrays.check_split, src, leak, cfg)
    lacking = _splits(tmp_path / "lack", {"train": train, "val": ([0, 0], ["v0", "v1"]),
                                          "test": ([0, 1, 0, 1], ["t0", "t1", "t2", "t3"])})
    assert "stratified" in failed_checks(dataset_arrays.check_split, src, lacking, cfg)
    short = _splits(tmp_path / "short", {"train": train, "val": ([0, 1], ["v0", "v1"]), "test": ([0, 1], ["a", "b"])})
    assert "rows" in failed_checks(dataset_arrays.check_split, src, short, cfg)


def test_a_split_out_of_proportion_is_not_stratified(tmp_path):
    """100 examples, 80 of class a: a test split of 20 must hold about 16 a and 4 b, not 10 and 10."""
    src = _windows(tmp_path / "in", np.zeros((100, 3, 2)), ["x"] * 100, ["g"] * 100)
    cfg = {**CFG, "grouped": False, "test_size": 0.2, "val_size": 0.1}
    names = [f"g{i}" for i in range(100)]

    def split(test_a: int) -> dict:
        test = [0] * test_a + [1] * (20 - test_a)
        val = [0] * 8 + [1] * 2
        train = [0] * (80 - test_a - 8) + [1] * (20 - (20 - test_a) - 2)
        return {"train": (train, names[:70]), "val": (val, names[70:80]), "test": (test, names[80:])}

    dataset_arrays.check_split(src, _splits(tmp_path / "ok", split(16)), cfg)
    assert failed_checks(dataset_arrays.check_split, src, _splits(tmp_path / "even", split(10)), cfg) == ["stratified"]


def test_scaler_fitted_on_everything_is_caught(tmp_path):
    rng = np.random.default_rng(0)
    src = tmp_path / "in"
    src.mkdir()
    raw = {n: rng.normal(k, 1 + k, size=(20, 3)).astype(np.float32) for k, n in enumerate(("train", "val", "test"))}
    groups = {n: np.array([f"{n}{i}" for i in range(20)]) for n in raw}
    for name, x in raw.items():
        np.savez(src / f"{name}.npz", X=x, y=np.zeros(20, np.int64), groups=groups[name])
    (src / "labels.json").write_text('["a"]')

    def write(folder: Path, stats: np.ndarray, keep_groups: bool = True) -> Path:
        folder.mkdir()
        offset, scale = stats.mean(0), stats.std(0)
        for name, x in raw.items():
            extra = {"groups": groups[name]} if keep_groups else {}
            np.savez(folder / f"{name}.npz", X=((x - offset) / scale).astype(np.float32), y=np.zeros(20, np.int64),
                     **extra)
        (folder / "scaling.json").write_text(json.dumps({"method": "standard", "offset": offset.tolist(),
                                                         "scale": scale.tolist()}))
        (folder / "labels.json").write_text('["a"]')
        return folder

    train = raw["train"].astype(np.float64)
    dataset_arrays.check_scaled(src, write(tmp_path / "good", train), CFG)
    everything = np.concatenate(list(raw.values())).astype(np.float64)
    assert "fit-on-train" in failed_checks(dataset_arrays.check_scaled, src, write(tmp_path / "all", everything), CFG)
    assert failed_checks(dataset_arrays.check_scaled, src, write(tmp_path / "nogroups", train, False), CFG) == [
        "output"]


def test_missing_output_is_a_finding_not_a_crash(tmp_path, raw):
    (tmp_path / "empty").mkdir()
    assert failed_checks(dataset.check_table, raw, tmp_path / "empty", {**CFG, "operation": "impute"}) == ["output"]


def _tabular_split(folder: Path, x: np.ndarray, y: np.ndarray, parts: dict[str, slice]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, part in parts.items():
        np.savez(folder / f"{name}.npz", X=x[part].astype(np.float32), y=y[part],
                 groups=np.arange(len(y))[part].astype(str))
    (folder / "labels.json").write_text(json.dumps(["a", "b"]))
    return folder


def test_split_values_are_compared_with_the_input(tmp_path):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"f1": rng.normal(size=40), "f2": rng.normal(size=40), "label": ["a", "b"] * 20})
    src = table(tmp_path / "in", df)
    cfg = {**CFG, "features": ["f1", "f2"], "grouped": False, "test_size": 0.2, "val_size": 0.2}
    x, y = df[["f1", "f2"]].to_numpy(), np.tile([0, 1], 20).astype(np.int64)
    parts = {"train": slice(0, 24), "val": slice(24, 32), "test": slice(32, None)}
    order = rng.permutation(40)  # shuffled rows are fine
    dataset_arrays.check_split(src, _tabular_split(tmp_path / "ok", x[order], y[order], parts), cfg)
    zeroed = _tabular_split(tmp_path / "zero", np.zeros_like(x), y, parts)
    assert failed_checks(dataset_arrays.check_split, src, zeroed, cfg) == ["content"]
    swapped = _tabular_split(tmp_path / "swap", x[:, ::-1], y, parts)
    assert failed_checks(dataset_arrays.check_split, src, swapped, cfg) == ["content"]
    narrow = _tabular_split(tmp_path / "narrow", x[:, :1], y, parts)
    assert failed_checks(dataset_arrays.check_split, src, narrow, cfg) == ["shape"]
    holes = x.copy()
    holes[3, 0] = np.nan
    nan = _tabular_split(tmp_path / "nan", holes, y, parts)
    assert "missing" in failed_checks(dataset_arrays.check_split, src, nan, cfg)


def test_duplicates_shared_by_val_and_train_are_leakage(tmp_path):
    df = pd.DataFrame({"f1": np.arange(40.0), "label": ["a", "b"] * 20})
    cfg = {**CFG, "features": ["f1"], "grouped": False, "test_size": 0.2, "val_size": 0.2, "deduplicated": True}
    x, y = df[["f1"]].to_numpy().copy(), np.tile([0, 1], 20).astype(np.int64)
    x[30] = x[0]  # a val row equal to a train row (the input kept it)
    src = table(tmp_path / "in", df.assign(f1=x[:, 0]))
    parts = {"train": slice(0, 24), "val": slice(24, 32), "test": slice(32, None)}
    with pytest.raises(CheckFailed) as info:
        dataset_arrays.check_split(src, _tabular_split(tmp_path / "leak", x, y, parts), cfg)
    assert [f.message for f in info.value.findings] == ["1 val examples also appear in train"]


def naive_windows(df: pd.DataFrame, width: int, stride: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Windows as a step that ignores clocks and blank labels cuts them: over the labelled rows, one recording."""
    kept = df[df["label"].notna()].reset_index(drop=True)
    starts = np.arange(0, len(kept) - width + 1, stride)
    x = kept[["a", "b"]].to_numpy(np.float32)[starts[:, None] + np.arange(width)]
    return x, kept["label"].to_numpy().astype(str)[starts], np.array(["r1"] * len(starts))


@pytest.mark.parametrize("case", ["gap", "restart", "blank"])
def test_windows_across_a_gap_a_restart_or_a_blank_label_are_caught(tmp_path, case):
    clock = {"gap": [0, 1, 2, 3, 4, 20, 21, 22, 23, 24, 25, 26], "restart": [0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 5, 6],
             "blank": list(range(12))}[case]
    labels = ["x"] * 12
    if case == "blank":
        labels[5] = None
    df = pd.DataFrame({"rec": ["r1"] * 12, "t": clock, "a": np.arange(12.0), "b": -np.arange(12.0), "label": labels})
    src = table(tmp_path / "in", df)
    cfg = {**CFG, "group": "rec", "segment": "rec", "time": "t", "gap": 1.5, "channels": ["a", "b"], "window": 3,
           "stride": 3, "group_windows": False}
    x, got_labels, groups = dataset_arrays.expected_windows(pd.read_csv(src / "data.csv"), cfg)
    assert [int(w[0, 0]) for w in x] == ([0, 5, 8] if case != "blank" else [0, 6, 9])
    dataset_arrays.check_windows(src, _windows(tmp_path / "ok", x, got_labels, groups), cfg)
    wrong = naive_windows(df, 3, 3)
    assert failed_checks(dataset_arrays.check_windows, src, _windows(tmp_path / "naive", *wrong), cfg) == [
        "content" if case == "blank" else "rows"]
