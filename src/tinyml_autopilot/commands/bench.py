"""The `bench` command: a stage (or the whole chain) N times per model, in parallel, resumable."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from .common import (
    ApiBase,
    Board,
    Config,
    Data,
    Debug,
    Description,
    Json,
    Label,
    MaxAttempts,
    Out,
    console,
    settings_from,
    setup_logging,
)

Stage = Annotated[str | None, typer.Option("--stage", help="data | train | convert | sketch | all")]
Runs = Annotated[int | None, typer.Option("--runs", help="runs per model \\[default: 30]")]
Models = Annotated[list[str] | None, typer.Option(
    "--llm", help="PROVIDER/MODEL to bench; repeat to compare models \\[default: offline]")]
Jobs = Annotated[int | None, typer.Option("--jobs", "-j", help="runs at the same time \\[default: 1]")]
Timeout = Annotated[float | None, typer.Option("--timeout", help="seconds before a run counts as crashed "
                                                                  "\\[default: 3600]")]
StageArgs = Annotated[str | None, typer.Option("--stage-args", help="more options for every benched run, "
                                                                 "e.g. '--epochs 5'")]
BenchResume = Annotated[Path | None, typer.Option("--resume", help="continue this bench folder "
                                                                  "(finished runs are kept)")]


def command(
    stage: Stage = None,
    runs: Runs = None,
    llm: Models = None,
    jobs: Jobs = None,
    data: Data = None,
    board: Board = None,
    description: Description = None,
    label: Label = None,
    stage_args: StageArgs = None,
    api_base: ApiBase = None,
    max_attempts: MaxAttempts = None,
    timeout: Timeout = None,
    out: Out = None,
    config_file: Config = None,
    resume: BenchResume = None,
    json_out: Json = False,
    debug: Debug = False,
) -> None:
    """Repeat a stage N times per LLM; report success rate, attempts, failures, latency, tokens and cost."""
    from ..bench import BenchConfig, load_config, new_bench_dir
    from ..errors import UserError

    setup_logging(debug)
    extra = _split(stage_args) if stage_args else None
    given = {"runs": runs, "jobs": jobs, "data": str(data) if data else None, "board": board,
             "description": description, "api_base": api_base, "max_attempts": max_attempts, "timeout_s": timeout,
             "config": str(config_file.resolve()) if config_file else None}
    if llm:
        given["models"] = list(llm)
    if label:
        given["label"] = label
    given = {k: v for k, v in given.items() if v is not None}
    if resume:
        config = load_config(resume)
        if stage and stage != config.stage:
            raise UserError(f"{resume} benches the {config.stage} stage, not {stage}: drop --stage or start anew")
        config = BenchConfig(**{**config.__dict__, **given})
        bench_dir = resume.resolve()
    else:
        if not stage:
            raise UserError("which stage to bench? pass --stage data|train|convert|sketch|all")
        bundled = "data" not in given
        if bundled:  # the bundled demo dataset, so a bench runs with no data of one's own
            given.update(data="(bundled demo data)", label="file name", board=given.get("board", "uno"))
        config = BenchConfig(stage=stage, models=given.pop("models", ["offline"]), **given)
        config.validate(data=not bundled)  # before the bench folder is made
        bench_dir = new_bench_dir(out or settings_from(config_file).out, stage)
        if bundled:
            from ..data import DEMO_OPTIONS, demo_dataset

            config.data = str(demo_dataset(bench_dir / "demo-data"))
            config.description = config.description or DEMO_OPTIONS["description"]
    if extra is not None:
        config.extra = {"run" if config.stage == "all" else config.stage: extra}
    config.validate()
    console.print(f"bench {config.stage}: {config.runs} run(s) x {len(config.models)} model(s), "
                  f"{config.jobs} at a time -> {bench_dir}", markup=False, highlight=False)
    result = _run_with_progress(config, bench_dir)
    _show(result, json_out)


def _split(stage_args: str) -> list[str]:
    import shlex

    from ..errors import UserError

    try:
        return shlex.split(stage_args)
    except ValueError as err:
        raise UserError(f"--stage-args {stage_args!r}: {err} (quote it as in a shell)") from err


def _run_with_progress(config: Any, bench_dir: Path) -> dict[str, Any]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ..bench import run_bench
    from ..bench.runner import pending

    todo = len(pending(config, bench_dir))
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(f"{config.stage} runs", total=todo)

        def done(record: dict[str, Any]) -> None:
            colour = "green" if record["status"] == "ok" else "red"
            progress.console.print(f"  {escape(str(record['model']))} #{record['index']:02d}: "
                                   f"[{colour}]{escape(str(record['status']))}[/] ({record['wall_s']:.1f} s)")
            progress.advance(task)

        return run_bench(config, bench_dir, on_done=done,
                         log=lambda line: progress.console.print(line, markup=False, highlight=False))


def _show(result: dict[str, Any], json_out: bool) -> None:
    from ..bench import markdown_table
    from ..bench.outputs import _records

    summary = result["summary"]
    files = {k: str(v) for k, v in result["files"].items()}
    if json_out:
        payload = {"status": "ok", "bench_dir": str(result["bench_dir"]), "summary": _records(summary),
                   "files": files}
        sys.stdout.write(json.dumps(payload, default=str) + "\n")
        return
    console.print(markdown_table(summary), markup=False, highlight=False)
    console.print(f"results: {Path(files['markdown']).parent}", markup=False, highlight=False)
