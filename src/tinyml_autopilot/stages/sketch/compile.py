"""Compile a sketch for its board, derive the test build, run it in simavr and compare its
predictions with the host model's on the same raw vectors."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...boards import Board
from ...checks.sketch import FeatureFacts, ModelFacts
from ...secrets import redact
from .memory import linker_lines

ACQUIRE = re.compile(r"^[^\n]*TINYML_ACQUIRE_BEGIN[^\n]*\n(.*?)^[^\n]*TINYML_ACQUIRE_END[^\n]*$", re.S | re.M)
ACQUIRE_FN = re.compile(r"\bbool\s+(\w+)\s*\(\s*float\s*\*\s*\w+\s*\)")
PRED = re.compile(r"^PRED\s+(-?\d+)", re.M)
RAM_FREE = re.compile(r"^RAM_FREE\s+(\d+)", re.M)
SIM_TIMEOUT_S = 60
MIN_RAM_FREE = 64  # bytes the simulated run must leave untouched: interrupts and paths the test did not take


@dataclass
class CompileVerdict:
    status: str  # passed | failed | not compiled
    message: str
    tool: str = "none"
    flash_bytes: int | None = None
    ram_bytes: int | None = None
    flash_budget: int | None = None
    ram_budget: int | None = None
    errors: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    elf: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if v not in (None, [], "")}
        out.pop("lines", None)
        return out


def compile_for(sketch_dir: Path, board: Board, build_dir: Path) -> CompileVerdict:
    from ...sandbox.arduino import compile_sketch

    res = compile_sketch(sketch_dir, board.fqbn, build_dir)
    budget = {"flash_budget": board.flash_bytes, "ram_budget": board.ram_bytes}
    if res.tool == "none":
        return CompileVerdict("not compiled", f"not compiled: no compiler for {board.fqbn} here "
                                              f"(install arduino-cli and core {board.core})", **budget)
    missing = res.missing or _missing_library(res.log, board)
    if not res.ok and missing:
        (build_dir / "compile.log").write_text(redact(res.log))
        return CompileVerdict("not compiled", f"not compiled: {missing}", tool=res.tool, **budget)
    verdict = CompileVerdict("passed" if res.ok else "failed", "", tool=res.tool, flash_bytes=res.flash_bytes,
                             ram_bytes=res.ram_bytes, errors=res.errors, elf=str(res.elf) if res.elf else None,
                             **budget)
    (build_dir / "compile.log").write_text(redact(res.log))
    if not res.ok:
        name = re.escape(sketch_dir.name)
        verdict.lines = sorted({int(n) for n in re.findall(rf"{name}\.ino:(\d+):\d+: (?:fatal )?error", res.log)})
        linker = [line for line in linker_lines(res.log) if line not in res.errors]
        verdict.errors = [*linker, *res.errors]
        verdict.message = "compile failed:\n" + "\n".join(verdict.errors[:15])
        return verdict
    verdict.message = f"compiled with {res.tool}: " + _usage(verdict)
    return verdict


def _missing_library(log: str, board: Board) -> str | None:
    """A library the board entry names (TFLite Micro, its sensors, BLE) that is not installed."""
    from ...checks.sketch.libraries import TFLM_LIBRARIES, sensor_headers

    known = sensor_headers(board) | {"ArduinoBLE.h": "ArduinoBLE"}
    if board.tflm_library in TFLM_LIBRARIES:
        known[TFLM_LIBRARIES[board.tflm_library]["header"]] = board.tflm_library
    for header in re.findall(r"fatal error: ([\w./-]+\.h): No such file or directory", log):
        if header in known:
            return f'library {known[header]} is not installed: run `arduino-cli lib install "{known[header]}"`'
    return None


def _usage(v: CompileVerdict) -> str:
    parts = []
    if v.flash_bytes is not None:
        parts.append(f"flash {v.flash_bytes}/{v.flash_budget} B")
    if v.ram_bytes is not None:
        parts.append(f"RAM (globals) {v.ram_bytes}/{v.ram_budget} B")
    return ", ".join(parts) or "sizes not reported"


def budget_problems(v: CompileVerdict) -> list[str]:
    out = []
    if v.flash_bytes and v.flash_budget and v.flash_bytes > v.flash_budget:
        out.append(f"the sketch uses {v.flash_bytes} B of flash; the board has {v.flash_budget} B")
    if v.ram_bytes and v.ram_budget and v.ram_bytes > 0.9 * v.ram_budget:
        out.append(f"global variables use {v.ram_bytes} B of {v.ram_budget} B RAM: too little is left for the "
                   "stack; shrink buffers (quantize samples straight into the int8 input)")
    return out


def c_float(v: float) -> str:
    text = f"{float(v):.9g}"
    return text + ("f" if any(c in text for c in ".e") else ".0f")


def marker_problem(ino: str) -> str | None:
    """Why no test build can be derived from the sketch (None when the acquisition block is usable)."""
    wrap = ("put `bool acquire_sample(float *raw) {...}` between a line containing TINYML_ACQUIRE_BEGIN and "
            "a line containing TINYML_ACQUIRE_END (e.g. `// TINYML_ACQUIRE_BEGIN` / `// TINYML_ACQUIRE_END`), so "
            "the simulator can replace the sensor with recorded vectors")
    m = ACQUIRE.search(ino)
    if m is None:
        return f"the sketch cannot be simulated: it has no TINYML_ACQUIRE_BEGIN/END marker block; {wrap}"
    if ACQUIRE_FN.search(m.group(1)) is None:
        return ("the sketch cannot be simulated: its TINYML_ACQUIRE_BEGIN/END block holds no "
                f"`bool NAME(float *raw)` acquisition function; {wrap}")
    return None


def test_build_source(ino: str, raw: np.ndarray, values_per_call: int) -> str | None:
    """The sketch with its acquisition block replaced by recorded vectors; None without the markers."""
    m = ACQUIRE.search(ino)
    if m is None:
        return None
    fn = ACQUIRE_FN.search(m.group(1))
    name = fn.group(1) if fn else "acquire_sample"
    flat = np.asarray(raw, np.float32).reshape(-1)
    body = ",\n".join("  " + ", ".join(c_float(v) for v in flat[i:i + 8]) for i in range(0, len(flat), 8))
    harness = f"""// TINYML_TEST_VECTORS: {len(raw)} recorded vectors replace the sensor (test build only).
#define TINYML_TEST_VECTORS {len(raw)}
#if defined(__AVR__)
#include <avr/pgmspace.h>
#include <avr/sleep.h>
#include <avr/interrupt.h>
#define TV_READ(p) pgm_read_float(p)
// Paint the free RAM (end of globals up to the stack top) before main(); at the end, the bytes never
// overwritten are the RAM the sketch left unused (stack + heap low-water mark).
extern "C" uint8_t _end;
extern "C" uint8_t __stack;
extern "C" void tinyml_paint_ram(void) __attribute__((naked, used, section(".init1")));
void tinyml_paint_ram(void) {{
  __asm volatile("ldi r30, lo8(_end)\\n ldi r31, hi8(_end)\\n ldi r24, 0xc5\\n ldi r25, hi8(__stack)\\n"
                 "rjmp 2f\\n1: st Z+, r24\\n2: cpi r30, lo8(__stack)\\n cpc r31, r25\\n brlo 1b\\n breq 1b\\n");
}}
static unsigned int tinyml_ram_free(void) {{
  const uint8_t *p = &_end;
  while (p <= &__stack && *p == 0xc5) p++;
  return (unsigned int)(p - &_end);
}}
#else
#define PROGMEM
#define TV_READ(p) (*(p))
#endif
const float tinyml_test_vectors[{len(flat)}] PROGMEM = {{
{body}
}};
static unsigned int tinyml_tv_pos = 0;

bool {name}(float *raw) {{
  if (tinyml_tv_pos >= {len(flat)}u) {{
#if defined(__AVR__)
    Serial.print("RAM_FREE ");
    Serial.println(tinyml_ram_free());
#endif
    Serial.println("END");
    Serial.flush();
#if defined(__AVR__)
    cli();
    sleep_enable();
    sleep_cpu();
#endif
    while (true) {{}}
  }}
  for (int i = 0; i < {values_per_call}; i++) raw[i] = TV_READ(&tinyml_test_vectors[tinyml_tv_pos++]);
  return true;
}}
"""
    return ino[:m.start()] + harness + ino[m.end():]


def host_predictions(facts: ModelFacts, features: FeatureFacts, raw: np.ndarray) -> np.ndarray:
    """argmax of the int8 .tflite in LiteRT on the raw vectors, scaled and quantized as the board does."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    x = features.to_model(np.asarray(raw, np.float32))
    r = (x / np.float32(facts.input_scale)).astype(np.float32)
    q = np.clip(np.sign(r) * np.floor(np.abs(r) + 0.5) + facts.input_zero_point, -128, 127).astype(np.int8)
    interp = Interpreter(model_path=str(facts.tflite),  # built-in kernels, as the convert checks use
                         experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    preds = []
    for row in q:
        interp.set_tensor(inp["index"], row.reshape(inp["shape"]))
        interp.invoke()
        preds.append(int(np.argmax(interp.get_tensor(out["index"]).reshape(-1))))
    return np.asarray(preds)


@dataclass
class SimVerdict:
    status: str  # passed | failed | not simulated
    message: str
    vectors: int = 0
    agree: int = 0
    mismatches: list[dict[str, int]] = field(default_factory=list)
    source: str = ""
    ram_free: int | None = None  # RAM never written during the simulated run (painted-stack measurement)
    ram_peak: int | None = None  # board RAM minus ram_free: globals + deepest stack + heap

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "")}


def simulate(sketch_dir: Path, board: Board, workdir: Path, facts: ModelFacts, features: FeatureFacts,
             vectors: tuple[np.ndarray, str], flash_used: int | None, markers_required: bool = True) -> SimVerdict:
    """Build the test variant of the sketch, run it in simavr, compare its predictions with the host model.

    Without the acquisition markers no test build can be derived: a failure for a generated sketch
    (`markers_required`), "not simulated" for someone else's, which nobody told about them."""
    from ...sandbox.arduino import simulate_avr, tool_available

    if not board.simulator or not board.mcu:
        return SimVerdict("not simulated", f"not simulated: no simulator for {board.name} here")
    if not tool_available(board.simulator):
        return SimVerdict("not simulated", f"not simulated: {board.simulator} is not installed")
    ino = (sketch_dir / f"{sketch_dir.name}.ino").read_text()
    problem = marker_problem(ino)
    if problem:
        if markers_required:
            return SimVerdict("failed", problem)
        return SimVerdict("not simulated", "not simulated: " + problem.replace("the sketch cannot be simulated: ", ""))
    raw, source = vectors
    room = board.flash_bytes - (flash_used or 0) - 1024
    n = int(min(len(raw), max(0, room // (4 * facts.input_size))))
    if n < 1:
        return SimVerdict("not simulated", "not simulated: no flash left for recorded test vectors")
    raw = raw[:n]
    text = test_build_source(ino, raw, features.values_per_sample) or ""
    test_dir = workdir / "test_build" / sketch_dir.name
    if test_dir.exists():
        shutil.rmtree(test_dir)
    shutil.copytree(sketch_dir, test_dir)
    (test_dir / f"{sketch_dir.name}.ino").write_text(text)
    built = compile_for(test_dir, board, workdir / "test_build" / "build")
    if built.status != "passed":
        return SimVerdict("failed", "the test build (recorded vectors instead of the sensor) did not compile:\n"
                          + "\n".join(built.errors[:10]), source=source)
    sim = simulate_avr(Path(built.elf or ""), board.mcu, board.clock_hz, timeout=SIM_TIMEOUT_S)
    (workdir / "simulation.log").write_text(redact(sim.output))
    got = predictions(sim.output, facts.labels)
    expected = host_predictions(facts, features, raw)
    verdict = _compare(expected, got, sim, source)
    return _check_ram(verdict, sim.output, board)


def predictions(output: str, labels: list[str]) -> list[int]:
    """Class indices the test build printed: its `PRED <index>` lines, else the lines naming exactly
    one label (a hand-written sketch printing `Serial.println(labels[best])`)."""
    pred = [int(p) for p in PRED.findall(output)]
    if pred:
        return pred
    words = [re.compile(rf"(?<![\w-]){re.escape(lab)}(?![\w-])") for lab in labels]
    named = []
    for line in output.splitlines():
        hits = [i for i, rx in enumerate(words) if rx.search(line)]
        if len(hits) == 1:
            named.append(hits[0])
    return named


def _check_ram(v: SimVerdict, output: str, board: Board) -> SimVerdict:
    m = RAM_FREE.search(output)
    if m is None:
        return v
    v.ram_free = int(m.group(1))
    v.ram_peak = board.ram_bytes - v.ram_free
    v.message += f"; RAM used at peak {v.ram_peak}/{board.ram_bytes} B (globals + stack)"
    if v.status == "passed" and v.ram_free < MIN_RAM_FREE:
        v.status = "failed"
        v.message = (f"the stack came within {v.ram_free} B of the globals ({v.ram_peak} of {board.ram_bytes} B "
                     f"RAM used at peak; keep {MIN_RAM_FREE} B free): shrink buffers and local arrays")
    return v


def _compare(expected: np.ndarray, got: list[int], sim: Any, source: str) -> SimVerdict:
    n = len(expected)
    if sim.timed_out and len(got) < n:
        return SimVerdict("failed", f"simavr timed out after {SIM_TIMEOUT_S}s with {len(got)} of {n} predictions "
                          f"(last output: {sim.output[-300:]!r}): the sketch hung or crashed; on AVR this is often "
                          "the stack running into the globals", vectors=n, source=source)
    if len(got) != n:
        return SimVerdict("failed", f"the test build printed {len(got)} predictions for {n} vectors: print one "
                          f"line `PRED <index>` (or one line naming the predicted label) per inference (output "
                          f"tail: {sim.output[-300:]!r})", vectors=n, source=source)
    bad = [{"index": i, "expected": int(e), "got": g} for i, (e, g) in enumerate(zip(expected, got, strict=True))
           if int(e) != g]
    agree = n - len(bad)
    if bad:
        shown = ", ".join(f"#{b['index']}: host {b['expected']} vs board {b['got']}" for b in bad[:8])
        return SimVerdict("failed", f"the board's predictions differ from the host model's on {len(bad)} of {n} "
                          f"vectors ({shown}): check scaling, channel order and quantization",
                          vectors=n, agree=agree, mismatches=bad, source=source)
    return SimVerdict("passed", f"simavr predictions equal the host model's on {n}/{n} vectors ({source})",
                      vectors=n, agree=agree, source=source)
