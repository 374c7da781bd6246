"""Host-run timing per TFLite Micro library: library build (cold when not cached yet, or with --cold into a
fresh cache), a sketch build against the cached library, and the run of that sketch on 200 readings.

    python benchmarks/tflm_build_bench.py [--cold]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from stages import tflm_sketches as ts  # noqa: E402
from stages.sketch_fixtures import fixture_model as fm  # noqa: E402

from tinyml_autopilot.config import load_settings  # noqa: E402
from tinyml_autopilot.sandbox import hostbuild  # noqa: E402
from tinyml_autopilot.sandbox.libraries import TFLM_NAMES, find  # noqa: E402
from tinyml_autopilot.stages.sketch.host_run import run_on_host  # noqa: E402
from tinyml_autopilot.stages.sketch.inputs import resolve  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--library", action="append", help="only this library (repeatable)")
    ap.add_argument("--cold", action="store_true", help="build each library into a fresh cache (minutes each)")
    args = ap.parse_args()
    setting = load_settings().libraries
    if args.cold:
        os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="tflm-cold-")
    work = Path(tempfile.mkdtemp(prefix="tflm-bench-"))
    for name in args.library or TFLM_NAMES:
        lib = find(name, setting)
        if lib is None:
            print(f"{name}: not installed (set libraries)")
            continue
        cached = hostbuild.is_cached(lib, "host32")
        t0 = time.monotonic()
        hostbuild.library_archive(lib, "host32")
        lib_s = time.monotonic() - t0
        era = "errorreporter" if name == "Harvard_TinyMLx" else "current"
        folder = ts.write_sketch(work / name, "bench", ts.sketch_text(era, library=name))
        inp = resolve(fm.convert_run(), "nano33ble_tinymlx" if era == "errorreporter" else "nano33ble", None, None,
                      None, None, measure=False)
        inp.libraries = setting
        t1 = time.monotonic()
        out = run_on_host(folder, inp, work / name / "out")
        total = time.monotonic() - t1
        run_s = out.run.duration_s or 0.0
        print(f"{name} {lib.version}: library {'cached' if cached else 'cold build'} {lib_s:.1f} s; sketch build "
              f"{total - run_s:.1f} s, run {run_s:.2f} s ({out.run.status}, {out.run.agree}/{out.run.predictions}, "
              f"arena {out.run.arena_used_bytes} B)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
