"""Bundled demo data: a small IMU-like gesture set, built deterministically on demand."""

from __future__ import annotations

from pathlib import Path

import numpy as np

CLASSES = ("idle", "wave", "shake")
CHANNELS = ("ax", "ay", "az")
RATE_HZ = 50.0
SAMPLES = 40
RECORDINGS = 30
# what the demo passes to the data stage
DEMO_OPTIONS = {"label": "file name", "window": SAMPLES, "rate": RATE_HZ,
                "description": "3-axis accelerometer gestures (idle, wave, shake) captured at 50 Hz on an "
                               "Arduino; one CSV per gesture, recordings separated by blank lines; classify "
                               "each 0.8 s recording."}


def _recording(kind: str, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(SAMPLES) / RATE_HZ
    phase = rng.uniform(0, 2 * np.pi)
    gravity = np.array([0.0, 0.0, 1.0]) + rng.normal(0, 0.03, 3)
    if kind == "idle":
        motion = np.zeros((SAMPLES, 3))
    elif kind == "wave":  # slow side-to-side, about 1.5 Hz
        f = rng.uniform(1.2, 1.8)
        motion = np.stack([0.8 * np.sin(2 * np.pi * f * t + phase), 0.2 * np.sin(2 * np.pi * f * t),
                           np.zeros_like(t)], axis=1)
    else:  # fast shake on all axes, about 6 Hz
        f = rng.uniform(5.0, 7.0)
        motion = np.stack([1.2 * np.sin(2 * np.pi * f * t + phase), 0.9 * np.sin(2 * np.pi * f * t + 1),
                           0.6 * np.sin(2 * np.pi * f * t + 2)], axis=1)
    return gravity + motion + rng.normal(0, 0.05, (SAMPLES, 3))


def demo_dataset(dest: Path) -> Path:
    """Write idle.csv, wave.csv, shake.csv (header ax,ay,az; blank line between recordings) into dest."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20240601)
    for kind in CLASSES:
        blocks = []
        for _ in range(RECORDINGS):
            rows = _recording(kind, rng)
            blocks.append("\n".join(",".join(f"{v:.3f}" for v in row) for row in rows))
        (dest / f"{kind}.csv").write_text(",".join(CHANNELS) + "\n" + "\n\n".join(blocks) + "\n")
    return dest


__all__ = ["demo_dataset", "DEMO_OPTIONS", "CLASSES", "CHANNELS", "RATE_HZ"]
