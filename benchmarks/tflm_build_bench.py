"""Where a `sketch --check` of a TFLite Micro sketch spends its time, per library: the library build (cold
when not cached yet, or with --cold into a fresh cache), then the same check three times: the first time its
include block is seen (compiled as it is), the second (the block is precompiled), and cached. Each is split
into its steps; the Cortex-M4 build runs beside the host build, so its own time overlaps the host's and the
M4 run waits only for what is left of it. Last, `sketch --check` end to end from the command line, cached
(the process start and imports included). The M4 flash/RAM/instructions of TFLM beside the portable-C
runtime: benchmarks/m4_runtime_bench.py.

    python benchmarks/tflm_build_bench.py [--library NAME] [--cold]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from stages import tflm_sketches as ts  # noqa: E402
from stages.sketch_fixtures import fixture_model as fm  # noqa: E402

from tinyml_autopilot.config import load_settings  # noqa: E402
from tinyml_autopilot.sandbox import hostbuild  # noqa: E402
from tinyml_autopilot.sandbox.libraries import TFLM_NAMES, find  # noqa: E402
from tinyml_autopilot.stages.sketch import check_sketch, host_run, run_tflm, verify  # noqa: E402
from tinyml_autopilot.stages.sketch.inputs import resolve  # noqa: E402

BOARD = {"Harvard_TinyMLx": "nano33ble_tinymlx"}
CLI = str(Path(sys.executable).parent / "tinyml-autopilot")
STEPS = ["static checks", "compile (arduino-cli)", "host build", "host run", "model reference", "M4 build",
         "M4 build (left to wait)", "M4 run", "total"]
times: dict[str, float] = defaultdict(float)


def timed(owner, attr: str, step: str, when=lambda *a, **k: True) -> None:
    real = getattr(owner, attr)

    def wrapper(*args, **kwargs):
        t0 = time.monotonic()
        try:
            return real(*args, **kwargs)
        finally:
            if when(*args, **kwargs):
                times[step] += time.monotonic() - t0

    setattr(owner, attr, wrapper)


def _build_step(want_target: str, want_started: bool):
    def when(sketch_dir, lib, workdir, target="host32", extra_link=(), started=True):
        return target == want_target and started == want_started
    return when


def instrument() -> None:
    timed(verify, "static_checks", "static checks")
    timed(verify, "compile_for", "compile (arduino-cli)")
    timed(hostbuild, "build_sketch", "host build", _build_step("host32", True))
    timed(hostbuild, "build_sketch", "M4 build", _build_step("m4", False))  # in its own thread
    timed(hostbuild, "build_sketch", "M4 build (left to wait)", _build_step("m4", True))
    timed(host_run, "run_program", "host run")
    timed(run_tflm, "host_model", "model reference")


def check_once(folder: Path, inp, work: Path) -> dict[str, float]:
    times.clear()
    t0 = time.monotonic()
    ev, _ = check_sketch(folder, inp, work)
    times["total"] = time.monotonic() - t0
    m4 = ev.host.m4
    times["M4 run"] = (m4.duration_s or 0.0) if m4 is not None else 0.0
    assert ev.host.run.status == "passed" and m4.status == "passed", (ev.host.run.message, m4.message)
    return dict(times)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--library", action="append", help="only this library (repeatable)")
    ap.add_argument("--cold", action="store_true", help="build each library into a fresh cache (minutes each)")
    args = ap.parse_args()
    setting = load_settings().libraries
    if args.cold:
        os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="tflm-cold-")
    work = Path(tempfile.mkdtemp(prefix="tflm-bench-"))
    pch = work / "pch"  # a fresh place for precompiled blocks: the first check sees its block for the first time
    hostbuild.pch_root = lambda target: pch / target
    instrument()
    for name in args.library or TFLM_NAMES:
        lib = find(name, setting)
        if lib is None:
            print(f"{name}: not installed (set libraries)")
            continue
        lines = []
        for target in ("host32", "m4"):
            cached = hostbuild.is_cached(lib, target)
            t0 = time.monotonic()
            try:
                hostbuild.library_archive(lib, target)
            except hostbuild.BuildError as err:
                lines.append(f"{target} does not build: {str(err).splitlines()[-1:]}")
                continue
            lines.append(f"{target} {'cached' if cached else 'cold build'} {time.monotonic() - t0:.1f} s")
        print(f"\n{name} {lib.version}: library " + ", ".join(lines))
        era = "errorreporter" if name == "Harvard_TinyMLx" else "current"
        folder = ts.write_sketch(work / name, "bench", ts.sketch_text(era, library=name))
        inp = resolve(fm.convert_run(), BOARD.get(name, "nano33ble"), None, None, None, None, measure=False)
        inp.libraries = setting
        runs = [check_once(folder, inp, work / name / f"check{i}") for i in range(3)]
        print(f"  {'seconds':<26}{'first sight':>12}{'precompiles':>12}{'cached':>8}")
        for step in STEPS:
            print(f"  {step:<26}" + "".join(f"{r.get(step, 0.0):>{w}.1f}" for r, w in zip(runs, (12, 12, 8),
                                                                                          strict=True)))
        env = {**os.environ, "TINYML_LIBRARIES": str(lib.path.parent)}
        cmd = [CLI, "sketch", "--check", str(folder), "--data", str(fm.convert_run()), "--board",
               BOARD.get(name, "nano33ble"), "--json", "--out", str(work / name / "runs")]
        walls = []
        for _ in range(2):  # the first fills the user's cache of precompiled blocks, when it is empty
            t0 = time.monotonic()
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=work)
            walls.append(time.monotonic() - t0)
        verdict = "passed" if '"m4_run": "passed"' in proc.stdout else f"exit {proc.returncode}"
        print(f"  sketch --check from the command line, cached: {walls[-1]:.1f} s ({verdict}; {walls[0]:.1f} s "
              "before)")
    shutil.rmtree(work, ignore_errors=True)  # its precompiled headers take hundreds of MB
    return 0


if __name__ == "__main__":
    sys.exit(main())
