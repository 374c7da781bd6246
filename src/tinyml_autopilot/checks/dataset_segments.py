"""Where a long table's examples may come from: segments that no window crosses.

A segment is a run of rows, in file order, of one recording (group and segment ids together) with one label
and one given split, whose clock goes forward by less than the gap. Rows without a label belong to no
segment. These functions only use numpy and pandas: the built-in window step embeds their source, so the
code that cuts the windows and the check that recounts them read the table the same way.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SPLIT_VALUES = {"train": "train", "training": "train", "val": "val", "valid": "val", "validation": "val",
                "dev": "val", "test": "test", "testing": "test", "eval": "test"}


def clock_seconds(values):
    """A clock as numbers: numeric as it is, date/time text as seconds since its first value."""
    if pd.api.types.is_numeric_dtype(values):
        return values.astype("float64")
    parsed = pd.to_datetime(values.astype("string"), errors="coerce", format="mixed")
    return (parsed - parsed.min()).dt.total_seconds()


def segments(table, config):
    """(table, owner, segment, labelled): per row its split group, its segment number and whether it has a label.

    config: label, group and segment (id columns or None), time (clock or row counter or None), gap (a step
    larger than this is a gap), split_column (None or a column of train/val/test).
    """
    label = config["label"]
    table = table.reset_index(drop=True)
    ids = list(dict.fromkeys(c for c in (config.get("group"), config.get("segment")) if c))
    labels = table[label]
    if ids:
        recording = table[ids].astype(str).agg("/".join, axis=1)
    else:  # no id column: a run of one label (blank labels do not end it) is a recording
        filled = labels.ffill()
        recording = (filled != filled.shift()).cumsum().astype(str)
    new = (recording != recording.shift()) | (labels != labels.shift())  # NaN != NaN: a blank row stands alone
    if config.get("split_column"):
        split = table[config["split_column"]].astype(str)
        new |= split != split.shift()
    if config.get("time"):
        step = clock_seconds(table[config["time"]]).diff()
        new |= step.isna() | (step <= 0)  # a clock that restarts starts a new capture
        if config.get("gap"):
            new |= step > config["gap"]
    owner = table[config["group"]].astype(str) if config.get("group") else recording
    return table, owner.to_numpy().astype(str), new.cumsum().to_numpy(), labels.notna().to_numpy()


def runs(segment, labelled):
    """(begin, end) of every labelled segment, in order."""
    bounds = np.flatnonzero(np.diff(segment)) + 1
    return [(b, e) for b, e in zip(np.r_[0, bounds], np.r_[bounds, len(segment)], strict=True) if labelled[b]]


def fixed_length(values, length, method):
    """One recording as `length` samples: "pad" keeps the first `length` samples and repeats the last one
    to fill a shorter recording (as a device capturing `length` samples from the start does); "resample"
    stretches or squeezes the whole recording linearly."""
    n = len(values)
    if method == "resample":
        where = np.linspace(0, n - 1, length)
        return np.stack([np.interp(where, np.arange(n), values[:, c]) for c in range(values.shape[1])], axis=1)
    if n >= length:
        return values[:length]
    return np.concatenate([values, np.repeat(values[-1:], length - n, axis=0)])
