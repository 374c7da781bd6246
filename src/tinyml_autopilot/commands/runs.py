"""The `runs` command: list past runs, or show one."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from ..errors import UserError
from .common import Json, Out, console


def command(
    run: Annotated[str | None, typer.Argument(help="a run folder (or its name) to show")] = None,
    out: Out = None,
    json_out: Json = False,
) -> None:
    from ..runs import list_runs

    folder = out or Path("runs")
    if run is None:
        rows = list_runs(folder)
        if json_out:
            sys.stdout.write(json.dumps(rows, default=str) + "\n")
            return
        _table(rows, folder)
        return
    _show(_find(run, folder), json_out)


def _table(rows: list[dict], folder: Path) -> None:
    if not rows:
        console.print(f"no runs under {folder}", markup=False)
        return
    table = Table("run", "stage", "status", "attempts", "llm calls", "cost $", "wall s")
    for r in rows:
        cells = (r["run"], r.get("stage"), r.get("status"), r.get("attempts", ""), r.get("llm_calls", ""),
                 r.get("cost_usd", ""), r.get("wall_s", ""))
        table.add_row(*(escape(str(c)) for c in cells))
    console.print(table)


def _find(run: str, folder: Path) -> Path:
    for candidate in (Path(run), folder / run):
        if (candidate / "run.json").is_file():
            return candidate
    raise UserError(f"no run folder '{run}' (looked in . and {folder}): see `tinyml-autopilot runs`")


def _show(path: Path, json_out: bool) -> None:
    metrics_file = path / "metrics.json"
    metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
    attempts = sorted(p.parent for p in path.glob("**/attempts/*/*/attempt.json"))
    if json_out:
        sys.stdout.write(json.dumps({"run_dir": str(path), **metrics}, default=str) + "\n")
        return
    console.print(f"[bold]{escape(str(path))}[/]")
    for key, value in metrics.items():
        console.print(f"  {key}: {value}", markup=False)
    for folder in attempts:
        record = json.loads((folder / "attempt.json").read_text())
        colour = "green" if record["status"] == "ok" else "red"
        what = record.get("category") or ""
        error = (record.get("error") or "").splitlines()[0][:100] if record.get("error") else ""
        console.print(f"  [{colour}]{escape(str(folder.relative_to(path)))}[/] "
                      + escape(f"{record['status']} {what} {error}"))
