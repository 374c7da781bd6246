"""Types every sketch check shares: what a check sees (Context), what it returns (Result), and the
report of a whole run of the checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...boards import Board
from ...loop import Finding
from .facts import FeatureFacts, ModelFacts
from .libraries import Library
from .reader import Sketch

# (findings, message when passed); None when the check does not apply to this sketch
Result = tuple[list[Finding], str] | None


@dataclass
class ContractReport:
    runtime: str
    library: str | None
    findings: list[Finding] = field(default_factory=list)
    verdicts: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


@dataclass
class Context:
    sketch: Sketch
    facts: ModelFacts
    board: Board
    features: FeatureFacts
    runtime: str
    lib: Library | None  # the TFLite Micro library and the era of its API
    notes: list[str]

    @property
    def library(self) -> str | None:
        return self.lib.name if self.lib else None


def finding(check: str, message: str, lines: list[int] | None = None) -> Finding:
    return Finding(check=check, message=message, lines=sorted(set(lines or [])))
