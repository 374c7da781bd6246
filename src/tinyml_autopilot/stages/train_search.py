"""The model search the train stage runs: its space, its bounds and what its trials recorded.

The space and bounds go into train_config.json (the built-in search template reads them) and
into the LLM's prompt; every trial the script writes to trials.json lands in train_report.json.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import UserError
from .train_budget import GRAPH_OVERHEAD, Budget
from .train_sandbox import read_json

SPACE: dict[str, Any] = {
    "families": {"series": ["cnn", "mlp"], "tabular": ["mlp"]},
    "cnn": {"blocks": [1, 2, 3], "filters": [4, 8, 12, 16, 24, 32, 48, 64], "growth": [1, 2], "kernel": [3, 5, 7, 9],
            "stride": [1, 2, 4], "pool": ["max", "avg", "none"], "separable": [False, True], "head": ["gap", "flatten"],
            "dense": [0, 16, 32], "batch_norm": [True, False]},
    "mlp": {"layers": [0, 1, 2, 3], "units": [8, 16, 32, 64, 128], "dropout": [0.0, 0.1, 0.3]},
    "training": {"learning_rate": [0.001, 0.03], "batch_size": [16, 32, 64], "class_weight": ["none", "balanced"],
                 "augment": ["none", "jitter_scale_shift", "slice_warp"]},
}
TRIALS = 30  # trained candidates at most (pruned ones do not count)
VAL_PER_TRIAL = 3  # by default one trial per 3 validation samples: more candidates than that only fit the val split
SEARCH_TIME_S = 180.0
SEARCH_EPOCHS = 60  # per trial; the winner is retrained with the stage's epoch bound
PATIENCE = 20  # epochs without a better val accuracy (ties: val loss): a small val split is noisy, batch norm more so
STALL = 10  # trained trials without a better val accuracy end the search
PERFECT = 3  # trials with a perfect val accuracy end it too (the lowest val loss of them wins)
DEMO_SEARCH = {"trials": 3, "search_time": 20.0}  # `demo` stays within a minute
SHOWN = 5  # best trials shown in prompts, findings and the report
# tried first: the models the stage trained before it searched (a strided 1-D CNN with a dense head, a 64-32
# MLP), and for series a fully convolutional network (3 conv-batch-norm-ReLU blocks, 16-32-64 filters, global
# average pooling), the kind that learns shape sets (leaf outlines, arrowheads) on a few hundred samples, then
# the same network on windows doubled by window slicing and time warping (a small set's usual remedy)
FCN = {"family": "cnn", "filters": 16, "kernel": 7, "growth": 2, "separable": False, "pool": "max", "stride": 1,
       "blocks": 3, "head": "gap", "dense": 0, "batch_norm": True, "learning_rate": 0.003, "batch_size": 32,
       "class_weight": "none", "augment": "none"}
FIRST_TRIALS = {
    "series": [{"family": "cnn", "filters": 16, "kernel": 5, "growth": 1, "separable": False, "pool": "max",
                "stride": 2, "blocks": 1, "head": "flatten", "dense": 32, "batch_norm": False, "learning_rate": 0.01,
                "batch_size": 32, "class_weight": "none", "augment": "none"},
               FCN, {**FCN, "augment": "slice_warp"}],
    "tabular": [{"family": "mlp", "units": 64, "dropout": 0.0, "layers": 2, "learning_rate": 0.01, "batch_size": 32,
                 "class_weight": "none"}],
}


def search_settings(trials: int | None, search_time: float | None, epochs: int, n_val: int | None = None
                    ) -> dict[str, Any]:
    """The search's bounds; without --trials, 3 to 30 trials as the validation split can tell them apart."""
    if trials is not None and trials < 1:
        raise UserError(f"--trials {trials}: give at least 1 (the number of candidate models trained)")
    if search_time is not None and not search_time > 0:
        raise UserError(f"--search-time {search_time}: give a positive number of seconds")
    default = TRIALS if n_val is None else min(TRIALS, max(3, n_val // VAL_PER_TRIAL))
    return {"trials": trials or default, "time_s": float(search_time or SEARCH_TIME_S),
            "epochs": min(epochs, SEARCH_EPOCHS), "patience": PATIENCE,
            "stall": STALL, "perfect": PERFECT, "refit": True}


def config_fields(budget: Budget, search: dict[str, Any], input_shape: list[int]) -> dict[str, Any]:
    """What the search script needs beyond the data: bounds, the space and the latency model."""
    series = len(input_shape) == 2 and input_shape[0] >= 8
    search = {**search, "first_trials": FIRST_TRIALS["series" if series else "tabular"]}
    return {"max_macs": budget.max_macs, "latency_ms": budget.latency_ms, "clock_hz": budget.clock_hz,
            "cycles_per_mac": budget.cycles_per_mac, "graph_overhead": GRAPH_OVERHEAD, "space": SPACE,
            "search": search}


def read_trials(workdir: Path) -> list[dict[str, Any]]:
    """The trials the script recorded (trials.json), keeping only well-formed rows."""
    try:
        rows = json.loads((workdir / "trials.json").read_text())
    except (OSError, ValueError):
        return []
    return [r for r in rows if isinstance(r, dict) and isinstance(r.get("number"), int)] if isinstance(rows, list) \
        else []


def best_trials(trials: list[dict[str, Any]], n: int = SHOWN) -> list[dict[str, Any]]:
    done = [t for t in trials if t.get("state") == "complete" and isinstance(t.get("val_accuracy"), int | float)]
    def loss(t: dict[str, Any]) -> float:
        return t["val_loss"] if isinstance(t.get("val_loss"), int | float) else float("inf")

    # as the search script ranks them: val accuracy (float noise aside), then val loss, then fewer parameters
    return sorted(done, key=lambda t: (-round(t["val_accuracy"], 6), loss(t), t.get("params") or 0))[:n]


def trial_line(t: dict[str, Any]) -> str:
    settings = t.get("settings") if isinstance(t.get("settings"), dict) else {}
    shown = ", ".join(f"{k}={v}" for k, v in settings.items())
    return (f"trial {t['number']}: val {t['val_accuracy']:.3f}, {t.get('params')} "
            f"params, {t.get('activation_bytes')} activation bytes, {t.get('macs')} MACs "
            f"({t.get('latency_ms', 0):.1f} ms) [{shown}]")


def search_report(workdir: Path) -> dict[str, Any]:
    """The search's record for train_report.json: every trial, the chosen one, its time."""
    trials = read_trials(workdir)
    metrics = read_json(workdir / "metrics.json") or {}
    pruned = [t for t in trials if t.get("state") == "pruned"]
    return {"trials": trials, "chosen_trial": metrics.get("chosen_trial"), "seconds": metrics.get("search_seconds"),
            "trained": sum(t.get("state") == "complete" for t in trials), "pruned": len(pruned),
            "pruned_by_budget": sum(str(t.get("pruned_by", "")).startswith("budget") for t in pruned)}
