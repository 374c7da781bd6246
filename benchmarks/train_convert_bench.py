"""Offline train + int8 convert on the bundled datasets: accuracy, size, arena and wall time.

Usage: python benchmarks/train_convert_bench.py [--board uno] [--out DIR]
Datasets: wine (tabular, 13 features), sines (3-channel windows, 40x3) and, when the data stage
is available, the bundled gesture demo processed by it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tinyml_autopilot.stages.train_fixtures import write_data_run

CLI = str(Path(sys.executable).with_name("tinyml-autopilot"))


def stage(*args: str) -> tuple[dict, float]:
    start = time.perf_counter()
    proc = subprocess.run([CLI, *args, "--llm", "offline", "--json", "--yes"], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1]), seconds
    except (ValueError, IndexError):
        return {"status": "error", "message": proc.stderr.strip()[-300:]}, seconds


def demo_data(out: Path) -> Path | None:
    """The bundled gesture demo through the data stage, or None when that stage is not usable."""
    try:
        from tinyml_autopilot.data import DEMO_OPTIONS, demo_dataset
    except ImportError:
        return None
    raw = demo_dataset(out / "demo-raw")
    args = ["data", "--data", str(raw), "--out", str(out / "runs"), "--label", DEMO_OPTIONS["label"],
            "--window", str(DEMO_OPTIONS["window"]), "--rate", str(DEMO_OPTIONS["rate"])]
    result, _ = stage(*args)
    return Path(result["run_dir"]) if result.get("status") == "ok" else None


def bench(name: str, data: Path, board: str, out: Path) -> dict:
    trained, t_train = stage("train", "--data", str(data), "--board", board, "--out", str(out / "runs"))
    if trained.get("status") != "ok":
        return {"dataset": name, "error": f"train: {trained.get('message')}"}
    converted, t_convert = stage("convert", "--data", trained["run_dir"], "--board", board, "--quant", "int8",
                                 "--emit", "c", "--out", str(out / "runs"))
    if "float_accuracy" not in converted:
        return {"dataset": name, "error": f"convert: {converted.get('message')}"}
    return {"dataset": name, "params": trained["params"], "float_acc": converted["float_accuracy"],
            "int8_acc": converted["converted_accuracy"], "delta_pts": converted["accuracy_delta"],
            "model_bytes": converted["model_bytes"], "tflm_arena": converted["arena_bytes"],
            "c_arena": converted.get("c_arena_bytes"), "c_weights": converted.get("c_weights_bytes"),
            "train_s": round(t_train, 1), "convert_s": round(t_convert, 1), "total_s": round(t_train + t_convert, 1),
            "findings": len(converted.get("findings", []))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--board", default="uno")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="tc-bench-"))
    datasets = {"wine (13,)": write_data_run("tabular", out / "wine"),
                "sines (40, 3)": write_data_run("timeseries", out / "sines")}
    gestures = demo_data(out)
    if gestures is not None:
        datasets["gestures demo (data stage)"] = gestures
    rows = [bench(name, data, args.board, out) for name, data in datasets.items()]
    columns = ["dataset", "params", "float_acc", "int8_acc", "delta_pts", "model_bytes", "tflm_arena", "c_arena",
               "c_weights", "train_s", "convert_s", "total_s", "findings"]
    print(f"board: {args.board}   runs in {out}")
    print(" | ".join(columns))
    for row in rows:
        if "error" in row:
            print(f"{row['dataset']} | ERROR {row['error']}")
            continue
        print(" | ".join(f"{row[c]:.3f}" if isinstance(row[c], float) and c.endswith("acc") else str(row[c])
                         for c in columns))
    if gestures is None:
        print("(gestures demo skipped: the data stage did not produce processed data)")
    done = [row for row in rows if "error" not in row]
    close = all(row["delta_pts"] is not None and row["delta_pts"] <= 1.0 for row in done)
    fast = all(row["total_s"] < 60 for row in done)
    print(f"goals: int8 within 1 point of float: {'met' if close and done else 'NOT met'}; "
          f"train+convert under 60 s: {'met' if fast and done else 'NOT met'} ({len(done)}/{len(rows)} datasets ran)")


if __name__ == "__main__":
    main()
