"""Run the study corpus's sketches on the host with Harvard_TinyMLx (the library the study compiled with)
on the fruit readings, and print what happened to each: ran and agreed / ran and disagreed (reason) /
did not build (first error). With --all, also compare the host build's verdict with the study's
compile result on every attempt: the attempts the study recorded as failed are compiled and linked only
(a build verdict is all the comparison needs), the ones it recorded as compiled are also run.

Raw-reading convention: the corpus's data/*.csv hold chromaticity ratios r/(r+g+b); the APDS9960 replay
is fed counts = round(ratio x 1000) (clear = r+g+b), and the feature spec normalises each reading by the
sum of its channels, as the model was trained.

    python benchmarks/tflm_corpus_bench.py --corpus PATH/TO/study_sketches [--all] [--limit N] [--jobs N]
        [--results FILE.csv]

--results keeps one row per attempt as it finishes; a rerun with the same file skips the attempts in it,
so an interrupted run continues and a finished one prints its tables at once.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from tinyml_autopilot.config import load_settings
from tinyml_autopilot.sandbox import hostbuild
from tinyml_autopilot.sandbox.hostbuild import build_sketch
from tinyml_autopilot.sandbox.libraries import find
from tinyml_autopilot.stages.sketch.host_run import run_on_host
from tinyml_autopilot.stages.sketch.inputs import resolve
from tinyml_autopilot.stages.sketch.readings import Readings

COUNTS_PER_RATIO = 1000
LABELS = ["Apple", "Banana", "Orange"]
FIELDS = ["id", "study_compiled", "study_error", "host_built", "outcome", "detail", "seconds"]


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


def error_kind(line: str) -> str:
    """A first error without its place and names, so that errors of one kind count together."""
    line = re.sub(r"^[^:]*:\d+:\s*", "", line.strip()).replace("fatal error: ", "error: ")
    line = re.sub(r"(error: )\S+: No such file", r"\1<header>: No such file", line)
    return re.sub(r"[‘'][^’']*[’']", "'…'", line)[:110] or "(none recorded)"


class Corpus:
    def __init__(self, corpus: Path, work: Path):
        settings = load_settings()
        self.corpus, self.work = corpus, work
        spec = work / "feature_spec.json"
        spec.write_text(json.dumps({"kind": "tabular", "feature_columns": ["Red", "Green", "Blue"],
                                    "scaling": {"method": "none"}, "normalize": "sum"}))
        self.inp = resolve(None, "nano33ble_tinymlx", corpus / "model" / "model.tflite", ",".join(LABELS), spec,
                           None, measure=False)
        self.inp.libraries, self.inp.readings = settings.libraries, corpus_readings(corpus)
        self.lib = find("Harvard_TinyMLx", settings.libraries)

    def attempt(self, rec: dict[str, str], run: bool) -> dict[str, object]:
        folder = self.work / "sk" / rec["id"]
        shutil.copytree(self.corpus / "sketches" / rec["id"], folder)
        shutil.copy(self.corpus / "model" / "model.h", folder / "model.h")
        t0 = time.monotonic()
        if run:
            host = run_on_host(folder, self.inp, self.work / "out" / rec["id"])
            if host.run is not None and host.run.reason in ("no library", "library build"):
                raise SystemExit(f"stopped: {host.run.message}")
            kind, detail = outcome(host)
            built = host.build.get("status") == "passed"
        else:  # compile and link only: the same build the run starts with
            build = build_sketch(folder, self.lib, self.work / "out" / rec["id"] / "host_build")
            if build.library_error:
                raise SystemExit(f"stopped: {build.library_error}")
            built = build.ok
            kind, detail = ("built", "") if built else ("did not build", (build.errors or ["?"])[0])
        shutil.rmtree(self.work / "out" / rec["id"], ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)
        return {"id": rec["id"], "study_compiled": rec["study_compiled"], "study_error": rec["study_error_first_line"],
                "host_built": str(built), "outcome": kind, "detail": detail,
                "seconds": f"{time.monotonic() - t0:.1f}"}


def print_tables(rows: list[dict[str, str]], compared: bool) -> None:
    ran = [r for r in rows if r["study_compiled"] == "True"]
    print(f"\nstudy-compiled attempts ({len(ran)}): "
          + ", ".join(f"{k}: {v}" for k, v in Counter(r["outcome"] for r in ran).items()))
    times = [float(r["seconds"]) for r in rows]
    print(f"per attempt (cached library): median {np.median(times):.1f} s, max {max(times):.1f} s, "
          f"total {sum(times) / 60:.0f} min")
    if not compared:
        return
    cell = Counter((r["study_compiled"] == "True", r["host_built"] == "True") for r in rows)
    same = cell[(True, True)] + cell[(False, False)]
    print(f"\nhost build vs study compile, {len(rows)} attempts: same verdict on {same} "
          f"({100 * same / len(rows):.1f}%)")
    print(f"{'':>22}{'host built':>12}{'host failed':>13}")
    for study in (True, False):
        name = "study " + ("compiled" if study else "failed")
        print(f"{name:>22}{cell[(study, True)]:>12}{cell[(study, False)]:>13}")
    host_only = Counter(error_kind(r["detail"]) for r in rows
                        if r["study_compiled"] == "True" and r["host_built"] != "True")
    study_only = Counter(error_kind(r["study_error"]) for r in rows
                         if r["study_compiled"] != "True" and r["host_built"] == "True")
    for title, errors in (("study compiled, host failed: host's first error", host_only),
                          ("study failed, host built: study's first error", study_only)):
        if errors:
            print(f"\n{title}")
            for err, n in errors.most_common(8):
                print(f"{n:>6}  {err}")
    both = Counter((error_kind(r["study_error"]) == error_kind(r["detail"])) for r in rows
                   if r["study_compiled"] != "True" and r["host_built"] != "True" and r["study_error"].strip())
    if both:
        print(f"\nboth failed, the study's first error recorded: the same first error (names aside) on {both[True]} "
              f"of {sum(both.values())}")
        pairs = Counter((error_kind(r["study_error"]), error_kind(r["detail"])) for r in rows
                        if r["study_compiled"] != "True" and r["host_built"] != "True" and r["study_error"].strip()
                        and error_kind(r["study_error"]) != error_kind(r["detail"]))
        for (study, host), n in pairs.most_common(5):
            print(f"{n:>6}  study: {study}\n        host:  {host}")
        missing = Counter(m.group(1) for r in rows if (m := re.search(r"error: (\S+): No such file", r["detail"])))
        print("headers not found here (first error): " + ", ".join(f"{h} {n}" for h, n in missing.most_common(6)))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", type=Path, help="the study_sketches folder (index.csv, sketches/, model/, data/)")
    ap.add_argument("--all", action="store_true", help="host-build every attempt, not only the study's compiled ones")
    ap.add_argument("--limit", type=int, default=0, help="at most N sketches")
    ap.add_argument("--jobs", type=int, default=1, help="attempts built at once (each build is one compiler)")
    ap.add_argument("--results", type=Path, action="append", default=[],
                    help="CSV of finished attempts: the first is written as they finish; all are reused on a rerun")
    ap.add_argument("--shard", default="0/1", help="K/N: only every N-th attempt from the K-th (parallel runs)")
    args = ap.parse_args()
    if args.corpus is None or not (args.corpus / "index.csv").is_file():
        print("tflm_corpus_bench: skipped (pass --corpus PATH/TO/study_sketches)")
        return 0
    # 648 distinct include blocks in 1,044 attempts: a block is seldom seen often enough to repay its precompile
    hostbuild.pch_root = lambda target: None
    work = Path(tempfile.mkdtemp(prefix="tflm-corpus-"))
    corpus = Corpus(args.corpus, work)
    if corpus.lib is None:
        print("tflm_corpus_bench: Harvard_TinyMLx is not installed (set libraries)")
        return 1
    with (args.corpus / "index.csv").open() as f:
        index = [r for r in csv.DictReader(f) if args.all or r["study_compiled"] == "True"]
    if args.limit:
        index = index[:args.limit]
    done: dict[str, dict[str, str]] = {}
    for path in args.results:
        if path.is_file():
            with path.open() as f:
                done.update({r["id"]: r for r in csv.DictReader(f)})
    k, n = (int(v) for v in args.shard.split("/"))
    todo = [r for i, r in enumerate(index) if r["id"] not in done and i % n == k]
    print(f"{len(index)} attempts ({len(index) - len(todo)} done or in another shard), {corpus.inp.readings.source}, "
          f"{corpus.lib.describe()}", flush=True)
    out = None
    if args.results:
        new = not args.results[0].is_file()
        out = args.results[0].open("a", newline="")
        writer = csv.DictWriter(out, FIELDS)
        if new:
            writer.writeheader()
    try:
        with ThreadPoolExecutor(max(1, args.jobs)) as pool:
            for row in pool.map(lambda r: corpus.attempt(r, r["study_compiled"] == "True"), todo):
                done[str(row["id"])] = {k: str(v) for k, v in row.items()}
                print(f"{row['id']:<40} {row['outcome']:<18} {row['seconds']:>5} s  {row['detail']}", flush=True)
                if out is not None:
                    writer.writerow(row)
                    out.flush()
    finally:
        if out is not None:
            out.close()
        shutil.rmtree(work, ignore_errors=True)
    rows = [done[r["id"]] for r in index if r["id"] in done]
    print_tables(rows, args.all)
    return 0


if __name__ == "__main__":
    sys.exit(main())
