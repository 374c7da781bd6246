"""What the stage tells the user it did: grouping, what was dropped and why, what each split holds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...checks import dataset_segments
from ...checks.dataset import read_table
from .plan import Plan


def dropped(before: Path, config: dict[str, Any], plan: Plan) -> dict[str, Any]:
    """Counted from the table the window step read, by the same rules: nothing leaves silently."""
    table, _, segment, labelled = dataset_segments.segments(read_table(before, config), config)
    spans = dataset_segments.runs(segment, labelled)
    need = plan.min_length if plan.example == "recording" else plan.window
    short = [(b, e) for b, e in spans if e - b < need]
    ids = [c for c in dict.fromkeys((plan.group, plan.segment)) if c]
    names = (table[ids].astype(str).agg("/".join, axis=1) if ids else
             "run " + (table[plan.label].ffill() != table[plan.label].ffill().shift()).cumsum().astype(str))
    kept = {names.iat[b] for b, e in spans if e - b >= need}
    lost = sorted(set(names[labelled]) - kept)
    return {"unlabelled_rows": int((~labelled).sum()), "segments": len(spans), "short_segments": len(short),
            "rows_in_short_segments": int(sum(e - b for b, e in short)), "shorter_than": need,
            "recordings_without_example": len(lost), "recordings_without_example_named": lost[:20]}


def drop_lines(counts: dict[str, Any], plan: Plan) -> list[str]:
    lines = []
    if counts["unlabelled_rows"]:
        lines.append(f"{counts['unlabelled_rows']} rows without a label left out (no window spans them)")
    if counts["short_segments"]:
        lines.append(f"{counts['short_segments']} segments shorter than {counts['shorter_than']} samples left out "
                     f"({counts['rows_in_short_segments']} rows)")
    if counts["recordings_without_example"]:
        named = ", ".join(counts["recordings_without_example_named"][:8])
        lines.append(f"{counts['recordings_without_example']} recordings gave no example at all: {named}"
                     + (" ..." if counts["recordings_without_example"] > 8 else ""))
    return lines


def splits(processed: Path, labels: list[str]) -> dict[str, Any]:
    """Per split: examples, distinct groups, examples per class; and groups found in two splits (none)."""
    parts = {}
    for name in ("train", "val", "test"):
        with np.load(processed / f"{name}.npz", allow_pickle=False) as archive:
            parts[name] = (archive["y"], archive["groups"].astype(str))
    shared = set(parts["train"][1]) & (set(parts["val"][1]) | set(parts["test"][1])) | (
        set(parts["val"][1]) & set(parts["test"][1]))
    return {"groups_out": {n: int(len(set(g))) for n, (_, g) in parts.items()},
            "per_class_out": {n: {labels[i]: int(c) for i, c in enumerate(np.bincount(y, minlength=len(labels)))}
                              for n, (y, _) in parts.items()},
            "groups_in_two_splits": len(shared)}


def grouping(prof: dict[str, Any], plan: Plan) -> dict[str, Any]:
    return {"split_by": plan.group, "recordings": plan.segment, "time": plan.time,
            "time_role": prof.get("time_role"), "clock_unit_s": prof.get("clock_unit_s"), "gap": plan.gap,
            "given_split": plan.split_column, "example": plan.example if plan.kind == "timeseries" else None}


def shared_groups_note(processed: Path, plan: Plan) -> str | None:
    """A given split is kept as given; when it puts one group in two splits the user hears of it."""
    if not plan.split_column or not plan.group:
        return None
    seen = {}
    for name in ("train", "test"):
        with np.load(processed / f"{name}.npz", allow_pickle=False) as archive:
            seen[name] = set(pd.unique(archive["groups"].astype(str)))
    both = sorted(seen["train"] & seen["test"])
    if not both:
        return None
    return (f"the given split puts {len(both)} {plan.group!r} values in train and test (e.g. {both[:3]}): "
            "the test accuracy will be optimistic")
