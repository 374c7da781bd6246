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
    group: str | None = None
    segment: str | None = None
    split_column: str | None = None
    test_data: Path | None = None
    example: str = "auto"
    fit: str = "pad"


def arguments(given: dict[str, Any]) -> Arguments:
    """The call's arguments, typed (on --resume the CLI has filled in the saved ones)."""
    merged = {k: v for k, v in given.items() if k in Arguments.__dataclass_fields__ and v is not None}
    for key in ("data", "ops_file", "test_data"):
        if key in merged:
            merged[key] = Path(merged[key])
    merged["drop_steps"] = list(merged.get("drop_steps") or [])
    args = Arguments(**merged)
    _validate(args)
    return args


def _validate(args: Arguments) -> None:
    if args.kind not in ("auto", "tabular", "timeseries"):
        raise UserError(f"--kind {args.kind} is not one of auto, tabular, timeseries")
    if args.example not in ("auto", "window", "recording"):
        raise UserError(f"--example {args.example} is not one of auto, window, recording")
    if args.fit not in ("pad", "resample"):
        raise UserError(f"--fit {args.fit} is not one of pad, resample")
    if args.split_column and args.test_data:
        raise UserError("--split-column and --test-data both give the split: pass one of them")
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
    group: str | None  # the split group: never in two splits
    time: str | None
    segment: str | None = None  # the capture: no window crosses it
    gap: float | None = None  # a clock step larger than this ends a segment
    split_column: str | None = None
    window: int | None = None
    stride: int | None = None
    rate: float | None = None
    group_windows: bool = False
    example: str = "window"  # or "recording": one example per segment, brought to `window` samples
    fit: str = "pad"
    min_length: int = 2


def make_plan(profile: dict[str, Any], args: Arguments, table: OperationsTable) -> tuple[Plan, list[str]]:
    """The plan and the warnings the user should see (options ignored, rates that disagree, leaky splits)."""
    timeseries = profile["kind"] == "timeseries"
    plan = Plan(kind=profile["kind"], label=profile["label"], label_column=profile["label_given"],
                group=profile["group"], segment=profile.get("segment") if timeseries else None,
                time=profile["time"] if timeseries else None, gap=profile.get("gap") if timeseries else None,
                split_column=profile.get("split_column"))
    if not timeseries:
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
    whole = profile.get("recording_length") or lengths
    events = profile.get("whole_events") and whole["max"] >= 1.25 * whole["min"] and whole["median"] <= 1024
    plan.example = args.example if args.example != "auto" else (
        "recording" if events and not (args.window or args.stride) else "window")
    plan.fit = args.fit
    if plan.example == "recording":
        plan.window = args.window or max(2, round(whole.get("p90", whole["max"])))
        plan.stride = plan.window
        plan.min_length = max(2, min(plan.window // 4, int(whole["min"])))
        return plan, notes + _few(profile, plan)
    plan.window = args.window or table.window or _default_window(profile, plan.rate)
    if plan.window > lengths["max"]:
        raise UserError(f"window {plan.window} is longer than every segment (at most {lengths['max']} samples "
                        f"between label changes, {profile.get('missing_labels', 0)} blank labels and "
                        f"{profile.get('clock_gaps', 0)} clock gaps): label the rows or pass a smaller --window")
    plan.stride = args.stride or table.stride or (max(1, plan.window // 2) if whole["min"] >= 2 * plan.window
                                                   else plan.window)
    return plan, notes + _few(profile, plan)


def _few(profile: dict[str, Any], plan: Plan) -> list[str]:
    few = {k: v for k, v in profile["recordings_per_class"].items() if v < 3}
    if not few or plan.split_column:
        return []
    # too few recordings to hold whole ones out: non-overlapping windows become the groups
    name, count = min(few.items(), key=lambda kv: kv[1])
    unit = f"{plan.group!r} value(s)" if plan.group and plan.group != plan.segment else "recording(s)"
    plan.group_windows, plan.stride = True, max(plan.stride, plan.window)
    return [f"class {name!r} has {count} {unit}: windows of one recording go to train and test alike, so the "
            "test accuracy will be optimistic; record at least 3 sessions per class"]


def _default_window(profile: dict[str, Any], rate: float | None) -> int:
    """One second at a known rate; else whole recordings when they are short captures, else 64 samples.

    Capped by the median recording (not segment): blank labels and gaps cut segments, not the window.
    """
    median = int((profile.get("recording_length") or profile["rows_per_recording"])["median"])
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
    if plan.split_column:  # the given split decides; check_windowed and the split's checks see the rest
        return
    if plan.kind == "tabular" and plan.group:
        counts, unit, need = profile["groups_per_class"], f"{plan.group!r} values", 3
    elif plan.kind == "timeseries" and not plan.group_windows:
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
    who = f"{plan.group!r} values" if plan.group and plan.group != plan.segment else "recordings"
    unit = ("windows" if plan.group_windows else f"{who} with a segment of at least "
            f"{plan.min_length if plan.example == 'recording' else plan.window} samples")
    if len(owners) < (1 if plan.split_column else 3):
        raise UserError(f"class {name!r} has {len(owners)} {unit} (segments end at label changes, blank labels "
                        "and clock gaps); a stratified train/val/test split needs at least 3 per class: pass a "
                        "smaller --window or record more data")
