"""Decisions taken from the profile before any step runs: window, stride, rate, and what the user is warned of."""

from __future__ import annotations

from tinyml_autopilot.stages.data.plan import Arguments, make_plan
from tinyml_autopilot.stages.data.proposal import OperationsTable


def profile(kind: str = "timeseries", rows: int = 119, per_class: int = 4, rate: float | None = None) -> dict:
    return {"kind": kind, "label": "label", "label_given": "file name", "group": "recording", "time": "sample",
            "rows_per_recording": {"min": rows, "median": float(rows), "max": rows}, "sample_rate_hz": rate,
            "recordings_per_class": {"punch": per_class, "flex": per_class}}


def plan_for(prof: dict, table: OperationsTable | None = None, **given):
    return make_plan(prof, Arguments(**given), table or OperationsTable(operations=[]))


def test_short_captures_are_one_window_each_and_long_ones_are_cut():
    plan, notes = plan_for(profile(rows=119))
    assert (plan.window, plan.stride) == (119, 119) and any("sample rate unknown" in n for n in notes)
    plan, _ = plan_for(profile(rows=2000))
    assert (plan.window, plan.stride) == (64, 32)
    plan, notes = plan_for(profile(rows=2000, rate=100.0))
    assert (plan.window, plan.rate) == (100, 100.0) and notes == []


def test_a_window_of_one_sample_has_a_stride():
    plan, _ = plan_for(profile(), window=1)
    assert (plan.window, plan.stride) == (1, 1)


def test_the_timestamps_beat_a_proposed_rate_and_a_contrary_rate_is_warned_of():
    proposed = OperationsTable(operations=[], sample_rate_hz=200.0)
    plan, _ = plan_for(profile(rate=50.0), proposed)
    assert plan.rate == 50.0
    plan, notes = plan_for(profile(rate=50.0), rate=100.0)
    assert plan.rate == 100.0 and "the timestamps say 50 Hz" in notes[0]


def test_window_options_on_tabular_data_are_warned_of():
    plan, notes = plan_for(profile(kind="tabular"), window=10, rate=50.0)
    assert plan.window is None and notes == ["--window, --rate ignored: the data is tabular (one row per example); "
                                             "pass --kind timeseries to cut it into windows"]


def test_too_few_recordings_to_hold_out_is_warned_of():
    plan, notes = plan_for(profile(rows=600, per_class=1, rate=50.0))
    assert plan.group_windows and plan.stride == plan.window == 50
    assert any("test accuracy will be optimistic" in n for n in notes)
