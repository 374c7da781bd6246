"""Deterministic checks of each data step's output against its input (the table steps). They raise CheckFailed.

The array steps (window, split, scale) are checked in `dataset_arrays`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..loop import CheckFailed, Finding

KEEP_ROWS = {"drop_columns", "coerce_numeric", "normalise_labels"}


def read_table(folder: Path, config: dict[str, Any]) -> pd.DataFrame:
    names = (config["label"], config.get("group"), config.get("segment"), config.get("split_column"))
    text = {c: str for c in names if c}
    return pd.read_csv(folder / "data.csv", dtype=text, low_memory=False)


def fail(findings: list[Finding]) -> None:
    if findings:
        raise CheckFailed(findings)


def load(what: str, reader: Callable[[], Any]) -> Any:
    try:
        return reader()
    except FileNotFoundError as err:
        raise CheckFailed([Finding("output", f"{what} was not written: {Path(err.filename or '').name}")]) from err
    except Exception as err:  # any unreadable output is a finding, whatever the parser raised
        raise CheckFailed([Finding("output", f"{what} cannot be read: {type(err).__name__}: {err}")]) from err


def check_load(raw: Path, out: Path, config: dict[str, Any]) -> None:
    df = load("data.csv", lambda: read_table(out, config))
    found = []
    if config["label"] not in df.columns:
        found.append(Finding("columns", f"the label column {config['label']!r} is missing from data.csv"))
    if df.empty:
        found.append(Finding("rows", "data.csv has no rows"))
    fail(found)


def check_table(before: Path, out: Path, config: dict[str, Any]) -> None:
    """A cleaning step: columns kept, rows plausible, labels intact, no NaN where promised."""
    op = config["operation"]
    old = read_table(before, config)
    new = load("data.csv", lambda: read_table(out, config))
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
        nan = {c: int(n) for c, n in _gaps(new[feats]).sum().items() if n}
        if nan:
            found.append(Finding("missing", f"missing (NaN or infinite) values left after imputation: {nan}"))
    if op == "coerce_numeric":
        text = [c for c in config["columns"] if c in new.columns and not pd.api.types.is_numeric_dtype(new[c])]
        if text:
            found.append(Finding("types", f"columns still not numeric: {text}"))
    if not found:
        found += _values_kept(op, old, new, config)
    fail(found)


def _gaps(frame: pd.DataFrame) -> pd.DataFrame:
    """NaN or infinite cells."""
    return frame.isna() | frame.isin([np.inf, -np.inf])


def _same(a: pd.Series, b: pd.Series) -> bool:
    a, b = a.reset_index(drop=True), b.reset_index(drop=True)
    if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
        return bool(np.allclose(a.to_numpy(float), b.to_numpy(float), rtol=1e-6, atol=1e-9, equal_nan=True))
    return bool(a.astype(str).where(a.notna(), "").equals(b.astype(str).where(b.notna(), "")))


def _values_kept(op: str, old: pd.DataFrame, new: pd.DataFrame, config: dict[str, Any]) -> list[Finding]:
    """A built-in cleaning operation changes only what it is for; the other values stay as they were."""
    label = config["label"]
    if op == "deduplicate":
        rows = set(old.astype(str).itertuples(index=False))
        alien = sum(r not in rows for r in new[list(old.columns)].astype(str).itertuples(index=False))
        return [Finding("values", f"{alien} rows after deduplication are not rows of the input: only remove "
                                  "exact duplicates")] if alien else []
    if op not in KEEP_ROWS | {"impute"}:
        return []  # an operation of the LLM's own may change values
    if op == "impute" and not config.get("keep_unlabelled"):
        old = old[old[label].notna()]
    acted = set(config["columns"]) if op == "coerce_numeric" else {label} if op == "normalise_labels" else set()
    changed = []
    for column in [c for c in new.columns if c in old.columns and c not in acted]:
        before, after = old[column].reset_index(drop=True), new[column].reset_index(drop=True)
        if op == "impute":  # only the gaps may be filled
            kept = ~_gaps(before.to_frame())[column]
            before, after = before[kept], after[kept]
        if not _same(before, after):
            changed.append(column)
    for column in [c for c in acted - {label} if c in new.columns]:
        parsed = pd.to_numeric(old[column].astype("string").str.strip(), errors="coerce").reset_index(drop=True)
        if not _same(parsed[parsed.notna()], new[column].reset_index(drop=True)[parsed.notna()]):
            changed.append(column)
    if changed:
        return [Finding("values", f"{op} changed values it must keep in columns {changed[:8]}: "
                                  + ("fill only the missing cells" if op == "impute" else
                                     "keep every number as it was" if op == "coerce_numeric" else
                                     "leave the other columns as they are"))]
    return []


def _rows(op: str, old: pd.DataFrame, new: pd.DataFrame, config: dict[str, Any]) -> list[Finding]:
    n_old, n_new = len(old), len(new)
    if op == "deduplicate":
        unique = len(old.drop_duplicates())
        if not unique <= n_new <= n_old:
            return [Finding("rows", f"{n_new} rows after deduplication; expected between {unique} "
                                    f"(unique rows) and {n_old}")]
    elif op == "impute":
        keep = config.get("keep_unlabelled")
        expected = n_old if keep else int(old[config["label"]].notna().sum())
        if n_new != expected:
            return [Finding("rows", f"{n_new} rows after imputation; expected {expected} " + (
                "(keep every row, also those without a label: windows are cut where they are)" if keep else
                "(only rows without a label may be dropped)"))]
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
