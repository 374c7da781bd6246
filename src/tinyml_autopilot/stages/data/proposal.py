"""The operations table: its schema, the rule-based proposal, its checks and the user's review."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator
from rich.table import Table

from ...errors import UserError
from ...loop import Finding
from . import operations
from .profile import features


class Operation(BaseModel):
    step: int = 0
    operation: str
    reason: str = ""
    columns: list[str] = Field(default_factory=list)

    @field_validator("operation")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("operation must not be empty")
        return operations.canonical(value)


class OperationsTable(BaseModel):
    operations: list[Operation]
    window: int | None = Field(None, ge=1)
    stride: int | None = Field(None, ge=1)
    sample_rate_hz: float | None = Field(None, gt=0)


def parse(text: str) -> OperationsTable:
    """JSON (an object with "operations", or a bare list) or YAML; ValueError says what is wrong."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        if text.lstrip()[:1] in ("{", "["):
            raise ValueError(f"not valid JSON: {err}") from err
        try:
            import yaml

            data = yaml.safe_load(text)
        except yaml.YAMLError:
            raise ValueError(f"not valid JSON: {err}") from err
    if isinstance(data, list):
        data = {"operations": data}
    try:
        table = OperationsTable.model_validate(data)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors()[:8])
        raise ValueError(f"the operations table does not match the schema: {problems}") from err
    return renumber(table)


def renumber(table: OperationsTable) -> OperationsTable:
    for number, op in enumerate(table.operations, start=1):
        op.step = number
    return table


def propose(profile: dict[str, Any]) -> OperationsTable:
    """The offline proposal: deterministic rules over the profile."""
    ops: list[Operation] = []
    drop = [c["name"] for c in profile["columns"] if c["role"] in ("id", "constant", "text")
            or c["role"] == "index" and c["name"] != profile["time"]]
    if drop:
        ops.append(Operation(operation="drop_columns", columns=drop,
                             reason="identifier, row-counter, constant or free-text columns carry no signal"))
    numbers = [c["name"] for c in profile["columns"] if c["type"] == "string-number" and c["name"] not in drop]
    if numbers:
        ops.append(Operation(operation="coerce_numeric", columns=numbers,
                             reason="numbers stored as text; unparsable entries become missing"))
    if len(profile["classes_normalised"]) < len(profile["classes"]):
        ops.append(Operation(operation="normalise_labels", columns=[profile["label"]],
                             reason="labels differ only in case, spacing or separators"))
    if profile["duplicate_rows"] and profile["kind"] == "tabular":
        ops.append(Operation(operation="deduplicate", reason=f"{profile['duplicate_rows']} duplicate rows"))
    missing = [c["name"] for c in profile["columns"] if c["name"] in features(profile)
               and (c["missing"] or c.get("unparsable"))]
    if missing or profile["missing_labels"]:
        ops.append(Operation(operation="impute", columns=missing,
                             reason="fill missing values (median, or neighbours within a recording); "
                                    + ("rows without a label stay: no window spans them"
                                       if profile["kind"] == "timeseries" else "drop rows without a label")))
    if profile["kind"] == "timeseries":
        ops.append(Operation(operation="window", reason="fixed-length windows are what the device will see"))
    by = profile["group"] or ("recording" if profile["kind"] == "timeseries" else None)
    ops.append(Operation(operation="split", reason=(f"the given split {profile['split_column']!r}"
                                                    if profile.get("split_column") else "stratified train/val/test")
                         + (f", grouped by {by}" if by else "")))
    ops.append(Operation(operation="scale", reason="standardise with constants fitted on the training split"))
    return renumber(OperationsTable(operations=ops))


def review(table: OperationsTable, profile: dict[str, Any], offline: bool) -> list[Finding]:
    """What is wrong with a table (empty when it can be run)."""
    found: list[Finding] = []
    names = [op.operation for op in table.operations]
    required = [r for r in operations.REQUIRED if r != "window" or profile["kind"] == "timeseries"]
    tail = [n for n in names if n in operations.REQUIRED]
    if tail != required:
        found.append(Finding("order", f"the table must contain {', '.join(required)} exactly once, in that "
                                      f"order (found: {', '.join(tail) or 'none'})"))
    if tail and names[-len(tail):] != tail:
        found.append(Finding("order", "cleaning operations must come before window/split/scale"))
    known = {c["name"] for c in profile["columns"]} | {profile["label"]}
    protected = {profile["label"], profile["group"], profile.get("segment"), profile["time"],
                 profile.get("split_column")} - {None}
    for op in table.operations:
        unknown = [c for c in op.columns if c not in known]
        if unknown:
            found.append(Finding("columns", f"step {op.step} ({op.operation}) names unknown columns "
                                            f"{unknown}; the columns are {sorted(known)}"))
        if op.operation == "drop_columns" and protected & set(op.columns):
            found.append(Finding("columns", f"step {op.step} would drop {sorted(protected & set(op.columns))}: "
                                            "the label, id, time and split columns must stay"))
        if offline and not operations.has_template(op.operation):
            found.append(Finding("operation", f"no built-in implementation of '{op.operation}' "
                                              "(offline): remove the step or use an LLM"))
    return found + _gaps_and_window(table, profile)


def _gaps_and_window(table: OperationsTable, profile: dict[str, Any]) -> list[Finding]:
    """Missing values need a step that fills them; a window must fit in a recording."""
    found = []
    names = {op.operation for op in table.operations}
    gaps = [c["name"] for c in profile["columns"] if c["name"] in features(profile)
            and (c["missing"] or c.get("unparsable"))]
    own = any(not operations.has_template(n) for n in names)  # a step of the LLM's own may fill them
    if gaps and "impute" not in names and not own:
        found.append(Finding("missing", f"columns {gaps[:8]} have missing values: add an impute step before "
                                        "window/split"))
    longest = (profile.get("rows_per_recording") or {}).get("max")
    if table.window and longest and table.window > longest:
        found.append(Finding("window", f"window {table.window} is longer than every recording (at most "
                                       f"{longest} samples): propose a shorter one"))
    return found


def apply_user_choices(table: OperationsTable, drop_steps: list[int], ops_file: Path | None) -> OperationsTable:
    if ops_file is not None:
        if not ops_file.is_file():
            raise UserError(f"operations file {ops_file} not found: check --ops-file")
        try:
            table = parse(ops_file.read_text())
        except ValueError as err:
            raise UserError(f"--ops-file {ops_file}: {err}") from err
    if drop_steps:
        numbers = {op.step for op in table.operations}
        bad = sorted(set(drop_steps) - numbers)
        if bad:
            raise UserError(f"--drop-step {bad[0]}: there is no such step (steps are 1..{len(numbers)})")
        required = [op.step for op in table.operations if op.operation in operations.REQUIRED]
        kept = sorted(set(drop_steps) & set(required))
        if kept:
            raise UserError(f"--drop-step {kept[0]}: window, split and scale are required and cannot be dropped")
        table = table.model_copy(update={"operations": [op for op in table.operations
                                                        if op.step not in set(drop_steps)]})
    return renumber(table)


def interactive_edit(table: OperationsTable, profile: dict[str, Any], offline: bool, console) -> OperationsTable:
    """Ask until accepted: 'drop N' or 'edit N col1,col2' (only when a person is at the terminal).

    A change the table cannot run with is refused on the spot, so nothing typed is lost to a late error.
    """
    from rich.markup import escape
    from rich.prompt import Prompt

    usage = "Enter to accept, 'drop N', or 'edit N col1,col2'"
    while True:
        answer = Prompt.ask(usage, console=console, default="", show_default=False)
        words = answer.split(maxsplit=2)
        if not words:
            return table
        try:
            changed = _edited(table, words)
        except ValueError as err:
            console.print(f"[yellow]{escape(str(err))}[/]", highlight=False)
            continue
        findings = review(changed, profile, offline)
        if findings:
            console.print(f"[yellow]not changed: {escape(str(findings[0]))}[/]", highlight=False)
            continue
        table = changed
        show(table, console)


def _edited(table: OperationsTable, words: list[str]) -> OperationsTable:
    """A copy of the table with one answer applied; ValueError says what was not understood."""
    if words[0] not in ("drop", "edit") or len(words) < 2 or not words[1].isdigit():
        raise ValueError(f"not understood: {' '.join(words)!r} (type 'drop 2', 'edit 1 col_a,col_b' or press Enter)")
    step = int(words[1])
    if step not in {op.step for op in table.operations}:
        raise ValueError(f"there is no step {step} (steps are 1..{len(table.operations)})")
    if words[0] == "drop":
        if next(o for o in table.operations if o.step == step).operation in operations.REQUIRED:
            raise ValueError(f"step {step} is required (window, split and scale cannot be dropped)")
        return renumber(table.model_copy(update={"operations": [o.model_copy() for o in table.operations
                                                                if o.step != step]}))
    copy = table.model_copy(update={"operations": [o.model_copy() for o in table.operations]})
    op = next(o for o in copy.operations if o.step == step)
    op.columns = [c.strip() for c in (words[2] if len(words) > 2 else "").split(",") if c.strip()]
    return copy


def show(table: OperationsTable, console) -> None:
    view = Table(title="Operations")
    for head in ("step", "operation", "reason", "columns"):
        view.add_column(head)
    for op in table.operations:
        view.add_row(str(op.step), op.operation, op.reason, ", ".join(op.columns))
    console.print(view)
