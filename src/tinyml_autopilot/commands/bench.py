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
Executor = Annotated[str | None, typer.Option("--executor", help="local | ray: where the runs execute "
                                                                 "\\[default: local]")]
RayAddress = Annotated[str | None, typer.Option("--ray-address", help="auto | HOST:PORT | ray://HOST:PORT "
                                                                     "\\[default: RAY_ADDRESS, else auto]")]
RunCpus = Annotated[float | None, typer.Option("--run-cpus", help="CPUs a run reserves on a Ray node "
                                                                 "\\[default: 1]")]
RunMemory = Annotated[int | None, typer.Option("--run-memory-mb", help="memory (MB) a run reserves on a Ray node")]
MaxLlm = Annotated[int | None, typer.Option("--max-concurrent-llm", help="LLM requests in flight at once, per "
                                                                        "provider and key, across all runs")]
MaxRetries = Annotated[int | None, typer.Option("--max-retries", help="re-queues of a run whose Ray worker or "
                                                                     "node died \\[default: 2]")]
Scratch = Annotated[str | None, typer.Option("--scratch", help="folder on each Ray node where runs work "
                                                               "\\[default: the node's temp folder]")]
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
    executor: Executor = None,
    ray_address: RayAddress = None,
    run_cpus: RunCpus = None,
    run_memory_mb: RunMemory = None,
    max_concurrent_llm: MaxLlm = None,
    max_retries: MaxRetries = None,
    scratch: Scratch = None,
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
             "config": str(config_file.resolve()) if config_file else None, "executor": executor,
             "ray_address": ray_address, "run_cpus": run_cpus, "run_memory_mb": run_memory_mb,
             "max_concurrent_llm": max_concurrent_llm, "max_retries": max_retries, "scratch": scratch}
    if llm:
        given["models"] = list(llm)
    if label:
        given["label"] = label
    given = {k: v for k, v in given.items() if v is not None}
    if resume:
        config = load_config(resume)
        if "executor" in given and "ray_address" not in given:  # the address went with the executor
            config.ray_address = None
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
    where = f"{config.jobs} at a time" if config.executor == "local" else \
        f"on Ray ({config.ray_address or 'auto'}, {config.run_cpus:g} CPU each)"
    console.print(f"bench {config.stage}: {config.runs} run(s) x {len(config.models)} model(s), "
                  f"{where} -> {bench_dir}", markup=False, highlight=False)
    result = _run_with_progress(config, bench_dir)
    _show(result, json_out)
    if result["lost"]:
        raise typer.Exit(1)


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
        nodes: dict[str, Any] = {}

        def done(record: dict[str, Any]) -> None:
            colour = "green" if record["status"] == "ok" else "red"
            node = str(record.get("node") or "?")
            wall = f"{record['wall_s']:.1f} s" if record.get("wall_s") is not None else "no time"
            where = f" on {escape(node)}" if config.executor == "ray" else ""
            progress.console.print(f"  {escape(str(record['model']))} #{record['index']:02d}: "
                                   f"[{colour}]{escape(str(record['status']))}[/] ({wall}){where}")
            progress.advance(task)
            if config.executor == "ray":  # one line per node: the runs it finished
                if node not in nodes:
                    nodes[node] = progress.add_task(f"  {escape(node)}", total=None)
                progress.advance(nodes[node])

        return run_bench(config, bench_dir, on_done=done,
                         log=lambda line: progress.console.print(line, markup=False, highlight=False))


def _show(result: dict[str, Any], json_out: bool) -> None:
    from ..bench import markdown_table
    from ..bench.outputs import _records

    summary = result["summary"]
    files = {k: str(v) for k, v in result["files"].items()}
    if json_out:
        payload = {"status": "incomplete" if result["lost"] else "ok", "bench_dir": str(result["bench_dir"]),
                   "summary": _records(summary), "files": files,
                   "lost": [{"model": m, "index": i} for m, i in result["lost"]]}
        sys.stdout.write(json.dumps(payload, default=str) + "\n")
        return
    console.print(markdown_table(summary), markup=False, highlight=False)
    console.print(f"results: {Path(files['markdown']).parent}", markup=False, highlight=False)
    if result["lost"]:
        console.print(f"{len(result['lost'])} run(s) not finished (their workers kept dying; not counted): "
                      f"bench --resume {result['bench_dir']} runs them", markup=False, highlight=False)
