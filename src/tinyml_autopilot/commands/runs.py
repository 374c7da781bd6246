"""The `runs` command: list past runs, or show one."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
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
        console.print(f"no runs under {folder}")
        return
    table = Table("run", "stage", "status", "attempts", "llm calls", "cost $", "wall s")
    for r in rows:
        table.add_row(r["run"], str(r.get("stage")), str(r.get("status")), str(r.get("attempts", "")),
                      str(r.get("llm_calls", "")), str(r.get("cost_usd", "")), str(r.get("wall_s", "")))
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
    console.print(f"[bold]{path}[/]")
    for key, value in metrics.items():
        console.print(f"  {key}: {value}")
    for folder in attempts:
        record = json.loads((folder / "attempt.json").read_text())
        colour = "green" if record["status"] == "ok" else "red"
        what = record.get("category") or ""
        console.print(f"  [{colour}]{folder.relative_to(path)}[/] {record['status']} {what} "
                      f"{(record.get('error') or '').splitlines()[0][:100] if record.get('error') else ''}")
