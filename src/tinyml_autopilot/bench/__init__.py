"""`bench`: repeat a stage N times per model and report success, attempts, failures, cost."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .aggregate import collect_runs, summarize
from .outputs import markdown_table, write_results
from .runner import BenchConfig, load_config, new_bench_dir, prepare, run_all, save_config

REFRESH_S = 10.0  # the summary files are rewritten at most this often while runs arrive


def run_bench(config: BenchConfig, bench_dir: Path, log: Callable[[str], None] = print,
              on_done: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Prepare the input once, run what is pending (here or on Ray), aggregating as runs arrive,
    then aggregate every run in the folder. `lost` lists the runs whose workers kept dying."""
    save_config(bench_dir, config)
    data = prepare(config, bench_dir, log)
    last = [time.monotonic()]

    def arrived(record: dict[str, Any]) -> None:
        if on_done:
            on_done(record)
        if time.monotonic() - last[0] >= REFRESH_S:
            report(bench_dir, plots=False)
            last[0] = time.monotonic()

    lost: list[tuple[str, int]] = []
    if config.executor == "ray":
        from .cluster import run_all_ray

        _, lost = run_all_ray(config, bench_dir, data, arrived, log)
    else:
        run_all(config, bench_dir, data, arrived)
    return report(bench_dir) | {"lost": lost}


def report(bench_dir: Path, plots: bool = True) -> dict[str, Any]:
    """Aggregate the run folders under `bench_dir` and write the result files."""
    runs = collect_runs(bench_dir)
    summary = summarize(runs)
    files = write_results(bench_dir, runs, summary, plots=plots)
    return {"bench_dir": bench_dir, "runs": runs, "summary": summary, "files": files}


__all__ = ["BenchConfig", "collect_runs", "summarize", "write_results", "markdown_table", "run_bench",
           "report", "load_config", "new_bench_dir"]
