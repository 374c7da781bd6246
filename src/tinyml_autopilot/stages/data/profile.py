"""A deterministic profile of the loaded table: what the proposal, the prompts and the checks rely on."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.table import Table

from ...checks.dataset_arrays import segments
from .inputs import Source

ID_NAME = re.compile(r"(^|[_\s])(id|uuid|index|idx|row|key)$|^unnamed", re.IGNORECASE)
GROUP_NAME = re.compile(r"session|recording|record|trial|episode|sequence|subject|capture|take|run_id|file"
                        r"|user|participant|person|volunteer", re.IGNORECASE)
TIME_NAME = re.compile(r"^(t|time|timestamp|ts|millis|ms|micros|us|seconds|secs?|sample|datetime|date)$|time",
                       re.IGNORECASE)


KINDS = ("auto", "tabular", "timeseries")


def build(table: Path, source: Source, kind: str = "auto") -> dict[str, Any]:
    """Columns, types, missing, duplicates, classes, ranges, recordings and sample rate.

    `kind` "auto" decides tabular or time series from the columns; the others force it.
    """
    text = {source.label: str}
    df = pd.read_csv(table, dtype=text, low_memory=False)
    label = source.label
    columns = [_column(df, name) for name in df.columns if name != label]
    group = "recording" if source.kind in ("folder", "npz") and "recording" in df else _find_group(df, columns)
    keys = df[group] if group else (df[label] != df[label].shift()).cumsum()
    time = "sample" if group == "recording" and "sample" in df else _find_time(df, columns, keys)
    for col in columns:
        col["role"] = ("group" if col["name"] == group else "time" if col["name"] == time else col["role"])
    raw = df[label]
    normalised = raw.dropna().str.strip().str.lower().str.replace(r"[\s_-]+", " ", regex=True)
    profile: dict[str, Any] = {
        "source": source.kind,
        "path": str(source.path),
        "rows": int(len(df)),
        "label": label,
        "label_given": source.label_given,
        "columns": columns,
        "duplicate_rows": int(df.duplicated().sum()),
        "missing_labels": int(raw.isna().sum()),
        "classes": {str(k): int(v) for k, v in raw.value_counts(dropna=True).sort_index().items()},
        "classes_normalised": {str(k): int(v) for k, v in normalised.value_counts().sort_index().items()},
        "group": group,
        "time": time,
    }
    auto = "timeseries" if group or (time and _label_runs(raw) < len(df) / 5) else "tabular"
    profile["kind"] = auto if kind == "auto" else kind
    if profile["kind"] == "tabular" and time:  # a forced tabular table keeps its clock out of the features
        profile["time"] = None
        next(c for c in columns if c["name"] == time)["role"] = "feature"
    profile.update(_recordings(df, group, time, label, profile["kind"]))
    return profile


def _column(df: pd.DataFrame, name: str) -> dict[str, Any]:
    series = df[name]
    non_null = series.dropna()
    info: dict[str, Any] = {"name": str(name), "missing": int(series.isna().sum()),
                            "unique": int(series.nunique(dropna=True)), "role": "feature"}
    if pd.api.types.is_numeric_dtype(series):
        info["type"] = "numeric"
        infinite = np.isinf(series.to_numpy(dtype=float, na_value=np.nan))
        info["missing"] += int(infinite.sum())  # inf is a gap to fill as much as NaN is
        non_null = series[~infinite].dropna()
        if len(non_null):
            info.update(min=_num(non_null.min()), max=_num(non_null.max()), mean=_num(non_null.mean()))
    else:
        as_numbers = pd.to_numeric(non_null.astype("string").str.strip(), errors="coerce")
        share = float(as_numbers.notna().mean()) if len(non_null) else 0.0
        info["type"] = "string-number" if share >= 0.8 else "datetime" if _is_datetime(name, non_null) else "text"
        info["unparsable"] = int(as_numbers.isna().sum())
        if share >= 0.8:
            info.update(min=_num(as_numbers.min()), max=_num(as_numbers.max()))
    if info["unique"] <= 1:
        info["role"] = "constant"
    elif _looks_like_id(name, series, info):
        info["role"] = "id"
    elif info["type"] in ("text", "datetime"):
        info["role"] = "text"
    return info


def _is_datetime(name: str, values: pd.Series) -> bool:
    if not TIME_NAME.search(str(name)) or values.empty:
        return False
    parsed = pd.to_datetime(values.iloc[:200].astype(str), errors="coerce", format="mixed")
    return bool(parsed.notna().mean() > 0.9)


def _looks_like_id(name: str, series: pd.Series, info: dict[str, Any]) -> bool:
    all_unique = info["unique"] == len(series) and len(series) > 1
    mostly_unique = info["unique"] >= 0.9 * len(series)  # duplicated rows repeat their id
    if ID_NAME.search(str(name)) and (mostly_unique or info["type"] == "text"):
        return True
    if all_unique and pd.api.types.is_integer_dtype(series):
        steps = np.diff(series.to_numpy())
        return bool(len(steps) and (steps == steps[0]).all() and steps[0] != 0)
    return all_unique and info["type"] == "text"


def _find_group(df: pd.DataFrame, columns: list[dict[str, Any]]) -> str | None:
    for col in columns:
        if GROUP_NAME.search(col["name"]) and 2 <= col["unique"] <= len(df) / 3:
            return col["name"]
    return None


def _find_time(df: pd.DataFrame, columns: list[dict[str, Any]], keys: pd.Series) -> str | None:
    """A clock-like name whose values mostly increase within each recording (not a feature that repeats)."""
    return next((c["name"] for c in columns if TIME_NAME.search(c["name"]) and c["type"] in ("numeric", "datetime")
                 and _is_clock(df[c["name"]], keys)), None)


def _is_clock(values: pd.Series, keys: pd.Series, share: float = 0.9) -> bool:
    if not pd.api.types.is_numeric_dtype(values):
        parsed = pd.to_datetime(values, errors="coerce", format="mixed")
        values = (parsed - parsed.min()).dt.total_seconds()
    steps = values.groupby(keys.to_numpy()).diff().dropna()
    return bool(len(steps) and (steps > 0).mean() >= share)


def _label_runs(labels: pd.Series) -> int:
    return int((labels != labels.shift()).sum())


def _recordings(df: pd.DataFrame, group: str | None, time: str | None, label: str, kind: str) -> dict[str, Any]:
    if kind != "timeseries":
        return {"recordings": None, "rows_per_recording": None, "sample_rate_hz": None}
    keys = df[group] if group else (df[label] != df[label].shift()).cumsum()
    _, _, segment = segments(df, {"label": label, "group": group, "time": time})
    sizes = pd.Series(segment).value_counts()  # a recording's runs of one label: what windows are cut from
    per_class = df.groupby(label)[group].nunique() if group else df.groupby(keys)[label].first().value_counts()
    rate = _sample_rate(df, keys, time) if time else None
    return {"recordings": int(keys.nunique()),
            "recordings_per_class": {str(k): int(v) for k, v in per_class.sort_index().items()},
            "rows_per_recording": {"min": int(sizes.min()), "median": float(sizes.median()), "max": int(sizes.max())},
            "sample_rate_hz": rate}


def _sample_rate(df: pd.DataFrame, keys: pd.Series, time: str) -> float | None:
    if time in ("sample",):
        return None
    clock = df[time]
    dated = not pd.api.types.is_numeric_dtype(clock)
    if dated:
        parsed = pd.to_datetime(clock, errors="coerce", format="mixed")
        clock = (parsed - parsed.min()).dt.total_seconds()
    steps = clock.groupby(keys.to_numpy()).diff().dropna()
    steps = steps[steps > 0]
    if steps.empty:
        return None
    step = float(steps.median())
    if not dated:
        step *= _clock_unit(time.lower(), float(clock.abs().max()), step)
    rate = 1.0 / step
    return round(rate, 3) if 0.05 <= rate <= 1e5 else None  # outside any sensor's range: a unit not understood


def _clock_unit(name: str, largest: float, step: float) -> float:
    """Seconds per clock tick, from the column's name, else from epoch-like magnitudes, else Arduino millis()."""
    for words, unit in ((("nano", "_ns", "ns"), 1e-9), (("micro", "_us", "us"), 1e-6),
                        (("milli", "ms"), 1e-3), (("sec", "_s"), 1.0)):
        if any(name.endswith(w) if w in ("ns", "us") else w in name for w in words):
            return unit
    for epoch, unit in ((1e17, 1e-9), (1e14, 1e-6), (1e11, 1e-3), (1e8, 1.0)):  # seconds since 1973
        if largest >= epoch:
            return unit
    return 1e-3 if step >= 1 else 1.0  # whole-number steps: a millisecond clock


def _num(value: Any) -> float | None:
    value = float(value)
    return None if np.isnan(value) else round(value, 6)


def features(profile: dict[str, Any]) -> list[str]:
    """Columns that feed the model: numeric (or numeric-as-text), not label, id, group, time or constant."""
    return [c["name"] for c in profile["columns"]
            if c["role"] == "feature" and c["type"] in ("numeric", "string-number")]


def show(profile: dict[str, Any], console) -> None:
    label = "the file name" if profile["label_given"] == "file name" else f"'{profile['label']}'"
    table = Table(title=f"Profile: {profile['rows']} rows, {profile['kind']}, label {label}")
    for head in ("column", "type", "role", "missing", "unique", "min", "max"):
        table.add_column(head, justify="right" if head in ("missing", "unique", "min", "max") else "left")
    for col in profile["columns"]:
        missing = str(col["missing"]) + (f" + {col['unparsable']} not numbers" if col.get("unparsable") and
                                         col["type"] == "string-number" else "")
        table.add_row(col["name"], col["type"], col["role"], missing, str(col["unique"]),
                      _fmt(col.get("min")), _fmt(col.get("max")))
    console.print(table)
    classes = ", ".join(f"{k}: {v}" for k, v in profile["classes"].items())
    console.print(f"classes: {classes}; duplicate rows: {profile['duplicate_rows']}; "
                  f"missing labels: {profile['missing_labels']}")
    if profile["kind"] == "timeseries":
        console.print(f"recordings: {profile['recordings']} (rows each: {profile['rows_per_recording']}); "
                      f"sample rate: {profile['sample_rate_hz'] or 'unknown'} Hz")


def _fmt(value: Any) -> str:
    return "" if value is None else f"{value:.4g}"
