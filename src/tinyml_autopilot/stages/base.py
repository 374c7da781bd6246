"""What every stage receives and returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from ..config import Settings
from ..llm import Model
from ..loop import Limits
from ..runs import Run


@dataclass
class StageContext:
    settings: Settings
    model: Model
    run: Run
    console: Console

    @property
    def limits(self) -> Limits:
        s = self.settings
        return Limits(max_attempts=s.max_attempts, cost_usd=s.cost_limit, wall_s=s.wall_limit)

    def confirm(self, question: str) -> bool:
        """Ask only when a person is there and --yes was not given."""
        import sys

        if self.settings.yes or not sys.stdin.isatty():
            return True
        from rich.prompt import Confirm

        return Confirm.ask(question, console=self.console, default=True)


@dataclass
class StageResult:
    """A stage's outcome as data: `figures` are its key numbers (accuracy, bytes, ...)."""

    stage: str
    status: str  # ok | failed
    run_dir: Path
    figures: dict[str, Any] = field(default_factory=dict)
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def as_json(self) -> dict[str, Any]:
        return {"stage": self.stage, "status": self.status, "run_dir": str(self.run_dir),
                "message": self.message, **self.figures}
