"""What a sketch must agree with: the model's ops, tensors, quantization, arena and labels,
and the feature spec's scaling. Read from the model card when there is one, else from the
.tflite itself (no TensorFlow import)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import UserError

ARENA_MARGIN = 1.25  # measured on the host (64-bit pointers): a safe bound for 32-bit boards
_ARENA_TOTAL = re.compile(r"Arena allocation total (\d+) bytes")


@dataclass
class ModelFacts:
    tflite: Path
    ops: list[str]
    input_shape: list[int]
    output_shape: list[int]
    input_dtype: str
    output_dtype: str
    input_scale: float
    input_zero_point: int
    output_scale: float
    output_zero_point: int
    model_bytes: int
    labels: list[str]
    arena_bytes: int | None = None
    model_symbol: str = "g_model_data"
    model_header: str = "model_data.h"
    tflm_unsupported: list[str] = field(default_factory=list)

    @property
    def input_size(self) -> int:
        return int(np.prod(self.input_shape[1:] if len(self.input_shape) > 1 else self.input_shape))

    @property
    def output_size(self) -> int:
        return int(np.prod(self.output_shape[1:] if len(self.output_shape) > 1 else self.output_shape))

    @property
    def arena_with_margin(self) -> int:
        return int(-(-int((self.arena_bytes or 0) * ARENA_MARGIN) // 1024) * 1024)

    def summary(self) -> dict[str, Any]:
        return {"ops": self.ops, "input_shape": self.input_shape, "output_shape": self.output_shape,
                "input_dtype": self.input_dtype, "output_dtype": self.output_dtype,
                "input_scale": self.input_scale, "input_zero_point": self.input_zero_point,
                "output_scale": self.output_scale, "output_zero_point": self.output_zero_point,
                "arena_bytes": self.arena_bytes, "model_bytes": self.model_bytes, "labels": self.labels,
                "model_symbol": self.model_symbol, "model_header": self.model_header}


def load_facts(tflite: Path, card: Path | None = None, labels: list[str] | None = None) -> ModelFacts:
    """Facts from the .tflite, completed (and overridden) by a model card when given."""
    from ...cruntime.parser import parse_tflite

    tflite = Path(tflite)
    if not tflite.is_file():
        raise UserError(f"model file {tflite} not found: check --model")
    data = tflite.read_bytes()
    graph = parse_tflite(data)
    tin, tout = graph.tensors[graph.inputs[0]], graph.tensors[graph.outputs[0]]
    facts = ModelFacts(
        tflite=tflite, ops=list(dict.fromkeys(op.opcode for op in graph.operators)),
        input_shape=list(tin.shape), output_shape=list(tout.shape),
        input_dtype=tin.dtype, output_dtype=tout.dtype,
        input_scale=float(tin.scale[0]) if tin.scale.size else 0.0,
        input_zero_point=int(tin.zero_point[0]) if tin.zero_point.size else 0,
        output_scale=float(tout.scale[0]) if tout.scale.size else 0.0,
        output_zero_point=int(tout.zero_point[0]) if tout.zero_point.size else 0,
        model_bytes=len(data), labels=list(labels or []),
    )
    if card is not None and Path(card).is_file():
        _apply_card(facts, json.loads(Path(card).read_text()))
    if labels:
        facts.labels = list(labels)
    if not facts.labels:
        facts.labels = [f"class_{i}" for i in range(facts.output_size)]
    return facts


def _apply_card(facts: ModelFacts, card: dict[str, Any]) -> None:
    for key in ("input_scale", "output_scale"):
        if card.get(key) is not None:
            setattr(facts, key, float(card[key]))
    for key in ("input_zero_point", "output_zero_point", "arena_bytes"):
        if card.get(key) is not None:
            setattr(facts, key, int(card[key]))
    for key in ("model_symbol", "model_header"):
        if card.get(key):
            setattr(facts, key, str(card[key]))
    if card.get("labels"):
        facts.labels = [str(x) for x in card["labels"]]
    facts.tflm_unsupported = [op["name"] for op in card.get("ops", [])
                              if isinstance(op, dict) and op.get("tflm_supported") is False]


_PROBE = """
import os, sys
from tflite_micro.python.tflite_micro import runtime
data = open(sys.argv[1], 'rb').read()
interp = runtime.Interpreter.from_bytes(data, arena_size=4 << 20)
sys.stderr.flush()
interp.print_allocations()
"""


def measure_arena(tflite: Path, timeout: float = 120) -> int | None:
    """The arena TFLite Micro allocates for this model, measured once per model in a child process and
    kept by the model's hash (in this process and under ~/.cache/tinyml-autopilot/arena)."""
    data = Path(tflite).read_bytes()
    key = hashlib.sha256(data).hexdigest()
    if key in _ARENAS:
        return _ARENAS[key]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tinyml-autopilot" / "arena"
    cached = cache / f"{key}.json"
    try:
        _ARENAS[key] = int(json.loads(cached.read_text())["arena_bytes"])
        return _ARENAS[key]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        proc = subprocess.run([sys.executable, "-c", _PROBE, str(tflite)], capture_output=True,
                              text=True, timeout=timeout)
    except (subprocess.TimeoutExpired, OSError):
        return None
    m = _ARENA_TOTAL.search(proc.stderr + proc.stdout)
    if not m:
        return None
    _ARENAS[key] = int(m.group(1))
    try:
        cache.mkdir(parents=True, exist_ok=True)
        cached.write_text(json.dumps({"arena_bytes": _ARENAS[key]}))
    except OSError:
        pass  # a read-only home: measured again next run
    return _ARENAS[key]


_ARENAS: dict[str, int] = {}


@dataclass
class Scaling:
    method: str
    offset: list[float]
    scale: list[float]


@dataclass
class FeatureFacts:
    kind: str
    channels: list[str]
    window: int  # samples per inference (1 for tabular data)
    sample_rate_hz: float | None
    scaling: Scaling
    stride: int | None = None  # samples between window starts in training (None: one window per inference)

    @property
    def hop(self) -> int:
        """Samples between inferences on the device: the training stride, never more than the window."""
        return min(self.window, self.stride) if self.stride and self.stride > 0 else self.window

    @property
    def values_per_sample(self) -> int:
        return len(self.channels)

    def to_model(self, raw: np.ndarray) -> np.ndarray:
        """x_model = (x_raw - offset) / scale, in float32 as the board computes it."""
        return self._per_channel(raw, lambda v, off, sc: (v - off) / sc)

    def to_raw(self, x: np.ndarray) -> np.ndarray:
        return self._per_channel(x, lambda v, off, sc: v * sc + off)

    def _per_channel(self, values: np.ndarray, fn) -> np.ndarray:
        values = np.asarray(values, np.float32)
        if self.scaling.method == "none":
            return values
        off = np.asarray(self.scaling.offset, np.float32)
        sc = np.asarray(self.scaling.scale, np.float32)
        flat = values.reshape(-1, self.values_per_sample)
        return fn(flat, off, sc).reshape(values.shape).astype(np.float32)


def load_feature_spec(path: Path | None, facts: ModelFacts) -> FeatureFacts:
    """The feature spec's channels, window and scaling; without one, identity scaling and the shape
    the model's input gives: [1, window, channels] is a time series, anything else one reading."""
    size = facts.input_size
    if path is None:
        shape = facts.input_shape
        if len(shape) == 3 and shape[1] > 1:
            return FeatureFacts("timeseries", [f"ch{i}" for i in range(shape[2])], shape[1], None,
                                Scaling("none", [], []))
        return FeatureFacts("tabular", [f"x{i}" for i in range(size)], 1, None, Scaling("none", [], []))
    path = Path(path)
    if not path.is_file():
        raise UserError(f"feature spec {path} not found: check --spec")
    spec = json.loads(path.read_text())
    names = spec.get("channels") if spec.get("kind") == "timeseries" else spec.get("feature_columns")
    names = [str(n) for n in (names or spec.get("channels") or spec.get("feature_columns") or [])]
    if not names or size % len(names):
        raise UserError(f"feature spec {path} lists {len(names)} channels/features but the model takes "
                        f"{size} values: pass the spec that belongs to this model")
    sc = spec.get("scaling") or {}
    method = str(sc.get("method") or "none")
    scaling = Scaling(method, _per_channel(sc.get("offset"), len(names), 0.0),
                      _per_channel(sc.get("scale"), len(names), 1.0))
    if method != "none" and {len(scaling.offset), len(scaling.scale)} != {len(names)}:
        raise UserError(f"feature spec {path} scales {len(scaling.offset)}/{len(scaling.scale)} values but lists "
                        f"{len(names)} channels/features: give one offset and scale per channel")
    if method != "none" and any(abs(s) < 1e-12 for s in scaling.scale):
        raise UserError(f"feature spec {path} has a zero scale: fix its 'scaling'")
    window = size // len(names)
    if spec.get("window") and int(spec["window"]) != window:
        raise UserError(f"feature spec {path} has window {spec['window']} but the model takes {window} samples of "
                        f"{len(names)} channels: pass the spec that belongs to this model")
    stride = int(spec["stride"]) if spec.get("stride") and window > 1 else None
    return FeatureFacts(str(spec.get("kind") or "tabular"), names, window, spec.get("sample_rate_hz"), scaling,
                        stride)


def _per_channel(values: Any, n: int, default: float) -> list[float]:
    if values is None:
        return [default] * n
    if isinstance(values, int | float):
        return [float(values)] * n
    values = [float(v) for v in values]
    return values * n if len(values) == 1 else values
