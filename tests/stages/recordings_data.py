"""Recordings shaped like public sets: subjects with several recordings and restarting clocks (smartphone HAR),
variable-length gestures, a speech-feature table with utterance ids, per-class folders of colour readings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .conftest_data import signal

ACTIVITIES = ("punch", "flex", "still")  # the signal shapes of conftest_data
RUN = 100  # rows per activity inside one HAR recording (2 s at 50 Hz)


def har(subjects: int = 8, recordings: int = 3, seed: int = 0) -> pd.DataFrame:
    """subject, recording (1.. again for every subject), t_ms restarting at 0 in each recording, ax..az, activity.

    Every recording holds each activity once, in turn: the label changes inside a recording."""
    rng = np.random.default_rng(seed)
    frames = []
    for subject in range(1, subjects + 1):
        for recording in range(1, recordings + 1):
            order = list(ACTIVITIES[recording % 3:] + ACTIVITIES[:recording % 3])
            values = np.concatenate([signal(a, RUN, rng)[:, :3] for a in order])
            part = pd.DataFrame(values.round(4), columns=["ax", "ay", "az"])
            part.insert(0, "t_ms", np.arange(len(part)) * 20)
            part.insert(0, "recording", recording)
            part.insert(0, "subject", subject)
            part["activity"] = np.repeat(order, RUN)
            frames.append(part)
    return pd.concat(frames, ignore_index=True)


def blank_labels(df: pd.DataFrame, share: float, seed: int = 5) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(df), int(round(share * len(df))), replace=False))
    df = df.copy()
    df.loc[rows, "activity"] = np.nan
    return df, rows


def count_windows(df: pd.DataFrame, label: str, ids: list[str], width: int, stride: int) -> int:
    """Windows of `width` every `stride` inside runs of one recording and one label, cut at blank labels."""
    total = 0
    for _, rec in df.groupby(ids, sort=False):
        runs = (rec[label] != rec[label].shift()).cumsum()
        for _, run in rec.groupby(runs.to_numpy(), sort=False):
            if run[label].notna().all() and len(run) >= width:
                total += (len(run) - width) // stride + 1
    return total


def gestures(participants: int = 5, takes: int = 3, seed: int = 7) -> pd.DataFrame:
    """participant, take, sample (0.. per take), six IMU channels, gesture: one gesture per take, 29..361 rows."""
    rng = np.random.default_rng(seed)
    frames, number = [], 0
    for participant in range(participants):
        for cls in ACTIVITIES:
            for _ in range(takes):
                n = int(rng.integers(29, 362))
                part = pd.DataFrame(signal(cls, n, rng).round(4), columns=["ax", "ay", "az", "gx", "gy", "gz"])
                part.insert(0, "sample", np.arange(n))
                part.insert(0, "take", f"t{number:03d}")
                part.insert(0, "participant", f"p{participant}")
                part["gesture"] = cls
                frames.append(part)
                number += 1
    return pd.concat(frames, ignore_index=True)


def utterances(speakers: int = 5, per_class: int = 3, seed: int = 8) -> pd.DataFrame:
    """speaker, utterance, frame, 12 coefficients, label: 7..29 frames per utterance, and two of 1 frame."""
    rng = np.random.default_rng(seed)
    frames, number = [], 0
    for speaker in range(speakers):
        for index, cls in enumerate(ACTIVITIES):
            for _ in range(per_class):
                n = 1 if number in (4, 31) else int(rng.integers(7, 30))
                base = np.sin(np.linspace(0, 3, n))[:, None] * (index + 1) + np.arange(12) * 0.1 * index
                part = pd.DataFrame((base + rng.normal(0, 0.3, (n, 12))).round(4),
                                    columns=[f"c{k}" for k in range(1, 13)])
                part.insert(0, "frame", np.arange(n))
                part.insert(0, "utterance", f"u{number:04d}")
                part.insert(0, "speaker", f"spk{speaker}")
                part["label"] = cls
                frames.append(part)
                number += 1
    return pd.concat(frames, ignore_index=True)


def colour_folder(folder: Path, rows: int = 40, repeats: int = 12, seed: int = 9) -> Path:
    """One CSV per colour: independent r,g,b,c readings (no time series), some rows repeated exactly."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for cls, mean in (("red", (200, 40, 40)), ("green", (40, 190, 60)), ("blue", (40, 60, 210))):
        values = np.column_stack([rng.normal(m, 12, rows) for m in mean] + [rng.normal(300, 20, rows)]).round()
        values = np.concatenate([values, values[rng.choice(rows, repeats // 3, replace=False)]])
        lines = ["r,g,b,c"] + [",".join(str(int(v)) for v in row) for row in values]
        (folder / f"{cls}.csv").write_text("\n".join(lines) + "\n")
    return folder
