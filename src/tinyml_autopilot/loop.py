"""The one generate -> extract -> run -> check -> repair loop every stage shares.

A stage describes its work as a `Task`; the loop asks the model (or the task's built-in
template when offline), runs the code, lets deterministic checks decide, and feeds every
failure back as a repair prompt. Each attempt is saved in `finally`, so nothing is lost.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .failures import AttemptFailed, CheckFailed, ExecutionFailed, Finding, FormatError
from .llm.base import Completion, Model
from .prompts import render
from .replies import echo, extract_code, failing_lines, trim
from .runs import Run
from .secrets import redact

_EXT = {"python": "py", "cpp": "ino", "c": "c", "json": "json"}
__all__ = ["AttemptFailed", "CheckFailed", "ExecutionFailed", "Finding", "FormatError", "Limits", "LoopResult",
           "Task", "extract_code", "failing_lines", "run_loop", "trim"]


class Task(Protocol):
    """What a stage gives the loop. `execute` and `check` raise AttemptFailed subclasses."""

    name: str
    language: str  # fence language asked for, e.g. "python", "cpp", "json"

    def messages(self) -> list[dict[str, str]]: ...
    def template(self) -> str: ...
    def execute(self, code: str, workdir: Path) -> Any: ...
    def check(self, outcome: Any, workdir: Path) -> None: ...


@dataclass
class Limits:
    max_attempts: int = 5
    cost_usd: float = 2.0
    wall_s: float = 1800.0


@dataclass
class AttemptRecord:
    number: int
    status: str  # ok | failed | interrupted
    category: str | None = None  # format | runtime | compile | simulation | check | timeout
    checks: list[str] = field(default_factory=list)
    error: str | None = None
    duration_s: float = 0.0
    llm_s: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float | None = None


@dataclass
class LoopResult:
    task: str
    status: str  # ok | failed
    attempts: list[AttemptRecord]
    code: str | None = None
    outcome: Any = None
    stopped_by: str | None = None  # attempts | cost | wall-time, when failed
    workdir: Path | None = None  # the folder of the attempt that passed

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def summary(self) -> dict[str, Any]:
        return {"task": self.task, "status": self.status, "attempts": len(self.attempts),
                "stopped_by": self.stopped_by, "failures": [a.category for a in self.attempts
                                                            if a.status == "failed"]}


def run_loop(task: Task, model: Model, run: Run, limits: Limits, parent: str | None = None) -> LoopResult:
    """Generate, run and check `task` until its checks pass or a limit is reached."""
    state = _resume_state(run, task)
    if state.done is not None:
        return state.done
    started = time.monotonic()
    while True:
        stop = _limit_reached(state.attempts, limits, started, model, _stage_cost(run))
        if stop:
            result = LoopResult(task.name, "failed", state.attempts, state.code, stopped_by=stop)
            run.write_json(f"attempts/{task.name}/result.json", result.summary())
            return result
        number = len(state.attempts) + 1
        outcome, record = _attempt(task, model, run, state, number, parent, started + limits.wall_s)
        state.attempts.append(record)
        if record.status == "ok":
            workdir = run.dir / "attempts" / task.name / f"{number:02d}"
            result = LoopResult(task.name, "ok", state.attempts, state.code, outcome, workdir=workdir)
            run.write_json(f"attempts/{task.name}/result.json", result.summary())
            return result


@dataclass
class _State:
    messages: list[dict[str, str]]
    attempts: list[AttemptRecord] = field(default_factory=list)
    code: str | None = None
    done: LoopResult | None = None


def _attempt(task: Task, model: Model, run: Run, state: _State, number: int, parent: str | None,
             deadline: float):
    folder = run.path("attempts", task.name, f"{number:02d}", ".keep").parent
    rel = folder.relative_to(run.dir)  # written through the run, so secrets are redacted
    record = AttemptRecord(number=number, status="failed")
    start = time.monotonic()
    reply: Completion | None = None
    outcome: Any = None
    text = ""
    settled = False
    stopped_by = "stopped by Ctrl-C or a signal"
    run.notify("start", task.name, number)
    try:
        with run.span("attempt", task.name, parent, attempt=number) as span:
            here = span["span_id"]  # the LLM call, execution and check are its children in the trace
            if model.offline:
                text = f"```{task.language}\n{task.template()}```"
            else:
                run.write_json(str(rel / "prompt.json"), state.messages)
                reply = model.complete(state.messages, run=run, parent=here, deadline=deadline,
                                       tags={"task": task.name, "attempt": number},
                                       reply_file=str(rel / "response.md"))
                text = reply.text
            run.write_text(str(rel / "response.md"), text)
            code = redact(extract_code(text, task.language))  # generated code never holds a key
            state.code = code
            run.write_text(str(rel / f"code.{_EXT.get(task.language, 'txt')}"), code)
            with run.span("execution", task.name, here, attempt=number):
                outcome = task.execute(code, folder)
            with run.span("check", task.name, here, attempt=number):
                task.check(outcome, folder)
            record.status = "ok"
            span["status"] = "ok"
    except AttemptFailed as err:
        settled = True
        record.category = err.category
        record.error = trim(err.message)
        record.checks = err.checks if isinstance(err, CheckFailed) else []
        state.messages = _next_messages(task, state, text, err)
    except Exception as err:  # a provider error (LLMError) or a fault of the stage's own code
        stopped_by = str(err).splitlines()[0][:300] if str(err) else type(err).__name__
        raise
    finally:
        if record.status != "ok" and not settled:  # stopped before a verdict: not a failure of the code
            record.status, record.error = "interrupted", f"the attempt was interrupted before it finished: {stopped_by}"
        record.duration_s = round(time.monotonic() - start, 3)
        run.scrub(folder)  # what the code wrote holds no key, whatever its size (removals are logged)
        if reply is not None:
            record.llm_s, record.cost_usd = reply.latency_s, reply.cost_usd
            record.tokens_in, record.tokens_out = reply.tokens_in, reply.tokens_out
        run.write_json(str(rel / "attempt.json"), asdict(record))
        run.log.debug("%s attempt %d: %s%s in %.1f s%s", task.name, number, record.status,
                      f" ({record.category})" if record.category else "", record.duration_s,
                      f": {record.error.strip().splitlines()[-1][:200]}" if record.error else "")
        if record.status == "failed":
            run.write_json(str(rel / "messages_next.json"), state.messages)
        run.notify("end", task.name, number, asdict(record))
    return outcome, record


def _next_messages(task: Task, state: _State, reply_text: str, err: AttemptFailed) -> list[dict]:
    repair = render(
        "repair.j2",
        category=err.category,
        error=trim(err.message),
        code_lines=failing_lines(state.code or "", err.lines) if state.code and err.lines else "",
        language=task.language,
    )
    return [*state.messages, {"role": "assistant", "content": echo(redact(reply_text), task.language)},
            {"role": "user", "content": repair}]


def _stage_cost(run: Run) -> float:
    """What the stage's LLM calls have cost so far, all its tasks together."""
    return sum(e.get("cost_usd") or 0 for e in run.trace_events() if e.get("kind") == "llm")


def _limit_reached(attempts: list[AttemptRecord], limits: Limits, started: float, model: Model, spent: float):
    if attempts and model.offline:
        return "attempts"  # a built-in template cannot be repaired: one try decides
    if len(attempts) >= limits.max_attempts:
        return "attempts"
    if spent >= limits.cost_usd > 0:
        return "cost"
    if time.monotonic() - started >= limits.wall_s:
        return "wall-time"
    return None


def _resume_state(run: Run, task: Task) -> _State:
    """Pick up a task's saved attempts so `--resume` continues where the run stopped."""
    state = _State(messages=task.messages())
    folder = run.dir / "attempts" / task.name
    for unfinished in sorted(folder.glob("[0-9][0-9]")):
        if unfinished.is_dir() and not (unfinished / "attempt.json").is_file():
            _record_unfinished(unfinished)  # the process died in it (kill -9, power loss): no `finally` ran
    for attempt_file in sorted(folder.glob("*/attempt.json")):
        record = AttemptRecord(**json.loads(attempt_file.read_text()))
        if record.status == "interrupted":  # kept aside; its number is tried again
            if "-" not in attempt_file.parent.name:
                _set_aside(attempt_file.parent)
            continue
        state.attempts.append(record)
        nxt = attempt_file.parent / "messages_next.json"
        if record.status == "failed" and nxt.is_file():
            state.messages = json.loads(nxt.read_text())
    if state.attempts and state.attempts[-1].status == "ok":
        last = state.attempts[-1]
        code = _saved_code(folder / f"{last.number:02d}", task.language)
        state.done = LoopResult(task.name, "ok", state.attempts, code, outcome=None,
                                workdir=folder / f"{last.number:02d}")
    return state


def _record_unfinished(folder: Path) -> None:
    """An attempt folder without attempt.json: recorded as interrupted, to be set aside like a Ctrl-C'd one."""
    record = AttemptRecord(number=int(folder.name), status="interrupted",
                           error="the attempt was interrupted before it finished: the process ended "
                                 "without saving it (killed, or the machine stopped)")
    (folder / "attempt.json").write_text(json.dumps(asdict(record), indent=2) + "\n")


def _set_aside(folder: Path) -> None:
    """01 -> 01-interrupted (01-interrupted-2 when that attempt was interrupted before too)."""
    target, n = folder.with_name(f"{folder.name}-interrupted"), 1
    while target.exists():
        n += 1
        target = folder.with_name(f"{folder.name}-interrupted-{n}")
    folder.rename(target)


def _saved_code(folder: Path, language: str) -> str | None:
    response = folder / "response.md"
    return extract_code(response.read_text(), language) if response.is_file() else None
