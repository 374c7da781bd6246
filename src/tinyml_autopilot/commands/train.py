"""The `train` command."""

from __future__ import annotations

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
    not_built,
)


def command(
    data: Data = None,
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
    """Not built yet."""
    not_built("train")
