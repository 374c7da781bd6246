"""A deterministic profile of the loaded table: what the proposal, the prompts and the checks rely on."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.table import Table

from ...checks.dataset_segments import segments
from . import columns as columns_of
from .inputs import Source

ID_NAME = re.compile(r"(^|[_\s])(id|uuid|index|idx|row|key)$|^unnamed", re.IGNORECASE)
TIME_NAME = re.compile(r"^(t|time|timestamp|ts|millis|ms|micros|us|seconds|secs?|sample|datetime|date)$|time",
                       re.IGNORECASE)
LOADER_COLUMNS = ("sample", "recording")  # what the loader adds to a folder's or an .npz's rows


KINDS = ("auto", "tabular", "timeseries")


def build(table: Path, source: Source, kind: str = "auto", group: str | None = None, segment: str | None = None,
          split_column: str | None = None) -> dict[str, Any]:
    """Columns, types, roles, missing, duplicates, classes, recordings, clock and sample rate.

    `kind` "auto" decides tabular or time series from the columns; the others force it. `group` and
    `segment` name the id columns (--group, --segment); else they are found by name.
    """
    df = pd.read_csv(table, dtype={source.label: str}, low_memory=False)
    label = source.label
    columns = [_column(df, name) for name in df.columns if name != label]
    loaded = source.kind in ("folder", "npz") and "recording" in df
    if loaded:
        group, segment = group or "recording", segment or "recording"
    else:
        group, segment = columns_of.find_ids(df, columns, group, segment)
    split = columns_of.find_split_column(df, split_column)
    ids = list(dict.fromkeys(c for c in (group, segment) if c))
    keys = columns_of.recording_keys(df, label, ids)
    time, time_role = ("sample", "index") if loaded and "sample" in df else columns_of.find_time(df, columns, keys)
    roles = {group: "group", segment: "segment", time: "time" if time_role == "clock" else "index", split: "split"}
    for col in columns:
        col["role"] = roles.get(col["name"]) or ("index" if columns_of.is_index_name(col["name"])
                                                 and col["role"] in ("id", "feature") else col["role"])
    auto = _kind(df, source, columns, label, segment, time, keys)
    kind = auto if kind == "auto" else kind
    if kind == "tabular":
        group, segment, time = _tabular_roles(columns, group, segment, time, source)
    raw = df[label]
    normalised = raw.dropna().str.strip().str.lower().str.replace(r"[\s_-]+", " ", regex=True)
    signal = [c["name"] for c in columns if c["role"] not in ("index", "segment", "split", "time", "id")]
    profile: dict[str, Any] = {
        "source": source.kind,
        "path": str(source.path),
        "rows": int(len(df)),
        "label": label,
        "label_given": source.label_given,
        "columns": columns,
        "duplicate_rows": int(df[[*signal, label]].duplicated().sum()),
        "missing_labels": int(raw.isna().sum()),
        "classes": {str(k): int(v) for k, v in raw.value_counts(dropna=True).sort_index().items()},
        "classes_normalised": {str(k): int(v) for k, v in normalised.value_counts().sort_index().items()},
        "group": group,
        "segment": segment,
        "time": time,
        "time_role": time_role if time else None,
        "split_column": split,
        "kind": kind,
    }
    if kind == "tabular" and group:
        profile["groups_per_class"] = {str(k): int(v) for k, v in df.groupby(label)[group].nunique().items()}
    profile.update(_recordings(df, profile, keys))
    return profile


def _kind(df: pd.DataFrame, source: Source, columns: list[dict[str, Any]], label: str, segment: str | None,
          time: str | None, keys: pd.Series) -> str:
    """A time series has captures (a recording id, or a clock over long runs of one label) of a signal."""
    if source.kind == "folder":  # blank lines between captures make a time series; one block may be readings
        channels = [c["name"] for c in columns if c["role"] == "feature" and c["type"] == "numeric"]
        one_block = df["recording"].nunique() == df[label].nunique()
        return "tabular" if one_block and columns_of.independent_rows(df, keys, channels) else "timeseries"
    if source.kind == "npz":
        return "timeseries" if segment else "tabular"
    has_capture = segment is not None and columns_of.id_level(segment) == "low"
    return "timeseries" if has_capture or (time and _label_runs(df[label]) < len(df) / 5) else "tabular"


def _tabular_roles(columns: list[dict[str, Any]], group: str | None, segment: str | None, time: str | None,
                   source: Source) -> tuple[str | None, None, None]:
    """One row per example: the subject still groups the split; recordings, counters and loader columns
    carry nothing; a clock of a forced-tabular table is a feature."""
    high = group if group and columns_of.id_level(group) == "high" and source.kind == "csv" else None
    for col in columns:
        if col["name"] in (segment, group) and col["name"] != high:
            col["role"] = "id"
        elif col["name"] == time:
            loader = source.kind != "csv" and time in LOADER_COLUMNS
            col["role"] = "index" if loader or col["role"] == "index" else "feature"
    return high, None, None


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
    """A clock-like name, or ISO dates / clock times as content, that parse as date-times."""
    if values.empty:
        return False
    head = values.iloc[:200].astype(str).str.strip()
    iso = head.str.match(r"^(\d{4}-\d{2}-\d{2}([T ]\d{1,2}:\d{2})?|\d{1,2}:\d{2}:\d{2})").mean() > 0.9
    if not (TIME_NAME.search(str(name)) or columns_of.is_clock_name(name) or iso):
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


def _label_runs(labels: pd.Series) -> int:
    return int((labels != labels.shift()).sum())


def _recordings(df: pd.DataFrame, prof: dict[str, Any], keys: pd.Series) -> dict[str, Any]:
    """Recordings, their lengths, the segments windows come from, and what is cut away (blanks, gaps)."""
    facts: dict[str, Any] = {"sample_rate_hz": None}
    if prof["kind"] != "timeseries":
        return facts | {"recordings": None, "rows_per_recording": None}
    label, time = prof["label"], prof["time"]
    if time:
        facts.update(columns_of.clock_facts(df, keys, time, prof["time_role"]))
    config = {k: prof[k] for k in ("label", "group", "segment", "time", "split_column")} | {"gap": facts.get("gap")}
    _, owner, segment, labelled = segments(df, config)
    sizes = pd.Series(segment[labelled]).value_counts()  # the labelled runs windows are cut from
    lengths = pd.Series(labelled).groupby(keys.to_numpy()).sum()
    lengths = lengths[lengths > 0]
    labels_per = df[labelled].groupby(keys[labelled].to_numpy())[label].nunique()
    per_class = pd.Series(owner[labelled]).groupby(df[label][labelled].to_numpy()).nunique()
    return facts | {
        "recordings": int(keys.nunique()),
        "split_groups": int(pd.Series(owner).nunique()),
        "recordings_per_class": {str(k): int(v) for k, v in per_class.sort_index().items()},
        "rows_per_recording": {"min": int(sizes.min()), "median": float(sizes.median()), "max": int(sizes.max())},
        "recording_length": {"min": int(lengths.min()), "median": float(lengths.median()),
                             "p90": float(lengths.quantile(0.9)), "max": int(lengths.max())},
        "segments": int(len(sizes)),
        "whole_events": bool((labels_per <= 1).all()),
    }


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
    console.print(grouping_line(profile), highlight=False, markup=False)
    if profile["kind"] == "timeseries":
        console.print(f"recordings: {profile['recordings']} (rows each: {profile['recording_length']}); "
                      f"segments: {profile['segments']} ({profile['rows_per_recording']}); "
                      f"sample rate: {profile['sample_rate_hz'] or 'unknown'} Hz", highlight=False, markup=False)


def grouping_line(profile: dict[str, Any]) -> str:
    """What keeps the splits apart and what the windows may not cross, in words."""
    group, segment, time = profile["group"], profile.get("segment"), profile["time"]
    parts = [f"split by {group!r}" if group else "split by row" if profile["kind"] == "tabular"
             else "split by runs of one label (no id column)"]
    if segment and segment != group:
        parts.append(f"recordings {segment!r} within it")
    if profile.get("split_column"):
        parts.append(f"given split {profile['split_column']!r}")
    if time:
        unit = profile.get("clock_unit_s")
        what = {1e-9: "ns", 1e-6: "us", 1e-3: "ms", 1.0: "s"}.get(unit, "row counter") if profile.get(
            "time_role") == "clock" else "row counter"
        parts.append(f"ordered by {time!r} ({what}; {profile.get('clock_gaps', 0)} gaps, "
                     f"{profile.get('clock_restarts', 0)} restarts)")
    return "; ".join(parts)


def _fmt(value: Any) -> str:
    return "" if value is None else f"{value:.4g}"
