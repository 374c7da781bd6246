"""The `train` command."""

from __future__ import annotations

from typing import Annotated

import typer

from .common import (
    LLM,
    ApiBase,
    Board,
    Config,
    Data,
    Debug,
    Description,
    Json,
    MaxAttempts,
    Out,
    Resume,
    Yes,
    run_stage,
)

FlashKB = Annotated[float | None, typer.Option("--flash-kb", help="flash for the model in KB (overrides the board)")]
RamKB = Annotated[float | None, typer.Option("--ram-kb", help="RAM for the tensor arena in KB (overrides the board)")]
Epochs = Annotated[int | None, typer.Option("--epochs", help="upper bound on training epochs \\[default: 60]")]
Trials = Annotated[int | None, typer.Option("--trials", help="candidate models the search trains (pruned ones "
                                            "do not count) \\[default: validation samples / 3, 3 to 30]")]
SearchTime = Annotated[float | None, typer.Option("--search-time", help="seconds the model search may take "
                                                  "\\[default: 180]")]
LatencyMs = Annotated[float | None, typer.Option("--latency-ms", help="longest inference allowed, estimated from "
                                                 "multiply-accumulates at the board's clock")]
Seed = Annotated[int | None, typer.Option("--seed", help="random seed of the search and of training (a trial "
                                       "trains the same whatever ran before it) \\[default: 42]")]


def command(
    data: Data = None,
    board: Board = None,
    flash_kb: FlashKB = None,
    ram_kb: RamKB = None,
    description: Description = None,
    epochs: Epochs = None,
    trials: Trials = None,
    search_time: SearchTime = None,
    latency_ms: LatencyMs = None,
    seed: Seed = None,
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
    """Search and train a Keras model on processed data within the board's flash, RAM and latency."""
    from ..stages import train

    run_stage("train", train.run, json_out=json_out, config=config, resume=resume,
              inputs={"data": data, "flash_kb": flash_kb, "ram_kb": ram_kb, "description": description,
                      "epochs": epochs, "trials": trials, "search_time": search_time, "latency_ms": latency_ms,
                      "seed": seed},
              flags={"llm": llm, "api_base": api_base, "out": out, "board": board, "yes": yes,
                     "max_attempts": max_attempts, "debug": debug})
