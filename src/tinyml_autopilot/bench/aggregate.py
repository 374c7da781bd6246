"""Bench results as data: one row per run read from its folder, then one row per stage and model.

Pure functions over the bench folder (`runs/<stage>/<model>/<NN>/`), so they can be tested and
re-run on an old bench without running anything.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd

STAGES = ("data", "train", "convert", "sketch")
RUN_FILE = "bench_run.json"  # written by the runner next to each stage run folder


def read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def attempt_records(stage_dir: Path) -> list[dict[str, Any]]:
    """Every attempt.json of a stage run folder, in task then attempt order."""
    return [read_json(p) | {"task": p.parent.parent.name}
            for p in sorted(stage_dir.glob("attempts/*/*/attempt.json"))]


def failure_labels(attempt: dict[str, Any]) -> list[str]:
    """How one failed attempt failed: its category, and for a failed check which checks."""
    category = attempt.get("category") or "failed"
    if category == "check" and attempt.get("checks"):
        return [f"check:{name}" for name in attempt["checks"]]
    return [category]


def stage_row(stage_dir: Path | None, stage: str, crashed: bool = False) -> dict[str, Any]:
    """One stage run's figures from its folder; a missing or unfinished folder is a failure."""
    metrics = read_json(stage_dir / "metrics.json") if stage_dir else {}
    attempts = attempt_records(stage_dir) if stage_dir else []
    status = metrics.get("status")
    ok = status == "ok" or (status is None and stage_dir is not None and (stage_dir / "output.json").is_file())
    failures = [label for a in attempts if a.get("status") == "failed" for label in failure_labels(a)]
    final = None if ok else _final_failure(attempts, status, crashed)
    return {
        "stage": stage,
        "status": "ok" if ok else "failed",
        "attempts": len(attempts),
        # the first try plus every repair, whatever task it was in (a stage may run several tasks)
        "attempts_to_success": 1 + sum(a.get("status") == "failed" for a in attempts) if ok else None,
        "failures": failures,
        "final_failure": final,
        "stage_wall_s": metrics.get("wall_s"),
        "llm_calls": metrics.get("llm_calls", 0) or 0,
        "llm_latency_s": metrics.get("llm_latency_s", 0.0) or 0.0,
        "tokens_in": metrics.get("tokens_in", 0) or 0,
        "tokens_out": metrics.get("tokens_out", 0) or 0,
        "cost_usd": metrics.get("cost_usd"),
    }


def _final_failure(attempts: list[dict[str, Any]], status: str | None, crashed: bool) -> str:
    """Why a failed run failed: a crash, else how its last failed attempt failed."""
    failed = [a for a in attempts if a.get("status") == "failed"]
    if crashed:
        return "crash"
    if failed:
        return ",".join(failure_labels(failed[-1]))
    return "crash" if status in (None, "running") else "stage-failed"


def find_run_folder(out_dir: Path) -> Path | None:
    """The run folder a stage command created inside its --out folder (the newest, if several)."""
    found = sorted(p.parent for p in out_dir.glob("*/run.json"))
    return found[-1] if found else None


def collect_runs(bench_dir: Path) -> pd.DataFrame:
    """One row per (bench stage, model, run, stage) from `bench_dir/runs/`.

    A `--stage all` run is a chained `run` folder: it gives one row per stage it reached plus an
    "all" row for the whole chain.
    """
    rows: list[dict[str, Any]] = []
    for run_file in sorted(Path(bench_dir).glob(f"runs/*/*/*/{RUN_FILE}")):
        info = read_json(run_file)
        out_dir = run_file.parent
        base = {"model": info.get("model", out_dir.parent.name), "run": int(info.get("index", out_dir.name)),
                "wall_s": info.get("wall_s"), "returncode": info.get("returncode")}
        crashed = bool(info.get("crashed"))
        folder = find_run_folder(out_dir)
        bench_stage = info.get("stage", out_dir.parent.parent.name)
        if bench_stage != "all":
            rows.append(base | stage_row(folder, bench_stage, crashed) | _crash_note(info))
            continue
        rows.extend(_chained_rows(folder, base, crashed, info))
    return pd.DataFrame(rows, columns=RUN_COLUMNS)


def _chained_rows(folder: Path | None, base: dict, crashed: bool, info: dict) -> list[dict[str, Any]]:
    rows = []
    for stage in STAGES:
        sub = folder / stage if folder else None
        if sub is None or not (sub / "run.json").is_file():
            break
        wall = read_json(sub / "metrics.json").get("wall_s")
        rows.append(base | stage_row(sub, stage, crashed) | {"wall_s": wall})
    whole = stage_row(folder, "all", crashed) | _crash_note(info)
    parts = rows
    whole |= {key: sum(r[key] for r in parts) for key in ("attempts", "llm_calls", "tokens_in", "tokens_out",
                                                          "llm_latency_s")}
    whole |= {"failures": [f for r in parts for f in r["failures"]],
              "cost_usd": _sum_or_none([r["cost_usd"] for r in parts])}
    whole["attempts_to_success"] = 1 + sum(r["attempts_to_success"] - 1 for r in parts) if whole["status"] == "ok" \
        else None
    if whole["status"] != "ok":
        failed = [r for r in parts if r["status"] != "ok"]
        whole["final_failure"] = f"{failed[-1]['stage']}:{failed[-1]['final_failure']}" if failed else "crash"
    return rows + [base | whole]


def _crash_note(info: dict) -> dict[str, Any]:
    return {"final_failure": "crash"} if info.get("crashed") else {}


def _sum_or_none(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(sum(known), 6) if known else None


RUN_COLUMNS = ["stage", "model", "run", "status", "attempts", "attempts_to_success", "failures", "final_failure",
               "wall_s", "stage_wall_s", "returncode", "llm_calls", "llm_latency_s", "tokens_in", "tokens_out",
               "cost_usd"]


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """Per stage and model: success rate, attempts-to-success, failure categories, latency, tokens, cost."""
    rows = [_summary_row(stage, model, group) for (stage, model), group in runs.groupby(["stage", "model"], sort=False)]
    order = {s: i for i, s in enumerate((*STAGES, "all"))}
    frame = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    if frame.empty:
        return frame
    frame["_order"] = frame["stage"].map(order)
    return frame.sort_values(["_order", "model"]).drop(columns="_order").reset_index(drop=True)


SUMMARY_COLUMNS = ["stage", "model", "runs", "successes", "success_rate", "attempts_to_success",
                   "mean_attempts_to_success", "first_try_successes", "failed_attempts", "run_failures",
                   "mean_wall_s", "p90_wall_s", "mean_llm_latency_s", "llm_calls", "tokens_in", "tokens_out",
                   "cost_usd", "cost_per_run_usd", "cost_per_success_usd"]


def _summary_row(stage: str, model: str, group: pd.DataFrame) -> dict[str, Any]:
    ok = group[group["status"] == "ok"]
    to_success = [int(n) for n in ok["attempts_to_success"].dropna()]
    costs = group["cost_usd"].dropna()
    total_cost = round(float(costs.sum()), 6) if len(costs) else None
    wall = group["wall_s"].dropna().astype(float)
    return {
        "stage": stage, "model": model, "runs": len(group), "successes": len(ok),
        "success_rate": round(len(ok) / len(group), 4) if len(group) else 0.0,
        "attempts_to_success": dict(sorted(Counter(to_success).items())),
        "mean_attempts_to_success": round(sum(to_success) / len(to_success), 3) if to_success else None,
        "first_try_successes": sum(1 for n in to_success if n == 1),
        "failed_attempts": dict(Counter(f for fs in group["failures"] for f in fs).most_common()),
        "run_failures": dict(Counter(group["final_failure"].dropna()).most_common()),
        "mean_wall_s": round(float(wall.mean()), 3) if len(wall) else None,
        "p90_wall_s": round(float(wall.quantile(0.9)), 3) if len(wall) else None,
        "mean_llm_latency_s": round(float(group["llm_latency_s"].mean()), 3),
        "llm_calls": int(group["llm_calls"].sum()),
        "tokens_in": int(group["tokens_in"].sum()), "tokens_out": int(group["tokens_out"].sum()),
        "cost_usd": total_cost,
        "cost_per_run_usd": round(total_cost / len(group), 6) if total_cost is not None else None,
        "cost_per_success_usd": round(total_cost / len(ok), 6) if total_cost is not None and len(ok) else None,
    }
