"""Control groups for one sandboxed run: a memory budget and a process cap that bind even root.

cgroup v2 (one folder with memory.max and pids.max) where its memory controller is delegated to
us, else the v1 memory and pids hierarchies (memory.limit_in_bytes, pids.max). Each group is
named after the tool's pid, so groups left by a killed run are recognised and removed.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
PREFIX = "tinyml-autopilot-"


@dataclass
class Group:
    """The cgroup folders a sandboxed process joins (one for v2, one per controller for v1)."""

    folders: list[Path] = field(default_factory=list)
    memory: Path | None = None  # the folder holding the memory limit
    version: str = ""
    caps_pids: bool = False

    def join(self) -> None:
        """Move the calling process in (runs in the child before exec)."""
        for folder in self.folders:
            with contextlib.suppress(OSError):
                (folder / "cgroup.procs").write_text(str(os.getpid()))

    def pids(self) -> set[int]:
        found: set[int] = set()
        for folder in self.folders:
            with contextlib.suppress(OSError):
                found |= {int(p) for p in (folder / "cgroup.procs").read_text().split()}
        return found

    def oom_killed(self) -> bool:
        """True if the kernel killed a process of this group for reaching the memory limit."""
        if self.memory is None:
            return False
        name = "memory.events" if self.version == "v2" else "memory.oom_control"
        with contextlib.suppress(OSError, ValueError):
            for line in (self.memory / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill" and int(value) > 0:
                    return True
        return False

    def peak_mb(self) -> float | None:
        if self.memory is None:
            return None
        name = "memory.peak" if self.version == "v2" else "memory.max_usage_in_bytes"
        with contextlib.suppress(OSError, ValueError):
            return round(int((self.memory / name).read_text()) / 2**20, 1)
        return None

    def remove(self) -> None:
        for folder in self.folders:
            _rmdir(folder)


def create(memory_mb: int, pids_max: int) -> Group:
    """A new group capping memory (process and the tmpfs pages it writes) and processes.

    Only root (or a delegated v2 subtree) may do this; the group is empty when it cannot."""
    _remove_stale_once()
    name = f"{PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    v2 = _own("0", "")
    if v2 is not None and "memory" in _controllers(v2):
        folder = v2 / name
        if _make(folder, {"memory.max": str(memory_mb << 20), "memory.swap.max": "0",
                          "pids.max": str(pids_max)}, required=("memory.max", "pids.max")):
            return Group([folder], folder, "v2", caps_pids=True)
    group = Group(version="v1")
    memory = _own(None, "memory")
    if memory is not None and _make(memory / name, {"memory.limit_in_bytes": str(memory_mb << 20),
                                                     "memory.memsw.limit_in_bytes": str(memory_mb << 20)},
                                    required=("memory.limit_in_bytes",)):
        group.folders.append(memory / name)
        group.memory = memory / name
    pids = _own(None, "pids")
    if pids is not None and _make(pids / name, {"pids.max": str(pids_max)}):
        group.folders.append(pids / name)
        group.caps_pids = True
    return group


def describe() -> str:
    """What `doctor` shows: which kind of group a sandboxed run would get here."""
    group = create(64, 64)
    try:
        parts = []
        if group.memory is not None:
            parts.append(f"memory (cgroup {group.version}: process and its files in RAM together)")
        if group.caps_pids:
            parts.append(f"processes (cgroup {group.version})")
        return ", ".join(parts)
    finally:
        group.remove()


def remove_stale() -> list[Path]:
    """Remove empty groups whose run is gone (its pid no longer alive); returns what was removed."""
    removed = []
    parents = [p for p in (_own("0", ""), _own(None, "memory"), _own(None, "pids")) if p is not None]
    for parent in dict.fromkeys(parents):
        with contextlib.suppress(OSError):
            for folder in parent.glob(f"{PREFIX}*"):
                if folder.is_dir() and _stale(folder) and _rmdir(folder, tries=1):
                    removed.append(folder)
    return removed


@cache
def _remove_stale_once() -> None:
    remove_stale()


def _stale(folder: Path) -> bool:
    owner = folder.name[len(PREFIX):].split("-")[0]
    if owner.isdigit() and len(folder.name[len(PREFIX):].split("-")) == 2:
        if int(owner) == os.getpid():
            return False
        return not Path(f"/proc/{owner}").exists()
    # an older name without the owner: stale once it has stood empty for a minute
    with contextlib.suppress(OSError):
        return time.time() - folder.stat().st_mtime > 60 and not (folder / "cgroup.procs").read_text().strip()
    return False


def _own(v2_id: str | None, controller: str) -> Path | None:
    """This process's cgroup folder for `controller` (v1) or the unified hierarchy (v2_id "0")."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        hid, controllers, path = line.split(":", 2)
        if v2_id is not None and hid == v2_id and controllers == "":
            base = ROOT if (ROOT / "cgroup.controllers").exists() else ROOT / "unified"
        elif v2_id is None and controller in controllers.split(","):
            base = ROOT / controller
        else:
            continue
        folder = base / path.lstrip("/")
        return folder if folder.is_dir() and os.access(folder, os.W_OK) else None
    return None


def _controllers(folder: Path) -> set[str]:
    with contextlib.suppress(OSError):
        return set((folder / "cgroup.subtree_control").read_text().split())
    return set()


def _make(folder: Path, settings: dict[str, str], required: tuple[str, ...] | None = None) -> bool:
    try:
        folder.mkdir()
    except OSError:
        return False
    for name, value in settings.items():
        try:
            (folder / name).write_text(value)
        except OSError:
            if required is None or name in required:
                _rmdir(folder)
                return False
    return True


def _rmdir(folder: Path, tries: int = 25) -> bool:
    """A group is removable once its last process has gone (which takes a moment after a kill)."""
    for _ in range(tries):
        try:
            folder.rmdir()
            return True
        except FileNotFoundError:
            return True
        except OSError:
            time.sleep(0.02)
    return False
