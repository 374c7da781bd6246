"""Wall time of an offline `run` on the bundled demo data (Uno), and each stage's share of it.

Usage: .venv/bin/python benchmarks/run_bench.py [--epochs N] [--keep]
Goal: under 90 s on 2 cores, compile and simulation included.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL_S = 90.0
EXE = str(Path(sys.executable).with_name("tinyml-autopilot"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=None, help="training epochs [default: the train stage's]")
    parser.add_argument("--keep", action="store_true", help="keep the run folder")
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="tinyml-bench-"))
    command = [EXE, "demo", "--out", str(out / "runs"), "--json", "--llm", "offline"]
    if args.epochs:
        command += ["--epochs", str(args.epochs)]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "COLUMNS": "120"})
    wall = time.perf_counter() - start
    if not result.stdout.strip():
        print(result.stderr[-2000:])
        print(f"run did not finish (exit {result.returncode}) after {wall:.1f} s")
        return 1
    report = json.loads(result.stdout)
    summary = json.loads((Path(report["run_dir"]) / "summary.json").read_text())
    print(f"offline run on the bundled dataset (board uno, {os.cpu_count()} cores): {wall:.1f} s wall, "
          f"status {report['status']}")
    stages_s = sum(s.get("wall_s") or 0 for s in summary["stages"])
    for stage in summary["stages"]:
        seconds = stage.get("wall_s") or 0
        print(f"  {stage['stage']:8s} {seconds:6.1f} s  {100 * seconds / wall:5.1f} %  "
              f"({stage['status']}, {stage['attempts']} attempt(s))")
    overhead = wall - stages_s
    print(f"  {'other':8s} {overhead:6.1f} s  {100 * overhead / wall:5.1f} %  (start-up, demo data, summary, report)")
    figures = summary["figures"]
    print(f"compile: {figures['compile']}, simulation: {figures['simulation']}; "
          f"goal under {GOAL_S:.0f} s: {'met' if wall < GOAL_S else 'NOT met'}")
    if args.keep:
        print(f"run folder: {report['run_dir']}")
    else:
        import shutil

        shutil.rmtree(out, ignore_errors=True)
    return 0 if report["status"] == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
