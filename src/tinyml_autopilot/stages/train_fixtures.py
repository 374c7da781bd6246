"""Small processed datasets in the data stage's hand-over format (tests and benchmarks).

tabular: scikit-learn's wine data, standardized (13 features, 3 classes);
timeseries: synthetic 3-channel windows of noisy sines whose frequency depends on the class.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

KINDS = ("tabular", "timeseries")


def write_fixture(kind: str, folder: Path, seed: int = 0) -> Path:
    """Write processed/{train,val,test}.npz, labels.json, feature_spec.json into `folder`."""
    x, y, labels, spec = _wine() if kind == "tabular" else _sines(seed)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x))
    x, y = x[order].astype(np.float32), y[order].astype(np.int64)
    n_train, n_val = int(len(x) * 0.7), int(len(x) * 0.15)
    if kind == "tabular":
        mean, std = x[:n_train].mean(axis=0), x[:n_train].std(axis=0) + 1e-6
        x = (x - mean) / std
        spec["scaling"] = {"method": "standard", "offset": mean.tolist(), "scale": std.tolist()}
    folder.mkdir(parents=True, exist_ok=True)
    parts = {"train": slice(0, n_train), "val": slice(n_train, n_train + n_val), "test": slice(n_train + n_val, None)}
    for name, part in parts.items():
        np.savez(folder / f"{name}.npz", X=x[part], y=y[part])
    spec |= {"input_shape": list(x.shape[1:]), "labels": labels}
    (folder / "labels.json").write_text(json.dumps(labels))
    (folder / "feature_spec.json").write_text(json.dumps(spec, indent=2))
    return folder


def write_data_run(kind: str, run_dir: Path) -> Path:
    """A folder that looks like a finished data run (output.json + processed/)."""
    write_fixture(kind, run_dir / "processed")
    out = {"stage": "data", "processed_dir": "processed", "feature_spec": "processed/feature_spec.json",
           "labels": "processed/labels.json"}
    (run_dir / "output.json").write_text(json.dumps(out, indent=2))
    return run_dir


def _wine():
    from sklearn.datasets import load_wine

    data = load_wine()
    labels = [str(n) for n in data.target_names]
    spec = {"kind": "tabular", "feature_columns": list(data.feature_names), "window": None, "stride": None,
            "sample_rate_hz": None, "label_column": "class"}
    return data.data, data.target, labels, spec


def _sines(seed: int, n_per_class: int = 120, steps: int = 40):
    rng = np.random.default_rng(seed)
    labels = ["slow", "medium", "fast"]
    t = np.arange(steps) / 20.0  # 20 Hz sampling
    xs, ys = [], []
    for cls, freq in enumerate((1.0, 2.5, 4.5)):
        for _ in range(n_per_class):
            f = freq * rng.uniform(0.9, 1.1)
            phase = rng.uniform(0, 2 * np.pi, size=3)
            amp = rng.uniform(0.7, 1.3, size=3)
            window = amp * np.sin(2 * np.pi * f * t[:, None] + phase) + rng.normal(0, 0.15, (steps, 3))
            xs.append(window)
            ys.append(cls)
    spec = {"kind": "timeseries", "channels": ["ax", "ay", "az"], "window": steps, "stride": steps // 2,
            "sample_rate_hz": 20.0, "label_column": "label",
            "scaling": {"method": "none", "offset": [0.0] * 3, "scale": [1.0] * 3}}
    return np.asarray(xs), np.asarray(ys), labels, spec


def cached_train_run(kind: str, base: Path, board: str = "uno") -> Path:
    """A finished offline train run on the `kind` fixture under `base`, made once and reused."""
    import subprocess
    import sys

    done = base / f"{kind}-{board}.json"
    if done.is_file():
        return Path(json.loads(done.read_text())["run_dir"])
    data = write_data_run(kind, base / f"data-{kind}")
    cli = Path(sys.executable).with_name("tinyml-autopilot")
    proc = subprocess.run([str(cli), "train", "--data", str(data), "--board", board, "--llm", "offline",
                           "--trials", "3", "--search-time", "30",
                           "--out", str(base / "runs"), "--json"], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"offline training failed: {proc.stderr[-2000:]}")
    result = json.loads(proc.stdout)
    done.write_text(json.dumps(result))
    return Path(result["run_dir"])
