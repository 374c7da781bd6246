"""The `run` and `demo` commands: all stages chained, with a summary and an HTML report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from .common import (
    LLM,
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
    Resume,
    Yes,
    console,
    run_stage,
    settings_from,
)
from .convert import Emit, Quant, RepData, Tolerance
from .data import (
    DropStep,
    Example,
    Fit,
    Group,
    Kind,
    OpsFile,
    Rate,
    Seed,
    Segment,
    SplitColumn,
    Stride,
    TestData,
    TestSize,
    ValSize,
    Window,
)
from .train import FlashKB, LatencyMs, RamKB, SearchTime, Trials

Epochs = Annotated[int | None, typer.Option("--epochs", help="training epochs \\[default: the train stage's]")]
DEMO_BOARD = "uno"


def run_command(
    data: Data = None,
    description: Description = None,
    board: Board = None,
    label: Label = None,
    window: Window = None,
    stride: Stride = None,
    rate: Rate = None,
    kind: Kind = None,
    group: Group = None,
    segment: Segment = None,
    split_column: SplitColumn = None,
    test_data: TestData = None,
    example: Example = None,
    fit: Fit = None,
    test_size: TestSize = None,
    val_size: ValSize = None,
    seed: Seed = None,
    drop_step: DropStep = None,
    ops_file: OpsFile = None,
    epochs: Epochs = None,
    flash_kb: FlashKB = None,
    ram_kb: RamKB = None,
    trials: Trials = None,
    search_time: SearchTime = None,
    latency_ms: LatencyMs = None,
    quant: Quant = None,
    rep_data: RepData = None,
    tolerance: Tolerance = None,
    emit: Emit = None,
    llm: LLM = None,
    api_base: ApiBase = None,
    out: Out = None,
    yes: Yes = None,
    max_attempts: MaxAttempts = None,
    json_out: Json = False,
    config: Config = None,
    resume: Resume = None,
    debug: Debug = False,
) -> None:
    """Chain data -> train -> convert -> sketch; print a summary and write report.html in the run folder.

    Every option of the data, train and convert stages is passed on to its stage."""
    from ..errors import UserError

    if resume is None and data is None:
        raise UserError("no input data: pass --data PATH (or `tinyml-autopilot demo` for bundled data)")
    if resume is None and board is None:
        raise UserError("no target board: pass --board ID (`tinyml-autopilot boards` lists them)")
    inputs = {"data": data, "description": description, "label": label, "window": window, "stride": stride,
              "rate": rate, "kind": kind, "group": group, "segment": segment, "split_column": split_column,
              "test_data": test_data, "example": example, "fit": fit, "test_size": test_size, "val_size": val_size,
              "seed": seed, "drop_steps": list(drop_step) if drop_step else None, "ops_file": ops_file,
              "epochs": epochs, "flash_kb": flash_kb, "ram_kb": ram_kb, "trials": trials, "search_time": search_time,
              "latency_ms": latency_ms, "quant": quant, "rep_data": rep_data,
              "tolerance": tolerance, "emit": emit}
    flags = {"llm": llm, "api_base": api_base, "out": out, "board": board, "yes": yes, "max_attempts": max_attempts,
             "debug": debug}
    chain(inputs, flags, json_out=json_out, config=config, resume=resume)


def demo_command(
    llm: LLM = None,
    api_base: ApiBase = None,
    board: Board = None,
    out: Out = None,
    epochs: Epochs = None,
    max_attempts: MaxAttempts = None,
    json_out: Json = False,
    config: Config = None,
    resume: Resume = None,
    debug: Debug = False,
) -> None:
    """The whole pipeline on bundled gesture data for an Arduino Uno, offline unless an LLM is set."""
    from ..data import DEMO_OPTIONS, demo_dataset
    from ..errors import UserError

    if resume is not None:  # the data and options are those the demo run was started with
        chain({}, {"llm": llm, "api_base": api_base, "out": out, "board": board, "yes": True,
                   "max_attempts": max_attempts, "debug": debug}, json_out=json_out, config=config, resume=resume)
        return
    settings = settings_from(config, out=out)
    try:
        folder = demo_dataset(Path(settings.out) / "demo-data")
    except OSError as err:
        raise UserError(f"cannot write the demo data under {settings.out} ({err.strerror or err}): "
                        "pass --out FOLDER you can write to") from err
    from ..stages.train_search import DEMO_SEARCH

    inputs = {"data": folder, **DEMO_OPTIONS, "epochs": epochs, **DEMO_SEARCH}
    flags = {"llm": llm, "api_base": api_base, "out": out, "board": board or DEMO_BOARD, "yes": True,
             "max_attempts": max_attempts, "debug": debug}
    chain(inputs, flags, json_out=json_out, config=config, resume=None)


def chain(inputs: dict[str, Any], flags: dict[str, Any], *, json_out: bool, config: Path | None,
          resume: Path | None) -> None:
    """Every stage in one run folder (new, or reopened with --resume), then the summary."""
    from ..stages import pipeline

    run_stage("run", pipeline.run, json_out=json_out, config=config, resume=resume, inputs=inputs, flags=flags,
              show=lambda result: show_summary(result.run_dir, result))


def show_summary(run_dir: Path, result: Any) -> None:
    from rich.table import Table

    summary = json.loads((run_dir / "summary.json").read_text())
    stages = Table(title="stages", title_justify="left")
    for column in ("stage", "status", "time (s)", "attempts", "LLM calls", "tokens in/out", "cost"):
        stages.add_column(column)
    for s in summary["stages"]:
        colour = "green" if s["status"] == "ok" else "red"
        stages.add_row(escape(str(s["stage"])), f"[{colour}]{escape(str(s['status']))}[/]",
                       _fmt(s.get("wall_s"), ".1f"), str(s["attempts"]),
                       str(s.get("llm_calls") or 0), f"{s.get('tokens_in') or 0}/{s.get('tokens_out') or 0}",
                       _money(s.get("cost_usd")))
    console.print(stages)
    f, t, board = summary["figures"], summary["totals"], summary.get("board") or {}
    lines = [
        f"accuracy float {_fmt(f.get('float_accuracy'), '.3f')}, int8 {_fmt(f.get('int8_accuracy'), '.3f')}",
        _memory_line(f),
        f"flash {_fmt(f.get('flash_bytes'), ',')} / {_fmt(f.get('flash_max'), ',')} B, "
        f"RAM {_fmt(f.get('ram_bytes'), ',')} / {_fmt(f.get('ram_max'), ',')} B "
        f"({escape(str(board.get('name', 'no board')))})",
        f"compile: {_verdict(f.get('compile'))}, simulation: {_verdict(f.get('simulation'))}"
        + (f" ({escape(str(f['simulation_agreement']))} vectors agree)" if f.get("simulation_agreement") else ""),
        *([_run_line(f)] if "host_run" in f else []),
        f"LLM ({escape(str(summary.get('llm')))}): {t['llm_calls']} calls, {t['tokens_in']}+{t['tokens_out']} tokens, "
        f"cost {_money(t.get('cost_usd'))}; {t['attempts']} attempts in {t['wall_s']:.1f} s",
    ]
    for line in lines:
        console.print(f"  {line}", highlight=False)
    colour = "green" if result.ok else "red"
    console.print(f"[{colour}]run: {escape(str(result.status))}[/] {escape(str(result.message))}", highlight=False)
    console.print(f"  run folder: {run_dir}", highlight=False, markup=False)


def _run_line(f: dict[str, Any]) -> str:
    """TFLite Micro boards: the host run's and the Cortex-M4 run's verdicts, named when they failed."""
    host = _verdict(f.get("host_run")) + (f" ({escape(str(f['host_run_reason']))})" if f.get("host_run_reason") else
                                          f" ({escape(str(f['run_agreement']))} readings agree)"
                                          if f.get("run_agreement") else "")
    m4 = _verdict(f.get("m4_run")) + (f" ({escape(str(f['m4_run_reason']))})" if f.get("m4_run_reason") else "")
    if f.get("m4_instructions_per_inference") is not None:
        m4 += (f" (flash {_fmt(f.get('m4_flash_bytes'), ',')} B, RAM {_fmt(f.get('m4_ram_bytes'), ',')} B, "
               f"{_fmt(f['m4_instructions_per_inference'], ',')} instructions per inference)")
    return f"host run: {host}, Cortex-M4 run: {m4}"


def _memory_line(f: dict[str, Any]) -> str:
    """Model and arena bytes; for the portable C runtime, beside what the .tflite and TFLM would take."""
    model, arena = _fmt(f.get("model_bytes"), ","), _fmt(f.get("arena_bytes"), ",")
    if f.get("tflite_bytes") is None:
        return f"model {model} B, arena {arena} B"
    return (f"model {model} B as C (.tflite {_fmt(f['tflite_bytes'], ',')} B), arena {arena} B "
            f"(TFLite Micro would need {_fmt(f.get('tflm_arena_bytes'), ',')} B)")


def _fmt(value: Any, spec: str) -> str:
    return "n/a" if value is None else escape(format(value, spec))


def _money(value: Any) -> str:
    return "n/a" if value is None else f"${value:.4f}"


def _verdict(value: Any) -> str:
    colour = {"passed": "green", "failed": "red"}.get(value, "yellow")
    return f"[{colour}]{escape(str(value or 'not run'))}[/]"
