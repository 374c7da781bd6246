"""Options shared by the stage commands (one name everywhere) and the code that runs a stage."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.logging import RichHandler

from ..errors import Interrupted, UserError
from ..secrets import redact
from .options import check_model_files, check_numbers

console = Console(stderr=True)

Data = Annotated[Path | None, typer.Option("--data", help="input data, or the previous stage's run folder")]
Label = Annotated[str | None, typer.Option("--label", help="label column (or 'file name')")]
Description = Annotated[str | None, typer.Option("--description", help="what the data and task are")]
Board = Annotated[str | None, typer.Option("--board", help="target board id (see `boards`)")]
LLM = Annotated[
    str | None, typer.Option("--llm", help="PROVIDER/MODEL (openai/gpt-4o, ollama/qwen2.5-coder:14b) or 'offline'")
]
ApiBase = Annotated[str | None, typer.Option("--api-base", help="base URL of an OpenAI-compatible server")]
Out = Annotated[Path | None, typer.Option("--out", help="where run folders go \\[default: ./runs]")]
Yes = Annotated[bool | None, typer.Option("--yes", "-y", help="accept proposals without asking")]
MaxAttempts = Annotated[int | None, typer.Option("--max-attempts", help="code-repair attempts per task \\[default: 5]")]
Json = Annotated[bool, typer.Option("--json", help="print the result as one JSON object on stdout")]
Config = Annotated[Path | None, typer.Option("--config", help="config file (TOML or YAML)")]
Resume = Annotated[Path | None, typer.Option("--resume", help="continue this run folder")]
Debug = Annotated[bool, typer.Option("--debug", help="show tracebacks and debug logs")]


def settings_from(config: Path | None = None, **flags: Any):
    from ..config import load_settings

    return load_settings(flags, config=config)


def setup_logging(debug: bool) -> None:
    root = logging.getLogger("tinyml_autopilot")
    if any(isinstance(h, RichHandler) for h in root.handlers):
        return
    handler = RichHandler(console=console, show_path=False, show_time=False, markup=False)
    handler.setLevel(logging.DEBUG if debug else logging.INFO)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)


def run_stage(stage: str, runner: Callable[..., Any], *, json_out: bool, config: Path | None,
              resume: Path | None, inputs: dict[str, Any], flags: dict[str, Any],
              show: Callable[[Any], None] | None = None) -> None:
    """Load settings and the model, open the run folder, run the stage, print its result.

    `show` prints the result instead of the default lines (not with --json).
    """
    from ..llm import OFFLINE_HINT, get_model
    from ..report.progress import AttemptPrinter
    from ..runs import Run
    from ..stages.base import StageContext

    setup_logging(bool(flags.get("debug")))
    run = resumed = None
    try:
        inputs = {k: (v.resolve() if isinstance(v, Path) else v) for k, v in inputs.items()}
        resumed = Run.open(resume, stage) if resume is not None else None
        if resumed is not None:
            resumed.lock(f"tinyml-autopilot {stage} --resume {resumed.dir}")
            inputs, flags = _resumed(resumed, runner, inputs, flags)
        _inputs_exist(inputs)
        check_numbers(inputs)
        check_model_files(stage, inputs)
        settings = settings_from(config, **flags)
        model = get_model(settings)
        if model.offline and not settings.llm and not inputs.get("check"):  # --check asks no LLM
            logging.getLogger("tinyml_autopilot").info(OFFLINE_HINT)
        run = resumed or Run.create(settings.out, stage, _public(inputs, settings))
        run.lock(f"tinyml-autopilot {stage} --resume {run.dir}")
        run.observers.append(AttemptPrinter(console))
        ctx = StageContext(settings=settings, model=model, run=run, console=console)
        result = runner(ctx, **inputs)
    except KeyboardInterrupt:
        if run is None:
            raise
        stop = Interrupted(f"{run.dir} keeps what was done; continue with "
                           f"`tinyml-autopilot {stage} --resume {run.dir}`")
        _stopped(stage, run, stop, json_out)
        raise stop from None
    except Exception as err:
        _stopped(stage, run, err, json_out)
        raise
    finally:
        if run is not None:
            run.unlock()
        elif resumed is not None:
            resumed.unlock()
    if show is not None and not json_out:
        show(result)
    else:
        emit(result, json_out)
    if not result.ok:
        raise typer.Exit(1)


def _inputs_exist(inputs: dict[str, Any]) -> None:
    """Every path option names an input: a missing one is a mistake found before any run folder is made."""
    for key, value in inputs.items():
        if isinstance(value, Path) and not value.exists():
            raise UserError(f"{value} does not exist: check --{key.replace('_', '-')}")


def _stopped(stage: str, run: Any, err: Exception, json_out: bool) -> None:
    """A stage stopped by an error or Ctrl-C still closes its run record; --json still prints one object."""
    if isinstance(err, typer.Exit):
        return
    status = "interrupted" if isinstance(err, Interrupted) else "error"
    message = str(err).splitlines()[0] if str(err) else type(err).__name__
    if not isinstance(err, (UserError, Interrupted)):
        message = f"{type(err).__name__}: {message}"
    if run is not None:
        run.finish(status, error=message)
    if json_out:
        run_dir = str(run.dir) if run is not None else None
        sys.stdout.write(json.dumps({"stage": stage, "status": status, "run_dir": run_dir,
                                     "message": redact(message)}) + "\n")


RESUMED_SETTINGS = ("llm", "api_base", "board", "max_attempts", "out")


def _resumed(run: Any, runner: Callable[..., Any], inputs: dict[str, Any], flags: dict[str, Any]):
    """On --resume, what is not given again comes from the run's inputs.json."""
    import inspect

    try:
        saved = json.loads((run.dir / "inputs.json").read_text())
    except (OSError, ValueError) as err:
        raise UserError(f"cannot resume {run.dir}: its inputs.json is missing or unreadable; start a new run") from err
    arguments, settings = saved.get("arguments", {}), saved.get("settings", {})
    types = {name: str(p.annotation) for name, p in inspect.signature(runner).parameters.items()}
    for key, value in inputs.items():
        if value is None and arguments.get(key) is not None:
            old = arguments[key]
            inputs[key] = Path(old) if "Path" in types.get(key, "") and isinstance(old, str) else old
    for key in RESUMED_SETTINGS:
        if flags.get(key) is None and settings.get(key) is not None:
            flags[key] = settings[key]
    return inputs, flags


def emit(result: Any, json_out: bool) -> None:
    if json_out:
        sys.stdout.write(json.dumps(result.as_json(), default=str) + "\n")
        return
    colour = "green" if result.ok else "red"
    console.print(f"[{colour}]{result.stage}: {result.status}[/]", end=" ")
    console.print(result.message, markup=False, highlight=False)
    for key, value in result.figures.items():
        console.print(f"  {key}: {value}", markup=False, highlight=False)
    console.print(f"  run folder: {result.run_dir}", markup=False, highlight=False)


def _public(inputs: dict[str, Any], settings: Any) -> dict[str, Any]:
    safe = settings.model_dump(mode="json", exclude={"api_key"})
    return {"arguments": inputs, "settings": safe}


__all__ = ["UserError", "console", "run_stage", "emit", "settings_from"]
