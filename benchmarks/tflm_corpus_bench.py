"""Run the study corpus's sketches on the host with Harvard_TinyMLx (the library the study compiled with)
on the fruit readings, and print what happened to each: ran and agreed / ran and disagreed (reason) /
did not build (first error). With --all, also compare the host build's verdict with the study's
compile result on every attempt.

Raw-reading convention: the corpus's data/*.csv hold chromaticity ratios r/(r+g+b); the APDS9960 replay
is fed counts = round(ratio x 1000) (clear = r+g+b), and the feature spec normalises each reading by the
sum of its channels, as the model was trained.

    python benchmarks/tflm_corpus_bench.py --corpus PATH/TO/study_sketches [--all] [--limit N] [--timing]
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from tinyml_autopilot.config import load_settings
from tinyml_autopilot.stages.sketch.host_run import run_on_host
from tinyml_autopilot.stages.sketch.inputs import resolve
from tinyml_autopilot.stages.sketch.readings import Readings

COUNTS_PER_RATIO = 1000
LABELS = ["Apple", "Banana", "Orange"]


def corpus_readings(corpus: Path) -> Readings:
    rows, labels = [], []
    for i, name in enumerate(LABELS):
        with (corpus / "data" / f"{name.lower()}.csv").open() as f:
            for rec in csv.DictReader(f):
                rows.append([round(float(rec[c]) * COUNTS_PER_RATIO) for c in ("Red", "Green", "Blue")])
                labels.append(i)
    return Readings(np.asarray(rows, np.float32), np.asarray(labels), f"{len(rows)} fruit readings (counts = "
                    f"ratio x {COUNTS_PER_RATIO})")


def outcome(host) -> tuple[str, str]:
    if host.build.get("status") == "failed":
        return "did not build", (host.build.get("errors") or ["?"])[0]
    run = host.run
    if run.status == "passed":
        return "ran and agreed", f"{run.agree}/{run.predictions}"
    if run.status == "failed":
        return "ran and disagreed", f"{run.reason}: {run.message.splitlines()[0][:160]}"
    return "not run", run.message


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", type=Path, help="the study_sketches folder (index.csv, sketches/, model/, data/)")
    ap.add_argument("--all", action="store_true", help="host-build every attempt, not only the study's compiled ones")
    ap.add_argument("--limit", type=int, default=0, help="at most N sketches")
    args = ap.parse_args()
    if args.corpus is None or not (args.corpus / "index.csv").is_file():
        print("tflm_corpus_bench: skipped (pass --corpus PATH/TO/study_sketches)")
        return 0
    settings = load_settings()
    work = Path(tempfile.mkdtemp(prefix="tflm-corpus-"))
    spec = work / "feature_spec.json"
    spec.write_text(json.dumps({"kind": "tabular", "feature_columns": ["Red", "Green", "Blue"],
                                "scaling": {"method": "none"}, "normalize": "sum"}))
    inp = resolve(None, "nano33ble_tinymlx", args.corpus / "model" / "model.tflite", ",".join(LABELS), spec, None,
                  measure=False)
    inp.libraries, inp.readings = settings.libraries, corpus_readings(args.corpus)
    with (args.corpus / "index.csv").open() as f:
        index = [r for r in csv.DictReader(f) if args.all or r["study_compiled"] == "True"]
    if args.limit:
        index = index[:args.limit]
    print(f"{len(index)} sketches, {inp.readings.source}, libraries: {settings.libraries or 'default folder'}")
    table, agreement, times = [], Counter(), []
    for rec in index:
        folder = work / "sk" / rec["id"]
        shutil.copytree(args.corpus / "sketches" / rec["id"], folder)
        shutil.copy(args.corpus / "model" / "model.h", folder / "model.h")
        t0 = time.monotonic()
        host = run_on_host(folder, inp, work / "out" / rec["id"])
        times.append(time.monotonic() - t0)
        kind, detail = outcome(host)
        if host.run is not None and host.run.reason in ("no library", "library build"):
            print(f"stopped: {host.run.message}")
            return 1
        built = host.build.get("status") == "passed"
        agreement[(rec["study_compiled"] == "True", built)] += 1
        table.append((rec["id"], kind, detail))
        print(f"{rec['id']:<40} {kind:<18} {detail}", flush=True)
    print("\n" + ", ".join(f"{k}: {v}" for k, v in Counter(k for _, k, _ in table).items()))
    print(f"per sketch (cached library): median {np.median(times):.1f} s, max {max(times):.1f} s")
    if args.all:
        both = agreement[(True, True)] + agreement[(False, False)]
        print(f"host build vs study compile: same verdict on {both}/{len(table)} (study compiled & host built "
              f"{agreement[(True, True)]}, study failed & host failed {agreement[(False, False)]}, study compiled "
              f"& host failed {agreement[(True, False)]}, study failed & host built {agreement[(False, True)]})")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
