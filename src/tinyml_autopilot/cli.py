"""The `tinyml-autopilot` command line: wiring only. Heavy imports happen inside commands."""

from __future__ import annotations

import contextlib
import signal
import sys
from typing import Annotated

import typer
from rich.markup import escape

from .commands import bench, boards, convert, data, doctor, pipeline, runs, sketch, train
from .commands.common import console
from .errors import Interrupted, UserError

app = typer.Typer(
    name="tinyml-autopilot",
    help="From raw sensor data to verified microcontroller firmware: LLMs write the code, "
    "real tools check it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        print(f"tinyml-autopilot {version('tinyml-autopilot')}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    pass


app.command("data", help="Profile and process a dataset into train/val/test + feature spec.")(data.command)
app.command("train", help="Train a small Keras model sized for the target board.")(train.command)
app.command("convert", help="Convert a model to TensorFlow Lite and prove it (or --check one).")(convert.command)
app.command("sketch", help="Generate, check, compile and simulate an Arduino sketch (or --check one).")(sketch.command)
app.command("run", help="Chain data -> train -> convert -> sketch in one run.")(pipeline.run_command)
app.command("demo", help="Run the whole pipeline on bundled data for an Uno (offline by default).")(
    pipeline.demo_command
)
app.command("bench", help="Repeat stages N times per LLM and report success, attempts, cost.")(bench.command)
app.command("runs", help="List past runs, or show one.")(runs.command)
app.command("doctor", help="Show which providers, toolchains and simulators are available.")(doctor.command)
app.command("boards", help="List the board catalogue.")(boards.command)


def _click_errors() -> tuple[tuple[type, ...], tuple[type, ...], tuple[type, ...]]:
    """(exit, usage error, abort) classes of click, and of typer's own copies of them."""
    import click

    usage: list[type] = [click.ClickException]
    with contextlib.suppress(ImportError):
        from typer._click.exceptions import ClickException

        usage.append(ClickException)
    return ((click.exceptions.Exit, typer.Exit), tuple(usage), (click.exceptions.Abort, typer.Abort))


def _terminated(signum: int, frame: object) -> None:
    """SIGTERM (kill, a CI timeout) ends a run like Ctrl-C: attempts saved, sandboxed code killed."""
    raise KeyboardInterrupt


def main() -> None:
    """Entry point: a UserError is one line and its exit code; --debug shows tracebacks."""
    exits, usage_errors, aborts = _click_errors()
    debug = "--debug" in sys.argv
    signal.signal(signal.SIGTERM, _terminated)
    try:
        code = app(standalone_mode=False)
    except Interrupted as err:
        console.print(f"[yellow]interrupted[/]: {escape(str(err))}", highlight=False, soft_wrap=True)
        sys.exit(130)
    except UserError as err:
        if debug:
            raise
        for line in str(err).splitlines():
            console.print(f"[red]error:[/] {escape(line)}", highlight=False, soft_wrap=True)
        sys.exit(err.code)
    except exits as err:
        sys.exit(err.exit_code)
    except usage_errors as err:
        err.show()
        sys.exit(2)
    except (*aborts, KeyboardInterrupt):
        code = 130
    except Exception as err:  # a bug of ours: one line, the traceback only with --debug
        if debug:
            raise
        console.print(f"[red]internal error:[/] {escape(f'{type(err).__name__}: {err}')} (rerun with --debug)",
                      soft_wrap=True)
        sys.exit(1)
    if code == 130:  # Ctrl-C, whether click raised Abort or returned its exit code
        console.print("[yellow]interrupted[/]: the run folder keeps what was done; --resume RUN continues it")
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
