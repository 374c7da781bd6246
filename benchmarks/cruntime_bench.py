"""Benchmark the generated C runtime against TFLite Micro's arena on the bundled models.

For each model: flash/RAM of an Arduino Uno build (arduino-builder/arduino-cli) and of a
Cortex-M4 build (arm-none-eabi-gcc, QEMU mps2-an386), each minus an identical sketch without
the model; TFLM's minimum arena (bisected in child processes); latency in simavr (micros() on
a simulated 16 MHz ATmega328P, so cycles = us * 16). QEMU is not cycle-accurate: no M4 cycles.
Every device run is checked against the host build's outputs.

Goals (exit status 1 when one is missed): C RAM (arena + I/O buffers) below TFLM's arena for
every model; device outputs equal the host's; at least one model of 1000+ parameters fits an
Uno with the room the convert stage reserves for the sketch (8 KB flash, 1 KB RAM).

    python benchmarks/cruntime_bench.py [--models mlp_iris cnn1d ...] [--tflite model.tflite ...]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from tinyml_autopilot.cruntime import CModel, emit_c
from tinyml_autopilot.cruntime.harness import (
    arm_main_source,
    avr_sketch_source,
    build_host,
    parse_outputs,
    run_host,
)
from tinyml_autopilot.cruntime.parser import parse_tflite
from tinyml_autopilot.cruntime.reference_models import BUNDLED, quantize_inputs
from tinyml_autopilot.cruntime.tflm import tflm_min_arena
from tinyml_autopilot.sandbox.arduino import compile_sketch, simulate_avr
from tinyml_autopilot.sandbox.arm import arm_tools_missing, build_and_run_cortex_m4
from tinyml_autopilot.stages.train_budget import RESERVE

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow is imported later, by the model builders
UNO_FLASH, UNO_RAM = 32256, 2048
SKETCH_FLASH, SKETCH_RAM = RESERVE["portable-c"]["flash"], RESERVE["portable-c"]["ram"]
BASELINE_INO = """#include <avr/sleep.h>
static int8_t in_buf[{n_in}];
static int8_t out_buf[{n_out}];
void setup() {{
  Serial.begin(115200);
  for (unsigned i = 0; i < sizeof in_buf; ++i) out_buf[i % sizeof out_buf] += in_buf[i];
  Serial.print(F("OUT 0 0"));
  for (unsigned j = 0; j < sizeof out_buf; ++j) {{ Serial.print(' '); Serial.print((int)out_buf[j]); }}
  Serial.println(F(" US 0"));
  Serial.flush(); cli(); sleep_enable(); sleep_cpu();
}}
void loop() {{}}
"""
BASELINE_MAIN = """#include <stdio.h>
static signed char out[{n_out}];
int main(void) {{ int j; printf("OUT 0 0");
  for (j = 0; j < {n_out}; ++j) printf(" %d", (int)out[j]); printf("\\n"); return 0; }}
"""


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence TensorFlow/Keras while models are built: C++ logs on fd 2, export notes on fd 1."""
    warnings.filterwarnings("ignore")
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        except BaseException:
            sink.seek(0)
            os.write(saved[1], sink.read()[-4000:])
            raise
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def _uno(cm: CModel, vectors: np.ndarray, work: Path) -> dict:
    sk = work / "UnoBench"
    cm.write(sk)
    (sk / "UnoBench.ino").write_text(avr_sketch_source(cm.prefix, vectors))
    res = compile_sketch(sk, "arduino:avr:uno", work / "uno_build")
    base_dir = work / "UnoBase"
    base_dir.mkdir()
    n_in, n_out = int(np.prod(cm.input_shape)), int(np.prod(cm.output_shape))
    (base_dir / "UnoBase.ino").write_text(BASELINE_INO.format(n_in=n_in, n_out=n_out))
    base = compile_sketch(base_dir, "arduino:avr:uno", work / "uno_base_build")
    if not (res.ok and base.ok):
        return {"error": "; ".join((res.errors or []) + (base.errors or []))[:300] or res.log[-300:]}
    sim = simulate_avr(res.elf, timeout=300)
    outs, micros = parse_outputs(sim.output)
    return {"flash": res.flash_bytes, "ram": res.ram_bytes, "tool": res.tool,
            "flash_model": res.flash_bytes - base.flash_bytes,
            "ram_model": res.ram_bytes - base.ram_bytes, "outs": outs,
            "us": float(np.mean(list(micros.values()))) if micros else None}


def _m4(cm: CModel, vectors: np.ndarray, work: Path) -> dict:
    if missing := arm_tools_missing():
        return {"error": f"not installed: {', '.join(missing)}"}
    d = work / "m4"
    cm.write(d)
    (d / "main.c").write_text(arm_main_source(cm.prefix, vectors))
    res = build_and_run_cortex_m4([d / f"{cm.prefix}.c", d / "main.c"], [d], d / "build")
    (work / "m4base").mkdir()
    (work / "m4base" / "main.c").write_text(BASELINE_MAIN.format(n_out=np.prod(cm.output_shape)))
    base = build_and_run_cortex_m4([work / "m4base" / "main.c"], [], work / "m4base" / "b")
    if not (res.ok and base.ok):
        return {"error": (res.log + res.output)[-300:]}
    return {"text": res.text, "data": res.data, "bss": res.bss,
            "flash_model": (res.text + res.data) - (base.text + base.data),
            "ram_model": (res.data + res.bss) - (base.data + base.bss),
            "outs": parse_outputs(res.output)[0]}


def _match(outs: dict, expected: np.ndarray) -> str:
    if not outs:
        return "no output"
    ok = all(outs.get(i) == row.tolist() for i, row in enumerate(expected))
    return "match" if ok else "MISMATCH"


def _params(tflite: bytes) -> int:
    """Weights and biases of the model's layers (constant inputs 1 and 2 of the weighted ops)."""
    g = parse_tflite(tflite)
    layers = [op for op in g.operators if op.opcode in ("FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D")]
    consts = {i for op in layers for i in op.inputs[1:3] if i >= 0 and g.tensors[i].is_const}
    return sum(g.tensors[i].size for i in consts)


def _load(name: str, n_vectors: int) -> tuple[bytes, int, CModel, np.ndarray]:
    """(tflite, params, C model, int8 test vectors) of a bundled model or a .tflite file."""
    if name in BUNDLED:
        with quiet():
            ref = BUNDLED[name]()
        cm = emit_c(ref.tflite)
        q = quantize_inputs(ref.x_test, cm.input_scale, cm.input_zero_point)
        return ref.tflite, ref.params, cm, q.reshape(len(ref.x_test), -1)[:n_vectors]
    tflite = Path(name).read_bytes()
    cm = emit_c(tflite)
    q = np.random.default_rng(0).integers(-128, 128, (n_vectors, int(np.prod(cm.input_shape))))
    return tflite, _params(tflite), cm, q.astype(np.int8)


def _label(path: Path) -> str:
    """A .tflite file's name, or `<stage>-<id>` for one inside a run folder's artifacts/."""
    if path.parent.name == "artifacts":
        return "-".join(path.parent.parent.name.split("-")[-2:])
    return path.stem


def bench(name: str, n_vectors: int = 4) -> dict:
    t0 = time.monotonic()
    tflite, params, cm, q = _load(name, n_vectors)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        exe = build_host(cm, work / "host")
        expected = run_host(exe, q, int(np.prod(cm.output_shape)))
        uno, m4 = _uno(cm, q, work), _m4(cm, q, work)
    arena = tflm_min_arena(tflite)
    label = name if name in BUNDLED else _label(Path(name))
    return {"name": label, "params": params, "tflite": len(tflite), "ops": cm.ops,
            "arena": cm.arena_bytes, "unshared": cm.unshared_arena_bytes,
            "weights": cm.weights_bytes, "io": int(np.prod(cm.input_shape))
            + int(np.prod(cm.output_shape)), "tflm_arena": arena, "uno": uno, "m4": m4,
            "uno_match": _match(uno.get("outs", {}), expected),
            "m4_match": _match(m4.get("outs", {}), expected), "secs": time.monotonic() - t0}


def _room(r: dict) -> bool:
    """The model's measured share leaves the convert stage's sketch reserve free on an Uno."""
    uno = r["uno"]
    return ("error" not in uno and uno["flash_model"] <= UNO_FLASH - SKETCH_FLASH
            and r["arena"] + r["io"] <= UNO_RAM - SKETCH_RAM)


def _fmt(r: dict) -> str:
    uno, m4 = r["uno"], r["m4"]
    tflm = (f"   TFLM arena (bisected, 16 B resolution): {r['tflm_arena']} B  ->  C RAM (arena + I/O) "
            f"{r['arena'] + r['io']} B = {100 * (r['arena'] + r['io']) / r['tflm_arena']:.0f}% of TFLM's arena"
            if r["tflm_arena"] else "   TFLM arena: probe failed")
    lines = [f"== {r['name']}: {r['params']} params, .tflite {r['tflite']} B, "
             f"ops {' '.join(dict.fromkeys(r['ops']))}",
             f"   C runtime: arena {r['arena']} B (unshared would be {r['unshared']} B), "
             f"model I/O buffers {r['io']} B, const data {r['weights']} B", tflm]
    if "error" in uno:
        lines.append(f"   Uno: {uno['error']}")
    else:
        cyc = f"{uno['us']:.0f} us = ~{uno['us'] * 16:.0f} cycles" if uno["us"] else "n/a"
        lines.append(
            f"   Uno ({uno['tool']}): sketch flash {uno['flash']}/{UNO_FLASH} B, RAM "
            f"{uno['ram']}/{UNO_RAM} B (static); model's share flash {uno['flash_model']} B, "
            f"RAM {uno['ram_model']} B; simavr {cyc}/inference; outputs {r['uno_match']}")
    if "error" in m4:
        lines.append(f"   Cortex-M4: {m4['error']}")
    else:
        lines.append(
            f"   Cortex-M4 (arm-none-eabi-size): text {m4['text']} data {m4['data']} bss "
            f"{m4['bss']}; model's share flash {m4['flash_model']} B, RAM {m4['ram_model']} B; "
            f"cycles n/a (QEMU is not cycle-accurate); outputs {r['m4_match']}")
    return "\n".join(lines)


def summary(results: list[dict]) -> int:
    """Print the summary table; the number of goals missed."""
    print(f"\nsummary: model | params | C RAM (arena+I/O) | TFLM arena | Uno flash/RAM (whole test sketch) | "
          f"below TFLM | fits Uno | leaves {SKETCH_FLASH // 1024} KB flash + {SKETCH_RAM} B RAM for the sketch")
    bad = 0
    for r in results:
        c_ram = r["arena"] + r["io"]
        below = bool(r["tflm_arena"]) and c_ram < r["tflm_arena"]
        uno = r["uno"]
        fits = "error" not in uno and uno["flash"] < UNO_FLASH and uno["ram"] < UNO_RAM
        bad += (not below) + (r["uno_match"] != "match") + (r["m4_match"] != "match")
        flash_ram = "-" if "error" in uno else f"{uno['flash']}/{uno['ram']}"
        print(f"  {r['name']:14s} | {r['params']:6d} | {c_ram:6d} B | {r['tflm_arena'] or 0:6d} B | "
              f"{flash_ram:>11s} | {'yes' if below else 'NO':3s} | {'yes' if fits else 'NO':3s} | "
              f"{'yes' if _room(r) else 'no'}")
    if not any(r["params"] >= 1000 and _room(r) for r in results):
        print("  goal missed: no model of 1000+ parameters fits an Uno with room for the sketch")
        bad += 1
    return bad


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="*", default=None, choices=list(BUNDLED))
    ap.add_argument("--tflite", nargs="+", default=[], type=Path, help="also bench these int8 .tflite files")
    args = ap.parse_args(argv)
    names = (list(BUNDLED) if args.models is None else args.models) + [str(p) for p in args.tflite]
    results = []
    for name in names:
        r = bench(name)
        results.append(r)
        print(_fmt(r), flush=True)
    return 1 if summary(results) else 0


if __name__ == "__main__":
    sys.exit(main())
