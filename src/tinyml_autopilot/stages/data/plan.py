"""The stage's arguments and the decisions taken from the profile before any step runs."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import UserError
from .proposal import OperationsTable

DEFAULTS = {"test_size": 0.2, "val_size": 0.1, "seed": 0}


@dataclass
class Arguments:
    data: Path | None = None
    label: str | None = None
    description: str | None = None
    window: int | None = None
    stride: int | None = None
    rate: float | None = None
    test_size: float = 0.2
    val_size: float = 0.1
    seed: int = 0
    drop_steps: list[int] = field(default_factory=list)
    ops_file: Path | None = None
    kind: str = "auto"


def arguments(given: dict[str, Any]) -> Arguments:
    """The call's arguments, typed (on --resume the CLI has filled in the saved ones)."""
    merged = {k: v for k, v in given.items() if k in Arguments.__dataclass_fields__ and v is not None}
    for key in ("data", "ops_file"):
        if key in merged:
            merged[key] = Path(merged[key])
    merged["drop_steps"] = list(merged.get("drop_steps") or [])
    args = Arguments(**merged)
    _validate(args)
    return args


def _validate(args: Arguments) -> None:
    if args.kind not in ("auto", "tabular", "timeseries"):
        raise UserError(f"--kind {args.kind} is not one of auto, tabular, timeseries")
    for name, value in (("--test-size", args.test_size), ("--val-size", args.val_size)):
        if not 0 < value < 0.5:
            raise UserError(f"{name} {value} must be between 0 and 0.5 (a share of the examples)")
    for name, value in (("--window", args.window), ("--stride", args.stride), ("--rate", args.rate)):
        if value is not None and value <= 0:
            raise UserError(f"{name} {value} must be positive")


@dataclass
class Plan:
    kind: str
    label: str
    label_column: str  # as the user named it, for the feature spec
    group: str | None
    time: str | None
    window: int | None = None
    stride: int | None = None
    rate: float | None = None
    group_windows: bool = False


def make_plan(profile: dict[str, Any], args: Arguments, table: OperationsTable) -> tuple[Plan, list[str]]:
    """The plan and the warnings the user should see (options ignored, rates that disagree, leaky splits)."""
    plan = Plan(kind=profile["kind"], label=profile["label"], label_column=profile["label_given"],
                group=profile["group"] if profile["kind"] == "timeseries" else None,
                time=profile["time"] if profile["kind"] == "timeseries" else None)
    if plan.kind != "timeseries":
        given = [f"--{k}" for k in ("window", "stride", "rate") if getattr(args, k)]
        return plan, ([f"{', '.join(given)} ignored: the data is tabular (one row per example); pass "
                       "--kind timeseries to cut it into windows"] if given else [])
    notes = []
    lengths, measured = profile["rows_per_recording"], profile["sample_rate_hz"]
    plan.rate = args.rate or measured or table.sample_rate_hz  # the timestamps beat a proposed guess
    if args.rate and measured and abs(args.rate - measured) > 0.1 * measured:
        notes.append(f"--rate {args.rate:g} Hz but the timestamps say {measured:g} Hz: the device must sample "
                     "at the rate the data was recorded at")
    if plan.rate is None:
        notes.append("sample rate unknown (no timestamps, or in a unit not understood): pass --rate HZ so the "
                     "device samples as recorded")
    plan.window = args.window or table.window or _default_window(profile, plan.rate)
    if plan.window > lengths["max"]:
        raise UserError(f"window {plan.window} is longer than every recording (at most {lengths['max']} "
                        "samples): pass a smaller --window")
    plan.stride = args.stride or table.stride or (max(1, plan.window // 2) if lengths["min"] >= 2 * plan.window
                                                   else plan.window)
    few = {k: v for k, v in profile["recordings_per_class"].items() if v < 3}
    if few:  # too few recordings to hold whole ones out: non-overlapping windows become the groups
        name, count = min(few.items(), key=lambda kv: kv[1])
        notes.append(f"class {name!r} has {count} recording(s): windows of one recording go to train and test "
                     "alike, so the test accuracy will be optimistic; record at least 3 sessions per class")
        plan.group_windows, plan.stride = True, max(plan.stride, plan.window)
    return plan, notes


def _default_window(profile: dict[str, Any], rate: float | None) -> int:
    """One second at a known rate; else whole recordings when they are short captures, else 64 samples."""
    median = int(profile["rows_per_recording"]["median"])
    if rate:
        return max(2, min(median, round(rate)))
    captures = min(profile["recordings_per_class"].values()) >= 3 and median <= 256
    return max(2, median if captures else min(median, 64))


def check_sizes(profile: dict[str, Any], plan: Plan, args: Arguments) -> None:
    """One class only, or fewer examples than a stratified train/val/test split needs: one clear line."""
    classes = profile["classes_normalised"] or profile["classes"]
    if len(classes) < 2:
        only = next(iter(classes), "none")
        raise UserError(f"the label column {profile['label_given']!r} has one class only ({only!r}): "
                        "a classifier needs at least two")
    smallest = min(args.test_size, args.val_size)
    if plan.kind == "timeseries" and not plan.group_windows:
        counts, unit = profile["recordings_per_class"], "recordings"
        need = 3
    elif plan.kind == "timeseries":
        counts = {k: v // plan.window for k, v in classes.items()}
        unit, need = f"window(s) of {plan.window} samples", 3
    else:
        counts, unit = classes, "examples"
        need = max(3, math.ceil(1 / smallest))
    name, count = min(counts.items(), key=lambda kv: kv[1])
    if count < need:
        raise UserError(f"class {name!r} has {count} {unit}; a stratified train/val/test split "
                        f"(--test-size {args.test_size}, --val-size {args.val_size}) needs at least {need} "
                        "per class: add data" + (", pass a smaller --window" if "windows" in unit else "")
                        + " or merge classes")


def check_windowed(labels: list[str], groups: list[str], classes: list[str], plan: Plan) -> None:
    """After windowing: every class still has enough recordings (or windows) long enough to hold out."""
    held = {c: set() for c in classes}
    for label, group in zip(labels, groups, strict=True):
        held.setdefault(label, set()).add(group)
    name, owners = min(held.items(), key=lambda kv: len(kv[1]))
    unit = "windows" if plan.group_windows else f"recordings of at least {plan.window} samples"
    if len(owners) < 3:
        raise UserError(f"class {name!r} has {len(owners)} {unit}; a stratified train/val/test split needs at "
                        "least 3 per class: pass a smaller --window or record more data")
