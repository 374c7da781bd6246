"""Wall time and peak memory of the offline data stage on a 100k-row, 6-channel time-series CSV.

Usage: python benchmarks/data_bench.py [--rows 100000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console

from tinyml_autopilot.config import load_settings
from tinyml_autopilot.llm import get_model
from tinyml_autopilot.runs import Run
from tinyml_autopilot.stages import data as data_stage
from tinyml_autopilot.stages.base import StageContext

CHANNELS = ["ax", "ay", "az", "gx", "gy", "gz"]
CLASSES = {"idle": 0.5, "walk": 2.0, "run": 3.5, "shake": 6.0}
RATE = 100.0


def write_csv(path: Path, rows: int, per_session: int = 2000, seed: int = 0) -> None:
    """Sessions of `per_session` rows at 100 Hz: class-specific sine frequencies plus noise and a few gaps."""
    rng = np.random.default_rng(seed)
    lines = ["session_id,timestamp_ms," + ",".join(CHANNELS) + ",activity"]
    names = list(CLASSES)
    for session in range(rows // per_session):
        cls = names[session % len(names)]
        t = np.arange(per_session) / RATE
        values = np.stack([np.sin(2 * np.pi * CLASSES[cls] * (1 + 0.1 * k) * t + rng.uniform(0, 6))
                           for k in range(6)], axis=1) + rng.normal(0, 0.2, (per_session, 6))
        values[rng.integers(0, per_session, 3), rng.integers(0, 6, 3)] = np.nan
        stamps = (t * 1000).astype(int) + session * 10**6
        for stamp, row in zip(stamps, values, strict=True):
            cells = ",".join("" if np.isnan(v) else f"{v:.4f}" for v in row)
            lines.append(f"s{session:04d},{stamp},{cells},{cls}")
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, default=None, help="keep the data and run folder here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        raw = base / "sensor_long.csv"
        write_csv(raw, args.rows)
        settings = load_settings({"llm": "offline", "out": base / "runs", "yes": True})
        run = Run.create(settings.out, "data")
        ctx = StageContext(settings=settings, model=get_model(settings), run=run, console=Console(quiet=True))
        start = time.perf_counter()
        result = data_stage.run(ctx, data=raw, label="activity", description="activity recognition")
        wall = time.perf_counter() - start
        self_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        children_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        steps = json.loads((run.dir / "operations.json").read_text())["operations"]
        report = {"status": result.status, "rows": args.rows, "channels": len(CHANNELS),
                  "wall_s": round(wall, 2), "peak_rss_tool_mb": round(self_mb, 1),
                  "peak_rss_sandboxed_child_mb": round(children_mb, 1),
                  **result.figures, "operations": ["load"] + [s["operation"] for s in steps]}
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
