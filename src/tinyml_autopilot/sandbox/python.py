"""Run generated Python away from the tool: bubblewrap isolation, time/memory/process limits.

Layers, each independent: bubblewrap gives a read-only system, one writable folder, its own
/tmp and no network; rlimits cap memory and processes; a pids cgroup (when we may create one)
caps forks even for root; the process group (or the pid namespace) is killed on timeout.
"""

from __future__ import annotations

import contextlib
import logging
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ..secrets import clean_env, redact, secret_values

log = logging.getLogger(__name__)
OUTPUT_LIMIT = 20_000
PIDS_MAX = 512
FILE_LIMIT = 4 * 1024**3  # bytes per file the code may write
PIDS_CGROUP = Path("/sys/fs/cgroup/pids")
SCRUB_MAX_BYTES = 64 * 1024**2


@dataclass
class ExecResult:
    returncode: int | None
    stdout: str
    stderr: str
    duration_s: float
    timed_out: bool = False
    out_of_memory: bool = False
    isolation: str = "subprocess"

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def describe(self) -> str:
        """One paragraph saying what went wrong, for a repair prompt or a log."""
        if self.timed_out:
            return f"killed after {self.duration_s:.0f}s: the time limit was reached\n{self.stderr[-1500:]}"
        if self.out_of_memory:
            return f"ran out of memory (the sandbox limit was reached)\n{self.stderr[-1500:]}"
        if self.returncode and self.returncode < 0:
            return f"killed by signal {-self.returncode}\n{self.stderr[-1500:]}"
        return self.stderr or self.stdout or f"exit code {self.returncode}"


@cache
def bwrap_works() -> bool:
    exe = shutil.which("bwrap")
    if not exe:
        return False
    probe = subprocess.run([exe, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                            "--unshare-net", "--unshare-pid", "true"], capture_output=True)
    return probe.returncode == 0


@cache
def bwrap_sizes_tmpfs() -> bool:
    """bubblewrap >= 0.5 can cap a tmpfs (`--size`); older ones run without the cap."""
    probe = subprocess.run(["bwrap", "--ro-bind", "/", "/", "--size", str(1 << 20), "--tmpfs", "/tmp", "true"],
                           capture_output=True)
    return probe.returncode == 0


@cache
def isolation() -> str:
    """'bubblewrap' when it runs here, else 'subprocess' (with a one-time warning)."""
    if bwrap_works():
        return "bubblewrap"
    log.warning("bubblewrap is not usable here: generated code runs in a plain subprocess with "
                "limits but without filesystem or network isolation (install: apt-get install bubblewrap)")
    return "subprocess"


def run_python(script: Path, workdir: Path, *, args: list[str] | None = None,
               timeout_s: float = 600, memory_mb: int = 6144,
               readable: list[Path] | None = None, python: str | None = None) -> ExecResult:
    """Run `script` with `workdir` as its only writable folder; never raises for the code's faults."""
    workdir = workdir.resolve()
    command = [python or sys.executable, "-I", "-u", "-B", str(script), *(args or [])]
    return run_command(command, workdir, timeout_s=timeout_s, memory_mb=memory_mb,
                       readable=readable)


def run_command(command: list[str], workdir: Path, *, timeout_s: float, memory_mb: int,
                readable: list[Path] | None = None) -> ExecResult:
    mode = isolation()
    if mode == "bubblewrap":
        command = _bwrap_prefix(workdir, readable or [], memory_mb) + command
    cgroup = _make_cgroup()
    stdout, stderr = workdir / ".stdout", workdir / ".stderr"
    start = time.monotonic()
    proc: subprocess.Popen | None = None
    try:
        with stdout.open("wb") as out, stderr.open("wb") as err:
            proc = subprocess.Popen(
                command, cwd=workdir, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                env=_sandbox_env(workdir), start_new_session=True,
                preexec_fn=lambda: _limit_child(memory_mb, cgroup),
            )
            timed_out = _wait(proc, timeout_s, cgroup)
    finally:  # also on Ctrl-C: nothing the code started outlives the tool
        if proc is not None and proc.returncode is None:
            _kill_all(proc, cgroup)
            proc.wait()
        _remove_cgroup(cgroup)
        for output in (stdout, stderr):
            _scrub(output)
    duration = time.monotonic() - start
    text_err = _read(stderr)
    return ExecResult(
        returncode=proc.returncode, stdout=_read(stdout), stderr=text_err,
        duration_s=round(duration, 3), timed_out=timed_out,
        out_of_memory=("MemoryError" in text_err or "std::bad_alloc" in text_err
                       or "Cannot allocate memory" in text_err),
        isolation=mode,
    )


def _bwrap_prefix(workdir: Path, readable: list[Path], memory_mb: int) -> list[str]:
    # Files in a tmpfs live in RAM outside the code's memory limit: each one is capped by it too.
    size = ["--size", str(memory_mb << 20)] if bwrap_sizes_tmpfs() else []
    cmd = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", *size, "--tmpfs", "/dev/shm"]
    for hidden in _hidden_dirs():  # a fresh /tmp; the home folder (keys, credentials) out of sight
        cmd += [*size, "--tmpfs", str(hidden)]
    # What lies in a hidden folder and is needed comes back read-only: the inputs, and the
    # Python installation itself (a checkout in /tmp, a pyenv or a venv under the home folder).
    for path in _python_paths() + [Path(p) for p in readable]:
        path = Path(path).resolve()
        if path.exists() and not _inside(path, workdir):
            cmd += ["--ro-bind", str(path), str(path)]
    for secret in _secret_files():  # the system is readable, the files holding our keys are not
        cmd += ["--ro-bind", "/dev/null", str(secret)]
    cmd += ["--bind", str(workdir), str(workdir), "--chdir", str(workdir),
            "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
            "--new-session", "--die-with-parent", "--"]
    return cmd


def _secret_files() -> list[Path]:
    from ..config import CONFIG_NAMES, loaded_files

    candidates = [Path.cwd() / name for name in (".env", *CONFIG_NAMES)] + loaded_files()
    candidates.append(Path.home() / ".netrc")
    return sorted({p.resolve() for p in candidates if p.is_file()})


def _hidden_dirs() -> list[Path]:
    home = Path.home().resolve()
    hidden = [Path("/tmp")]
    if home != Path("/") and home.is_dir() and not _inside(Path("/tmp"), home):
        hidden.append(home)
    return hidden


def _python_paths() -> list[Path]:
    found = {Path(sys.prefix), Path(sys.base_prefix), Path(os.path.realpath(sys.executable)).parent}
    found |= {Path(p) for p in sys.path if p and Path(p).is_dir()}
    hidden = [h.resolve() for h in _hidden_dirs()]
    return sorted(p.resolve() for p in found
                  if any(_inside(p.resolve(), h) and p.resolve() != h for h in hidden))


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _sandbox_env(workdir: Path) -> dict[str, str]:
    env = clean_env()
    for name in list(env):
        if name.startswith(("LITELLM", "LANGFUSE", "LANGSMITH", "TINYML_")):
            env.pop(name)
    env.update(HOME=str(workdir), TMPDIR="/tmp", MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1",
               TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    return env


def _limit_child(memory_mb: int, cgroup: Path | None) -> None:
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_NPROC, (PIDS_MAX, PIDS_MAX))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))
    if cgroup is not None:
        with contextlib.suppress(OSError):
            (cgroup / "cgroup.procs").write_text(str(os.getpid()))


def _wait(proc: subprocess.Popen, timeout_s: float, cgroup: Path | None) -> bool:
    try:
        proc.wait(timeout=timeout_s)
        timed_out = False
    except subprocess.TimeoutExpired:
        timed_out = True
    _kill_all(proc, cgroup)
    proc.wait()
    return timed_out


def _kill_all(proc: subprocess.Popen, cgroup: Path | None) -> None:
    """Nothing the code started outlives it: its process group, then anything in its cgroup."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    if cgroup is None:
        return
    for _ in range(50):
        try:
            pids = [int(p) for p in (cgroup / "cgroup.procs").read_text().split()]
        except OSError:
            return
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.02)


def _make_cgroup() -> Path | None:
    """A pids cgroup caps forks even when running as root (rlimits do not bind root)."""
    if os.geteuid() != 0 or not os.access(PIDS_CGROUP, os.W_OK):
        return None
    path = PIDS_CGROUP / f"tinyml-autopilot-{uuid.uuid4().hex[:8]}"
    try:
        path.mkdir()
        (path / "pids.max").write_text(str(PIDS_MAX))
    except OSError:
        return None
    return path


def _remove_cgroup(cgroup: Path | None) -> None:
    if cgroup is not None:
        with contextlib.suppress(OSError):
            cgroup.rmdir()


def _scrub(path: Path) -> None:
    """No secret stays in the output files (code outside bubblewrap can read the tool's environment)."""
    values = secret_values()
    if not values or not path.is_file() or path.stat().st_size > SCRUB_MAX_BYTES:
        return
    text = path.read_text(errors="surrogateescape")
    clean = redact(text, values)
    if clean != text:
        path.write_text(clean, errors="surrogateescape")


def _read(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    if len(data) > OUTPUT_LIMIT:
        data = data[: OUTPUT_LIMIT // 4] + b"\n[... output trimmed ...]\n" + data[-OUTPUT_LIMIT * 3 // 4:]
    return redact(data.decode("utf-8", "replace"))  # what a repair prompt may quote
