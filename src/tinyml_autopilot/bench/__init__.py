"""`bench`: repeat a stage N times per model and report success, attempts, failures, cost."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .aggregate import collect_runs, summarize
from .outputs import markdown_table, write_results
from .runner import BenchConfig, load_config, new_bench_dir, prepare, run_all, save_config


def run_bench(config: BenchConfig, bench_dir: Path, log: Callable[[str], None] = print,
              on_done: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Prepare the input once, run what is pending, then aggregate every run in the folder."""
    save_config(bench_dir, config)
    data = prepare(config, bench_dir, log)
    run_all(config, bench_dir, data, on_done)
    return report(bench_dir)


def report(bench_dir: Path) -> dict[str, Any]:
    """Aggregate the run folders under `bench_dir` and write the result files."""
    runs = collect_runs(bench_dir)
    summary = summarize(runs)
    files = write_results(bench_dir, runs, summary)
    return {"bench_dir": bench_dir, "runs": runs, "summary": summary, "files": files}


__all__ = ["BenchConfig", "collect_runs", "summarize", "write_results", "markdown_table", "run_bench",
           "report", "load_config", "new_bench_dir"]
