"""What the columns of a long table are: ids at two levels, the clock (with its unit), row indexes, a given split.

Names are read as words ("t_ms" is t + ms, "subjectId" is subject + id); contents confirm them: a clock
increases within a recording, an id repeats over many rows.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from ...checks.dataset_segments import SPLIT_VALUES, clock_seconds
from ...errors import UserError

# the split group: whoever produced the data (never in two splits)
HIGH_IDS = {"subject", "subj", "user", "participant", "person", "patient", "volunteer", "speaker", "individual",
            "worker", "driver", "wearer", "animal"}
# one continuous capture: windows never cross its boundary
LOW_IDS = {"recording", "record", "rec", "session", "trial", "take", "utterance", "utt", "sequence", "seq", "file",
           "capture", "episode", "clip", "series", "run", "experiment", "exp", "instance", "segment"}
# row counters: never channels; they may order the rows but give no rate
INDEX_WORDS = {"frame", "sample", "row", "index", "idx", "step", "tick", "n", "i", "sampleno", "frameno"}
CLOCK_WORDS = {"t", "ts", "time", "timestamp", "timestamps", "millis", "micros", "ms", "us", "ns", "s", "sec",
               "secs", "seconds", "elapsed", "clock", "datetime", "date", "epoch", "tstamp"}
UNITS = ((("ns", "nanos", "nanoseconds"), 1e-9), (("us", "micros", "microseconds"), 1e-6),
         (("ms", "millis", "milliseconds", "msec"), 1e-3), (("s", "sec", "secs", "seconds"), 1.0))
GIVEN_SPLIT = "given_split"  # the column the loader adds for --test-data


def words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(name))
    return [w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if w]


def id_level(name: str) -> str | None:
    tokens = words(name)
    if any(t in HIGH_IDS for t in tokens):
        return "high"
    if any(t in LOW_IDS for t in tokens) and not any(t in CLOCK_WORDS - {"s"} for t in tokens):
        return "low"
    return None


def is_index_name(name: str) -> bool:
    tokens = [t for t in words(name) if t not in ("no", "num", "number", "nr", "count")]
    return bool(tokens) and all(t in INDEX_WORDS for t in tokens)


def is_clock_name(name: str) -> bool:
    return any(t in CLOCK_WORDS for t in words(name))


def clock_unit(name: str, largest: float, step: float) -> float:
    """Seconds per tick: from the name's unit word, else from epoch-like magnitudes, else whole steps = ms."""
    tokens = words(name)
    for names, unit in UNITS:
        if any(t in names for t in tokens):
            return unit
    for epoch, unit in ((1e17, 1e-9), (1e14, 1e-6), (1e11, 1e-3), (1e8, 1.0)):  # seconds since 1973
        if largest >= epoch:
            return unit
    return 1e-3 if step >= 1 else 1.0


def find_ids(df: pd.DataFrame, columns: list[dict[str, Any]], group: str | None,
             segment: str | None) -> tuple[str | None, str | None]:
    """(split group, segment): the highest-level id and the lowest; one id is both. Given ones win."""
    names = [c["name"] for c in columns]
    for option, value in (("--group", group), ("--segment", segment)):
        if value is not None and value not in names:
            raise UserError(f"{option} {value!r} is not a column (columns: {', '.join(names[:12])})")
    candidates = [c for c in columns if 2 <= c["unique"] <= len(df) / 3 and c["role"] != "constant"]
    high = [c for c in candidates if id_level(c["name"]) == "high"]
    low = [c for c in candidates if id_level(c["name"]) == "low"]
    if group is None and high:
        group = min(high, key=lambda c: c["unique"])["name"]
    if segment is None and low:
        segment = max(low, key=lambda c: c["unique"])["name"]
    return group or segment, segment or group


def recording_keys(df: pd.DataFrame, label: str, ids: list[str]) -> pd.Series:
    if ids:
        return df[ids].astype(str).agg("/".join, axis=1)
    filled = df[label].ffill()
    return (filled != filled.shift()).cumsum().astype(str)


def find_time(df: pd.DataFrame, columns: list[dict[str, Any]], keys: pd.Series) -> tuple[str | None, str | None]:
    """(column, "clock" | "index"): a clock named so or found by content, else a row counter; None when none."""
    usable = [c for c in columns if c["type"] in ("numeric", "datetime") and c["role"] not in ("constant",)]
    named = [c for c in usable if is_clock_name(c["name"]) and not is_index_name(c["name"])]
    for col in named:
        if _increases(df[col["name"]], keys):
            return col["name"], "clock"
    for col in usable:  # by content: date-times, or numbers in near-regular steps, increasing in each recording
        if is_index_name(col["name"]) or col["role"] not in ("feature", "id", "text"):
            continue
        regular = col["type"] == "datetime" or _regular(df[col["name"]], keys)
        if regular and _increases(df[col["name"]], keys, 0.98):
            return col["name"], "clock"
    for col in usable:
        if is_index_name(col["name"]) and _increases(df[col["name"]], keys):
            return col["name"], "index"
    return None, None


def _steps(values: pd.Series, keys: pd.Series) -> pd.Series:
    return clock_seconds(values).groupby(keys.to_numpy()).diff().dropna()


def _increases(values: pd.Series, keys: pd.Series, share: float = 0.9) -> bool:
    steps = _steps(values, keys)
    return bool(len(steps) and (steps > 0).mean() >= share)


def _regular(values: pd.Series, keys: pd.Series) -> bool:
    steps = _steps(values, keys)
    steps = steps[steps > 0]
    if len(steps) < 10:
        return False
    median = float(steps.median())
    return bool(((steps - median).abs() <= 0.25 * median).mean() >= 0.9)


def clock_facts(df: pd.DataFrame, keys: pd.Series, time: str, role: str) -> dict[str, Any]:
    """Step, gap threshold (in the column's own units), unit, rate, and counts of gaps and restarts."""
    clock = clock_seconds(df[time])
    steps = clock.groupby(keys.to_numpy()).diff().dropna()
    positive = steps[steps > 0]
    if positive.empty:
        return {"clock_unit_s": None, "gap": None, "sample_rate_hz": None, "clock_gaps": 0, "clock_restarts": 0}
    step = float(positive.median())
    gap = 1.5 * step
    facts = {"gap": gap, "clock_gaps": int((steps > gap).sum()), "clock_restarts": int((steps <= 0).sum())}
    if role == "index":
        return {**facts, "clock_unit_s": None, "sample_rate_hz": None}
    dated = not pd.api.types.is_numeric_dtype(df[time])
    unit = 1.0 if dated else clock_unit(time, float(np.nanmax(np.abs(clock.to_numpy()))), step)
    rate = 1.0 / (step * unit)
    rate = round(rate, 3) if 0.05 <= rate <= 1e5 else None  # outside any sensor's range: a unit not understood
    return {**facts, "clock_unit_s": unit, "sample_rate_hz": rate}


def find_split_column(df: pd.DataFrame, given: str | None) -> str | None:
    """--split-column (or the loader's column for --test-data): values train / val / test, checked here."""
    name = given or (GIVEN_SPLIT if GIVEN_SPLIT in df else None)
    if name is None:
        return None
    if name not in df:
        raise UserError(f"--split-column {name!r} is not a column (columns: {', '.join(map(str, df.columns[:12]))})")
    values = df[name].astype("string").str.strip().str.lower()
    unknown = sorted(set(values.dropna()) - set(SPLIT_VALUES))
    if unknown or values.isna().any():
        shown = unknown[:5] or ["(blank)"]
        raise UserError(f"--split-column {name!r} holds {', '.join(shown)}: every row needs train, val or test")
    if "test" not in {SPLIT_VALUES[v] for v in values.unique()}:
        raise UserError(f"--split-column {name!r} has no test rows: mark the held-out rows 'test'")
    return name


def independent_rows(df: pd.DataFrame, keys: pd.Series, channels: list[str]) -> bool:
    """Rows of a recording are independent readings, not a signal: in every channel successive rows differ as
    much as random pairs do (von Neumann ratio near 1; a sampled signal is far below it)."""
    ratios = []
    for name in channels:
        values = pd.to_numeric(df[name], errors="coerce")
        diff = values.groupby(keys.to_numpy()).diff().dropna()
        spread = values.groupby(keys.to_numpy()).transform(lambda s: s - s.mean()).dropna()
        if len(diff) > 5 and float((spread ** 2).mean()) > 0:
            ratios.append(float((diff ** 2).mean()) / (2 * float((spread ** 2).mean())))
    return bool(ratios) and min(ratios) > 0.6
