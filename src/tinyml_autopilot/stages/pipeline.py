"""The chained run: data -> train -> convert -> sketch, each stage's run folder feeding the next.

Each stage runs in its own sub-folder of the run (`Run.child`). A stage whose sub-folder holds a
finished output.json and an "ok" status is skipped on --resume; an unfinished one is run again
on its reopened folder, where the repair loop picks up its saved attempts.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.markup import escape

from ..errors import StageNotBuilt
from ..report import build_report, run_summary
from ..runs import Run
from .base import StageContext, StageResult

STAGES = ("data", "train", "convert", "sketch")
RUNNERS = {"data": "tinyml_autopilot.stages.data", "train": "tinyml_autopilot.stages.train",
           "convert": "tinyml_autopilot.stages.convert", "sketch": "tinyml_autopilot.stages.sketch"}
DATA_ARGUMENTS = ("data", "description", "label", "window", "stride", "rate", "kind", "group", "segment",
                  "split_column", "test_data", "example", "fit", "test_size", "val_size", "seed", "drop_steps",
                  "ops_file")
TRAIN_ARGUMENTS = ("epochs", "flash_kb", "ram_kb", "trials", "search_time", "latency_ms")
CONVERT_ARGUMENTS = ("quant", "rep_data", "tolerance", "emit")
ARGUMENTS = (*DATA_ARGUMENTS, *TRAIN_ARGUMENTS, *CONVERT_ARGUMENTS)
PATHS = ("data", "test_data", "ops_file", "rep_data")


def runner(stage: str) -> Callable[..., StageResult]:
    try:
        module = importlib.import_module(RUNNERS[stage])
    except ImportError as err:
        raise StageNotBuilt(stage) from err
    if not hasattr(module, "run"):
        raise StageNotBuilt(stage)
    return module.run


def finished(stage_dir: Path) -> bool:
    """A stage is done when it handed over its output and recorded success."""
    metrics = _read(stage_dir / "metrics.json")
    return (stage_dir / "output.json").is_file() and metrics.get("status") == "ok"


def _read(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def saved_arguments(run_dir: Path) -> dict[str, Any]:
    """The arguments a run was started with (from its inputs.json), for --resume."""
    return _read(run_dir / "inputs.json").get("arguments", {}) or {}


def stage_inputs(stage: str, args: dict[str, Any], previous: Path | None, board: Any) -> dict[str, Any]:
    """What each stage receives: the raw data first, then the previous stage's run folder."""
    args = {k: Path(v) if k in PATHS and v else v for k, v in args.items()}
    if stage == "data":
        return {k: args.get(k) for k in DATA_ARGUMENTS}
    inputs: dict[str, Any] = {"data": previous, "description": args.get("description")}
    if stage == "train":
        inputs |= {k: args.get(k) for k in TRAIN_ARGUMENTS}
    if stage == "convert":
        inputs |= {k: args.get(k) for k in CONVERT_ARGUMENTS}
        if board is not None and board.runtime == "portable-c":
            inputs["emit"] = "c"
    return inputs


def accepted(fn: Callable[..., Any], inputs: dict[str, Any]) -> dict[str, Any]:
    """Only the inputs a stage's `run` takes (and that are set)."""
    params = inspect.signature(fn).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return {k: v for k, v in inputs.items() if v is not None}
    return {k: v for k, v in inputs.items() if k in params and v is not None}


def run(ctx: StageContext, **given: Any) -> StageResult:
    """Run (or resume) every stage in order; write summary.json, metrics.json and report.html.

    `given`: the data, train and convert stages' options (ARGUMENTS); on --resume the ones not given
    again come from the run's inputs.json.
    """
    parent = ctx.run
    args = {k: v for k, v in (saved_arguments(parent.dir) | {k: v for k, v in given.items() if v is not None}).items()
            if k in ARGUMENTS and v is not None}
    board = _board(ctx.settings.board)
    previous: Path | None = None
    seconds: dict[str, float] = {}
    failed: StageResult | None = None
    for number, stage in enumerate(STAGES, 1):
        child = parent.child(stage)
        if finished(child.dir):
            ctx.console.print(f"[dim][{number}/{len(STAGES)}] {stage}: finished earlier, kept[/]")
            previous = child.dir
            continue
        try:
            result, seconds[stage] = _run_stage(ctx, stage, number, child,
                                                stage_inputs(stage, args, previous, board))
        except BaseException as err:  # a bad input, a bug or Ctrl-C: keep the summary, then let it through
            with contextlib.suppress(Exception):
                if child.metrics.get("status") == "running":
                    child.finish("error")
                _finish(ctx, board, seconds, StageResult(stage, "failed", child.dir, message=_why(err)))
            raise
        if not result.ok:
            failed = result
            break
        previous = child.dir
    return _finish(ctx, board, seconds, failed)


def _board(board_id: str | None):
    if not board_id:
        return None
    from ..boards import get_board

    return get_board(board_id)


def _run_stage(ctx: StageContext, stage: str, number: int, child: Run,
               inputs: dict[str, Any]) -> tuple[StageResult, float]:
    fn = runner(stage)
    inputs = accepted(fn, inputs)
    child.write_json("inputs.json", {"arguments": inputs, "chained_in": str(ctx.run.dir)})
    ctx.console.rule(f"[bold][{number}/{len(STAGES)}] {stage}")
    sub = StageContext(settings=ctx.settings, model=ctx.model, run=child, console=ctx.console)
    start = time.monotonic()
    result = fn(sub, **inputs)
    elapsed = round(time.monotonic() - start, 3)
    colour = "green" if result.ok else "red"
    ctx.console.print(f"[{colour}]{stage}: {escape(result.status)}[/] in {elapsed:.1f} s {escape(result.message)}",
                      highlight=False)
    return result, elapsed


def _finish(ctx: StageContext, board: Any, seconds: dict[str, float], failed: StageResult | None) -> StageResult:
    parent = ctx.run
    summary = run_summary(parent.dir, board, ctx.model.name)
    summary["stage_seconds_this_call"] = seconds
    if failed is not None:
        summary["status"] = "failed"
        summary["failed_stage"] = {"stage": failed.stage, "message": failed.message}
    parent.write_json("summary.json", summary)
    report = build_report(parent.dir, summary)
    figures = flat_figures(summary) | {"report": str(report)}
    parent.finish(summary["status"], **figures)
    parent.metrics.update(summary["totals"])  # the stages' LLM use lives in their own traces
    parent.save_metrics()
    message = f"{failed.stage} failed: {failed.message}" if failed else f"report: {report}"
    return StageResult("run", "ok" if summary["status"] == "ok" else "failed", parent.dir, figures, message)


def flat_figures(summary: dict[str, Any]) -> dict[str, Any]:
    """The one-level figures `--json` prints: stage statuses, key figures, LLM totals, time per stage."""
    stages = summary.get("stages", [])
    return {"stages": {s["stage"]: s["status"] for s in stages},
            **summary.get("figures", {}),
            **{k: v for k, v in summary.get("totals", {}).items()},
            "stage_seconds": {s["stage"]: s.get("wall_s") for s in stages}}


def _why(err: BaseException) -> str:
    return "interrupted" if isinstance(err, KeyboardInterrupt) else (f"{type(err).__name__}: {err}"[:300])
