"""The train stage's model search against MiniRocket, per dataset and board: accuracy, size, latency, time.

Usage: python benchmarks/train_search_bench.py [--boards uno,nano33ble] [--datasets a,b] [--search-time S]
                                               [--trials N] [--seeds 1,2,3] [--out DIR]
Datasets: the bundled gesture demo (through the data stage), synthetic 3-channel windows of known structure,
scikit-learn's digits (64 tabular features), and UCR/UEA archives that aeon ships inside its package
(BasicMotions, GunPoint, ItalyPowerDemand, ArrowHead, OSULeaf, JapaneseVowels, PickupGestureWiimoteZ),
read from the package's own files. Each is split once with the train stage's own split (70/15/15),
standardized per channel with training statistics; the tool trains and converts to int8 (portable C
on the Uno, TFLite Micro on the Nano 33 BLE) and its int8 test accuracy is set beside MiniRocket's
(aeon, the `bench` extra) trained on the same train+val samples and scored on the same test samples.
Goal: ratio >= 0.95 where the board's budget allows. With --seeds, each dataset and board is trained once per
training seed (`train --seed`): on test splits of 15-30 samples the spread over seeds says how much one figure means.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tinyml_autopilot.runs import read_output
from tinyml_autopilot.stages.train_data import split_npz

CLI = str(Path(sys.executable).with_name("tinyml-autopilot"))
UCR = ("BasicMotions", "GunPoint", "ItalyPowerDemand", "ArrowHead", "OSULeaf", "JapaneseVowels",
       "PickupGestureWiimoteZ")
RATIO_GOAL = 0.95


def stage(*args: str) -> tuple[dict, float]:
    start = time.perf_counter()
    proc = subprocess.run(["nice", "-n", "10", CLI, *args, "--llm", "offline", "--json", "--yes"],
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1]), seconds
    except (ValueError, IndexError):
        return {"status": "error", "message": proc.stderr.strip()[-300:]}, seconds


def aeon_archive(name: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(X as (n, steps, channels), y) from the .ts files inside the aeon package, or None without it."""
    try:
        import aeon
        from aeon.datasets import load_from_ts_file
    except ImportError:
        return None
    folder = Path(aeon.__file__).parent / "datasets" / "data" / name
    stem = f"{name}_eq" if (folder / f"{name}_eq_TRAIN.ts").is_file() else name  # equal-length variant
    parts = [load_from_ts_file(str(folder / f"{stem}_{split}.ts")) for split in ("TRAIN", "TEST")]
    x = np.concatenate([np.asarray(p[0], dtype=np.float32) for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    classes = sorted(set(labels.tolist()))
    return np.nan_to_num(x.transpose(0, 2, 1)), np.asarray([classes.index(v) for v in labels])


def synthetic() -> tuple[np.ndarray, np.ndarray]:
    from tinyml_autopilot.cruntime.reference_models import synthetic_windows

    return synthetic_windows(600, length=48, channels=3, classes=4, seed=3)


def digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    data = load_digits()
    return data.data.astype(np.float32), data.target


def prepared(x: np.ndarray, y: np.ndarray, folder: Path) -> Path:
    """The train stage's split of X/y, standardized per channel with the training split's statistics."""
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "xy.npz", X=x, y=y)
    processed = split_npz(folder / "xy.npz", folder / "processed")
    with np.load(processed.split("train")) as d:
        axes = tuple(range(d["X"].ndim - 1))
        mean, std = d["X"].mean(axis=axes), d["X"].std(axis=axes) + 1e-6
    for name in ("train", "val", "test"):
        with np.load(processed.split(name)) as d:
            xs, ys = d["X"], d["y"]
        np.savez(processed.split(name), X=((xs - mean) / std).astype(np.float32), y=ys)
    return processed.dir


def minirocket(processed: Path) -> float | None:
    """MiniRocket + ridge on train+val, accuracy on test (None without aeon or for tabular data)."""
    try:
        from aeon.transformations.collection.convolution_based import MiniRocket
        from sklearn.linear_model import RidgeClassifierCV
    except ImportError:
        return None
    splits = {}
    for name in ("train", "val", "test"):
        with np.load(processed / f"{name}.npz") as d:
            splits[name] = (d["X"], d["y"])
    if splits["train"][0].ndim != 3 or splits["train"][0].shape[1] < 9:
        return None
    x_fit = np.concatenate([splits["train"][0], splits["val"][0]]).transpose(0, 2, 1).astype(np.float64)
    y_fit = np.concatenate([splits["train"][1], splits["val"][1]])
    rocket = MiniRocket(random_state=0).fit(x_fit)
    ridge = RidgeClassifierCV(alphas=np.logspace(-3, 3, 10)).fit(rocket.transform(x_fit), y_fit)
    x_test, y_test = splits["test"]
    return float(np.mean(ridge.predict(rocket.transform(x_test.transpose(0, 2, 1).astype(np.float64))) == y_test))


def demo(out: Path) -> Path | None:
    from tinyml_autopilot.data import DEMO_OPTIONS, demo_dataset

    raw = demo_dataset(out / "demo-raw")
    result, _ = stage("data", "--data", str(raw), "--out", str(out / "runs"), "--label", DEMO_OPTIONS["label"],
                      "--window", str(DEMO_OPTIONS["window"]), "--rate", str(DEMO_OPTIONS["rate"]))
    if result.get("status") != "ok":
        return None
    return Path(read_output(Path(result["run_dir"]), ("data",))["processed_dir"])


def bench(name: str, processed: Path, board: str, args: argparse.Namespace, out: Path, rocket: float | None,
          seed: int | None) -> dict:
    search = ["--search-time", str(args.search_time)] + (["--trials", str(args.trials)] if args.trials else []) \
        + (["--seed", str(seed)] if seed is not None else [])
    trained, t_train = stage("train", "--data", str(processed), "--board", board, "--out", str(out / "runs"), *search)
    if trained.get("status") != "ok":
        return {"dataset": name, "board": board, "seed": seed, "error": f"train: {trained.get('message')}"}
    emit = ["--emit", "c"] if board in ("uno", "nano", "mega2560") else []
    converted, _ = stage("convert", "--data", trained["run_dir"], "--board", board, "--quant", "int8", *emit,
                         "--out", str(out / "runs"))
    if converted.get("converted_accuracy") is None:
        return {"dataset": name, "board": board, "seed": seed, "error": f"convert: {converted.get('message')}"}
    report = json.loads((Path(trained["run_dir"]) / "artifacts" / "train_report.json").read_text())
    int8 = converted["converted_accuracy"]
    flash = converted.get("c_weights_bytes") or converted.get("model_bytes")
    ram = converted.get("c_arena_bytes") or converted.get("arena_bytes")
    return {"dataset": name, "board": board, "seed": seed, "shape": "x".join(map(str, report["input_shape"])),
            "int8_acc": int8, "minirocket": rocket, "ratio": round(int8 / rocket, 3) if rocket else None,
            "params": report["params"], "flash_B": flash, "ram_B": ram, "latency_ms": report.get("latency_ms"),
            "trials": report["search"]["trained"], "pruned": report["search"]["pruned"],
            "search_s": report["search"].get("seconds"), "train_s": round(t_train, 1)}


def datasets(wanted: list[str], out: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for name in wanted:
        if name == "demo":
            folder = demo(out)
        elif name == "synthetic":
            folder = prepared(*synthetic(), out / name)
        elif name == "digits":
            folder = prepared(*digits(), out / name)
        else:
            arrays = aeon_archive(name)
            if arrays is None:
                print(f"{name}: skipped (aeon is not installed: pip install -e '.[ml,bench]')")
                continue
            folder = prepared(*arrays, out / name)
        if folder is not None:
            found[name] = folder
    return found


def spread(rows: list[dict]) -> None:
    """Mean and range of one dataset and board's figures over the seeds."""
    ratios, accs = ([r[key] for r in rows if r.get(key) is not None] for key in ("ratio", "int8_acc"))
    if len(accs) > 1:
        print(f"  {rows[0]['dataset']} | {rows[0]['board']} over {len(accs)} seeds: int8 mean {np.mean(accs):.3f} "
              f"(min {min(accs):.3f}, max {max(accs):.3f})" + (f", ratio mean {np.mean(ratios):.3f}" if ratios else ""),
              flush=True)


def seed_list(text: str) -> list[int | None]:
    try:
        return [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give whole numbers separated by commas, e.g. 1,2,3") from None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boards", default="uno,nano33ble")
    parser.add_argument("--datasets", default=",".join(("demo", "synthetic", "digits", *UCR)))
    parser.add_argument("--search-time", type=float, default=180.0)
    parser.add_argument("--trials", type=int, default=None)
    parser.add_argument("--seeds", type=seed_list, default=[None],
                        help="training seeds, comma-separated (default: the tool's)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    seeds = args.seeds
    out = args.out or Path(tempfile.mkdtemp(prefix="search-bench-"))
    columns = ["dataset", "board", "seed", "shape", "int8_acc", "minirocket", "ratio", "params", "flash_B", "ram_B",
               "latency_ms", "trials", "pruned", "search_s", "train_s"]
    print(f"runs in {out}; search time {args.search_time:g} s per run")
    print(" | ".join(columns), flush=True)
    rows = []
    for name, processed in datasets(args.datasets.split(","), out).items():
        rocket = minirocket(processed)
        for board in args.boards.split(","):
            for seed in seeds:
                row = bench(name, processed, board, args, out, rocket, seed)
                rows.append(row)
                line = f"{name} | {board} | {seed} | ERROR {row['error']}" if "error" in row else " | ".join(
                    "" if row.get(c) is None else f"{row[c]:.3f}" if isinstance(row[c], float) else str(row[c])
                    for c in columns)
                print(line, flush=True)
            spread(rows[-len(seeds):])
    ratios = [r["ratio"] for r in rows if r.get("ratio") is not None]
    met = sum(r >= RATIO_GOAL for r in ratios)
    print(f"goal ratio >= {RATIO_GOAL}: met on {met} of {len(ratios)} runs with a MiniRocket figure")
    (out / "results.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
