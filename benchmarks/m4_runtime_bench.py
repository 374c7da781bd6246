"""The same int8 models on Cortex-M4 under QEMU (mps2-an386, -icount shift=0): TensorFlow Lite Micro
(Harvard_TinyMLx, Chirale_TensorFlowLite), as an Arduino sketch built against the real library with our core
(sandbox/hostbuild.py), beside the portable-C runtime (cruntime) with a plain main(). Both at -O2 for
-mcpu=cortex-m4 -mfloat-abi=hard, both fed the same int8 vectors.

- flash = text + data, RAM = data + bss (arm-none-eabi-size), each as the model's share: the program minus
  an identical one without the model (an empty sketch on the same core; a main() that prints as many
  bytes). TFLM's RAM counts its arena at the size it used (arena_used_bytes()) rather than the sketch's
  16 KB array.
- instructions per inference: SysTick (25 MHz, one tick per 40 instructions at one instruction per
  virtual nanosecond) read around Invoke() (host_arduino/probe) and around the C model's invoke; median.
- exit status 1 only when a per-tensor model's outputs differ (a wrong result); a missed goal or a
  library that cannot build a model is printed, so `make bench` goes on.
- outputs: each M4 run's outputs against the C runtime's host build (TFLM's FULLY_CONNECTED kernels read
  one weight scale, so per-channel FC models differ there).

Models: the study corpus's fruit classifier (FC 3-8-5-3, float32 in the corpus) re-quantized to int8 with
per-tensor FC weights on the corpus's readings (--corpus), the sketch tests' 4-12-3 MLP, and the bundled
cruntime reference models (--models).

    python benchmarks/m4_runtime_bench.py [--corpus PATH/TO/study_sketches] [--models mlp_iris cnn1d]
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cruntime_bench import BASELINE_MAIN, quiet  # noqa: E402

from tinyml_autopilot.config import load_settings  # noqa: E402
from tinyml_autopilot.cruntime import CModel, emit_c  # noqa: E402
from tinyml_autopilot.cruntime.harness import build_host, run_host  # noqa: E402
from tinyml_autopilot.cruntime.parser import parse_tflite  # noqa: E402
from tinyml_autopilot.cruntime.reference_models import BUNDLED, quantize_inputs  # noqa: E402
from tinyml_autopilot.sandbox.arduino import run_process  # noqa: E402
from tinyml_autopilot.sandbox.arm import arm_size, arm_tools_missing, compile_cortex_m4  # noqa: E402
from tinyml_autopilot.sandbox.hostbuild import build_sketch, tools_missing  # noqa: E402
from tinyml_autopilot.sandbox.libraries import find  # noqa: E402
from tinyml_autopilot.stages.convert_output import write_c_array  # noqa: E402
from tinyml_autopilot.stages.sketch.m4_run import QEMU  # noqa: E402

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
LIBRARIES = ("Harvard_TinyMLx", "Chirale_TensorFlowLite")
ARENA = 16384
N_VECTORS = 8
ADD = {"FULLY_CONNECTED": "AddFullyConnected", "SOFTMAX": "AddSoftmax", "CONV_2D": "AddConv2D",
       "DEPTHWISE_CONV_2D": "AddDepthwiseConv2D", "MAX_POOL_2D": "AddMaxPool2D", "RESHAPE": "AddReshape",
       "AVERAGE_POOL_2D": "AddAveragePool2D", "MEAN": "AddMean", "ADD": "AddAdd", "QUANTIZE": "AddQuantize",
       "DEQUANTIZE": "AddDequantize", "EXPAND_DIMS": "AddExpandDims", "LOGISTIC": "AddLogistic", "MUL": "AddMul",
       "PACK": "AddPack", "SHAPE": "AddShape", "STRIDED_SLICE": "AddStridedSlice"}
HEAD = {"Harvard_TinyMLx": "#include <TensorFlowLite.h>\n#include \"tensorflow/lite/micro/micro_error_reporter.h\"\n",
        "Chirale_TensorFlowLite": "#include <Chirale_TensorFlowLite.h>\n"}
INTERP = {"Harvard_TinyMLx": "static tflite::MicroErrorReporter reporter;\n  static tflite::MicroInterpreter "
                             "interp(model, resolver, arena, kArena, &reporter);",
          "Chirale_TensorFlowLite": "static tflite::MicroInterpreter interp(model, resolver, arena, kArena);"}
SKETCH = """{head}#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/schema/schema_generated.h"
#include "model_data.h"
#include "vectors.h"

constexpr int kArena = {arena};
alignas(16) static uint8_t arena[kArena];

void setup() {{
  Serial.begin(115200);
  const tflite::Model *model = tflite::GetModel(g_model_data);
  static tflite::MicroMutableOpResolver<{n_ops}> resolver;
{adds}
  {interp}
  if (interp.AllocateTensors() != kTfLiteOk) {{ Serial.println("ALLOCATE FAILED"); Serial.flush(); exit(1); }}
  for (int i = 0; i < N_VEC; i++) {{
    TfLiteTensor *in = interp.input(0);
    for (int j = 0; j < N_IN; j++) in->data.int8[j] = vectors[i][j];
    int rc = interp.Invoke();
    Serial.print("OUT "); Serial.print(i); Serial.print(" "); Serial.print(rc);
    for (int j = 0; j < N_OUT; j++) {{ Serial.print(" "); Serial.print((int)interp.output(0)->data.int8[j]); }}
    Serial.println();
  }}
  Serial.flush();
  exit(0);
}}

void loop() {{}}
"""
EMPTY_SKETCH = """void setup() {
  Serial.begin(115200);
  for (int i = 0; i < N_OUT; i++) { Serial.print(" "); Serial.print(i); }
  Serial.flush();
  exit(0);
}
void loop() {}
"""
C_MAIN = """#include <stdio.h>
#include <stdint.h>
#include "{prefix}.h"
#include "vectors.h"
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
int main(void) {{
  static int8_t out[N_OUT];
  int i, j;
  SYST_RVR = 0xFFFFFFu; SYST_CVR = 0; SYST_CSR = 5u;
  for (i = 0; i < N_VEC; ++i) {{
    uint32_t before = SYST_CVR;
    int rc = {prefix}_invoke(vectors[i], out);
    uint32_t ticks = (before - SYST_CVR) & 0xFFFFFFu;
    printf("OUT %d %d", i, rc);
    for (j = 0; j < N_OUT; ++j) printf(" %d", (int)out[j]);
    printf("\\nINVOKE_INSTRUCTIONS %lu\\n", (unsigned long)(ticks * 40u));
  }}
  return 0;
}}
"""
_OUT = re.compile(r"^OUT (\d+) 0((?: -?\d+)+)\s*$", re.M)


def vectors_h(q: np.ndarray, n_out: int) -> str:
    rows = ",\n".join("  {" + ", ".join(str(int(v)) for v in row) + "}" for row in q)
    return (f"#include <stdint.h>\n#define N_VEC {len(q)}\n#define N_IN {q.shape[1]}\n#define N_OUT {n_out}\n"
            f"static const int8_t vectors[N_VEC][N_IN] = {{\n{rows}\n}};\n")


def fruit_model(corpus: Path) -> tuple[bytes, np.ndarray]:
    """The corpus's float32 fruit classifier with its own weights, converted to int8 (per-tensor FC weights)."""
    import tensorflow as tf

    g = parse_tflite((corpus / "model" / "model.tflite").read_bytes())
    x = []
    for name in ("apple", "banana", "orange"):
        with (corpus / "data" / f"{name}.csv").open() as f:
            x += [[float(r[c]) for c in ("Red", "Green", "Blue")] for r in csv.DictReader(f)]
    x = np.asarray(x, np.float32)
    layers: list = [tf.keras.Input((3,))]
    weights = []
    for op in g.operators:
        if op.opcode == "FULLY_CONNECTED":
            w, b = g.tensors[op.inputs[1]].data, g.tensors[op.inputs[2]].data
            act = "relu" if op.options.get("FusedActivationFunction") == 1 else None
            layers.append(tf.keras.layers.Dense(w.shape[0], activation=act))
            weights.append([np.asarray(w, np.float32).T, np.asarray(b, np.float32)])
        elif op.opcode == "SOFTMAX":
            layers.append(tf.keras.layers.Softmax())
    model = tf.keras.Sequential(layers)
    for layer, wb in zip([la for la in model.layers if isinstance(la, tf.keras.layers.Dense)], weights, strict=True):
        layer.set_weights(wb)
    from stages.sketch_fixtures.fixture_model import int8_tflite

    return int8_tflite(model, x, min(200, len(x)), per_tensor=True), x[::max(1, len(x) // N_VECTORS)][:N_VECTORS]


def load(name: str, corpus: Path | None) -> tuple[bytes, CModel, np.ndarray]:
    """(int8 tflite, C model, int8 vectors)."""
    with quiet():
        if name == "fruit":
            tflite, x = fruit_model(corpus)
        elif name == "mlp_4_12_3":
            from stages.sketch_fixtures import fixture_model as fm

            run = fm.convert_run()
            tflite = (run / "artifacts" / "model.tflite").read_bytes()
            x = np.load(run / "processed" / "test.npz")["X"][:N_VECTORS]  # model inputs (already scaled)
        else:
            ref = BUNDLED[name]()
            tflite, x = ref.tflite, ref.x_test[:N_VECTORS]
    cm = emit_c(tflite)
    q = quantize_inputs(np.asarray(x, np.float32), cm.input_scale, cm.input_zero_point)
    return tflite, cm, q.reshape(len(q), -1).astype(np.int8)


def qemu(elf: Path, rundir: Path) -> tuple[dict[int, list[int]], list[int], str]:
    rundir.mkdir(parents=True, exist_ok=True)
    (rundir / "recording.txt").write_text("")
    proc = run_process([*QEMU, "-kernel", str(elf), "-append", "serial_out.txt events.txt recording.txt -"], 300,
                       cwd=rundir)
    text = proc.stdout + "".join((rundir / f).read_text(errors="replace") for f in ("serial_out.txt", "events.txt")
                                 if (rundir / f).is_file())
    outs = {int(m.group(1)): [int(v) for v in m.group(2).split()] for m in _OUT.finditer(text)}
    return outs, [int(n) for n in re.findall(r"INVOKE_INSTRUCTIONS (\d+)", text)], text


def tflm(lib, tflite: bytes, q: np.ndarray, n_out: int, work: Path) -> dict:
    ops = sorted({op.opcode for op in parse_tflite(tflite).operators})
    if missing := [o for o in ops if o not in ADD]:
        return {"error": f"no resolver call for {', '.join(missing)}"}
    sizes = {}
    for kind in ("model", "empty"):
        folder = work / lib.name / kind / "bench"
        folder.mkdir(parents=True)
        (folder / "vectors.h").write_text(vectors_h(q, n_out))
        if kind == "model":
            (folder / "model.tflite").write_bytes(tflite)
            write_c_array(folder / "model.tflite", folder)
            (folder / "model.tflite").unlink()
            text = SKETCH.format(head=HEAD[lib.name], arena=ARENA, n_ops=len(ops), interp=INTERP[lib.name],
                                 adds="\n".join(f"  resolver.{ADD[o]}();" for o in ops))
        else:
            text = '#include "vectors.h"\n' + EMPTY_SKETCH
        (folder / "bench.ino").write_text(text)
        build = build_sketch(folder, lib, work / lib.name / kind / "build", target="m4")
        if not build.ok:
            return {"error": f"{kind} sketch did not build: {(build.errors or [build.log[-300:]])[0]}"}
        sizes[kind] = arm_size(build.exe)
        if kind == "model":
            outs, counts, log = qemu(build.exe, work / lib.name / "run")
            arena = re.search(r"ARENA_USED (\d+)", log)
    if not counts or arena is None:
        return {"error": f"no figures from the run: {log[-300:]!r}"}
    (t, d, b), (t0, d0, b0) = sizes["model"], sizes["empty"]
    return {"flash": t + d - t0 - d0, "ram": d + b - ARENA + int(arena.group(1)) - d0 - b0,
            "arena": int(arena.group(1)), "instructions": int(statistics.median(counts)), "outs": outs,
            "total": (t + d, d + b - ARENA + int(arena.group(1)))}


def portable_c(cm: CModel, q: np.ndarray, n_out: int, work: Path) -> dict:
    d = work / "c"
    cm.write(d)
    (d / "vectors.h").write_text(vectors_h(q, n_out))
    (d / "main.c").write_text(C_MAIN.format(prefix=cm.prefix))
    (d / "base.c").write_text(BASELINE_MAIN.format(n_out=n_out))
    ok, log = compile_cortex_m4([d / f"{cm.prefix}.c", d / "main.c"], [d], d / "model.elf")
    ok0, log0 = compile_cortex_m4([d / "base.c"], [], d / "base.elf")
    if not (ok and ok0):
        return {"error": (log + log0)[-300:]}
    outs, counts, text = qemu(d / "model.elf", d / "run")
    if not counts:
        return {"error": f"no figures from the run: {text[-300:]!r}"}
    (t, dd, b), (t0, d0, b0) = arm_size(d / "model.elf"), arm_size(d / "base.elf")
    return {"flash": t + dd - t0 - d0, "ram": dd + b - d0 - b0, "arena": cm.arena_bytes,
            "instructions": int(statistics.median(counts)), "outs": outs, "total": (t + dd, dd + b)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, help="the study_sketches folder, for its fruit classifier")
    ap.add_argument("--models", nargs="*", default=["mlp_iris", "cnn1d"], choices=list(BUNDLED))
    args = ap.parse_args()
    if missing := sorted(set(arm_tools_missing() + tools_missing("m4"))):
        print(f"m4_runtime_bench: skipped ({', '.join(missing)} not installed)")
        return 0
    setting = load_settings().libraries
    libs = [lib for name in LIBRARIES if (lib := find(name, setting)) is not None]
    names = (["fruit"] if args.corpus else []) + ["mlp_4_12_3", *args.models]
    work = Path(tempfile.mkdtemp(prefix="m4-runtime-bench-"))
    print(f"{'model':<12} {'runtime':<30} {'flash B':>8} {'RAM B':>7} {'arena B':>8} {'instr/inf':>10}  "
          f"{'whole program flash/RAM':>24}  outputs vs C host")
    bad = 0
    for name in names:
        tflite, cm, q = load(name, args.corpus)
        n_out = int(np.prod(cm.output_shape))
        expected = run_host(build_host(cm, work / name / "host"), q, n_out)
        g = parse_tflite(tflite)
        per_channel = any(op.opcode == "FULLY_CONNECTED" and g.tensors[op.inputs[1]].scale.size > 1
                          for op in g.operators)
        rows = [(f"{lib.name} {lib.version}", tflm(lib, tflite, q, n_out, work / name)) for lib in libs]
        rows.append(("portable C (cruntime)", portable_c(cm, q, n_out, work / name)))
        for label, r in rows:
            if "error" in r:  # e.g. TFLM 2.4 has no EXPAND_DIMS: a fact about the library, printed
                print(f"{name:<12} {label:<30} {r['error'][:200]}")
                continue
            same = all(r["outs"].get(i) == row.tolist() for i, row in enumerate(expected))
            why = " (per-channel FC weights)" if not same and per_channel else ""
            bad += not same and not per_channel  # a per-tensor model must compute the same bytes
            print(f"{name:<12} {label:<30} {r['flash']:>8} {r['ram']:>7} {r['arena']:>8} {r['instructions']:>10}  "
                  f"{r['total'][0]:>14}/{r['total'][1]:<9}  {'equal' if same else 'DIFFER'}{why}", flush=True)
        c = rows[-1][1]
        for label, r in rows[:-1]:
            if "error" not in r and "error" not in c:
                below = c["ram"] < r["ram"] and c["instructions"] < r["instructions"]
                print(f"{'':<12} C runtime vs {label}: RAM {100 * c['ram'] / r['ram']:.0f}%, instructions "
                      f"{100 * c['instructions'] / r['instructions']:.0f}%, flash {100 * c['flash'] / r['flash']:.0f}%"
                      f"{'' if below else '  (goal missed: not below TFLM on RAM and instructions)'}")
    shutil.rmtree(work, ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
