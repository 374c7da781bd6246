"""Which isolation and limits a sandboxed run gets on this machine (for `doctor`)."""

from __future__ import annotations

from . import capture, cgroups
from .python import PIDS_MAX, disk_limit_mb, isolation


def limits(memory_mb: int) -> list[tuple[str, bool, str]]:
    """(name, fully active, what holds) for each guarantee."""
    boxed = isolation() == "bubblewrap"
    group = cgroups.create(64, 64)
    group.remove()
    fenced = group.memory is not None
    disk = disk_limit_mb(memory_mb)
    return [
        ("visible", boxed,
         "system folders, the Python environment and the stage's inputs read-only, its own folder writable; "
         "no working directory, home folder, /run, host sockets or network" if boxed else
         "everything the tool's user can read (no bubblewrap)"),
        ("memory", fenced,
         f"cgroup {group.version} memory limit {memory_mb} MB for the process and its files in /tmp, /dev/shm "
         "and its folder together (sandbox_memory_mb)" if fenced else
         f"no memory cgroup (needs root or a delegated cgroup v2): address space {memory_mb // 2} MB, /tmp and "
         f"/dev/shm {memory_mb // 8} MB each, folder {disk} MB, together {memory_mb} MB (sandbox_memory_mb)"),
        ("disk", boxed,
         f"attempt folder: a {disk} MB tmpfs (a quarter of sandbox_memory_mb), copied back without links"
         if boxed else f"attempt folder: polled total of {disk} MB, each file at most {disk} MB"),
        ("processes", group.caps_pids,
         f"cgroup {group.version} pids.max {PIDS_MAX}" if group.caps_pids else
         f"RLIMIT_NPROC {PIDS_MAX} (does not bind root)"),
        ("output", True, f"stdout and stderr: the first {capture.HEAD // 1024} KB and the last "
                         f"{capture.TAIL // 1024} KB kept, secrets scrubbed"),
    ]
