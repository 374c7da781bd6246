"""The data stage: profile, propose operations, run each one as checked code, hand over processed/."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...errors import UserError
from ...llm import OfflineModel
from ...loop import LoopResult, run_loop
from ...runs import write_output
from ...sandbox.folder import copy_regular
from ..base import StageContext, StageResult
from . import operations, pipeline_script, profile, proposal, summary
from .inputs import Source, inspect_source
from .plan import Arguments, Plan, arguments, check_sizes, check_windowed, make_plan
from .spec import build_spec
from .tasks import OpsTableTask, StepTask


class _Stop(Exception):
    """A task ran out of attempts: the stage ends as failed with this message."""


def run(ctx: StageContext, **given: Any) -> StageResult:
    """Turn the raw input into processed/ (splits, labels, feature spec) plus pipeline.py."""
    try:
        return _run(ctx, arguments(given))
    except _Stop as stop:
        ctx.run.finish("failed")
        return StageResult("data", "failed", ctx.run.dir, message=str(stop))
    except UserError:
        ctx.run.finish("error")
        raise


def _run(ctx: StageContext, args: Arguments) -> StageResult:
    run = ctx.run
    source = inspect_source(args.data, args.label)
    if not (run.dir / "inputs" / source.path.name).exists():
        run.keep_input(source.path)
    test = _test_source(args, source)
    load_context = {"step": 0, "reason": "read the raw input into one table", "columns": [], "description": "",
                    "profile": "{}", "has_group": False, "has_time": False}
    load = _step_task(ctx, "data-00-load", "load", source.path, _load_config(source, test), load_context,
                      readable=[test.path] if test else [])
    loaded = _loop(ctx, load, offline=True)
    prof = profile.build(loaded.workdir / "out" / "data.csv", source, args.kind, args.group, args.segment,
                         args.split_column)
    run.log.info("kind: %s (%s; time column %s, split group %s, recordings %s)", prof["kind"],
                 "detected" if args.kind == "auto" else "--kind", prof["time"], prof["group"], prof["segment"])
    run.write_json("profile.json", prof)
    profile.show(prof, ctx.console)
    table = _operations(ctx, prof, args)
    plan, notes = make_plan(prof, args, table)
    for note in notes:
        run.log.warning(note)
    check_sizes(prof, plan, args)
    run.log.debug("plan: %s", plan)
    counts: dict[str, Any] = {}
    steps, final, features, attempts = _steps(ctx, args, prof, plan, table, loaded, loaded.code or load.template(),
                                              counts)
    return _finish(ctx, args, source, prof, plan, table, steps, final, features, attempts, counts)


def _steps(ctx: StageContext, args: Arguments, prof: dict[str, Any], plan: Plan, table: proposal.OperationsTable,
           loaded: LoopResult, load_code: str, counts: dict[str, Any]) -> tuple[list[tuple[str, str]], Path,
                                                                               list[str], int]:
    """Run every operation on the previous one's output: (name, code) per step, the last output, the features.

    `counts` receives what the window step left out."""
    steps = [("00-load", load_code)]
    current, features = loaded.workdir / "out", profile.features(prof)
    attempts = len(loaded.attempts)
    for op in table.operations:
        phase = operations.phase(op.operation)
        if phase in ("window", "split") and not features:
            kept = [c["name"] for c in prof["columns"] if c["name"] not in (plan.group, plan.time)]
            raise UserError(f"no numeric column is left to feed the model (columns: {', '.join(kept[:12])}): "
                            "the features must be numbers")
        classes = _classes(current, plan.label) if phase == "window" else []
        config, expect = _config(op, plan, features, args, table)
        context = _context(op, prof, args, plan)
        task = _step_task(ctx, f"data-{op.step:02d}-{op.operation}", op.operation, current, config, context, expect)
        result = _loop(ctx, task)
        attempts += len(result.attempts)
        steps.append((f"{op.step:02d}-{op.operation}", result.code or ""))
        if phase == "window":
            counts.update(summary.dropped(current, config, plan))
            for line in summary.drop_lines(counts, plan):
                ctx.run.log.warning(line)
        current = result.workdir / "out"
        if phase == "table":
            features = _numeric_columns(current, plan, prof, ctx.run.log)
        if phase == "window":
            with np.load(current / "windows.npz", allow_pickle=False) as windows:
                check_windowed(windows["labels"].tolist(), windows["groups"].tolist(), classes, plan)
    return steps, current, features, attempts


def _classes(folder: Path, label: str) -> list[str]:
    return sorted(pd.read_csv(folder / "data.csv", usecols=[label], dtype=str)[label].dropna().unique())


def _test_source(args: Arguments, source: Source) -> Source | None:
    """--test-data: a second input of the same shape, with the same label and columns."""
    if args.test_data is None:
        return None
    test = inspect_source(args.test_data, args.label or source.label_given)
    if (test.kind, test.label, test.columns) != (source.kind, source.label, source.columns):
        raise UserError(f"--test-data {test.path} is not like --data {source.path} ({test.kind}, label "
                        f"{test.label!r} vs {source.kind}, {source.label!r}): pass the same kind of input")
    return test


def _load_config(source: Source, test: Source | None = None) -> dict[str, Any]:
    return {"source": source.kind, "label": source.label, "group": None,
            "x_key": source.x_key, "y_key": source.y_key, "sep": source.sep,
            "decimal": source.decimal, "columns": source.columns, "test_path": str(test.path) if test else None}


def _step_task(ctx: StageContext, name: str, operation: str, source: Path, config: dict[str, Any],
               context: dict[str, Any], expect: dict[str, Any] | None = None,
               readable: list[Path] | None = None) -> StepTask:
    s = ctx.settings
    return StepTask(name=name, operation=operation, source=source, config=config, context=context,
                    expect=expect or {}, timeout_s=s.sandbox_timeout, memory_mb=s.sandbox_memory_mb,
                    readable=readable or [])


def _loop(ctx: StageContext, task: Any, offline: bool = False) -> LoopResult:
    model = OfflineModel() if offline else ctx.model
    result = run_loop(task, model, ctx.run, ctx.limits)
    tries = len(result.attempts)
    ctx.run.log.debug("%s: %s after %d attempt%s", task.name, result.status, tries, "s" * (tries != 1))
    if not result.ok:
        last = result.attempts[-1] if result.attempts else None
        lines = [line for line in (last.error or "").splitlines() if line.strip()] if last else []
        why = f"{last.category}: {lines[-1] if lines else ''}" if last else "no attempt"
        raise _Stop(f"{task.name} failed after {tries} attempt(s) (stopped by {result.stopped_by}); last error "
                    f"{why[:300]}; its attempts are kept in the run folder {ctx.run.dir}")
    return result


def _operations(ctx: StageContext, prof: dict[str, Any], args: Arguments) -> proposal.OperationsTable:
    """The proposal (LLM, or the rules offline), the user's choices applied, saved as operations.json."""
    run = ctx.run
    saved = run.dir / "operations.json"
    if saved.is_file():  # --resume: the table was settled in the first run
        return proposal.parse(saved.read_text())
    if args.ops_file is not None:
        table = proposal.apply_user_choices(proposal.OperationsTable(operations=[]), args.drop_steps, args.ops_file)
    else:
        hints = {k: v for k, v in (("window", args.window), ("stride", args.stride),
                                   ("sample_rate_hz", args.rate)) if v}
        task = OpsTableTask(prof, args.description or "", ctx.model.offline, hints)
        result = _loop(ctx, task)
        table = result.outcome or proposal.parse((result.workdir / "operations.json").read_text())
        table = proposal.apply_user_choices(table, args.drop_steps, None)
    proposal.show(table, ctx.console)
    if not ctx.settings.yes and sys.stdin.isatty():
        table = proposal.interactive_edit(table, prof, ctx.model.offline, ctx.console)
    findings = proposal.review(table, prof, ctx.model.offline)
    if findings:
        raise UserError(f"the operations table cannot be run: {findings[0]}")
    run.write_json("operations.json", table)
    return table


def _config(op: proposal.Operation, plan: Plan, features: list[str], args: Arguments,
            table: proposal.OperationsTable) -> tuple[dict[str, Any], dict[str, Any]]:
    base = {"label": plan.label, "group": plan.group, "segment": plan.segment, "time": plan.time, "gap": plan.gap,
            "split_column": plan.split_column}
    stage = operations.phase(op.operation)
    if stage == "window":
        return {**base, "channels": features, "window": plan.window, "stride": plan.stride,
                "group_windows": plan.group_windows, "example": plan.example, "fit": plan.fit,
                "min_length": plan.min_length}, {}
    if stage == "split":
        deduplicated = any(o.operation == "deduplicate" for o in table.operations)
        return ({**base, "features": features, "grouped": plan.kind == "timeseries" or bool(plan.group),
                 "test_size": args.test_size, "val_size": args.val_size, "seed": args.seed},
                {"deduplicated": deduplicated and plan.kind == "tabular"})
    if stage == "scale":
        return {**base, "method": "standard"}, {}
    extra = {"keep_unlabelled": True} if op.operation == "impute" and plan.kind == "timeseries" else {}
    return {**base, "operation": op.operation, "columns": op.columns, "features": features, **extra}, {}


def _context(op: proposal.Operation, prof: dict[str, Any], args: Arguments, plan: Plan) -> dict[str, Any]:
    return {"step": op.step, "reason": op.reason, "columns": op.columns, "description": args.description,
            "profile": json.dumps(prof, indent=1), "has_group": bool(plan.group), "has_time": bool(plan.time)}


def _numeric_columns(folder: Path, plan: Plan, prof: dict[str, Any], log) -> list[str]:
    """The model's inputs after a cleaning step: numeric columns other than label, ids, clock, row counters,
    a given split (whatever a step did, a row index never becomes an input)."""
    df = pd.read_csv(folder / "data.csv", dtype={plan.label: str}, low_memory=False)
    roles = {"id", "index", "group", "segment", "split", "time"}
    never = {plan.label, plan.group, plan.segment, plan.time, plan.split_column} | {
        c["name"] for c in prof["columns"] if c["role"] in roles}
    others = [c for c in df.columns if c not in never and not str(c).lower().startswith("unnamed")]
    numeric = [c for c in others if pd.api.types.is_numeric_dtype(df[c])]
    if len(numeric) < len(others):
        log.debug("not used as inputs (not numeric): %s", sorted(set(others) - set(numeric)))
    return numeric


def _finish(ctx: StageContext, args: Arguments, source: Source, prof: dict[str, Any], plan: Plan,
            table: proposal.OperationsTable, steps: list[tuple[str, str]], final: Path,
            features: list[str], attempts: int, counts: dict[str, Any]) -> StageResult:
    run = ctx.run
    processed = run.path("processed", ".keep").parent
    for name in pipeline_script.OUTPUTS:
        copy_regular(final / name, processed / name)
    labels = json.loads((processed / "labels.json").read_text())
    meta = {"kind": plan.kind, "columns": features, "window": plan.window, "stride": plan.stride,
            "sample_rate_hz": plan.rate, "label_column": plan.label_column,
            "grouping": summary.grouping(prof, plan), "dropped": counts}
    if plan.kind == "timeseries" and plan.example == "recording":
        meta["fixed_length"] = {"length": plan.window, "method": plan.fit, "min_length": plan.min_length}
    spec = build_spec(meta, json.loads((final / "scaling.json").read_text()), labels)
    run.write_json("processed/feature_spec.json", spec)
    run.write_text("pipeline.py", pipeline_script.render(steps, meta))
    sizes = {}
    for split in ("train", "val", "test"):
        with np.load(processed / f"{split}.npz") as archive:
            sizes[split] = int(len(archive["y"]))
    figures = {"kind": plan.kind, "rows_in": prof["rows"], "rows_out": sizes, "classes": len(labels),
               "labels": labels, "input_shape": spec["input_shape"], "window": plan.window,
               "stride": plan.stride, "sample_rate_hz": plan.rate, "steps": len(table.operations),
               "attempts": attempts, "grouping": meta["grouping"], "dropped": counts,
               **summary.splits(processed, labels)}
    note = summary.shared_groups_note(processed, plan)
    if note:
        run.log.warning(note)
    write_output(run, processed_dir=processed, feature_spec=processed / "feature_spec.json", labels=labels,
                 pipeline=run.dir / "pipeline.py", input=source.path)
    run.finish("ok", **figures)
    return StageResult("data", "ok", run.dir, figures=figures,
                       message=f"{sum(sizes.values())} examples, {len(labels)} classes, input {spec['input_shape']}; "
                               f"{profile.grouping_line(prof)}")
