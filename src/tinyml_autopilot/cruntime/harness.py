"""Test programs around a generated model: host stdin/stdout runner, an Arduino sketch and a
Cortex-M `main.c` that run fixed int8 vectors and print `OUT <i> <rc> <v0> <v1> ...` lines.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np

from tinyml_autopilot.cruntime.codegen import CModel

_OUT = re.compile(r"OUT (\d+) (-?\d+)((?: -?\d+)*)(?: US (\d+))?")
HOST_CFLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-O2"]


def _vectors_c(vectors: np.ndarray) -> str:
    rows = ["  {" + ", ".join(str(int(v)) for v in row) + "}" for row in vectors]
    return ",\n".join(rows)


def host_main_source(prefix: str = "model") -> str:
    P = prefix.upper()
    return f"""#include <stdio.h>
#include "{prefix}.h"
int main(void) {{
  int8_t in[{P}_INPUT_SIZE], out[{P}_OUTPUT_SIZE];
  while (fread(in, 1, {P}_INPUT_SIZE, stdin) == {P}_INPUT_SIZE) {{
    if ({prefix}_invoke(in, out) != 0) return 2;
    if (fwrite(out, 1, {P}_OUTPUT_SIZE, stdout) != {P}_OUTPUT_SIZE) return 3;
  }}
  return 0;
}}
"""


def build_host(model: CModel, workdir: Path, cc: str = "gcc", cflags: list[str] = (),
               name: str = "runner") -> Path:
    """Write the model and host runner to `workdir`, compile with -Wall -Wextra -Werror."""
    workdir = Path(workdir)
    model.write(workdir)
    (workdir / "main.c").write_text(host_main_source(model.prefix))
    exe = workdir / name
    cmd = [cc, *HOST_CFLAGS, *cflags, "-I", str(workdir), str(workdir / f"{model.prefix}.c"),
           str(workdir / "main.c"), "-o", str(exe)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"host compile failed:\n{' '.join(cmd)}\n{proc.stderr}")
    return exe


def run_host(exe: Path, inputs: np.ndarray, output_size: int) -> np.ndarray:
    """Run the host runner on int8 rows; returns int8 rows of `output_size`."""
    data = np.ascontiguousarray(inputs, dtype=np.int8).reshape(len(inputs), -1)
    proc = subprocess.run([str(exe)], input=data.tobytes(), capture_output=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"runner exited {proc.returncode}: {proc.stderr.decode()[-500:]}")
    return np.frombuffer(proc.stdout, dtype=np.int8).reshape(len(data), output_size)


def avr_sketch_source(prefix: str, vectors: np.ndarray) -> str:
    """An .ino that runs `vectors` (int8 rows, stored in PROGMEM), prints results, halts."""
    P = prefix.upper()
    return f"""#include <avr/pgmspace.h>
#include <avr/sleep.h>
#include <string.h>
#include "{prefix}.h"

#define N_VEC {len(vectors)}
const int8_t vectors[N_VEC][{P}_INPUT_SIZE] PROGMEM = {{
{_vectors_c(vectors)}
}};
static int8_t in_buf[{P}_INPUT_SIZE];
static int8_t out_buf[{P}_OUTPUT_SIZE];

void setup() {{
  Serial.begin(115200);
  for (uint8_t i = 0; i < N_VEC; ++i) {{
    memcpy_P(in_buf, vectors[i], {P}_INPUT_SIZE);
    unsigned long t0 = micros();
    int rc = {prefix}_invoke(in_buf, out_buf);
    unsigned long t1 = micros();
    Serial.print(F("OUT "));
    Serial.print(i);
    Serial.print(' ');
    Serial.print(rc);
    for (uint16_t j = 0; j < {P}_OUTPUT_SIZE; ++j) {{
      Serial.print(' ');
      Serial.print((int)out_buf[j]);
    }}
    Serial.print(F(" US "));
    Serial.println(t1 - t0);
  }}
  Serial.println(F("DONE"));
  Serial.flush();
  cli();
  sleep_enable();
  sleep_cpu();
}}

void loop() {{}}
"""


def write_avr_sketch(model: CModel, vectors: np.ndarray, sketch_dir: Path) -> Path:
    """Create `<sketch_dir>/<name>.ino` plus the model files; returns the sketch folder."""
    sketch_dir = Path(sketch_dir)
    model.write(sketch_dir)
    (sketch_dir / f"{sketch_dir.name}.ino").write_text(avr_sketch_source(model.prefix, vectors))
    return sketch_dir


def arm_main_source(prefix: str, vectors: np.ndarray) -> str:
    P = prefix.upper()
    return f"""#include <stdio.h>
#include "{prefix}.h"

#define N_VEC {len(vectors)}
static const int8_t vectors[N_VEC][{P}_INPUT_SIZE] = {{
{_vectors_c(vectors)}
}};

int main(void) {{
  static int8_t out[{P}_OUTPUT_SIZE];
  int i, j;
  for (i = 0; i < N_VEC; ++i) {{
    int rc = {prefix}_invoke(vectors[i], out);
    printf("OUT %d %d", i, rc);
    for (j = 0; j < {P}_OUTPUT_SIZE; ++j) printf(" %d", (int)out[j]);
    printf("\\n");
  }}
  printf("DONE\\n");
  return 0;
}}
"""


def parse_outputs(text: str) -> tuple[dict[int, list[int]], dict[int, int]]:
    """({vector index: outputs}, {vector index: microseconds}) from `OUT` lines.

    Rows whose return code is not 0 are left out.
    """
    outs: dict[int, list[int]] = {}
    micros: dict[int, int] = {}
    for m in _OUT.finditer(text):
        if int(m.group(2)) != 0:
            continue
        i = int(m.group(1))
        outs[i] = [int(v) for v in m.group(3).split()]
        if m.group(4):
            micros[i] = int(m.group(4))
    return outs, micros
