"""Benchmark the generated C runtime against TFLite Micro's arena on the bundled models.

For each model: flash/RAM of an Arduino Uno build (arduino-builder/arduino-cli) and of a
Cortex-M4 build (arm-none-eabi-gcc, QEMU mps2-an386), each minus an identical sketch without
the model; TFLM's minimum arena (bisected in child processes); latency in simavr (micros() on
a simulated 16 MHz ATmega328P, so cycles = us * 16). QEMU is not cycle-accurate: no M4 cycles.
Every device run is checked against the host build's outputs.

    python benchmarks/cruntime_bench.py [--models mlp_iris cnn1d cnn1d_large]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
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
from tinyml_autopilot.cruntime.reference_models import BUNDLED, quantize_inputs
from tinyml_autopilot.cruntime.tflm import tflm_min_arena
from tinyml_autopilot.sandbox.arduino import compile_sketch, simulate_avr
from tinyml_autopilot.sandbox.arm import arm_tools_missing, build_and_run_cortex_m4

UNO_FLASH, UNO_RAM = 32256, 2048
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
        return {"error": "; ".join((res.errors or []) + (base.errors or []))[:200] or res.log}
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


def bench(name: str, n_vectors: int = 4) -> dict:
    t0 = time.monotonic()
    ref = BUNDLED[name]()
    cm = emit_c(ref.tflite)
    q = quantize_inputs(ref.x_test, cm.input_scale, cm.input_zero_point).reshape(
        len(ref.x_test), -1)[:n_vectors]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        exe = build_host(cm, work / "host")
        expected = run_host(exe, q, int(np.prod(cm.output_shape)))
        uno, m4 = _uno(cm, q, work), _m4(cm, q, work)
    arena = tflm_min_arena(ref.tflite)
    return {"name": name, "params": ref.params, "tflite": len(ref.tflite), "ops": cm.ops,
            "arena": cm.arena_bytes, "unshared": cm.unshared_arena_bytes,
            "weights": cm.weights_bytes, "io": int(np.prod(cm.input_shape))
            + int(np.prod(cm.output_shape)), "tflm_arena": arena, "uno": uno, "m4": m4,
            "uno_match": _match(uno.get("outs", {}), expected),
            "m4_match": _match(m4.get("outs", {}), expected), "secs": time.monotonic() - t0}


def _fmt(r: dict) -> str:
    uno, m4 = r["uno"], r["m4"]
    lines = [f"== {r['name']}: {r['params']} params, .tflite {r['tflite']} B, "
             f"ops {' '.join(dict.fromkeys(r['ops']))}",
             f"   C runtime: arena {r['arena']} B (unshared would be {r['unshared']} B), "
             f"model I/O buffers {r['io']} B, const data {r['weights']} B",
             f"   TFLM arena (bisected, 16 B resolution): {r['tflm_arena']} B  ->  C RAM "
             f"(arena + I/O) {r['arena'] + r['io']} B = "
             f"{100 * (r['arena'] + r['io']) / r['tflm_arena']:.0f}% of TFLM's arena"
             if r["tflm_arena"] else "   TFLM arena: probe failed"]
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=list(BUNDLED), choices=list(BUNDLED))
    args = ap.parse_args(argv)
    results = []
    for name in args.models:
        r = bench(name)
        results.append(r)
        print(_fmt(r), flush=True)
    print("\nsummary: model | C RAM (arena+I/O) | TFLM arena | Uno flash/RAM (whole sketch) | "
          "below TFLM | fits Uno")
    bad = 0
    for r in results:
        c_ram = r["arena"] + r["io"]
        below = bool(r["tflm_arena"]) and c_ram < r["tflm_arena"]
        uno = r["uno"]
        fits = "error" not in uno and uno["flash"] < UNO_FLASH and uno["ram"] < UNO_RAM
        bad += (not below) + (not fits) + (r["uno_match"] != "match") + (r["m4_match"] != "match")
        flash_ram = "-" if "error" in uno else f"{uno['flash']}/{uno['ram']}"
        print(f"  {r['name']:12s} | {c_ram:6d} B | {r['tflm_arena'] or 0:6d} B | "
              f"{flash_ram:>11s} | {'yes' if below else 'NO':3s} | {'yes' if fits else 'NO'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
