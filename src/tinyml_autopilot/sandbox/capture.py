"""Reading a sandboxed program's output through a pipe, keeping only a bounded head and tail.

A program that prints a gigabyte costs the tool HEAD + 2 * TAIL bytes; what is kept is scrubbed
of every secret value, including a secret cut in two at the trimming point.
"""

from __future__ import annotations

import os
import threading

from ..secrets import redact, secret_values

HEAD = 64 * 1024
TAIL = 192 * 1024


class Capture:
    """Drains one pipe in a thread; `text()` is what is kept."""

    def __init__(self, fd: int):
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0
        self._fd = fd
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        try:
            while chunk := os.read(self._fd, 65536):
                self.total += len(chunk)
                room = HEAD - len(self.head)
                if room > 0:
                    self.head += chunk[:room]
                    chunk = chunk[room:]
                self.tail += chunk
                if len(self.tail) > 2 * TAIL:
                    del self.tail[:-TAIL]
        except OSError:
            pass
        finally:
            os.close(self._fd)

    def wait(self, timeout: float = 5.0) -> None:
        self._thread.join(timeout)

    def text(self) -> str:
        values = secret_values()
        tail = bytes(self.tail[-TAIL:])
        omitted = self.total - len(self.head) - len(tail)
        if omitted <= 0:
            return redact((bytes(self.head) + tail).decode("utf-8", "replace"), values)
        # a secret cut by the trimming would survive redaction in pieces: drop the edges it could span
        edge = max((len(v.encode()) for v in values), default=0)
        head, tail = bytes(self.head[:len(self.head) - edge]), tail[edge:]
        marker = f"\n[... {omitted + 2 * edge} bytes of output not kept ...]\n"
        return redact(head.decode("utf-8", "replace") + marker + tail.decode("utf-8", "replace"), values)


def trim(text: str, limit: int) -> str:
    """What a repair prompt may quote: a quarter from the start, the rest from the end."""
    if len(text) <= limit:
        return text
    return text[: limit // 4] + "\n[... output trimmed ...]\n" + text[-limit * 3 // 4:]
