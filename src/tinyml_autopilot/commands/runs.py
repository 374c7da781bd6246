"""The `runs` command: list past runs, or show one."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Column, Table

from ..errors import UserError
from .common import Json, Out, console, settings_from


def command(
    run: Annotated[str | None, typer.Argument(help="a run folder (or its name) to show")] = None,
    out: Out = None,
    json_out: Json = False,
) -> None:
    from ..runs import list_runs

    folder = out or settings_from(None).out  # --out, else the configured out (TINYML_OUT, config file)
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
    # The run's name (time, stage, id) is what `runs <run>` and --resume take: never cut short.
    table = Table(Column("run", no_wrap=True, min_width=max(len(r["run"]) for r in rows)),
                  *(Column(name, no_wrap=True) for name in ("status", "tries", "calls", "cost $", "wall s")))
    for r in rows:
        cells = (r["run"], r.get("status"), r.get("attempts"), r.get("llm_calls"),
                 _number(r.get("cost_usd"), "{:.4f}"), _number(r.get("wall_s"), "{:.1f}"))
        table.add_row(*(escape("" if c is None else str(c)) for c in cells))
    console.print(table)


def _number(value: object, style: str) -> object:
    return style.format(value) if isinstance(value, (int, float)) else value


def _find(run: str, folder: Path) -> Path:
    for candidate in (Path(run), folder / run):
        if (candidate / "run.json").is_file():
            return candidate
    raise UserError(f"no run folder '{run}' (looked in . and {folder}): see `tinyml-autopilot runs`")


def _show(path: Path, json_out: bool) -> None:
    metrics = _record(path / "metrics.json") if (path / "metrics.json").is_file() else {}
    attempts = {str(p.parent.relative_to(path)): _record(p)
                for p in sorted(path.glob("**/attempts/*/*/attempt.json"))}
    if json_out:
        sys.stdout.write(json.dumps({"run_dir": str(path), **metrics, "attempt_records": attempts},
                                    default=str) + "\n")
        return
    console.print(f"[bold]{escape(str(path))}[/]")
    for key, value in metrics.items():
        if key == "started" and isinstance(value, (int, float)):
            value = datetime.fromtimestamp(value).isoformat(sep=" ", timespec="seconds")
        console.print(f"  {key}: {value}", markup=False)
    for folder, record in attempts.items():
        colour = {"ok": "green", "interrupted": "yellow"}.get(record.get("status"), "red")
        what = record.get("category") or ""
        error = (record.get("error") or "").splitlines()[0][:100] if record.get("error") else ""
        console.print(f"  [{colour}]{escape(folder)}[/] " + escape(f"{record.get('status')} {what} {error}"))


def _record(file: Path) -> dict:
    try:
        return json.loads(file.read_text())
    except (OSError, ValueError):
        return {"status": f"unreadable {file.name}"}
