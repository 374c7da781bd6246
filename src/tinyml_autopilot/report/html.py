"""Render report.html for a run folder: figures, per-stage table, plots as embedded PNG images."""

from __future__ import annotations

import base64
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from . import plots
from .facts import artifact, attempts, read_json, run_summary, stage_dirs


@cache
def _env() -> Environment:
    env = Environment(loader=PackageLoader("tinyml_autopilot", "report"), autoescape=select_autoescape(["j2"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = _num
    return env


def _num(value: Any, digits: int = 0) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float) and digits:
        return f"{value:.{digits}f}"
    if isinstance(value, (int, float)):
        return f"{value:,.0f}" if digits == 0 else str(value)
    return str(value)


def data_uri(png: bytes | None) -> str | None:
    return f"data:image/png;base64,{base64.b64encode(png).decode()}" if png else None


def _file_png(path: Path | None) -> bytes | None:
    return path.read_bytes() if path and path.is_file() else None


def build_report(run_dir: Path, summary: dict[str, Any] | None = None) -> Path:
    """Write `run_dir/report.html` and return its path."""
    run_dir = Path(run_dir)
    summary = summary or read_json(run_dir / "summary.json") or run_summary(run_dir)
    dirs = stage_dirs(run_dir)
    rows = [a | {"stage": stage} for stage, folder in dirs.items() for a in attempts(folder)]
    html = _env().get_template("report.html.j2").render(
        s=summary, f=summary.get("figures", {}), t=summary.get("totals", {}), attempts=rows,
        images=_images(summary, dirs, rows), generated=datetime.now().strftime("%Y-%m-%d %H:%M"),
        links=_links(run_dir, dirs), search=_search(dirs.get("train")))
    target = run_dir / "report.html"
    target.write_text(html)
    return target


def _images(summary: dict[str, Any], dirs: dict[str, Path], rows: list[dict[str, Any]]) -> list[dict[str, str]]:
    train = dirs.get("train")
    board = (summary.get("board") or {}).get("name") or "board"
    report = read_json(artifact(train, "train_report.json") or Path("/nonexistent"))
    confusion = _file_png(artifact(train, "confusion_matrix.png")) or (
        plots.confusion_png(report.get("confusion") or [], report.get("labels") or []))
    search = report.get("search") or {}
    tradeoff = plots.search_png(search.get("trials") or [], search.get("chosen_trial"), report.get("budget") or {})
    shown = [("Model search: val accuracy against flash, RAM and latency", tradeoff),
             ("Training curves", _file_png(artifact(train, "training_curves.png"))),
             ("Confusion matrix (test split)", confusion),
             ("Memory against the board", plots.memory_png(summary.get("figures", {}), board)),
             ("Attempt timeline", plots.timeline_png(rows)),
             ("Time per stage", plots.stage_time_png(summary.get("stages", [])))]
    return [{"title": title, "src": data_uri(png)} for title, png in shown if png]


def _search(train: Path | None, shown: int = 5) -> dict[str, Any] | None:
    """The search's counts and its best trials (for the table), or None without a search."""
    report = read_json(artifact(train, "train_report.json") or Path("/nonexistent"))
    search = report.get("search") or {}
    trials = [t for t in search.get("trials") or [] if isinstance(t, dict)]
    if not trials:
        return None
    done = [t for t in trials if t.get("state") == "complete" and isinstance(t.get("val_accuracy"), int | float)]
    best = sorted(done, key=lambda t: (-t["val_accuracy"], t.get("params") or 0))[:shown]
    rows = [{**t, "chosen": t.get("number") == search.get("chosen_trial"),
             "architecture": ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                                       for k, v in (t.get("settings") or {}).items())} for t in best]
    return {"rows": rows, "trained": len(done), "pruned": len(trials) - len(done),
            "pruned_by_budget": search.get("pruned_by_budget"), "seconds": search.get("seconds")}


def _links(run_dir: Path, dirs: dict[str, Path]) -> list[dict[str, str]]:
    """Relative links to the main artifacts, so the report opens them from the folder."""
    wanted = [("train", "model.keras"), ("convert", "model.tflite"), ("convert", "model_card.json"),
              ("convert", "model_data.h")]
    found = [(name, artifact(dirs.get(stage), name)) for stage, name in wanted]
    sketch = dirs.get("sketch")
    if sketch is not None:
        found += [(p.name, p) for p in sorted(sketch.glob("artifacts/**/*.ino"))[:1]]
    return [{"name": name, "href": str(path.relative_to(run_dir))} for name, path in found
            if path is not None and path.is_relative_to(run_dir)]
