"""Run generated code away from the tool: bubblewrap isolation, time/memory/disk/process limits.

Layers, each independent: bubblewrap shows a default-deny, read-only view (visible.py), a fresh
/tmp and no network; the attempt folder is a tmpfs of the disk cap, seeded and copied back
without following links (folder.py); a cgroup holds the memory budget (the process and every
file it keeps in RAM) and the process cap (cgroups.py); output is read through pipes, bounded
(capture.py); the process group, the cgroup and the pid namespace are killed on timeout.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import resource
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from ..secrets import clean_env
from . import cgroups, folder
from .bwrap import CHILD_FDS, OUTPUT_FILES, Bubblewrap, bwrap_works
from .capture import Capture, trim

log = logging.getLogger(__name__)
OUTPUT_LIMIT = 20_000
PIDS_MAX = 512
MIN_DISK_MB = 64


@dataclass
class ExecResult:
    returncode: int | None
    stdout: str
    stderr: str
    duration_s: float
    timed_out: bool = False
    out_of_memory: bool = False
    isolation: str = "subprocess"
    disk_full: bool = False
    links: list[str] = field(default_factory=list)  # what the code left as links (refused)
    memory_mb: int | None = None
    disk_mb: int | None = None
    peak_memory_mb: float | None = None

    @property
    def ok(self) -> bool:
        return (self.returncode == 0 and not self.timed_out and not self.out_of_memory
                and not self.disk_full and not self.links)

    def describe(self) -> str:
        """One paragraph saying what went wrong, for a repair prompt or a log."""
        tail = self.stderr[-1500:]
        if self.timed_out:
            return f"killed after {self.duration_s:.0f}s: the time limit was reached\n{tail}"
        if self.out_of_memory:
            return (f"ran out of memory: the sandbox's memory limit ({self.memory_mb} MB for the process and "
                    f"its files in /tmp, /dev/shm and its folder together) was reached\n{tail}")
        if self.disk_full:
            return (f"stopped by the disk limit: the attempt folder holds at most {self.disk_mb} MB; "
                    f"nothing written beyond that was kept\n{tail}")
        if self.links:
            return ("the code left symbolic links instead of files (links are neither followed nor kept; "
                    "write regular files): " + "; ".join(self.links[:10]))
        if self.returncode and self.returncode < 0:
            return f"killed by signal {-self.returncode}\n{tail}"
        return self.stderr or self.stdout or f"exit code {self.returncode}"


@cache
def isolation() -> str:
    """'bubblewrap' when it runs here (0.5 or later, for sized tmpfs), else 'subprocess'."""
    if bwrap_works():
        return "bubblewrap"
    log.warning("bubblewrap is not usable here: generated code runs in a plain subprocess with "
                "limits but without filesystem or network isolation (install: apt-get install bubblewrap)")
    return "subprocess"


def disk_limit_mb(memory_mb: int) -> int:
    """The attempt folder's cap: a quarter of the memory budget (its files live in RAM)."""
    return max(MIN_DISK_MB, memory_mb // 4)


def _visible_path(python: str) -> str:
    """The interpreter by its folder's real path: the sandbox shows resolved folders, so a venv
    reached through a linked folder would not be found there. The file itself stays a link, since
    a venv's interpreter finds its packages from the path it was started by."""
    path = Path(python)
    return str(path.parent.resolve() / path.name) if path.is_absolute() else python


def run_python(script: Path, workdir: Path, *, args: list[str] | None = None,
               timeout_s: float = 600, memory_mb: int = 6144,
               readable: list[Path] | None = None, python: str | None = None) -> ExecResult:
    """Run `script` with `workdir` as its only writable folder; never raises for the code's faults."""
    workdir = workdir.resolve()
    command = [_visible_path(python or sys.executable), "-I", "-u", "-B", str(script), *(args or [])]
    return run_command(command, workdir, timeout_s=timeout_s, memory_mb=memory_mb,
                       readable=[*(readable or []), Path(script)], python=python)


def run_command(command: list[str], workdir: Path, *, timeout_s: float, memory_mb: int,
                readable: list[Path] | None = None, disk_mb: int | None = None,
                env: dict[str, str] | None = None, python: str | None = None,
                output_limit: int = OUTPUT_LIMIT) -> ExecResult:
    """Run any program (an interpreter, a compiler, a simulator) in `workdir`, its only writable
    folder, with `readable` visible read-only; never raises for the program's faults."""
    workdir = Path(workdir).resolve()
    disk_mb = disk_mb or disk_limit_mb(memory_mb)
    mode = isolation()
    group = cgroups.create(memory_mb, PIDS_MAX)
    fenced = group.memory is not None
    sandbox = Bubblewrap(workdir, disk_mb, skip=OUTPUT_FILES) if mode == "bubblewrap" else None
    if sandbox is not None:
        command = sandbox.prefix(command, readable or [], memory_mb, fenced, python) + command
    before = set() if sandbox else {p for p in workdir.rglob("*") if not p.is_dir()}
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    start = time.monotonic()
    proc: subprocess.Popen | None = None
    timed_out = disk_full = False
    refused: list[str] = []
    try:
        proc = subprocess.Popen(
            command, cwd=workdir, stdout=out_w, stderr=err_w, stdin=subprocess.DEVNULL,
            env={**_sandbox_env(workdir), **(env or {})}, start_new_session=True,
            pass_fds=CHILD_FDS if sandbox else (),
            preexec_fn=lambda: _limit_child(memory_mb, disk_mb, fenced, group, sandbox))
        os.close(out_w)
        os.close(err_w)
        captures = Capture(out_r), Capture(err_r)
        if sandbox is not None:
            sandbox.started()
        timed_out, disk_full = _wait(proc, start + timeout_s, group, None if sandbox else (workdir, disk_mb))
    finally:  # also on Ctrl-C: nothing the code started outlives the tool
        if proc is not None and proc.returncode is None:
            _kill_all(proc, group)
            proc.wait()
        elif proc is None:
            for fd in (out_r, out_w, err_r, err_w):
                with contextlib.suppress(OSError):
                    os.close(fd)
            if sandbox is not None:
                sandbox.close_unstarted()
        if sandbox is not None:
            refused, disk_full = sandbox.finish()
        out_of_memory = group.oom_killed()
        peak = group.peak_mb()
        group.remove()
    if sandbox is None:
        refused = _drop_links(workdir)
        if disk_full:  # what it wrote past the polled cap is not kept
            _remove_new(workdir, before)
    texts = []
    for capture in captures:
        capture.wait()
        texts.append(capture.text())
    if sandbox is not None and sandbox.seed_error is not None:
        texts[1] += f"\nthe sandbox's folder could not be prepared: {sandbox.seed_error}\n"
        disk_full = disk_full or sandbox.seed_error.errno == errno.ENOSPC
    for text, name in zip(texts, OUTPUT_FILES, strict=True):
        (workdir / name).write_text(text, errors="surrogateescape")
    links = [r for r in refused if " -> " in r]
    out_of_memory = out_of_memory or any(m in texts[1] for m in ("MemoryError", "std::bad_alloc",
                                                                  "Cannot allocate memory"))
    return ExecResult(
        returncode=proc.returncode, stdout=trim(texts[0], output_limit), stderr=trim(texts[1], output_limit),
        duration_s=round(time.monotonic() - start, 3), timed_out=timed_out, out_of_memory=out_of_memory,
        isolation=mode, disk_full=disk_full and not out_of_memory, links=links, memory_mb=memory_mb,
        disk_mb=disk_mb, peak_memory_mb=peak)


def _drop_links(workdir: Path) -> list[str]:
    """Without bubblewrap the code wrote into the real folder: its links are findings, and removed."""
    found = folder.links_under(workdir)
    for entry in found:
        with contextlib.suppress(OSError):
            (workdir / entry.split(" -> ")[0]).unlink()
    return found


def _remove_new(workdir: Path, before: set[Path]) -> None:
    for path in workdir.rglob("*"):
        if path not in before and not path.is_dir() and path.name not in OUTPUT_FILES:
            path.unlink(missing_ok=True)


def _sandbox_env(workdir: Path) -> dict[str, str]:
    env = clean_env()
    for name in list(env):
        if name.startswith(("LITELLM", "LANGFUSE", "LANGSMITH", "TINYML_", "SSH_", "DBUS_", "XDG_", "DOCKER_")):
            env.pop(name)
    env.update(HOME=str(workdir), TMPDIR="/tmp", MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1",
               TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    return env


def _limit_child(memory_mb: int, disk_mb: int, fenced: bool, group: cgroups.Group,
                 sandbox: Bubblewrap | None) -> None:
    if sandbox is not None:  # the pipes at fixed numbers (a POSIX shell names fds 0-9 only)
        high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in sandbox.fds()]
        for fd, target in zip(high, CHILD_FDS, strict=True):
            os.dup2(fd, target, inheritable=True)
    if not fenced:  # no memory cgroup: the address space takes what the tmpfs sizes leave of the budget
        limit = (memory_mb - memory_mb // 4 - disk_mb) << 20
        resource.setrlimit(resource.RLIMIT_AS, (max(limit, 64 << 20),) * 2)
    resource.setrlimit(resource.RLIMIT_NPROC, (PIDS_MAX, PIDS_MAX))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # inside bubblewrap every writable folder is a sized tmpfs; outside, no file exceeds the disk cap
    file_mb = memory_mb if sandbox is not None else disk_mb
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_mb << 20,) * 2)
    group.join()


def _wait(proc: subprocess.Popen, deadline: float, group: cgroups.Group,
          watch: tuple[Path, int] | None) -> tuple[bool, bool]:
    """(timed out, over the disk cap); `watch` is the folder whose size is polled without bubblewrap."""
    timed_out = disk_full = False
    while True:
        try:
            proc.wait(timeout=0.25 if watch else max(0.0, deadline - time.monotonic()))
            break
        except subprocess.TimeoutExpired:
            if watch and _size(watch[0]) > watch[1] << 20:
                disk_full = True
                break
            if time.monotonic() >= deadline:
                timed_out = True
                break
    _kill_all(proc, group)
    proc.wait()
    return timed_out, disk_full


def _size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
    return total


def _kill_all(proc: subprocess.Popen, group: cgroups.Group) -> None:
    """Nothing the code started outlives it: its process group, then anything in its cgroups."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    for _ in range(50):
        pids = group.pids()
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.02)
