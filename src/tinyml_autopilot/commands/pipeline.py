"""The `run` and `demo` commands: all stages chained."""

from __future__ import annotations

from .common import (
    LLM,
    ApiBase,
    Board,
    Config,
    Data,
    Debug,
    Description,
    Json,
    Out,
    Resume,
    Yes,
    not_built,
)


def run_command(
    data: Data = None,
    description: Description = None,
    board: Board = None,
    llm: LLM = None,
    api_base: ApiBase = None,
    out: Out = None,
    yes: Yes = None,
    json_out: Json = False,
    config: Config = None,
    resume: Resume = None,
    debug: Debug = False,
) -> None:
    """Not built yet."""
    not_built("run")


def demo_command(llm: LLM = None, out: Out = None, json_out: Json = False, debug: Debug = False) -> None:
    """Not built yet."""
    not_built("demo")
