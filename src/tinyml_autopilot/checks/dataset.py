"""Deterministic checks of each data step's output against its input. They raise CheckFailed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..loop import CheckFailed, Finding

SPLITS = ("train", "val", "test")
KEEP_ROWS = {"drop_columns", "coerce_numeric", "normalise_labels"}


def read_table(folder: Path, config: dict[str, Any]) -> pd.DataFrame:
    text = {c: str for c in (config["label"], config.get("group")) if c}
    return pd.read_csv(folder / "data.csv", dtype=text, low_memory=False)


def _fail(findings: list[Finding]) -> None:
    if findings:
        raise CheckFailed(findings)


def _load(what: str, reader: Callable[[], Any]) -> Any:
    try:
        return reader()
    except FileNotFoundError as err:
        raise CheckFailed([Finding("output", f"{what} was not written: {Path(err.filename or '').name}")]) from err
    except Exception as err:  # any unreadable output is a finding, whatever the parser raised
        raise CheckFailed([Finding("output", f"{what} cannot be read: {type(err).__name__}: {err}")]) from err


def check_load(raw: Path, out: Path, config: dict[str, Any]) -> None:
    df = _load("data.csv", lambda: read_table(out, config))
    found = []
    if config["label"] not in df.columns:
        found.append(Finding("columns", f"the label column {config['label']!r} is missing from data.csv"))
    if df.empty:
        found.append(Finding("rows", "data.csv has no rows"))
    _fail(found)


def check_table(before: Path, out: Path, config: dict[str, Any]) -> None:
    """A cleaning step: columns kept, rows plausible, labels intact, no NaN where promised."""
    op = config["operation"]
    old = read_table(before, config)
    new = _load("data.csv", lambda: read_table(out, config))
    found: list[Finding] = []
    dropped = set(config["columns"]) if op == "drop_columns" else set()
    missing = [c for c in old.columns if c not in dropped and c not in new.columns]
    if missing:
        found.append(Finding("columns", f"columns lost that must be kept: {missing}"))
    left = sorted(dropped & set(new.columns))
    if left:
        found.append(Finding("columns", f"columns to drop are still there: {left}"))
    found += _rows(op, old, new, config)
    if config["label"] in new.columns:
        found += _labels(op, old, new, config)
    if op == "impute":
        feats = [c for c in config["features"] if c in new.columns]
        nan = {c: int(n) for c, n in new[feats].isna().sum().items() if n}
        if nan:
            found.append(Finding("missing", f"missing values left after imputation: {nan}"))
    if op == "coerce_numeric":
        text = [c for c in config["columns"] if c in new.columns and not pd.api.types.is_numeric_dtype(new[c])]
        if text:
            found.append(Finding("types", f"columns still not numeric: {text}"))
    _fail(found)


def _rows(op: str, old: pd.DataFrame, new: pd.DataFrame, config: dict[str, Any]) -> list[Finding]:
    n_old, n_new = len(old), len(new)
    if op == "deduplicate":
        unique = len(old.drop_duplicates())
        if not unique <= n_new <= n_old:
            return [Finding("rows", f"{n_new} rows after deduplication; expected between {unique} "
                                    f"(unique rows) and {n_old}")]
    elif op == "impute":
        expected = int(old[config["label"]].notna().sum())
        if n_new != expected:
            return [Finding("rows", f"{n_new} rows after imputation; expected {expected} (only rows without a "
                                    "label may be dropped)")]
    elif op in KEEP_ROWS and n_new != n_old:
        return [Finding("rows", f"{op} must keep every row: {n_old} in, {n_new} out")]
    elif not n_old // 2 <= n_new <= n_old:
        return [Finding("rows", f"implausible row count: {n_old} in, {n_new} out")]
    return []


def normalise_label(series: pd.Series) -> pd.Series:
    return series.str.strip().str.lower().str.replace(r"[\s_-]+", " ", regex=True)


def _labels(op: str, old: pd.DataFrame, new: pd.DataFrame, config: dict[str, Any]) -> list[Finding]:
    label = config["label"]
    before = set(old[label].dropna())
    after = set(new[label].dropna())
    if op == "normalise_labels":
        expected = set(normalise_label(old[label].dropna()))
        if {str(v).strip().lower() for v in after} != {v.lower() for v in expected} or len(after) != len(expected):
            return [Finding("labels", f"labels after normalising: {sorted(after)[:12]}; expected "
                                      f"{sorted(expected)[:12]} (case, spacing and separators merged)")]
        return []
    if not after <= before:
        return [Finding("labels", f"labels changed: new values {sorted(after - before)[:10]}")]
    if len(new) == len(old) and not old[label].fillna("").reset_index(drop=True).equals(
            new[label].fillna("").reset_index(drop=True)):
        return [Finding("labels", "the label column was changed or reordered")]
    return []


def expected_windows(table: pd.DataFrame, config: dict[str, Any]) -> int:
    keys = (table[config["group"]] if config["group"] else
            (table[config["label"]] != table[config["label"]].shift()).cumsum())
    sizes = keys.value_counts().to_numpy()
    width, stride = config["window"], config["stride"]
    return int(sum((s - width) // stride + 1 for s in sizes if s >= width))


def check_windows(before: Path, out: Path, config: dict[str, Any]) -> None:
    table = read_table(before, config)
    arrays = _load("windows.npz", lambda: dict(np.load(out / "windows.npz", allow_pickle=False)))
    found: list[Finding] = []
    absent = [k for k in ("X", "labels", "groups") if k not in arrays]
    if absent:
        _fail([Finding("output", f"windows.npz lacks arrays {absent} (needs X, labels, groups)")])
    x, labels, groups = arrays["X"], arrays["labels"].astype(str), arrays["groups"]
    shape = (config["window"], len(config["channels"]))
    if x.ndim != 3 or x.shape[1:] != shape:
        found.append(Finding("shape", f"X is {x.shape}; expected (windows, {shape[0]}, {shape[1]}) "
                                      f"= (n, window, channels {config['channels']})"))
    expected = expected_windows(table, config)
    if len(x) != expected:
        found.append(Finding("rows", f"{len(x)} windows; expected {expected} (window {config['window']}, "
                                     f"stride {config['stride']}, per recording, no window across recordings)"))
    if not len(labels) == len(groups) == len(x):
        found.append(Finding("shape", f"X, labels, groups lengths differ: {len(x)}, {len(labels)}, {len(groups)}"))
    new_labels = set(labels) - set(table[config["label"]].dropna())
    if new_labels:
        found.append(Finding("labels", f"window labels not in the data: {sorted(new_labels)[:10]}"))
    if x.size and not np.isfinite(x).all():
        found.append(Finding("missing", "windows contain NaN or infinite values"))
    _fail(found)


def check_split(before: Path, out: Path, config: dict[str, Any]) -> None:
    """Sizes add up, every class in every split, stratified, and nothing shared between splits."""
    parts = {n: _load(f"{n}.npz", lambda n=n: dict(np.load(out / f"{n}.npz", allow_pickle=False))) for n in SPLITS}
    labels = _load("labels.json", lambda: json.loads((out / "labels.json").read_text()))
    found: list[Finding] = []
    if any(k not in p for p in parts.values() for k in ("X", "y", "groups")):
        _fail([Finding("output", "each split file needs arrays X, y and groups")])
    total = sum(len(p["y"]) for p in parts.values())
    n_in = _examples(before, config)
    if total != n_in:
        found.append(Finding("rows", f"the splits hold {total} examples; the input has {n_in}"))
    if labels != sorted(labels) or len(set(labels)) != len(labels):
        found.append(Finding("labels", "labels.json must be the sorted list of distinct class names"))
    for name, part in parts.items():
        y = part["y"]
        if y.dtype.kind not in "iu" or (len(y) and (y.min() < 0 or y.max() >= len(labels))):
            found.append(Finding("labels", f"{name}.y must be integer class indexes 0..{len(labels) - 1}"))
        elif set(np.unique(y)) != set(range(len(labels))):
            missing = sorted(set(range(len(labels))) - set(np.unique(y).tolist()))
            found.append(Finding("stratified", f"{name} split lacks classes {[labels[i] for i in missing]}"))
    found += _content(parts, _input_x(before, config), config)
    found += _leaks(parts, config)
    found += _balance(parts, config)
    _fail(found)


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
    train = set(parts["train"]["groups"].astype(str))
    for name in ("val", "test"):
        shared = train & set(parts[name]["groups"].astype(str))
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


def check_scaled(before: Path, out: Path, config: dict[str, Any]) -> None:
    """Same examples and labels; constants equal to the training split's statistics; applied to all."""
    scaling = _load("scaling.json", lambda: json.loads((out / "scaling.json").read_text()))
    _load("labels.json", lambda: (out / "labels.json").read_text())
    found: list[Finding] = []
    offset = np.asarray(scaling.get("offset", []), dtype=np.float64)
    scale = np.asarray(scaling.get("scale", []), dtype=np.float64)
    raw = {n: dict(np.load(before / f"{n}.npz", allow_pickle=False)) for n in SPLITS}
    width = raw["train"]["X"].shape[-1]
    if offset.shape != (width,) or scale.shape != (width,) or not (scale > 0).all():
        _fail([Finding("scaling", f"scaling.json needs 'offset' and 'scale' lists of {width} values "
                                  "(one per channel or feature), scale > 0")])
    flat = raw["train"]["X"].reshape(-1, width).astype(np.float64)
    if scaling.get("method") == "standard" and not np.allclose(offset, flat.mean(0), rtol=1e-4, atol=1e-6):
        found.append(Finding("fit-on-train", "the offsets are not the training split's means: fit the scaler "
                                             "on the training split only"))
    for name in SPLITS:
        part = _load(f"{name}.npz", lambda n=name: dict(np.load(out / f"{n}.npz", allow_pickle=False)))
        if "X" not in part or "y" not in part:
            found.append(Finding("output", f"{name}.npz needs arrays X and y"))
            continue
        if part["X"].dtype != np.float32 or part["y"].dtype != np.int64:
            found.append(Finding("types", f"{name}: X must be float32 and y int64 (got {part['X'].dtype}, "
                                          f"{part['y'].dtype})"))
        if not np.array_equal(part["y"], raw[name]["y"]):
            found.append(Finding("labels", f"{name}: labels or example order changed while scaling"))
        elif part["X"].shape != raw[name]["X"].shape or not np.allclose(
                part["X"], (raw[name]["X"] - offset) / scale, rtol=1e-4, atol=1e-4):
            found.append(Finding("scaling", f"{name}: X is not (x - offset) / scale with scaling.json's constants"))
    _fail(found)
