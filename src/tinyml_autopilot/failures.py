"""What a check finds, and the typed failures that send the repair loop round again."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Finding:
    """One failed check: which check, what is wrong, and where (line numbers in the code)."""

    check: str
    message: str
    lines: list[int] = field(default_factory=list)

    def __str__(self) -> str:
        where = f" (line {', '.join(map(str, self.lines))})" if self.lines else ""
        return f"[{self.check}] {self.message}{where}"


class AttemptFailed(Exception):
    """Base of the typed failures that send the loop round again."""

    category = "failed"

    def __init__(self, message: str, lines: list[int] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.lines = lines or []


class FormatError(AttemptFailed):
    category = "format"


class ExecutionFailed(AttemptFailed):
    """The code did not run (or did not compile, or misbehaved in the simulator)."""

    def __init__(self, message: str, lines: list[int] | None = None, category: str = "runtime"):
        super().__init__(message, lines)
        self.category = category


class CheckFailed(AttemptFailed):
    category = "check"

    def __init__(self, findings: list[Finding]) -> None:
        super().__init__("\n".join(str(f) for f in findings), sorted({n for f in findings for n in f.lines}))
        self.findings = findings

    @property
    def checks(self) -> list[str]:
        return sorted({f.check for f in self.findings})
