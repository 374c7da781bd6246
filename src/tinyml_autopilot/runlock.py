"""One process at a time per run folder: an advisory lock the kernel drops when its holder dies.

The lock is `flock` on the folder's `run.lock`, which also names the holder (pid, host, start
time) for the one-line refusal. A holder killed with -9 holds nothing: the next run takes over.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
from datetime import datetime
from pathlib import Path
from typing import IO

from .errors import UserError

LOCK_NAME = "run.lock"
log = logging.getLogger(__name__)


class RunLock:
    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / LOCK_NAME
        self._file: IO[str] | None = None

    def acquire(self, command: str) -> None:
        """Take the lock or raise UserError naming who holds it."""
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(self.path)
            handle.close()
            raise UserError(f"{self.path.parent} is in use by {_describe(holder)}: wait for it to finish or stop "
                            f"it (kill {holder.get('pid', 'PID')}), then `{command}` again") from None
        except OSError as err:  # a filesystem without locks: run unguarded rather than not at all
            log.debug("cannot lock %s (%s): running without a lock", self.path, err)
            handle.close()
            return
        previous = _holder(self.path)
        if previous.get("pid") and previous.get("pid") != os.getpid():
            log.info("took over the lock of %s, which no longer runs", _describe(previous))
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                 "started": datetime.now().astimezone().isoformat(timespec="seconds")}) + "\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is None:
            return
        with contextlib.suppress(OSError):
            self._file.seek(0)
            self._file.truncate()
            fcntl.flock(self._file, fcntl.LOCK_UN)
        self._file.close()
        self._file = None


def _holder(path: Path) -> dict:
    try:
        data = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _describe(holder: dict) -> str:
    if not holder:
        return "another process"
    return (f"pid {holder.get('pid', '?')} on {holder.get('host', '?')} "
            f"(started {holder.get('started', 'at an unknown time')})")
