"""One bubblewrap run whose writable folder is a size-capped tmpfs.

The sandboxed shell reports when the namespace is ready; the host opens the tmpfs through
/proc/<pid>/root, seeds it with what the real folder holds, then lets the code start. After the
run the same descriptor (which keeps the tmpfs alive) is copied back, links refused.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
from functools import cache
from pathlib import Path

from . import folder, visible

OUTPUT_FILES = (".stdout", ".stderr")  # written by the tool, never taken from the code's folder
CHILD_FDS = (3, 4, 5)  # bubblewrap's info, "ready" and "go" pipes, as the sandboxed shell sees them
_START = 'echo >&4; read _ <&5 || exit 125; exec 3>&- 4>&- 5<&-; exec "$@"'


@cache
def bwrap_works() -> bool:
    exe = shutil.which("bwrap")
    if not exe:
        return False
    probe = subprocess.run([exe, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--size",
                            str(1 << 20), "--tmpfs", "/tmp", "--unshare-net", "--unshare-pid", "true"],
                           capture_output=True)
    return probe.returncode == 0


class Bubblewrap:
    """Arguments and pipes of one run; `started()` after Popen, `finish()` after the code ended."""

    def __init__(self, workdir: Path, disk_mb: int, skip: tuple[str, ...] = OUTPUT_FILES):
        self.workdir, self.disk_mb, self.skip = workdir, disk_mb, skip
        self.info_r, self.info_w = os.pipe()
        self.ready_r, self.ready_w = os.pipe()
        self.go_r, self.go_w = os.pipe()
        self.folder_fd: int | None = None
        self.seed_error: OSError | None = None
        self.seeded: list[Path] = []

    def fds(self) -> tuple[int, ...]:
        return self.info_w, self.ready_w, self.go_r

    def prefix(self, command: list[str], readable: list[Path], memory_mb: int, fenced: bool,
               python: str | None) -> list[str]:
        readable = [*readable, *visible.program(command[0])]
        # Files in a tmpfs live in RAM: a memory cgroup counts them; without one, the sizes share the budget
        tmp = str((memory_mb // 2 if fenced else memory_mb // 8) << 20)
        inputs = [p for p in readable if not visible.inside(Path(p).resolve(), self.workdir)]
        return ["bwrap", *visible.system_args(), "--dev", "/dev", "--proc", "/proc",
                "--size", tmp, "--tmpfs", "/tmp", "--size", tmp, "--tmpfs", "/dev/shm",
                *visible.extra_args(inputs, python),
                "--size", str(self.disk_mb << 20), "--tmpfs", str(self.workdir), "--remount-ro", "/",
                "--chdir", str(self.workdir), "--unshare-net", "--unshare-pid", "--unshare-ipc",
                "--unshare-uts", "--new-session", "--die-with-parent", "--info-fd", "3",
                "--", "/bin/sh", "-c", _START, "sh"]

    def started(self) -> None:
        """Seed the sandbox's folder with what the real one holds, then let the code start."""
        for fd in self.fds():
            os.close(fd)
        try:
            info = json.loads(_read_json(self.info_r))
            if os.read(self.ready_r, 1) and "child-pid" in info:  # empty: bubblewrap failed to start
                self.folder_fd = os.open(f"/proc/{info['child-pid']}/root{self.workdir}",
                                         os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
                self.seeded = folder.seed(self.workdir, self.folder_fd, skip=self.skip)
            os.write(self.go_w, b"\n")
        except OSError as err:  # e.g. a folder bigger than the cap: the code does not start
            self.seed_error = err
        finally:
            for fd in (self.info_r, self.ready_r, self.go_w):
                os.close(fd)

    def close_unstarted(self) -> None:
        for fd in (*self.fds(), self.info_r, self.ready_r, self.go_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    def finish(self) -> tuple[list[str], bool]:
        """Copy back what the code wrote (at most the cap): (links and special files refused, cap reached)."""
        if self.folder_fd is None:
            return [], False
        try:
            st = os.statvfs(self.folder_fd)
            full = st.f_bavail * st.f_frsize < max(st.f_blocks * st.f_frsize // 100, 1 << 16)
            return folder.collect(self.folder_fd, self.workdir, skip=self.skip, seeded=self.seeded), full
        finally:
            os.close(self.folder_fd)
            self.folder_fd = None


def _read_json(fd: int) -> bytes:
    data = b""
    while b"}" not in data and (chunk := os.read(fd, 4096)):
        data += chunk
    return data if b"}" in data else b"{}"
