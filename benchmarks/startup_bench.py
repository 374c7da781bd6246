"""Prints CLI start-up time and the sandbox's per-attempt overhead.

Goals: `--help` and `doctor` under 1 s; sandbox overhead under 0.3 s beyond the code's own run time.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tinyml_autopilot.sandbox.python import isolation, run_python

EXE = str(Path(sys.executable).with_name("tinyml-autopilot"))
REPEAT = 7


def median_seconds(fn) -> float:
    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    for args in (["--help"], ["doctor"]):
        t = median_seconds(lambda a=args: subprocess.run([EXE, *a], capture_output=True, check=True))
        print(f"tinyml-autopilot {' '.join(args):8s} {t:.3f} s (median of {REPEAT}; goal < 1 s)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        script = work / "script.py"
        script.write_text("import pandas\n")
        plain = median_seconds(lambda: subprocess.run([sys.executable, "-I", str(script)], check=True))
        boxed = median_seconds(lambda: run_python(script, work, timeout_s=60))
    print(f"generated script (imports pandas) plain: {plain:.3f} s, in sandbox ({isolation()}): {boxed:.3f} s")
    print(f"sandbox overhead per attempt: {boxed - plain:.3f} s (goal < 0.3 s)")


if __name__ == "__main__":
    main()
