"""TFLite Micro (the `tflite-micro` wheel) as the bit-exact reference, and its arena size.

Imported lazily: only tests, benchmarks and verification steps need it.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

_PROBE = """
import sys
import numpy as np
from tflite_micro.python.tflite_micro import runtime
data = open(sys.argv[1], "rb").read()
it = runtime.Interpreter.from_bytes(data, arena_size=int(sys.argv[2]))
d = it.get_input_details(0)
it.set_input(np.zeros(d["shape"], dtype=d["dtype"]), 0)
it.invoke()
print("OK")
"""


def tflm_run(tflite_bytes: bytes, inputs: np.ndarray, arena_size: int = 1 << 20) -> np.ndarray:
    """Run every row of `inputs` (already in the model's input dtype) through TFLM."""
    from tflite_micro.python.tflite_micro import runtime

    it = runtime.Interpreter.from_bytes(tflite_bytes, arena_size=arena_size)
    shape = tuple(it.get_input_details(0)["shape"])
    outs = []
    for row in inputs:
        it.set_input(np.asarray(row).reshape(shape), 0)
        it.invoke()
        outs.append(np.array(it.get_output(0)).reshape(-1).copy())
    return np.stack(outs)


def _probe(path: Path, arena: int, timeout: float) -> bool:
    try:
        proc = subprocess.run([sys.executable, "-c", _PROBE, str(path), str(arena)],
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False
    return proc.returncode == 0 and "OK" in proc.stdout


def tflm_min_arena(tflite_bytes: bytes, hi: int = 1 << 18, resolution: int = 16,
                   timeout: float = 60) -> int | None:
    """Smallest arena_size (to `resolution` bytes) TFLM accepts, bisected in child processes
    because a too-small arena can crash the interpreter. None if even `hi` fails."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.tflite"
        path.write_bytes(tflite_bytes)
        if not _probe(path, hi, timeout):
            return None
        lo = 0  # invariant: lo fails (or is 0), hi works
        while hi - lo > resolution:
            mid = (lo + hi) // 2
            if _probe(path, mid, timeout):
                hi = mid
            else:
                lo = mid
        return hi
