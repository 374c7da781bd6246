"""Progress of a running stage, attempt by attempt.

The loop tells a run's observers as each attempt starts and ends (`Run.notify`); the command
line attaches an `AttemptPrinter`, so the lines appear in the order things happen.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.status import Status


class AttemptPrinter:
    """A spinner while an attempt runs (on a terminal), then one verdict line per attempt.

    Attempts nest (the sketch task fills its spec inside its own attempt): the spinner shows the
    innermost one running.
    """

    def __init__(self, console: Console) -> None:
        self.console = console
        self._running: list[str] = []
        self._status: Status | None = None

    def __call__(self, event: str, task: str, number: int, record: dict[str, Any] | None) -> None:
        if event == "start":
            self._running.append(f"{task} attempt {number} running")
        elif event == "end":
            if self._running:
                self._running.pop()
            if record is not None:
                self.console.print(describe_attempt(task, record), highlight=False)
        self._show()

    def _show(self) -> None:
        if not self._running:
            if self._status is not None:
                self._status.stop()
                self._status = None
            return
        text = escape(self._running[-1])
        if self._status is None:
            self._status = self.console.status(text)
            self._status.start()
        else:
            self._status.update(text)


def describe_attempt(task: str, record: dict[str, Any]) -> str:
    """One line per finished attempt: verdict, time, LLM tokens, and how it failed."""
    if record.get("status") == "interrupted":
        seconds = record.get("duration_s", 0)
        return f"  [yellow]-[/] {task} attempt {record.get('number')}: not finished ({seconds:.1f} s)"
    ok = record.get("status") == "ok"
    mark = "[green]✓[/]" if ok else "[red]✗[/]"
    parts = [f"{record.get('duration_s', 0):.1f} s"]
    if record.get("tokens_in") or record.get("tokens_out"):
        parts.append(f"{record.get('tokens_in', 0)}+{record.get('tokens_out', 0)} tokens")
    text = f"  {mark} {task} attempt {record.get('number')}: {'ok' if ok else 'failed'} ({', '.join(parts)})"
    if not ok:
        checks = ", ".join(record.get("checks") or [])
        first = (record.get("error") or "").strip().splitlines()[:1]
        why = f"[{record.get('category')}{': ' + checks if checks else ''}] {first[0][:400] if first else ''}"
        text += " " + escape(why)
    return text
