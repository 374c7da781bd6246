"""Gather the sketch stage's inputs: a convert run folder, or a .tflite + labels + feature spec."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...boards import Board, get_board
from ...checks.sketch import FeatureFacts, ModelFacts, load_facts, load_feature_spec, measure_arena
from ...errors import UserError
from ...runs import read_output

MAX_VECTORS = 20
TFLM_RUNTIME_FLASH = 60_000


@dataclass
class Inputs:
    board: Board
    runtime: str
    facts: ModelFacts
    features: FeatureFacts
    name: str | None = None
    description: str | None = None
    sensor: str | None = None
    output: str = "serial"
    convert_dir: Path | None = None
    processed_dir: Path | None = None
    c_dir: Path | None = None
    spec_path: Path | None = None  # the feature spec file (its normalize/divisor say how raw readings become inputs)
    libraries: str | None = None  # where the Arduino libraries are (the `libraries` setting or --libraries)
    readings: Any = None  # recorded raw readings for the run (stages/sketch/readings.Readings), else the test split

    def test_vectors(self, limit: int = MAX_VECTORS) -> tuple[np.ndarray, str]:
        """Raw (unscaled) input vectors for the simulated run, and where they came from."""
        test = self.processed_dir / "test.npz" if self.processed_dir else None
        if test is not None and test.is_file():
            with np.load(test) as npz:
                x, y = np.asarray(npz["X"], np.float32), np.asarray(npz["y"])
            order = _round_robin(y)[:limit]
            rows = x[order].reshape(len(order), -1)
            return self.features.to_raw(rows), f"{len(order)} rows of {test.name}"
        rng = np.random.default_rng(0)
        f = self.facts
        lo, hi = (-128 - f.input_zero_point) * f.input_scale, (127 - f.input_zero_point) * f.input_scale
        rows = rng.uniform(lo * 0.8, hi * 0.8, size=(limit, f.input_size)).astype(np.float32)
        return self.features.to_raw(rows), f"{limit} synthetic vectors (no test set given)"


def _round_robin(y: np.ndarray) -> list[int]:
    """Row indices taking one row of each class in turn, so every class is exercised."""
    queues = [list(np.flatnonzero(y == c)) for c in np.unique(y)]
    out: list[int] = []
    while any(queues):
        for q in queues:
            if q:
                out.append(int(q.pop(0)))
    return out


def resolve(data: Path | None, board: str | None, model: Path | None, labels: str | None,
            spec: Path | None, runtime: str | None, *, default_board: str | None = None,
            measure: bool = True) -> Inputs:
    out: dict = {}
    if data is not None:
        out = read_output(Path(data), stages=("convert",))
    tflite = Path(model) if model else (Path(out["tflite"]) if out.get("tflite") else None)
    if tflite is None:
        raise UserError("no model: pass --data CONVERT_RUN, or --model MODEL.tflite with --labels")
    card_path = Path(out["model_card"]) if out.get("model_card") and not model else None
    card = json.loads(card_path.read_text()) if card_path and card_path.is_file() else {}
    label_list = [x.strip() for x in labels.split(",") if x.strip()] if labels else None
    given = out.get("labels")
    if isinstance(given, str) and Path(given).is_file():
        given = json.loads(Path(given).read_text())
    if label_list is None and isinstance(given, list):
        label_list = [str(x) for x in given]
    facts = load_facts(tflite, card_path, label_list)
    if len(facts.labels) != facts.output_size:
        raise UserError(f"{len(facts.labels)} labels given but the model outputs {facts.output_size} classes: "
                        "check --labels")
    board_id = board or default_board or card.get("board")
    if not board_id:
        raise UserError("no board: pass --board ID (`tinyml-autopilot boards` lists them)")
    b = get_board(board_id)
    rt = runtime or b.runtime
    if rt not in ("tflm", "portable-c"):
        raise UserError(f"unknown runtime '{rt}': use portable-c or tflm")
    if rt == "tflm" and b.is_avr:
        raise UserError(f"TensorFlow Lite Micro does not run on {b.name} (AVR, {b.ram_bytes} B RAM): "
                        "use --runtime portable-c")
    spec_path = Path(spec) if spec else (Path(out["feature_spec"]) if out.get("feature_spec") else None)
    features = load_feature_spec(spec_path, facts)
    if rt == "tflm" and facts.arena_bytes is None and measure:
        facts.arena_bytes = measure_arena(tflite)
    processed = Path(out["processed_dir"]) if out.get("processed_dir") else None
    c_dir = Path(out["c_dir"]) if out.get("c_dir") and Path(str(out["c_dir"])).is_dir() else None
    return Inputs(board=b, runtime=rt, facts=facts, features=features,
                  convert_dir=Path(out["run_dir"]) if out else None, processed_dir=processed, c_dir=c_dir,
                  spec_path=spec_path)


def check_fits(inp: Inputs) -> None:
    """A model that cannot fit the board stops here with one line."""
    b, f = inp.board, inp.facts
    if inp.runtime == "tflm":
        need = f.model_bytes + TFLM_RUNTIME_FLASH
        if need > b.flash_bytes:
            raise UserError(f"the model ({f.model_bytes} B + ~{TFLM_RUNTIME_FLASH // 1000} KB TFLite Micro) does "
                            f"not fit {b.name}'s {b.flash_bytes} B of flash: train a smaller model")
        if (f.arena_bytes or 0) > b.ram_bytes:
            raise UserError(f"the model needs a {f.arena_bytes} B tensor arena but {b.name} has {b.ram_bytes} B "
                            "of RAM: train a smaller model")
        return
    from ...cruntime import emit_c

    cm = emit_c(f.tflite.read_bytes(), prefix="model")
    if cm.weights_bytes > b.flash_bytes:
        raise UserError(f"the model's weights ({cm.weights_bytes} B) do not fit {b.name}'s {b.flash_bytes} B of "
                        "flash: train a smaller model")
    if cm.arena_bytes > b.ram_bytes:
        raise UserError(f"the model needs {cm.arena_bytes} B of activation memory but {b.name} has "
                        f"{b.ram_bytes} B of RAM: train a smaller model")
    # what avr-gcc and 16-bit PROGMEM reads cannot hold, whatever the flash: no attempt could fix it
    if b.is_avr and (problems := cm.avr_problems()):
        raise UserError(f"the model cannot run on {b.name}: " + "; ".join(problems))
    if b.is_avr:
        from .memory import avr_portable_c_ram

        ram = avr_portable_c_ram(len(inp.features.channels), f.labels, cm.arena_bytes, f.input_size, f.output_size,
                                 b.ram_bytes)
        if not ram.fits:
            raise UserError(ram.line(b.name, len(inp.features.channels)))
