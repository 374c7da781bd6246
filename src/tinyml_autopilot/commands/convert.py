"""The `convert` command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import (
    LLM,
    ApiBase,
    Board,
    Config,
    Data,
    Debug,
    Json,
    MaxAttempts,
    Out,
    Resume,
    Yes,
    run_stage,
)

Model = Annotated[Path | None, typer.Option("--model", help="Keras .keras/.h5 file or SavedModel folder")]
Quant = Annotated[str | None, typer.Option("--quant", help="float32 | float16 | dynamic | int8 \\[default: int8]")]
RepData = Annotated[Path | None, typer.Option("--rep-data", help="representative samples as the model takes them "
                                              "(scaled): NPZ (array X) or CSV of numeric columns")]
Tolerance = Annotated[float | None, typer.Option("--tolerance", help="allowed accuracy drop in points, converted vs "
                                                "original on the test split \\[default: 2]")]
Emit = Annotated[str | None, typer.Option("--emit", help="'c': also write the portable C runtime (artifacts/c)")]
Check = Annotated[Path | None, typer.Option("--check", help="only run the checks on this .tflite file")]


def command(
    data: Data = None,
    model: Model = None,
    quant: Quant = None,
    rep_data: RepData = None,
    tolerance: Tolerance = None,
    emit: Emit = None,
    check: Check = None,
    board: Board = None,
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
    """Convert a model to TensorFlow Lite and prove it; with --check, only check an existing .tflite."""
    from ..stages import convert

    run_stage("convert", convert.run, json_out=json_out, config=config, resume=resume,
              inputs={"data": data, "model": model, "quant": quant, "rep_data": rep_data, "tolerance": tolerance,
                      "emit": emit, "check": check},
              flags={"llm": llm, "api_base": api_base, "out": out, "board": board, "yes": yes,
                     "max_attempts": max_attempts, "debug": debug})
