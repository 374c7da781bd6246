"""The run report's plots as PNG bytes (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import io
from typing import Any

COLOURS = {"ok": "#4c9f70", "failed": "#d1495b"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=90)
    _pyplot().close(fig)
    return buffer.getvalue()


def memory_png(figures: dict[str, Any], board_name: str) -> bytes | None:
    """Flash and RAM used against the board's budget; None when nothing was measured."""
    bars = [(name, used, limit) for name, used, limit in (
        ("flash", figures.get("flash_bytes"), figures.get("flash_max")),
        ("RAM", figures.get("ram_bytes"), figures.get("ram_max")),
        ("model", figures.get("model_bytes"), figures.get("flash_max")),
        ("arena", figures.get("arena_bytes"), figures.get("ram_max")),
    ) if used is not None and limit]
    if not bars:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 0.7 * len(bars) + 1.4))
    for row, (_, used, limit) in enumerate(bars):
        share = 100 * used / limit
        ax.barh(row, 100, color="#e8e8e8")
        ax.barh(row, min(share, 100), color=COLOURS["ok"] if share <= 100 else COLOURS["failed"])
        ax.text(min(share, 100) + 1, row, f"{used:,} / {limit:,} B ({share:.0f}%)", va="center", fontsize=8)
    ax.set_yticks(range(len(bars)), [b[0] for b in bars])
    ax.invert_yaxis()
    ax.set_xlim(0, 135)
    ax.axvline(100, color="black", linewidth=0.8)
    ax.set_xlabel(f"% of {board_name} budget")
    ax.set_title("Memory against the board")
    return _png(fig)


def timeline_png(rows: list[dict[str, Any]]) -> bytes | None:
    """One bar per attempt on a time axis, green when it passed, red (with its category) when not."""
    timed = sorted((r for r in rows if r.get("start") is not None), key=lambda r: r["start"])
    if not timed:
        return None
    origin = timed[0]["start"]
    span = max(r["start"] - origin + (r.get("duration_s") or 0) for r in timed) or 1.0
    lanes = list(dict.fromkeys(f"{r['stage']}/{r['task']}" for r in timed))
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(lanes) + 1.4))
    for r in timed:
        lane = lanes.index(f"{r['stage']}/{r['task']}")
        start, width = r["start"] - origin, max(r.get("duration_s") or 0, 0.05)
        ax.barh(lane, width, left=start, color=COLOURS.get(r.get("status"), "#999"), edgecolor="white")
        label = f"#{r.get('number')}" + ("" if r.get("status") == "ok" else f" {r.get('category') or ''}")
        if width > 0.06 * span:  # wide enough to hold its label
            ax.text(start + width / 2, lane, label, ha="center", va="center", fontsize=7, color="white")
        else:
            ax.text(start + width + 0.005 * span, lane, label, ha="left", va="center", fontsize=7)
    ax.set_yticks(range(len(lanes)), lanes)
    ax.invert_yaxis()
    ax.set_xlabel("seconds since the first attempt")
    ax.set_title("Attempts")
    return _png(fig)


def confusion_png(matrix: list[list[int]], labels: list[str]) -> bytes | None:
    if not matrix:
        return None
    from sklearn.metrics import ConfusionMatrixDisplay

    plt = _pyplot()
    import numpy as np

    fig, ax = plt.subplots(figsize=(4 + 0.3 * len(labels), 4 + 0.3 * len(labels)))
    ConfusionMatrixDisplay(np.asarray(matrix), display_labels=labels or None).plot(ax=ax, colorbar=False)
    ax.set_title("test split")
    return _png(fig)


def stage_time_png(stages: list[dict[str, Any]]) -> bytes | None:
    timed = [(s["stage"], s["wall_s"]) for s in stages if s.get("wall_s")]
    if not timed:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 0.5 * len(timed) + 1.2))
    ax.barh([n for n, _ in timed], [t for _, t in timed], color="#5b7db1")
    for row, (_, seconds) in enumerate(timed):
        ax.text(seconds, row, f" {seconds:.1f} s", va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("seconds")
    ax.set_title("Time per stage")
    return _png(fig)


def search_png(trials: list[dict[str, Any]], chosen: int | None, budget: dict[str, Any]) -> bytes | None:
    """Val accuracy against flash, RAM and latency for every trained trial; the chosen one starred."""
    done = [t for t in trials if isinstance(t.get("val_accuracy"), int | float) and t.get("state") == "complete"]
    if not done:
        return None
    plt = _pyplot()
    axes_spec = (("flash_bytes", "model flash (B)", budget.get("flash_bytes")),
                 ("activation_bytes", "peak activations / RAM (B)", budget.get("max_activation_bytes")),
                 ("latency_ms", "latency estimate (ms)", budget.get("latency_ms")))
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6), sharey=True)
    for ax, (key, label, limit) in zip(axes, axes_spec, strict=True):
        xs = [t.get(key) or 0 for t in done]
        ax.scatter(xs, [t["val_accuracy"] for t in done], s=18, color="#5b7db1", alpha=0.75, label="trial")
        for t in done:
            if t.get("number") == chosen:
                ax.scatter([t.get(key) or 0], [t["val_accuracy"]], marker="*", s=180, color="#d1495b",
                           zorder=3, label=f"chosen (#{chosen})")
        if limit:
            ax.axvline(limit, color="black", linewidth=0.8, linestyle="--", label="budget")
        ax.set_xlabel(label)
    axes[0].set_ylabel("val accuracy")
    axes[0].legend(fontsize=7, loc="lower right")
    pruned = len(trials) - len(done)
    fig.suptitle(f"Model search: {len(done)} trained, {pruned} pruned (over budget or behind)", fontsize=10)
    return _png(fig)
