"""A benched run's process: our own CLI as a child, in its own process group, with a timeout."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def cli_prefix() -> list[str]:
    """How to start our own command line in a child process (the venv's interpreter, not PATH)."""
    return [sys.executable, "-m", "tinyml_autopilot.cli"]


@dataclass
class Outcome:
    returncode: int | None
    stdout: str
    stderr: str
    wall_s: float
    timed_out: bool = False


def run_cli(args: list[str], timeout_s: float, cwd: Path | None = None, die_with_parent: bool = False) -> Outcome:
    """Run our CLI in its own process group; a timeout kills the whole group. With `die_with_parent`
    the run is killed when this process dies (a Ray worker killed mid-run leaves no orphan behind)."""
    env = {**os.environ, "COLUMNS": "160", "PYTHONUNBUFFERED": "1"}
    start = time.monotonic()
    guard = ["setpriv", "--pdeathsig", "KILL", "--"] if die_with_parent and shutil.which("setpriv") else []
    proc = subprocess.Popen([*guard, *cli_prefix(), *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout_s)
        return Outcome(proc.returncode, out, err, round(time.monotonic() - start, 3))
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, err = proc.communicate()
        return Outcome(None, out or "", err or "", round(time.monotonic() - start, 3), timed_out=True)


def _kill_group(proc: subprocess.Popen) -> None:
    import signal

    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def parse_result(stdout: str) -> dict[str, Any] | None:
    """The one JSON object a `--json` run prints (the last line that parses)."""
    for line in reversed(stdout.strip().splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _tail(text: str, lines: int = 20) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])
