"""Datasets the data-stage tests build: scikit-learn's bundled sets with mess, and synthetic IMU signals."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from tinyml_autopilot.stages.data.operations import code_for

IMU = ["aX", "aY", "aZ", "gX", "gY", "gZ"]
GESTURES = {"punch": 2.0, "flex": 5.0, "still": 0.5}  # class -> main frequency (Hz)


def messy_iris(path: Path) -> Path:
    """Iris with an id column, a constant column, duplicates, gaps, mixed-case labels, numbers as text."""
    from sklearn.datasets import load_iris

    iris = load_iris(as_frame=True)
    df = iris.frame.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
    names = np.array(iris.target_names)[df.pop("target")]
    variants = {"setosa": ["setosa", "Setosa", " SETOSA"], "versicolor": ["versicolor", "Versicolor "],
                "virginica": ["virginica", "VIRGINICA"]}
    df["species"] = [variants[n][i % len(variants[n])] for i, n in enumerate(names)]
    df.insert(0, "sample_id", np.arange(1000, 1000 + len(df)))
    df["device"] = "bench-01"
    df["petal_width"] = df["petal_width"].map(lambda v: f"{v:.1f}").astype(object)
    df.loc[[3, 57, 120], "petal_width"] = "?"
    df.loc[[5, 60, 100], "sepal_length"] = np.nan
    df = pd.concat([df, df.iloc[[10, 20, 30, 70, 140]]], ignore_index=True)
    df.to_csv(path, index=False)
    return path


def signal(cls: str, n: int, rng: np.random.Generator, rate: float = 50.0) -> np.ndarray:
    t = np.arange(n) / rate
    f = GESTURES[cls]
    cols = [np.sin(2 * np.pi * f * (1 + 0.1 * k) * t + rng.uniform(0, 6)) * (1 + k % 3) for k in range(6)]
    return np.stack(cols, axis=1) + rng.normal(0, 0.2, (n, 6))


def long_csv(path: Path, sessions_per_class: int = 6, rows: int = 150, seed: int = 0) -> Path:
    """Many rows per recording: session_id, timestamp in ms at 50 Hz, six channels, a few gaps."""
    rng = np.random.default_rng(seed)
    frames = []
    for number, cls in enumerate(list(GESTURES) * sessions_per_class):
        values = signal(cls, rows, rng)
        part = pd.DataFrame(values.round(4), columns=IMU)
        part.insert(0, "timestamp_ms", 1000 * number + np.arange(rows) * 20)
        part.insert(0, "session_id", f"s{number:03d}")
        part["gesture"] = cls
        frames.append(part)
    df = pd.concat(frames, ignore_index=True)
    df.loc[[7, 400, 901], "gX"] = np.nan
    df.to_csv(path, index=False)
    return path


def imu_folder(folder: Path, recordings: int = 8, rows: int = 60, seed: int = 1) -> Path:
    """One CSV per gesture, header aX..gZ, a blank line between recordings (Arduino IMU capture)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for cls in GESTURES:
        blocks = ["\n".join(",".join(f"{v:.3f}" for v in row) for row in signal(cls, rows, rng))
                  for _ in range(recordings)]
        (folder / f"{cls}.csv").write_text(",".join(IMU) + "\n" + "\n\n".join(blocks) + "\n")
    return folder


def arduino_captures(folder: Path, recordings: int = 4, rows: int = 119, seed: int = 3) -> Path:
    """Captures as users save them from the serial monitor: CRLF, a .CSV name, a file without its header
    line, the header again after a board reset, a status line, a trailing blank line."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    header = ",".join(IMU)
    for number, (cls, name) in enumerate(zip(GESTURES, ("Punch.CSV", "flex.csv", "still.csv"), strict=True)):
        lines = [] if number == 1 else [header]
        for index in range(recordings):
            if number == 0 and index == 2:
                lines += ["IMU initialized", header]
            lines += [",".join(f"{v:.3f}" for v in row) for row in signal(cls, rows, rng)] + [""]
        (folder / name).write_bytes(("\r\n".join(lines) + "\r\n").encode())
    return folder


def user_stream_csv(path: Path, users: int = 5, seed: int = 4) -> Path:
    """WISDM-like: user, activity, timestamp, x, y, z; each user's stream holds every activity in turn."""
    rng = np.random.default_rng(seed)
    frames = []
    for user in range(1, users + 1):
        start = user * 10**6
        for cls in GESTURES:
            n = int(rng.integers(120, 160))
            part = pd.DataFrame(signal(cls, n, rng)[:, :3].round(3), columns=["x-axis", "y-axis", "z-axis"])
            part.insert(0, "timestamp", start + np.arange(n) * 20)
            part.insert(0, "activity", cls.title())
            part.insert(0, "user", user)
            start += n * 20
            frames.append(part)
    pd.concat(frames, ignore_index=True).to_csv(path, index=False)
    return path


def wine_npz(path: Path) -> Path:
    from sklearn.datasets import load_wine

    wine = load_wine()
    np.savez(path, X=wine.data.astype(np.float32), y=np.array(wine.target_names)[wine.target])
    return path


def windows_npz(path: Path, per_class: int = 12, steps: int = 32, seed: int = 2) -> Path:
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for index, cls in enumerate(GESTURES):
        for _ in range(per_class):
            xs.append(signal(cls, steps, rng)[:, :3])
            ys.append(index)
    np.savez(path, X=np.asarray(xs, np.float32), y=np.asarray(ys))
    return path


def digest(path: Path) -> str:
    """A hash of a file or a folder's files, to prove the raw data was not touched."""
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    h = hashlib.sha256()
    for file in files:
        h.update(file.name.encode() + file.read_bytes())
    return h.hexdigest()


def prompt_config(text: str) -> dict:
    return json.loads(re.search(r"CONFIG = (\{.*?\})\n```", text, re.DOTALL).group(1))


def step_operation(text: str) -> str:
    return re.search(r"^Operation: (\S+)$", text, re.MULTILINE).group(1)


def reply(code: str, language: str = "python") -> str:
    return f"Here is the script.\n\n```{language}\n{code}```\n"


def template_reply(prompt: str) -> str:
    """What a careful LLM would write for a step prompt: the operation done right."""
    return reply(code_for(step_operation(prompt), prompt_config(prompt)))
