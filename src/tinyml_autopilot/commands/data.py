"""The `data` command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import (
    LLM,
    ApiBase,
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
    run_stage,
)

WINDOW_HELP = "samples per window (time series) \\[default: 1 s of samples, or each short recording whole]"
Window = Annotated[int | None, typer.Option("--window", help=WINDOW_HELP)]
STRIDE_HELP = "samples between window starts \\[default: half a window]"
Stride = Annotated[int | None, typer.Option("--stride", help=STRIDE_HELP)]
Rate = Annotated[float | None, typer.Option("--rate", help="sample rate in Hz \\[default: from the timestamps]")]
TestSize = Annotated[float | None, typer.Option("--test-size", help="share held out for test \\[default: 0.2]")]
ValSize = Annotated[float | None, typer.Option("--val-size", help="share held out for validation \\[default: 0.1]")]
Seed = Annotated[int | None, typer.Option("--seed", help="random seed of the split \\[default: 0]")]
DropStep = Annotated[list[int] | None, typer.Option("--drop-step", help="drop step N of the proposal (repeatable)")]
Kind = Annotated[str | None, typer.Option("--kind", help="auto | tabular | timeseries \\[default: auto]")]
OpsFile = Annotated[Path | None, typer.Option("--ops-file", help="JSON/YAML operations table replacing the proposal")]
Group = Annotated[str | None, typer.Option("--group", help="column whose values never share a split (subject, user) "
                                           "\\[default: the highest-level id column]")]
Segment = Annotated[str | None, typer.Option("--segment", help="column naming each recording; no window crosses it "
                                             "\\[default: the lowest-level id column]")]
SplitColumn = Annotated[str | None, typer.Option("--split-column", help="column of train/val/test values: keep "
                                                 "this split")]
TestData = Annotated[Path | None, typer.Option("--test-data", help="a given test set, like --data: keep this split")]
Example = Annotated[str | None, typer.Option("--example", help="window | recording (one example per recording) | "
                                             "auto \\[default: recording when recordings are whole events of "
                                             "different lengths]")]
Fit = Annotated[str | None, typer.Option("--fit", help="how a recording becomes a fixed length: pad (first N "
                                         "samples, shorter ones padded) | resample \\[default: pad]")]
DATA_OPTIONS = ("label", "description", "window", "stride", "rate", "test_size", "val_size", "seed", "kind",
                "group", "segment", "split_column", "test_data", "example", "fit")


def command(
    data: Data = None,
    label: Label = None,
    description: Description = None,
    window: Window = None,
    stride: Stride = None,
    rate: Rate = None,
    test_size: TestSize = None,
    val_size: ValSize = None,
    seed: Seed = None,
    drop_step: DropStep = None,
    ops_file: OpsFile = None,
    kind: Kind = None,
    group: Group = None,
    segment: Segment = None,
    split_column: SplitColumn = None,
    test_data: TestData = None,
    example: Example = None,
    fit: Fit = None,
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
    """Profile and process a dataset into train/val/test splits, labels and a feature spec."""
    from ..stages import data as stage

    inputs = {"data": data, "label": label, "description": description, "window": window, "stride": stride,
              "rate": rate, "test_size": test_size, "val_size": val_size, "seed": seed,
              "drop_steps": list(drop_step) if drop_step else None, "ops_file": ops_file, "kind": kind,
              "group": group, "segment": segment, "split_column": split_column, "test_data": test_data,
              "example": example, "fit": fit}
    run_stage("data", stage.run, json_out=json_out, config=config, resume=resume, inputs=inputs,
              flags={"llm": llm, "api_base": api_base, "out": out, "yes": yes, "max_attempts": max_attempts,
                     "debug": debug})
