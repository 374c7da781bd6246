"""Prints CLI start-up time and the sandbox's per-attempt overhead.

Goals: `--help` and `doctor` under 1 s, importing neither TensorFlow nor litellm; sandbox
overhead under 0.3 s beyond the code's own run time. Plain and sandboxed runs alternate, so
load from other processes on the machine hits both alike; the overhead is the median of the
paired differences.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tinyml_autopilot.sandbox.python import isolation, run_python

EXE = str(Path(sys.executable).with_name("tinyml-autopilot"))
REPEAT = 9
HEAVY = ("tensorflow", "litellm", "keras", "torch")
SCRIPTS = {"an empty script": "pass\n", "a script importing pandas": "import pandas\n"}


def seconds(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def startup() -> None:
    for args in (["--help"], ["doctor"]):
        times = [seconds(lambda a=args: subprocess.run([EXE, *a], capture_output=True, check=True))
                 for _ in range(REPEAT)]
        print(f"tinyml-autopilot {' '.join(args):8s} median {statistics.median(times):.3f} s, "
              f"min {min(times):.3f} s (of {REPEAT}; goal < 1 s)")
    probe = ("import sys\nfrom tinyml_autopilot.cli import app\nfrom tinyml_autopilot.commands import doctor\n"
             f"doctor.items()\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules) or 'none')")
    heavy = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    print(f"heavy modules imported by --help and doctor: {heavy}")


def sandbox_overhead() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for label, code in SCRIPTS.items():
            script = work / "script.py"
            script.write_text(code)
            plain, boxed = [], []
            for _ in range(REPEAT):
                plain.append(seconds(lambda s=script: subprocess.run([sys.executable, "-I", "-u", "-B", str(s)],
                                                                     cwd=work, check=True)))
                boxed.append(seconds(lambda s=script: run_python(s, work, timeout_s=60)))
            overhead = statistics.median(b - p for p, b in zip(plain, boxed, strict=True))
            print(f"{label}: plain {statistics.median(plain):.3f} s, in the sandbox ({isolation()}) "
                  f"{statistics.median(boxed):.3f} s; overhead {overhead:.3f} s (goal < 0.3 s)")


if __name__ == "__main__":
    startup()
    sandbox_overhead()
