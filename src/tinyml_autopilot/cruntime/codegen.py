"""Render the lowered model as `<prefix>.h` + `<prefix>.c` (C99, no malloc)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import jinja2
import numpy as np

from tinyml_autopilot.cruntime.lower import ConstArray, Lowered, _find, lower
from tinyml_autopilot.cruntime.parser import parse_tflite
from tinyml_autopilot.cruntime.planner import Buffer, plan_arena

TEMPLATES = Path(__file__).parent / "templates"
AVR_MAX_OBJECT = 32767  # avr-gcc's limit on one object
# pgm_read_* take 16-bit addresses: all PROGMEM data must sit in the first 64 KB of flash,
# after the vector table and beside the core's and the sketch's own PROGMEM data.
AVR_PROGMEM_LIMIT = 60 * 1024
KERNEL_DEPS: dict[str, tuple[str, ...]] = {
    "fc": ("clamp", "round", "mulq", "dot"),
    "conv": ("clamp", "round", "mulq", "dot", "wsum"),
    "dwconv": ("clamp", "round", "mulq"),
    "requant": ("clamp", "round", "mulq"),
    "softmax": ("clamp", "round"),
    "pool": ("clamp",),
    "mean": ("clamp", "round", "mulq"),
    "copy": (),
    "dot": (),
    "wsum": (),
}
KERNEL_ORDER = ("clamp", "round", "mulq", "dot", "wsum", "copy", "requant", "fc", "conv", "dwconv", "pool",
                "mean", "softmax")


@dataclass
class CModel:
    header: str
    source: str
    arena_bytes: int
    weights_bytes: int
    ops: list[str]
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    input_scale: float
    input_zero_point: int
    output_scale: float
    output_zero_point: int
    prefix: str = "model"
    unshared_arena_bytes: int = 0
    largest_array_bytes: int = 0
    plan: list[PlannedTensor] = field(default_factory=list)
    extra: dict[str, object] = field(default_factory=dict)

    def avr_problems(self) -> list[str]:
        """Why this model cannot run from an AVR's PROGMEM (empty when it can)."""
        return avr_problems(self.weights_bytes, self.largest_array_bytes)

    def write(self, dir: Path) -> list[Path]:  # noqa: A002 - name fixed by the API
        dir = Path(dir)
        dir.mkdir(parents=True, exist_ok=True)
        h, c = dir / f"{self.prefix}.h", dir / f"{self.prefix}.c"
        h.write_text(self.header)
        c.write_text(self.source)
        return [h, c]


@dataclass(frozen=True)
class PlannedTensor:
    name: str
    offset: int
    size: int
    first: int  # first step (call in `<prefix>_invoke`) that touches it
    last: int


def avr_problems(weights_bytes: int, largest_array_bytes: int) -> list[str]:
    problems = []
    if largest_array_bytes > AVR_MAX_OBJECT:
        problems.append(f"one constant array of this model is {largest_array_bytes} bytes, AVR objects "
                        f"are limited to {AVR_MAX_OBJECT} bytes: use a smaller layer")
    if weights_bytes > AVR_PROGMEM_LIMIT:
        problems.append(f"this model has {weights_bytes} bytes of constant data, AVR reads PROGMEM "
                        f"through 16-bit addresses so the model must stay below {AVR_PROGMEM_LIMIT} "
                        "bytes: use a smaller model")
    return problems


@cache
def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                              trim_blocks=True, lstrip_blocks=True,
                              keep_trailing_newline=True, undefined=jinja2.StrictUndefined)


def _float_lit(x: float) -> str:
    return f"{float(np.float32(x)):.9e}f"


def _body(a: ConstArray) -> tuple[str, int]:
    if a.ctype.endswith("_geom_t"):
        return "  {" + ", ".join(str(v) for v in a.values) + "}", 1
    lines = [", ".join(str(v) for v in a.values[i:i + 16]) for i in range(0, len(a.values), 16)]
    return ",\n".join("  " + line for line in lines), len(a.values)


def _kernels(low: Lowered) -> list[str]:
    need: set[str] = set()
    for s in low.steps:
        need.add(s.kernel)
        need.update(KERNEL_DEPS[s.kernel])
    return [(TEMPLATES / f"k_{k}.c").read_text() for k in KERNEL_ORDER if k in need]


def _plan(low: Lowered) -> tuple[dict[int, int], int, list[Buffer]]:
    """Arena offset of each tensor group that lives in the arena; (offsets, arena, buffers)."""
    a, io = low.aliases, {_find(low.aliases, low.input): "input",
                          _find(low.aliases, low.output): "output"}
    spans: dict[int, list[int]] = {}
    for i, s in enumerate(low.steps):
        for t in (_find(a, s.reads), _find(a, s.writes)):
            spans.setdefault(t, [i, i])
            spans[t][0], spans[t][1] = min(spans[t][0], i), max(spans[t][1], i)
    bufs = [Buffer(t, low.graph.tensors[t].size, lo, hi) for t, (lo, hi) in spans.items()
            if t not in io]
    offsets, total = plan_arena(bufs)
    return offsets, total, bufs


def _comment_text(name: str, limit: int = 48) -> str:
    """A tensor name fit for a C comment: its first ';' part, printable ASCII, the tail kept."""
    text = "".join(ch if " " <= ch <= "~" else "?" for ch in name.split(";")[0]).replace("*/", "*_/")
    return text if len(text) <= limit else "..." + text[3 - limit:]


def _pointer(low: Lowered, t: int, offsets: dict[int, int], prefix: str) -> str:
    root = _find(low.aliases, t)
    if root == _find(low.aliases, low.input):
        return "input"
    if root == _find(low.aliases, low.output):
        return "output"
    return f"({prefix}_arena + {offsets[root]})"


def _check_prefix(prefix: str) -> None:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", prefix):
        raise ValueError(f"prefix must be a C identifier, got {prefix!r}")


def emit_c(tflite_bytes: bytes, prefix: str = "model") -> CModel:
    """Compile an int8 .tflite model to a dependency-free C99 header and source."""
    _check_prefix(prefix)
    low = lower(parse_tflite(bytes(tflite_bytes)), prefix)
    offsets, arena, bufs = _plan(low)
    plan = [PlannedTensor(_comment_text(low.graph.tensors[b.key].name), offsets[b.key], b.size,
                          b.first, b.last) for b in sorted(bufs, key=lambda b: (b.first, b.key))]
    body = [s.call.format(**{"in": _pointer(low, s.reads, offsets, prefix),
                             "out": _pointer(low, s.writes, offsets, prefix)})
            + f"  /* {i}: {s.opcode} */" for i, s in enumerate(low.steps)]
    arrays = []
    for a in low.arrays:
        text, length = _body(a)
        arrays.append({"name": a.name, "ctype": a.ctype, "body": text, "length": length})
    weights = sum(a.nbytes for a in low.arrays)
    largest = max((a.nbytes for a in low.arrays), default=0)
    tin, tout = low.graph.tensors[low.input], low.graph.tensors[low.output]
    ctx = {
        "prefix": prefix, "P": prefix.upper(), "guard": f"{prefix.upper()}_H_",
        "ops": low.ops, "arena_bytes": arena, "weights_bytes": weights,
        "input_shape": list(tin.shape), "output_shape": list(tout.shape),
        "input_size": tin.size, "output_size": tout.size,
        "input_scale_lit": _float_lit(tin.scale[0]),
        "input_zero_point": f"({int(tin.zero_point[0])})",
        "output_scale_lit": _float_lit(tout.scale[0]),
        "output_zero_point": f"({int(tout.zero_point[0])})",
        "prelude": (TEMPLATES / "prelude.c").read_text(), "kernels": _kernels(low),
        "arrays": arrays, "body": body, "plan": plan,
        "avr_problems": [p.replace('"', "'") for p in avr_problems(weights, largest)],
    }
    env = _env()
    return CModel(
        header=env.get_template("model.h.j2").render(**ctx),
        source=env.get_template("model.c.j2").render(**ctx),
        arena_bytes=arena, weights_bytes=weights, ops=low.ops,
        input_shape=tuple(tin.shape), output_shape=tuple(tout.shape),
        input_scale=float(tin.scale[0]), input_zero_point=int(tin.zero_point[0]),
        output_scale=float(tout.scale[0]), output_zero_point=int(tout.zero_point[0]),
        prefix=prefix, unshared_arena_bytes=sum(b.size for b in bufs),
        largest_array_bytes=largest, plan=plan,
    )
