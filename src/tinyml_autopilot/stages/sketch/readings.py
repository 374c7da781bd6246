"""Recorded raw readings for a run, and how the feature spec turns them into model inputs.

Beyond the per-channel scaling of the feature spec (standard/minmax), a spec may say
`"normalize": "sum"` (each sample divided by the sum of its channels: colour chromaticity
r/(r+g+b)) or `"divisor": [d0, d1, ...]` (fixed divisors, e.g. 4096 for a 12-bit ADC); both are
applied to the raw reading before the scaling.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...checks.sketch import FeatureFacts, ModelFacts
from ...errors import UserError


@dataclass
class Readings:
    raw: np.ndarray  # [n, values per inference]
    labels: np.ndarray | None  # class index per row, when known
    source: str


@dataclass
class Preprocess:
    normalize: str = "none"  # "none" | "sum"
    divisor: list[float] | None = None

    def apply(self, raw: np.ndarray, channels: int) -> np.ndarray:
        x = np.asarray(raw, np.float32).reshape(-1, channels)
        if self.divisor:
            x = x / np.asarray(self.divisor, np.float32)
        if self.normalize == "sum":
            total = x.sum(axis=1, keepdims=True)
            x = np.divide(x, total, out=np.zeros_like(x), where=total != 0)
        return x.reshape(np.asarray(raw).shape).astype(np.float32)


def load_preprocess(spec_path: Path | None) -> Preprocess:
    if spec_path is None or not Path(spec_path).is_file():
        return Preprocess()
    spec = json.loads(Path(spec_path).read_text())
    norm = str(spec.get("normalize") or "none")
    if norm not in ("none", "sum"):
        raise UserError(f"feature spec {spec_path}: normalize must be 'none' or 'sum', not {norm!r}")
    div = spec.get("divisor")
    if div is not None:
        div = [float(v) for v in (div if isinstance(div, list) else [div])]
        if any(v == 0 for v in div):
            raise UserError(f"feature spec {spec_path}: a divisor is 0")
    return Preprocess(norm, div)


def model_inputs(raw: np.ndarray, features: FeatureFacts, pre: Preprocess) -> np.ndarray:
    """Raw readings -> the float values the model takes, as a correct sketch computes them."""
    return features.to_model(pre.apply(raw, features.values_per_sample))


def read_csv(path: Path, facts: ModelFacts, features: FeatureFacts) -> Readings:
    """A CSV of raw readings: numeric columns are the channels, a `label` column (name or index) is optional."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise UserError(f"readings file {path} not found: check --readings")
    try:
        df = pd.read_csv(path)
    except (ValueError, OSError) as err:
        raise UserError(f"readings file {path} is not a CSV: {err}") from err
    label_col = next((c for c in df.columns if str(c).lower() in ("label", "class", "target", "y")), None)
    values = df.drop(columns=[label_col] if label_col else []).select_dtypes("number")
    if values.shape[1] != facts.input_size:
        raise UserError(f"readings file {path} has {values.shape[1]} numeric columns but the model takes "
                        f"{facts.input_size} values per inference: one column per channel (and a label column)")
    labels = None
    if label_col is not None:
        col = df[label_col]
        names = {n.lower(): i for i, n in enumerate(facts.labels)}
        if col.dtype.kind in "iu":
            labels = col.to_numpy()
        else:
            unknown = sorted({str(v) for v in col if str(v).lower() not in names})
            if unknown:
                raise UserError(f"readings file {path}: labels {unknown[:5]} are not the model's {facts.labels}")
            labels = np.asarray([names[str(v).lower()] for v in col])
    return Readings(values.to_numpy(np.float32), labels, f"{len(df)} readings of {path.name}")


def sensor_rows(raw: np.ndarray, kind: str, channels: list[str]) -> list[str]:
    """One recording line per reading for the replay libraries (see host_arduino/libraries)."""
    order = {"imu": ["ax", "ay", "az", "gx", "gy", "gz", "mx", "my", "mz"]}.get(kind)
    lines = []
    width = 0 if kind == "colour" else len(channels)
    for row in np.asarray(raw, np.float64).reshape(-1, width or np.asarray(raw).reshape(len(raw), -1).shape[1]):
        if kind == "colour":
            vals = list(row[:4]) if len(row) >= 4 else list(row[:3]) + [float(row[:3].sum())]
            vals += [0.0] * (5 - len(vals))
        elif order is not None and all(c in order for c in channels):
            vals = [0.0] * 9
            for c, v in zip(channels, row, strict=False):
                vals[order.index(c)] = v
        else:
            vals = list(row)
        lines.append(kind + " " + " ".join(f"{v:.9g}" for v in vals))
    return lines
