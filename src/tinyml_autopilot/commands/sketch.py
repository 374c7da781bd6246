"""The `sketch` command."""

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
    Description,
    Json,
    MaxAttempts,
    Out,
    Resume,
    Yes,
    run_stage,
)

Name = Annotated[str | None, typer.Option("--name", help="application name (also the sketch folder name)")]
Sensor = Annotated[str | None, typer.Option("--sensor", help="imu | serial | any sensor id of the board")]
Output = Annotated[str | None, typer.Option("--output", help="serial | led | ble \\[default: serial]")]
Runtime = Annotated[str | None, typer.Option("--runtime", help="portable-c | tflm \\[default: the board's]")]
SpecFile = Annotated[Path | None, typer.Option("--spec-file", help="JSON application spec to use (overrides fields)")]
Model = Annotated[Path | None, typer.Option("--model", help="int8 .tflite model (instead of --data)")]
Labels = Annotated[str | None, typer.Option("--labels", help="class names in output order: a,b,c")]
Spec = Annotated[Path | None, typer.Option("--spec", help="feature_spec.json of the model's inputs")]
Check = Annotated[list[str] | None, typer.Option(
    "--check", help="only check sketch folders (repeat, or a glob such as 'sketches/*'): lint, compile, run")]
Libraries = Annotated[Path | None, typer.Option(
    "--libraries", help="Arduino library folder (else arduino-cli's, else ~/Arduino/libraries)")]
Readings = Annotated[Path | None, typer.Option(
    "--readings", help="CSV of recorded raw readings (one column per channel, optional label column) to run on")]


def command(
    data: Data = None,
    board: Board = None,
    name: Name = None,
    description: Description = None,
    sensor: Sensor = None,
    output: Output = None,
    runtime: Runtime = None,
    spec_file: SpecFile = None,
    model: Model = None,
    labels: Labels = None,
    spec: Spec = None,
    check: Check = None,
    libraries: Libraries = None,
    readings: Readings = None,
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
    """Generate, check, compile and simulate an Arduino sketch; with --check, lint someone else's sketch."""
    from ..stages import sketch

    if output not in (None, "serial", "led", "ble"):
        raise typer.BadParameter("use serial, led or ble", param_hint="--output")
    run_stage("sketch", sketch.run, json_out=json_out, config=config, resume=resume,
              inputs={"data": data, "board": board, "name": name, "description": description, "sensor": sensor,
                      "output": output, "runtime": runtime, "spec_file": spec_file, "model": model,
                      "labels": labels, "spec": spec, "check": _check_arg(check), "readings": readings},
              flags={"llm": llm, "api_base": api_base, "out": out, "board": board, "yes": yes,
                     "max_attempts": max_attempts, "debug": debug,
                     "libraries": str(libraries) if libraries else None})


def _check_arg(check: list[str] | None) -> Path | list[Path] | None:
    """One folder as a Path (the single-sketch report); several, or a glob, as a list (one table)."""
    if not check:
        return None
    import glob

    folders: list[Path] = []
    for item in check:
        matched = sorted(glob.glob(item)) if glob.has_magic(item) else [item]
        if not matched:
            raise typer.BadParameter(f"no folder matches {item}", param_hint="--check")
        folders += [Path(m) for m in matched if Path(m).is_dir() or not glob.has_magic(item)]
    return folders[0] if len(folders) == 1 and not any(glob.has_magic(c) for c in check) else folders
