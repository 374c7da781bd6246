"""Runs per minute of an offline `bench --stage data` with the local executor and on Ray, on this machine.

Usage: .venv/bin/python benchmarks/bench_executors.py [--runs N]
Ray runs on a cluster this script starts on 127.0.0.1 (one node, 1 or 2 CPUs, so 1 or 2 worker
processes run benched runs at a time). The time outside the runs is a bench's wall time minus the
runs' own (their sum over the runs at a time); Ray's overhead per run is that time per run with one
worker minus the local executor's with --jobs 1 (cluster start-up not included, shown apart).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXE = str(Path(sys.executable).with_name("tinyml-autopilot"))


def bench(out: Path, runs: int, *extra: str) -> tuple[float, float]:
    """Seconds one bench of `runs` offline data runs takes (start-up and report included), and the
    sum of the runs' own wall times."""
    start = time.perf_counter()
    result = subprocess.run([EXE, "bench", "--stage", "data", "--runs", str(runs), "--out", str(out), "--json",
                             *extra], capture_output=True, text=True, env={**os.environ, "COLUMNS": "120"})
    wall = time.perf_counter() - start
    summary = json.loads(result.stdout)["summary"][0] if result.returncode == 0 else None
    if not summary or summary["successes"] != runs:
        sys.exit(f"bench {' '.join(extra)} failed (exit {result.returncode}): {result.stderr[-1500:]}")
    bench_dir = Path(json.loads(result.stdout)["bench_dir"])
    own = sum(json.loads(p.read_text())["wall_s"] for p in bench_dir.glob("runs/*/*/*/bench_run.json"))
    return wall, own


def on_ray(out: Path, runs: int, cpus: int) -> tuple[float, tuple[float, float]]:
    """(cluster start-up s, bench()) on a fresh one-node cluster with `cpus` CPUs."""
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    from ray.cluster_utils import Cluster

    start = time.perf_counter()
    cluster = Cluster(initialize_head=True, head_node_args={
        "node_ip_address": "127.0.0.1", "num_cpus": cpus, "include_dashboard": False,
        "object_store_memory": 80 * 2**20})
    try:
        up = time.perf_counter() - start
        return up, bench(out, runs, "--executor", "ray", "--ray-address", cluster.address,
                         "--scratch", str(out / "scratch"))
    finally:
        cluster.shutdown()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=6, help="runs per bench [default: 6]")
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="tinyml-executors-"))
    try:
        figures = {("local, --jobs 1", 1): bench(out / "l1", args.runs, "--jobs", "1"),
                   ("local, --jobs 2", 2): bench(out / "l2", args.runs, "--jobs", "2")}
        ups = {}
        for cpus in (1, 2):
            ups[cpus], figures[(f"ray, {cpus} worker process(es)", cpus)] = on_ray(out / f"r{cpus}", args.runs, cpus)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    print(f"offline bench --stage data, {args.runs} runs each, {os.cpu_count()} cores "
          f"(load average {os.getloadavg()[0]:.1f} at the end):")
    outside = {}
    for (name, at_once), (wall, own) in figures.items():
        outside[name] = (wall - own / at_once) / args.runs
        print(f"  {name:28s} {wall:6.1f} s   {60 * args.runs / wall:5.1f} runs/min   "
              f"mean run {own / args.runs:5.1f} s, outside the runs {outside[name]:5.2f} s per run")
    overhead = outside["ray, 1 worker process(es)"] - outside["local, --jobs 1"]
    print(f"Ray's overhead per run (1 worker vs local --jobs 1): {overhead:+.2f} s; "
          f"cluster start-up {ups[1]:.1f} s and {ups[2]:.1f} s, not counted")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
