"""Run folders: inputs, attempts, artifacts, metrics.json and trace.jsonl, all written as they happen."""

from __future__ import annotations

import json
import logging
import secrets as _random
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .errors import UserError
from .runlock import RunLock
from .scrub import scrub_tree
from .secrets import redact

KEEP_INPUT_MAX_BYTES = 200 * 1024 * 1024


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    if hasattr(obj, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(obj)
    return str(obj)


def dumps(obj: Any) -> str:
    return redact(json.dumps(obj, indent=2, default=_jsonable, sort_keys=False))


@dataclass
class Run:
    """One stage run's folder. Everything written through it is redacted of secrets."""

    dir: Path
    stage: str
    trace_id: str
    metrics: dict[str, Any] = field(default_factory=dict)
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("tinyml_autopilot"))
    # called as the loop starts and ends each attempt: observer(event, task, number, record or None)
    observers: list[Callable[[str, str, int, dict | None], None]] = field(default_factory=list)
    _lock: RunLock | None = field(default=None, init=False, repr=False)

    @classmethod
    def create(cls, out: Path, stage: str, inputs: dict[str, Any] | None = None) -> Run:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        run_dir = Path(out) / f"{stamp}-{stage}-{_random.token_hex(3)}"
        try:
            run_dir.mkdir(parents=True)
        except OSError as err:
            raise UserError(f"cannot create run folder under {out}: {err.strerror}; check --out") from err
        run = cls(dir=run_dir.resolve(), stage=stage, trace_id=uuid.uuid4().hex)
        run._start_logging()
        run.write_json("run.json", {"stage": stage, "trace_id": run.trace_id, "started": stamp})
        run.write_json("inputs.json", inputs or {})
        run.metrics = {"stage": stage, "status": "running", "started": time.time()}
        run.save_metrics()
        return run

    @classmethod
    def open(cls, run_dir: Path, stage: str | None = None) -> Run:
        """Reopen a run folder to resume it (of `stage`, when given)."""
        meta = run_dir / "run.json"
        try:
            info = json.loads(meta.read_text())
            run = cls(dir=run_dir.resolve(), stage=info["stage"], trace_id=info["trace_id"])
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise UserError(f"{run_dir} is not a run folder (no readable run.json): check --resume") from err
        if stage is not None and run.stage != stage:
            raise UserError(f"{run_dir} is a {run.stage} run, not a {stage} run: resume it with "
                            f"`tinyml-autopilot {run.stage} --resume`")
        metrics = run.dir / "metrics.json"
        try:
            run.metrics = json.loads(metrics.read_text()) if metrics.is_file() else {}
        except ValueError:
            run.metrics = {}
        run._start_logging()
        return run

    def child(self, stage: str) -> Run:
        """A stage run nested in this one (the chained `run` command keeps each stage's folder)."""
        sub = self.dir / stage
        if (sub / "run.json").is_file():
            run = Run.open(sub)
        else:
            sub.mkdir(parents=True, exist_ok=True)
            run = Run(dir=sub, stage=stage, trace_id=self.trace_id)
            run._start_logging()
            run.write_json("run.json", {"stage": stage, "trace_id": self.trace_id, "parent": str(self.dir)})
            run.metrics = {"stage": stage, "status": "running", "started": time.time()}
            run.save_metrics()
        run.observers = list(self.observers)
        return run

    def lock(self, command: str) -> None:
        """Hold this folder for this process (UserError naming the holder when another has it)."""
        if self._lock is None:
            self._lock = RunLock(self.dir)
            self._lock.acquire(command)

    def unlock(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def notify(self, event: str, task: str, number: int, record: dict | None = None) -> None:
        """Tell the observers (a progress display) that an attempt started or ended."""
        for observer in self.observers:
            observer(event, task, number, record)

    # files -----------------------------------------------------------------------------
    def path(self, *parts: str) -> Path:
        target = self.dir.joinpath(*parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def write_text(self, rel: str, text: str) -> Path:
        target = self.path(rel)
        target.write_text(redact(text))
        return target

    def write_json(self, rel: str, obj: Any) -> Path:
        target = self.path(rel)
        target.write_text(dumps(obj) + "\n")
        return target

    def keep_input(self, source: Path, name: str | None = None) -> Path | None:
        """Copy an input file or folder into inputs/ (skipped, with a note, when very large)."""
        dest = self.path("inputs", name or source.name)
        size = _size(source)
        if size > KEEP_INPUT_MAX_BYTES:
            self.log.info("input %s is %d MB: recorded by path, not copied", source, size >> 20)
            return None
        if source.is_dir():
            shutil.copytree(source, dest, dirs_exist_ok=True)
        else:
            shutil.copy2(source, dest)
        return dest

    # trace -----------------------------------------------------------------------------
    def event(self, kind: str, name: str, parent: str | None = None, span_id: str | None = None,
              **fields: Any) -> str:
        span_id = span_id or uuid.uuid4().hex[:16]
        record = {"trace_id": self.trace_id, "span_id": span_id, "parent": parent,
                  "stage": self.stage, "kind": kind, "name": name, "time": time.time(), **fields}
        with self.path("trace.jsonl").open("a") as fh:
            fh.write(redact(json.dumps(record, default=_jsonable)) + "\n")
        return span_id

    @contextmanager
    def span(self, kind: str, name: str, parent: str | None = None, **tags: Any) -> Iterator[dict]:
        """Time a block and write one trace event for it; the block may add fields to the dict.

        `fields["span_id"]` is the event's id, known from the start so that events inside the
        block can name it as their parent.
        """
        fields: dict[str, Any] = {"tags": tags, "span_id": uuid.uuid4().hex[:16]}
        start = time.perf_counter()
        try:
            yield fields
        except BaseException as err:
            fields.setdefault("status", "error")
            fields.setdefault("error", f"{type(err).__name__}: {err}"[:500])
            raise
        finally:
            fields.setdefault("status", "ok")
            self.event(kind, name, parent, duration_s=round(time.perf_counter() - start, 4), **fields)

    def trace_events(self) -> list[dict]:
        trace = self.dir / "trace.jsonl"
        if not trace.is_file():
            return []
        return [json.loads(line) for line in trace.read_text().splitlines() if line.strip()]

    # metrics ---------------------------------------------------------------------------
    def save_metrics(self) -> None:
        self.write_json("metrics.json", self.metrics)

    def scrub(self, folder: Path | None = None) -> list[str]:
        """Redact every secret from the files under `folder` (the whole run folder by default).

        A binary file holding a secret is removed; each one is named in the log, the trace and
        metrics.json (`removed_files`), so the run says which file it refused to keep.
        """
        removed = [str(p.relative_to(self.dir)) if p.is_relative_to(self.dir) else str(p)
                   for p in scrub_tree(folder or self.dir)]
        for name in removed:
            self.log.warning("removed %s from the run folder: it held a configured secret (an API key) and is "
                             "not text that can be redacted", name)
            self.event("scrub", name, status="removed", reason="held a secret")
        if removed:
            self.metrics["removed_files"] = sorted({*self.metrics.get("removed_files", []), *removed})
        return removed

    def finish(self, status: str, **figures: Any) -> None:
        self.scrub()
        self.metrics.update(figures)
        self.metrics["status"] = status
        self.metrics["wall_s"] = round(time.time() - self.metrics.get("started", time.time()), 3)
        self.metrics.update(llm_totals(self.trace_events()))
        self.save_metrics()

    def _start_logging(self) -> None:
        self.log = logging.getLogger(f"tinyml_autopilot.{self.stage}.{self.dir.name}")
        self.log.setLevel(logging.DEBUG)
        self.log.propagate = True
        handler = logging.FileHandler(self.path("logs", f"{self.stage}.log"))
        handler.setFormatter(_RedactingFormatter("%(asctime)s %(levelname)s %(message)s"))
        self.log.addHandler(handler)


class _RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def llm_totals(events: list[dict]) -> dict[str, Any]:
    calls = [e for e in events if e.get("kind") == "llm"]
    costs = [e.get("cost_usd") for e in calls if e.get("cost_usd") is not None]
    return {
        "llm_calls": len(calls),
        "tokens_in": sum(e.get("tokens_in") or 0 for e in calls),
        "tokens_out": sum(e.get("tokens_out") or 0 for e in calls),
        "cost_usd": round(sum(costs), 6) if costs else (0.0 if not calls else None),
        "llm_latency_s": round(sum(e.get("duration_s") or 0 for e in calls), 3),
    }


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def list_runs(out: Path) -> list[dict[str, Any]]:
    """Past runs under `out`, newest first, with their metrics."""
    rows = []
    for meta in sorted(Path(out).glob("*/run.json"), reverse=True):
        metrics_file = meta.parent / "metrics.json"
        try:
            metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
        except ValueError:
            metrics = {"status": "unreadable metrics.json"}
        rows.append({"run": meta.parent.name, "path": str(meta.parent), **metrics})
    return rows


def write_output(run: Run, **artifacts: Any) -> None:
    """`output.json`: what this stage hands the next one (paths relative to the run folder)."""
    rel = {k: (str(Path(v).resolve().relative_to(run.dir)) if isinstance(v, Path)
               and Path(v).resolve().is_relative_to(run.dir) else v) for k, v in artifacts.items()}
    run.write_json("output.json", {"stage": run.stage, **rel})


def read_output(run_dir: Path, stages: tuple[str, ...]) -> dict[str, Any]:
    """The output.json of an earlier stage's run folder, paths made absolute.

    A chained `run` folder holds one sub-folder per stage: the latest of `stages` found wins.
    """
    run_dir = Path(run_dir)
    candidates = [run_dir] + [run_dir / s for s in reversed(("data", "train", "convert", "sketch"))]
    for folder in candidates:
        out = folder / "output.json"
        if out.is_file():
            data = json.loads(out.read_text())
            if data.get("stage") in stages:
                return {k: (str(folder / v) if isinstance(v, str) and (folder / v).exists() else v)
                        for k, v in data.items()} | {"run_dir": str(folder)}
    wanted = " or ".join(stages)
    raise UserError(f"{run_dir} is not a finished {wanted} run (no output.json from {wanted}): "
                    f"pass that stage's run folder")
