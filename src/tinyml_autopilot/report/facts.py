"""What a run folder says about itself, read from its files only (works on old and resumed runs).

Key figures come from the stages' own records (metrics.json, model_card.json, the sketch
stage's verdicts); a verdict that is not recorded is reported as not run, never as passed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

STAGES = ("data", "train", "convert", "sketch")


def read_json(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {"value": value}


def stage_dirs(run_dir: Path) -> dict[str, Path]:
    """Stage name -> folder: the sub-folders of a chained run, or the folder itself for one stage."""
    run_dir = Path(run_dir)
    found = {s: run_dir / s for s in STAGES if (run_dir / s / "run.json").is_file()}
    if not found and (run_dir / "run.json").is_file():
        found[read_json(run_dir / "run.json").get("stage", "stage")] = run_dir
    return found


def attempts(stage_dir: Path) -> list[dict[str, Any]]:
    """Every attempt of a stage run with its task, and its start time from the trace where known."""
    starts = _attempt_starts(stage_dir)
    rows = []
    for path in sorted(stage_dir.glob("attempts/*/*/attempt.json")):
        record = read_json(path)
        task = path.parent.parent.name
        rows.append(record | {"task": task, "start": starts.get((task, record.get("number")))})
    return rows


def _attempt_starts(stage_dir: Path) -> dict[tuple[str, int], float]:
    trace = stage_dir / "trace.jsonl"
    if not trace.is_file():
        return {}
    starts = {}
    for line in trace.read_text().splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("kind") == "attempt":
            number = (event.get("tags") or {}).get("attempt")
            starts[(event.get("name"), number)] = event["time"] - (event.get("duration_s") or 0)
    return starts


def stage_facts(stage: str, stage_dir: Path) -> dict[str, Any]:
    """Status, time, attempts and LLM use of one stage, plus the figures it recorded."""
    metrics = read_json(stage_dir / "metrics.json")
    tries = attempts(stage_dir)
    status = metrics.get("status") or ("ok" if (stage_dir / "output.json").is_file() else "not finished")
    figures = {k: v for k, v in metrics.items() if k not in _BOOKKEEPING}
    return {"stage": stage, "status": "not finished" if status == "running" else status,
            "run_dir": str(stage_dir), "wall_s": metrics.get("wall_s"), "attempts": len(tries),
            "failed_attempts": sum(1 for a in tries if a.get("status") == "failed"),
            "llm_calls": metrics.get("llm_calls", 0), "tokens_in": metrics.get("tokens_in", 0),
            "tokens_out": metrics.get("tokens_out", 0), "cost_usd": metrics.get("cost_usd"),
            "figures": figures}


_BOOKKEEPING = {"stage", "status", "started", "wall_s", "llm_calls", "tokens_in", "tokens_out", "cost_usd",
                "llm_latency_s", "attempts"}


def artifact(stage_dir: Path | None, *names: str) -> Path | None:
    """The first of `names` found in a stage folder's artifacts/ (or the folder itself)."""
    if stage_dir is None:
        return None
    for name in names:
        for candidate in (stage_dir / "artifacts" / name, stage_dir / name):
            if candidate.is_file():
                return candidate
    return None


def key_figures(run_dir: Path, board: Any = None) -> dict[str, Any]:
    """The figures a user looks for first: accuracy float/int8, model bytes, arena, flash/RAM, verdicts."""
    dirs = stage_dirs(run_dir)
    card = read_json(artifact(dirs.get("convert"), "model_card.json") or Path("/nonexistent"))
    train = read_json(artifact(dirs.get("train"), "train_report.json") or Path("/nonexistent"))
    sketch = read_json(dirs["sketch"] / "metrics.json") if "sketch" in dirs else {}
    verdicts = read_json(dirs["sketch"] / "verdicts.json") if "sketch" in dirs else {}
    built, simulated = verdicts.get("compile") or {}, verdicts.get("simulation") or {}
    figures = {
        "float_accuracy": card.get("float_accuracy", train.get("test_accuracy")),
        "int8_accuracy": card.get("converted_accuracy"),
        "accuracy_delta": card.get("accuracy_delta"),
        "params": train.get("params"),
        "model_bytes": card.get("model_bytes"),
        "arena_bytes": card.get("arena_bytes"),
        "runtime": board.runtime if board else None,
        "flash_bytes": _first(built, "flash_bytes") or _first(sketch, "flash_used"),
        "ram_bytes": _first(built, "ram_bytes") or _first(sketch, "ram_used"),
        "flash_max": _first(built, "flash_budget") or (board.flash_bytes if board else None),
        "ram_max": _first(built, "ram_budget") or (board.ram_bytes if board else None),
        # verdicts only from the sketch stage's own record: no record means "not run"
        "compile": verdict(built, "status"),
        "simulation": verdict(simulated, "status"),
        "simulation_agreement": sketch.get("simulation_agreement"),
    }
    if "run" in verdicts:  # TFLite Micro boards: the sketch built on the host and for Cortex-M4, run on readings
        host, m4 = verdicts.get("run") or {}, verdicts.get("m4_run") or {}
        figures |= {"host_run": verdict(host, "status"), "host_run_reason": host.get("reason"),
                    "run_agreement": sketch.get("run_agreement"), "m4_run": verdict(m4, "status"),
                    "m4_run_reason": m4.get("reason"),
                    "m4_flash_bytes": m4.get("flash_bytes"), "m4_ram_bytes": m4.get("ram_bytes"),
                    "m4_instructions_per_inference": m4.get("instructions_per_inference")}
    if board is not None and board.runtime == "portable-c" and card.get("c_arena_bytes") is not None:
        # what runs on the device is the portable C model: its weights and arena are the figures that count
        figures |= {"tflite_bytes": figures["model_bytes"], "tflm_arena_bytes": figures["arena_bytes"],
                    "model_bytes": card.get("c_weights_bytes"), "arena_bytes": card["c_arena_bytes"]}
    return figures


def _first(mapping: dict[str, Any], *keys: str) -> Any:
    return next((mapping[k] for k in keys if mapping.get(k) is not None), None)


def verdict(metrics: dict[str, Any], *keys: str) -> str:
    """'passed' / 'failed' / a recorded reason, or 'not run': only a recorded pass counts as passed."""
    value = _first(metrics, *keys)
    if value is True or value in ("ok", "passed", "pass"):
        return "passed"
    if value is False or value in ("failed", "fail", "error"):
        return "failed"
    if isinstance(value, dict):
        return verdict({"v": value.get("status", value.get("ok"))}, "v")
    return str(value) if isinstance(value, str) and value else "not run"


def totals(stages: list[dict[str, Any]]) -> dict[str, Any]:
    costs = [s["cost_usd"] for s in stages if s.get("cost_usd") is not None]
    return {"llm_calls": sum(s.get("llm_calls") or 0 for s in stages),
            "tokens_in": sum(s.get("tokens_in") or 0 for s in stages),
            "tokens_out": sum(s.get("tokens_out") or 0 for s in stages),
            "cost_usd": round(sum(costs), 6) if costs else None,
            "wall_s": round(sum(s.get("wall_s") or 0 for s in stages), 3),
            "attempts": sum(s.get("attempts") or 0 for s in stages)}


def run_summary(run_dir: Path, board: Any = None, llm: str | None = None) -> dict[str, Any]:
    """Everything the summary and the report show, from the run folder's files."""
    stages = [stage_facts(name, folder) for name, folder in stage_dirs(run_dir).items()]
    return {
        "status": _overall(stages, chained=any(Path(s["run_dir"]) != Path(run_dir) for s in stages)),
        "run_dir": str(Path(run_dir).resolve()),
        "board": {"id": board.id, "name": board.name, "flash_bytes": board.flash_bytes,
                  "ram_bytes": board.ram_bytes} if board else None,
        "llm": llm,
        "stages": stages,
        "figures": key_figures(run_dir, board),
        "totals": totals(stages),
    }


def _overall(stages: list[dict[str, Any]], chained: bool) -> str:
    if any(s["status"] == "failed" for s in stages):
        return "failed"
    wanted = len(STAGES) if chained else 1
    return "ok" if len(stages) == wanted and all(s["status"] == "ok" for s in stages) else "unfinished"
