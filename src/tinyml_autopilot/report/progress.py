"""Live progress of a running stage, per task and attempt, read from its run folder.

A background thread watches attempts/<task>/<NN>/ appear and their attempt.json land, and prints
one line for each; it needs nothing from the stage itself and never holds a live display, so a
stage's own spinners keep working.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape


class StageWatcher:
    def __init__(self, stage_dir: Path, stage: str, console: Console, interval_s: float = 0.5,
                 enabled: bool = True) -> None:
        self.stage_dir, self.stage, self.console = Path(stage_dir), stage, console
        self.interval_s, self.enabled = interval_s, enabled
        self._seen_started: set[Path] = set()
        self._seen_done: set[Path] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"watch-{stage}", daemon=True)

    def __enter__(self) -> StageWatcher:
        if self.enabled:
            self._mark_existing()
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.enabled:
            self._stop.set()
            self._thread.join(timeout=5)
            self.poll()  # the attempts that finished since the last look

    def _mark_existing(self) -> None:
        """Attempts already there (a resumed stage) are not announced again."""
        for folder in self._folders():
            self._seen_started.add(folder)
            if (folder / "attempt.json").is_file():
                self._seen_done.add(folder)

    def _folders(self) -> list[Path]:
        return sorted(p for p in self.stage_dir.glob("attempts/*/*") if p.is_dir())

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.poll()
            except OSError:  # a folder being written: look again next time
                continue

    def poll(self) -> None:
        for folder in self._folders():
            task, number = folder.parent.name, folder.name
            if folder not in self._seen_started:
                self._seen_started.add(folder)
                self.console.print(f"  [cyan]…[/] {task} attempt {int(number)} running", highlight=False)
            record_file = folder / "attempt.json"
            if folder not in self._seen_done and record_file.is_file():
                record = _read(record_file)
                if record:
                    self._seen_done.add(folder)
                    self.console.print(describe_attempt(task, record), highlight=False)


def _read(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def describe_attempt(task: str, record: dict[str, Any]) -> str:
    """One line per finished attempt: verdict, time, LLM tokens, and how it failed."""
    ok = record.get("status") == "ok"
    mark = "[green]✓[/]" if ok else "[red]✗[/]"
    parts = [f"{record.get('duration_s', 0):.1f} s"]
    if record.get("tokens_in") or record.get("tokens_out"):
        parts.append(f"{record.get('tokens_in', 0)}+{record.get('tokens_out', 0)} tokens")
    text = f"  {mark} {task} attempt {record.get('number')}: {'ok' if ok else 'failed'} ({', '.join(parts)})"
    if not ok:
        checks = ", ".join(record.get("checks") or [])
        first = (record.get("error") or "").strip().splitlines()[:1]
        why = f"[{record.get('category')}{': ' + checks if checks else ''}] {first[0][:120] if first else ''}"
        text += " " + escape(why)
    return text
