"""Running a stage's scripts in the sandbox and turning their failures into loop errors."""

from __future__ import annotations

import json
import re
import signal
from importlib import resources
from pathlib import Path
from typing import Any

from ..config import Settings
from ..loop import ExecutionFailed
from ..sandbox.python import ExecResult, run_python


def packaged_script(name: str) -> Path:
    """Absolute path of a script shipped in this package (run as a file in the sandbox)."""
    return Path(str(resources.files(__package__).joinpath(name)))


def run_code(code: str, workdir: Path, name: str, settings: Settings, *, readable: list[Path],
             args: list[str] | None = None) -> ExecResult:
    """Write `code` as `name` in `workdir`, run it; ExecutionFailed (with line numbers) on failure."""
    script = workdir / name
    script.write_text(code)
    result = run_python(script, workdir, args=args, timeout_s=settings.sandbox_timeout,
                        memory_mb=settings.sandbox_memory_mb, readable=readable)
    (workdir / "run.log").write_text(f"$ python {name}\n{result.stdout}\n{result.stderr}")
    if result.timed_out:
        raise ExecutionFailed(result.describe(), category="timeout")
    if not result.ok:
        raise ExecutionFailed(_last_error(result), lines=script_lines(result.stderr, name))
    return result


def run_trusted(script: str, workdir: Path, settings: Settings, *, readable: list[Path],
                args: list[str]) -> ExecResult:
    """Run one of our own helper scripts (evaluation, reference accuracy) in the sandbox."""
    return run_python(packaged_script(script), workdir, args=args, timeout_s=settings.sandbox_timeout,
                      memory_mb=settings.sandbox_memory_mb, readable=readable)


def script_lines(stderr: str, name: str) -> list[int]:
    """Line numbers of `name` in a Python traceback (innermost last)."""
    found = [int(n) for n in re.findall(rf'File "[^"]*{re.escape(name)}", line (\d+)', stderr)]
    return found[-2:]


# TensorFlow's start-up chatter and Python warnings: never the cause of a failure
NOISE = re.compile(r"^([IWE]\d{4} |WARNING: All log messages before absl|\S+:\d+: \w*Warning: |  warnings\.warn\()")
CRASH_SIGNALS = (signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS, signal.SIGFPE, signal.SIGILL)


def _last_error(result: ExecResult) -> str:
    text = result.describe()
    lines = [ln for ln in text.splitlines() if ln.strip() and not NOISE.match(ln)]
    crash = crash_signal(result.returncode)
    if crash and "Traceback" not in text:
        lines.append(f"the script crashed: killed by {crash} (exit code {result.returncode}), inside native code "
                     "(TensorFlow or its converter), with no Python traceback")
    return "\n".join(lines[-40:]) or text


def crash_signal(returncode: int | None) -> str | None:
    """SIGSEGV & co. for a process killed by one (negative code, or 128+N through a shell or bubblewrap)."""
    if returncode is None:
        return None
    number = -returncode if returncode < 0 else returncode - 128
    return next((s.name for s in CRASH_SIGNALS if s.value == number), None)


def plain(error: str | None) -> str:
    """A loop error made printable: "[check] message" lines become "check: message"."""
    return re.sub(r"^\[([\w-]+)\] ", r"\1: ", error or "no attempt ran", flags=re.MULTILINE)


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
