"""Checks of the array end of a data pipeline: windows, the train/val/test split, the scaling."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..loop import CheckFailed, Finding
from . import dataset_segments
from .dataset import fail, load, read_table

SPLITS = ("train", "val", "test")


def segments(table: pd.DataFrame, config: dict[str, Any]) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Rows in file order, each row's split group and its segment (see dataset_segments)."""
    table, owner, segment, _ = dataset_segments.segments(table, config)
    return table, owner, segment


def expected_windows(table: pd.DataFrame, config: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """X, labels and split group of every example the contract asks for (no window spans two segments)."""
    x, labels, owner, _ = expected_examples(table, config)
    return x, labels, owner


def expected_examples(table: pd.DataFrame, config: dict[str, Any]):
    """(X, labels, owners, given splits or None): windows, or one fixed-length example per segment."""
    width, stride = config["window"], config["stride"]
    table, owner, segment, labelled = dataset_segments.segments(table, config)
    values = table[config["channels"]].to_numpy(np.float32)
    spans = dataset_segments.runs(segment, labelled)
    if config.get("example") == "recording":
        kept = [(b, e) for b, e in spans if e - b >= config.get("min_length", 2)]
        first = np.array([b for b, _ in kept], int)
        x = np.stack([dataset_segments.fixed_length(values[b:e], width, config.get("fit", "pad"))
                      for b, e in kept]).astype(np.float32) if kept else np.zeros((0, width, values.shape[1]))
    else:
        starts = [np.arange(b, e - width + 1, stride) for b, e in spans if e - b >= width]
        first = np.concatenate(starts) if starts else np.zeros(0, int)
        x = values[first[:, None] + np.arange(width)] if len(first) else np.zeros((0, width, values.shape[1]))
    groups = owner[first].astype(str)
    if config.get("group_windows"):
        groups = np.arange(len(first)).astype(str)  # every window is its own group
    split = table[config["split_column"]].astype(str).to_numpy()[first] if config.get("split_column") else None
    return x.astype(np.float32), table[config["label"]].to_numpy().astype(str)[first], groups, split


def _order(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    flat = x.reshape(len(x), -1)
    return np.lexsort([labels, *flat.T[::-1]])


def check_windows(before: Path, out: Path, config: dict[str, Any]) -> None:
    """Count, shape, values in channel order, labels and recordings of the windows, against the table."""
    arrays = load("windows.npz", lambda: dict(np.load(out / "windows.npz", allow_pickle=False)))
    absent = [k for k in ("X", "labels", "groups") if k not in arrays]
    if absent:
        fail([Finding("output", f"windows.npz lacks arrays {absent} (needs X, labels, groups)")])
    x, labels, groups = arrays["X"], arrays["labels"].astype(str), arrays["groups"].astype(str)
    shape = (config["window"], len(config["channels"]))
    if x.ndim != 3 or x.shape[1:] != shape:
        fail([Finding("shape", f"X is {x.shape}; expected (windows, {shape[0]}, {shape[1]}) "
                               f"= (n, window, channels {config['channels']})")])
    if not len(labels) == len(groups) == len(x):
        fail([Finding("shape", f"X, labels, groups lengths differ: {len(x)}, {len(labels)}, {len(groups)}")])
    ex, elabels, egroups, esplit = expected_examples(read_table(before, config), config)
    if len(x) != len(ex):
        what = (f"one example per segment of at least {config.get('min_length', 2)} samples, brought to "
                f"{config['window']}" if config.get("example") == "recording" else
                f"window {config['window']}, stride {config['stride']}, starting at each segment's first sample")
        fail([Finding("rows", f"{len(x)} windows; expected {len(ex)} ({what}; a segment ends at a new recording, "
                              "label or given split, a blank label, a clock that goes back or jumps by more than "
                              f"{config.get('gap')}; rows without a label are in no window)")])
    if x.size and not np.isfinite(x).all():
        fail([Finding("missing", "windows contain NaN or infinite values")])
    found = _window_content(x, labels, groups, ex, elabels, egroups, config)
    if esplit is not None and not found:
        got = arrays.get("splits")
        if got is None or sorted(zip(got.astype(str).tolist(), labels.tolist(), strict=True)) != sorted(
                zip(esplit.tolist(), elabels.tolist(), strict=True)):
            found.append(Finding("splits", f"windows.npz needs `splits`: each window's value of "
                                           f"{config['split_column']!r} (train/val/test)"))
    fail(found)


def _window_content(x, labels, groups, ex, elabels, egroups, config) -> list[Finding]:
    mine, theirs = (slice(None), slice(None))
    if not (np.allclose(x, ex, rtol=1e-5, atol=1e-6) and np.array_equal(labels, elabels)):
        mine, theirs = _order(x, labels), _order(ex, elabels)  # any window order is fine
    if not np.allclose(x[mine], ex[theirs], rtol=1e-5, atol=1e-6):
        return [Finding("content", "the windows' values are not the recordings' samples: each window must be "
                                   f"{config['window']} consecutive samples (time order) of one recording, with "
                                   f"the channels in CONFIG['channels'] order {config['channels']}")]
    if not np.array_equal(labels[mine], elabels[theirs]):
        return [Finding("labels", "window labels differ from the label of the samples they hold")]
    pairs = pd.DataFrame({"want": egroups[theirs], "got": groups[mine]})
    if not pairs["want"].nunique() == pairs["got"].nunique() == len(pairs.drop_duplicates()):
        what = "its own '<recording>@<start>' group" if config.get("group_windows") else "the recording it came from"
        return [Finding("groups", f"groups must name, for each window, {what}: {pairs['got'].nunique()} "
                                  f"distinct groups given, {pairs['want'].nunique()} expected")]
    return []


def check_split(before: Path, out: Path, config: dict[str, Any]) -> None:
    """Sizes add up, every class in every split, stratified, and nothing shared between splits."""
    parts = {n: load(f"{n}.npz", lambda n=n: dict(np.load(out / f"{n}.npz", allow_pickle=False))) for n in SPLITS}
    labels = load("labels.json", lambda: json.loads((out / "labels.json").read_text()))
    found: list[Finding] = []
    if any(k not in p for p in parts.values() for k in ("X", "y", "groups")):
        fail([Finding("output", "each split file needs arrays X, y and groups")])
    total = sum(len(p["y"]) for p in parts.values())
    n_in = _examples(before, config)
    if total != n_in:
        found.append(Finding("rows", f"the splits hold {total} examples; the input has {n_in}"))
    if labels != sorted(labels) or len(set(labels)) != len(labels):
        found.append(Finding("labels", "labels.json must be the sorted list of distinct class names"))
    for name, part in parts.items():
        y = part["y"]
        if y.dtype.kind not in "iu" or (len(y) and (y.min() < 0 or y.max() >= len(labels))):
            fail(found + [Finding("labels", f"{name}.y must be integer class indexes 0..{len(labels) - 1}")])
        if set(np.unique(y)) != set(range(len(labels))):
            missing = sorted(set(range(len(labels))) - set(np.unique(y).tolist()))
            found.append(Finding("stratified", f"{name} split lacks classes {[labels[i] for i in missing]}"))
    given = _input_x(before, config)
    found += _content(parts, given, config)
    if config.get("split_column"):  # the user's split is kept as it is: its sizes and overlaps are theirs
        found += _given_split(parts, given, _input_splits(before, config), config)
        fail(found)
    found += _leaks(parts, config)
    found += _balance(parts, config)
    if not any(f.check == "stratified" for f in found):
        found += _stratified(parts, labels, config)
    fail(found)


def _input_splits(before: Path, config: dict[str, Any]) -> np.ndarray:
    if (before / "windows.npz").exists():
        with np.load(before / "windows.npz", allow_pickle=False) as archive:
            values = archive["splits"].astype(str) if "splits" in archive.files else np.array([], str)
    else:
        values = read_table(before, config)[config["split_column"]].astype(str).to_numpy()
    return np.char.lower(np.char.strip(values))


def _given_split(parts: dict[str, dict], given: np.ndarray | None, splits: np.ndarray,
                 config: dict[str, Any]) -> list[Finding]:
    """Test holds exactly the rows marked test; val the rows marked val when any are (else some of train's)."""
    if given is None or len(splits) != len(given):
        return []
    named = np.array([dataset_segments.SPLIT_VALUES.get(v, v) for v in splits.tolist()])
    found = []
    for name in ("test", "val") if (named == "val").any() else ("test",):
        want = given[named == name]
        got = parts[name]["X"].astype(np.float32)
        if len(got) != len(want) or not np.allclose(_sorted_rows(got), _sorted_rows(want), rtol=1e-5, atol=1e-6):
            found.append(Finding("given-split", f"{name} must hold exactly the {len(want)} examples whose "
                                                f"{config['split_column']!r} is {name} (it holds {len(got)})"))
    return found


def _examples(before: Path, config: dict[str, Any]) -> int:
    if (before / "windows.npz").exists():
        with np.load(before / "windows.npz", allow_pickle=False) as archive:
            return len(archive["labels"])
    return len(read_table(before, config))


def _input_x(before: Path, config: dict[str, Any]) -> np.ndarray | None:
    """The examples the split step was given: windows, or the feature columns of the table."""
    if (before / "windows.npz").exists():
        with np.load(before / "windows.npz", allow_pickle=False) as archive:
            return archive["X"].astype(np.float32)
    table = read_table(before, config)
    try:
        return table[[c for c in config["features"] if c in table.columns]].to_numpy(np.float32)
    except (TypeError, ValueError):  # a text feature: the split step cannot have used it either
        return None


def _sorted_rows(x: np.ndarray) -> np.ndarray:
    flat = x.reshape(len(x), -1)
    return flat[np.lexsort(flat.T[::-1])] if flat.shape[1] else flat


def _content(parts: dict[str, dict], given: np.ndarray | None, config: dict[str, Any]) -> list[Finding]:
    """The splits' X, taken together, are the input's examples (shape, values, finite)."""
    if given is None:
        return []
    shape = given.shape[1:]
    wrong = {n: list(p["X"].shape[1:]) for n, p in parts.items() if p["X"].shape[1:] != shape}
    if wrong:
        what = "features " + str(config["features"]) if given.ndim == 2 else "(window, channels)"
        return [Finding("shape", f"split samples are shaped {wrong}; expected {list(shape)} = {what}")]
    found = []
    if any(p["X"].size and not np.isfinite(p["X"]).all() for p in parts.values()):
        found.append(Finding("missing", "split X contains NaN or infinite values"))
    union = np.concatenate([p["X"].astype(np.float32) for p in parts.values()])
    if len(union) == len(given) and not np.allclose(_sorted_rows(union), _sorted_rows(given), rtol=1e-5,
                                                     atol=1e-6, equal_nan=True):
        found.append(Finding("content", "the splits' X values are not the input's examples: split the rows "
                                        "(or windows) as they are, without changing or reordering features"))
    return found


def _leaks(parts: dict[str, dict], config: dict[str, Any]) -> list[Finding]:
    found = []
    train = set(parts["train"]["groups"].astype(str).tolist())
    for name in ("val", "test"):
        shared = train & set(parts[name]["groups"].astype(str).tolist())
        if shared and config["grouped"]:
            found.append(Finding("leakage", f"{len(shared)} recordings are in both train and {name} "
                                            f"(e.g. {sorted(shared)[:3]}): split by recording"))
    if config.get("deduplicated"):
        train_rows = {r.tobytes() for r in parts["train"]["X"].reshape(len(parts["train"]["X"]), -1)}
        for name in ("val", "test"):
            x = parts[name]["X"]
            leaked = sum(r.tobytes() in train_rows for r in x.reshape(len(x), -1))
            if leaked:
                found.append(Finding("leakage", f"{leaked} {name} examples also appear in train"))
    return found


def _balance(parts: dict[str, dict], config: dict[str, Any]) -> list[Finding]:
    sizes = {n: len(p["y"]) for n, p in parts.items()}
    total = sum(sizes.values()) or 1
    found = []
    for name, share in (("test", config["test_size"]), ("val", config["val_size"])):
        slack = 0.15 + (0.2 if config["grouped"] else 0.0)  # whole recordings make the shares coarse
        if abs(sizes[name] / total - share) > slack:
            found.append(Finding("sizes", f"{name} holds {sizes[name] / total:.0%} of the examples; asked {share:.0%}"))
    return found


def _stratified(parts: dict[str, dict], labels: list[str], config: dict[str, Any]) -> list[Finding]:
    """Each class is held out in proportion: counted in examples, or in recordings when split by recording."""
    def units(part: dict) -> np.ndarray:  # per class: examples, or distinct groups holding the class
        if not config["grouped"]:
            return np.bincount(part["y"], minlength=len(labels))
        pairs = pd.DataFrame({"y": part["y"], "g": part["groups"].astype(str)}).drop_duplicates()
        return np.bincount(pairs["y"].to_numpy(), minlength=len(labels))

    whole = {"y": np.concatenate([p["y"] for p in parts.values()]),
             "groups": np.concatenate([p["groups"].astype(str) for p in parts.values()])}
    total, unit = units(whole), "recordings" if config["grouped"] else "examples"
    found = []
    for name, share in (("test", config["test_size"]), ("val", config["val_size"])):
        held = units(parts[name])
        for index, (got, of) in enumerate(zip(held, total, strict=True)):
            want = share * of
            if abs(got - want) > 1.5 + 0.1 * want:
                found.append(Finding("stratified", f"{name} holds {got} of the {of} {labels[index]!r} {unit}; "
                                                   f"a split stratified by class holds about {want:.0f}"))
    return found[:6]


def check_scaled(before: Path, out: Path, config: dict[str, Any]) -> None:
    """Same examples, labels and groups; constants equal to the training split's statistics; applied to all."""
    scaling = load("scaling.json", lambda: json.loads((out / "scaling.json").read_text()))
    load("labels.json", lambda: (out / "labels.json").read_text())
    found: list[Finding] = []
    offset = np.asarray(scaling.get("offset", []), dtype=np.float64)
    scale = np.asarray(scaling.get("scale", []), dtype=np.float64)
    raw = {n: dict(np.load(before / f"{n}.npz", allow_pickle=False)) for n in SPLITS}
    width = raw["train"]["X"].shape[-1]
    if offset.shape != (width,) or scale.shape != (width,) or not (scale > 0).all():
        fail([Finding("scaling", f"scaling.json needs 'offset' and 'scale' lists of {width} values "
                                 "(one per channel or feature), scale > 0")])
    flat = raw["train"]["X"].reshape(-1, width).astype(np.float64)
    if scaling.get("method") == "standard" and not np.allclose(offset, flat.mean(0), rtol=1e-4, atol=1e-6):
        found.append(Finding("fit-on-train", "the offsets are not the training split's means: fit the scaler "
                                             "on the training split only"))
    for name in SPLITS:
        part = load(f"{name}.npz", lambda n=name: dict(np.load(out / f"{n}.npz", allow_pickle=False)))
        found += _scaled_split(name, part, raw[name], offset, scale)
    fail(found)


def _scaled_split(name: str, part: dict, raw: dict, offset: np.ndarray, scale: np.ndarray) -> list[Finding]:
    if "X" not in part or "y" not in part or "groups" not in part:
        return [Finding("output", f"{name}.npz needs arrays X, y and groups")]
    found = []
    if part["X"].dtype != np.float32 or part["y"].dtype != np.int64:
        found.append(Finding("types", f"{name}: X must be float32 and y int64 (got {part['X'].dtype}, "
                                      f"{part['y'].dtype})"))
    if not np.array_equal(part["y"], raw["y"]):
        found.append(Finding("labels", f"{name}: labels or example order changed while scaling"))
    elif part["X"].shape != raw["X"].shape or not np.allclose(part["X"], (raw["X"] - offset) / scale,
                                                              rtol=1e-4, atol=1e-4):
        found.append(Finding("scaling", f"{name}: X is not (x - offset) / scale with scaling.json's constants"))
    if not np.array_equal(part["groups"].astype(str), raw["groups"].astype(str)):
        found.append(Finding("groups", f"{name}: copy the groups array unchanged"))
    return found


__all__ = ["CheckFailed", "check_scaled", "check_split", "check_windows", "expected_windows", "segments"]
