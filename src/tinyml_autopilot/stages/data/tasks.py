"""The loop Tasks of the data stage: the operations table (JSON) and one script per step."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...checks import dataset, dataset_arrays
from ...loop import ExecutionFailed, FormatError
from ...prompts import render
from ...sandbox.python import run_python
from . import operations, proposal

TRACE_LINE = re.compile(r'File "[^"]*code\.py", line (\d+)')
CHECKS: dict[str, Callable[[Path, Path, dict[str, Any]], None]] = {
    "load": dataset.check_load, "table": dataset.check_table, "window": dataset_arrays.check_windows,
    "split": dataset_arrays.check_split, "scale": dataset_arrays.check_scaled,
}


@dataclass
class OpsTableTask:
    """Ask for the operations table; the reply is validated against the schema and the profile."""

    profile: dict[str, Any]
    description: str
    offline: bool
    hints: dict[str, Any] = field(default_factory=dict)
    name: str = "data-operations"
    language: str = "json"

    def messages(self) -> list[dict[str, str]]:
        prompt = render("data_ops.j2", profile=json.dumps(self.profile, indent=1), description=self.description,
                        operations=list(operations.BODIES)[1:], kind=self.profile["kind"], hints=self.hints)
        return [{"role": "system", "content": render("data_system.j2")}, {"role": "user", "content": prompt}]

    def template(self) -> str:
        return proposal.propose(self.profile).model_dump_json(indent=2)

    def execute(self, code: str, workdir: Path) -> proposal.OperationsTable:
        try:
            return proposal.parse(code)
        except ValueError as err:
            raise FormatError(f"{err}. Reply with one ```json block: " + '{"operations": [{"step": 1, '
                              '"operation": ..., "reason": ..., "columns": [...]}, ...]}') from err

    def check(self, outcome: proposal.OperationsTable, workdir: Path) -> None:
        from ...loop import CheckFailed

        findings = proposal.review(outcome, self.profile, self.offline)
        if findings:
            raise CheckFailed(findings)
        (workdir / "operations.json").write_text(outcome.model_dump_json(indent=2))


@dataclass
class StepTask:
    """One operation: a script reading `source` (the previous step's output) and writing `out/`."""

    name: str
    operation: str
    source: Path
    config: dict[str, Any]
    context: dict[str, Any]  # what the prompt shows: description, profile, reason
    expect: dict[str, Any] = field(default_factory=dict)  # what only the checks need
    timeout_s: float = 600
    memory_mb: int = 6144
    readable: list[Path] = field(default_factory=list)  # inputs besides `source` the script may read
    language: str = "python"

    @property
    def phase(self) -> str:
        return operations.phase(self.operation)

    def messages(self) -> list[dict[str, str]]:
        prompt = render("data_step.j2", operation=self.operation, phase=self.phase,
                        config=json.dumps(self.config, indent=1), **self.context)
        return [{"role": "system", "content": render("data_system.j2")}, {"role": "user", "content": prompt}]

    def template(self) -> str:
        return operations.code_for(self.operation, self.config)

    def execute(self, code: str, workdir: Path) -> Path:
        try:
            tree = ast.parse(code)
        except SyntaxError as err:
            raise ExecutionFailed(f"SyntaxError: {err.msg}", lines=[err.lineno or 1]) from err
        if not any(isinstance(n, ast.FunctionDef) and n.name == "run" for n in tree.body):
            raise ExecutionFailed("the script must define a top-level function run(in_dir, out_dir)")
        out = workdir / "out"
        result = run_python(workdir / "code.py", workdir, args=[str(self.source), str(out)],
                            timeout_s=self.timeout_s, memory_mb=self.memory_mb, readable=[self.source, *self.readable])
        if not result.ok:
            lines = [int(n) for n in TRACE_LINE.findall(result.stderr)][-1:]
            raise ExecutionFailed(result.describe(), lines=lines,
                                  category="timeout" if result.timed_out else "runtime")
        if not out.is_dir():
            raise ExecutionFailed(f"the script wrote nothing to the output folder {out} (its second argument)")
        return out

    def check(self, outcome: Path, workdir: Path) -> None:
        CHECKS[self.phase](self.source, workdir / "out", {**self.config, **self.expect})
