"""Bench results written out: CSV, JSON, a markdown table and PNG plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from .aggregate import STAGES


def write_results(bench_dir: Path, runs: pd.DataFrame, summary: pd.DataFrame, plots: bool = True) -> dict[str, Path]:
    """Write every result file under `bench_dir/results/` (the plots too unless `plots` is False)."""
    out = Path(bench_dir) / "results"
    (out / "plots").mkdir(parents=True, exist_ok=True)
    files = {"runs_csv": out / "runs.csv", "summary_csv": out / "summary.csv",
             "summary_json": out / "summary.json", "markdown": out / "summary.md"}
    _flat(runs).to_csv(files["runs_csv"], index=False)
    _flat(summary).to_csv(files["summary_csv"], index=False)
    files["summary_json"].write_text(json.dumps({"summary": _records(summary), "runs": _records(runs)},
                                                indent=2, default=str) + "\n")
    files["markdown"].write_text(markdown_table(summary))
    if plots:
        files |= plot_all(summary, runs, out / "plots")
    return files


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: (None if _missing(v) else v) for k, v in row.items()} for row in frame.to_dict("records")]


def _missing(value: Any) -> bool:
    return not isinstance(value, (dict, list, str)) and pd.isna(value)


def _flat(frame: pd.DataFrame) -> pd.DataFrame:
    """Dicts and lists as compact text, so a CSV cell stays one readable value."""
    flat = frame.copy()
    for column in flat.columns:
        flat[column] = flat[column].map(_cell)
    return flat


def _cell(value: Any) -> Any:
    if isinstance(value, dict):
        return "; ".join(f"{k}:{v}" for k, v in value.items())
    if isinstance(value, list):
        return "; ".join(map(str, value))
    return value


def _money(value: Any) -> str:
    return "n/a" if _missing(value) else f"${value:.4f}"


def markdown_table(summary: pd.DataFrame) -> str:
    """The human-readable table: one line per stage and model."""
    header = ("| stage | model | success | attempts to success | failed attempts | run failures "
              "| mean time (s) | tokens in/out | cost per run | cost per success |")
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for row in summary.to_dict("records"):
        lines.append(
            f"| {row['stage']} | {row['model']} | {row['successes']}/{row['runs']} ({row['success_rate']:.0%}) "
            f"| {_cell(row['attempts_to_success']) or '-'} | {_cell(row['failed_attempts']) or '-'} "
            f"| {_cell(row['run_failures']) or '-'} | {_num(row['mean_wall_s'])} "
            f"| {row['tokens_in']}/{row['tokens_out']} | {_money(row['cost_per_run_usd'])} "
            f"| {_money(row['cost_per_success_usd'])} |")
    return "\n".join(lines) + "\n"


def _num(value: Any) -> str:
    return "n/a" if _missing(value) else f"{value:.1f}"


def plot_all(summary: pd.DataFrame, runs: pd.DataFrame, folder: Path) -> dict[str, Path]:
    import matplotlib

    matplotlib.use("Agg")
    files = {"success_png": folder / "success_rate.png", "attempts_png": folder / "attempts_to_success.png",
             "failures_png": folder / "failure_categories.png", "cost_png": folder / "latency_cost.png"}
    _plot_success(summary, files["success_png"])
    _plot_attempts(summary, files["attempts_png"])
    _plot_failures(summary, files["failures_png"])
    _plot_latency(runs, files["cost_png"])
    return files


def _labels(summary: pd.DataFrame) -> list[str]:
    return [f"{s}\n{m}" for s, m in zip(summary["stage"], summary["model"], strict=True)]


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    import matplotlib.pyplot as plt

    plt.close(fig)


def _figure(n_bars: int, title: str):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(5.0, 1.3 * n_bars + 2), 3.6))
    ax.set_title(title)
    return fig, ax


def _plot_success(summary: pd.DataFrame, path: Path) -> None:
    fig, ax = _figure(len(summary), "Success rate per stage and model")
    bars = ax.bar(_labels(summary), summary["success_rate"] * 100, color="#4c9f70")
    for bar, row in zip(bars, summary.to_dict("records"), strict=True):
        ax.annotate(f"{row['successes']}/{row['runs']}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize=8)
    ax.set_ylim(0, 110)
    ax.set_ylabel("% of runs")
    _save(fig, path)


def _stacked(ax, summary: pd.DataFrame, column: str, palette: str) -> None:
    import matplotlib.pyplot as plt

    keys = sorted({str(k) for d in summary[column] for k in d}, key=_key_order)
    colours = plt.get_cmap(palette)
    bottom = [0.0] * len(summary)
    for i, key in enumerate(keys):
        values = [float(dict((str(k), v) for k, v in d.items()).get(key, 0)) for d in summary[column]]
        ax.bar(_labels(summary), values, bottom=bottom, label=key, color=colours(i % 10))
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    if keys:
        ax.legend(fontsize=7, loc="upper right")


def _key_order(key: str) -> tuple[int, str]:
    return (int(key), "") if key.isdigit() else (10**6, key)


def _plot_attempts(summary: pd.DataFrame, path: Path) -> None:
    fig, ax = _figure(len(summary), "Attempts to success (successful runs)")
    _stacked(ax, summary, "attempts_to_success", "viridis")
    ax.set_ylabel("runs")
    _save(fig, path)


def _plot_failures(summary: pd.DataFrame, path: Path) -> None:
    fig, ax = _figure(len(summary), "Failed attempts by category")
    _stacked(ax, summary, "failed_attempts", "tab10")
    ax.set_ylabel("attempts")
    _save(fig, path)


def _plot_latency(runs: pd.DataFrame, path: Path) -> None:
    order = [s for s in (*STAGES, "all") if s in set(runs["stage"])]
    groups = [(f"{s}\n{m}", g["wall_s"].dropna().astype(float).tolist())
              for s in order for m, g in runs[runs["stage"] == s].groupby("model")]
    fig, ax = _figure(len(groups), "Wall time per run")
    shown = [(name, values) for name, values in groups if values]
    if shown:
        ax.boxplot([values for _, values in shown])
        ax.set_xticks(range(1, len(shown) + 1), [name for name, _ in shown])
    ax.set_ylabel("seconds")
    _save(fig, path)
