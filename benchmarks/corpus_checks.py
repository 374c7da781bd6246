"""The static sketch checks on real LLM-written sketches and on the official library examples.

    python benchmarks/corpus_checks.py --corpus ../shared/corpus/study_sketches \
        --examples ../shared/vendor/arduino-libraries

Prints: findings on the sketches the study compiled (each should be a true device problem), the share
of failed sketches whose first finding names the problem of the study's first compiler error, a
per-check confusion table, the run time, and the findings on the official TFLite Micro examples.
"""

from __future__ import annotations

import argparse
import csv
import re
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

from tinyml_autopilot.boards import get_board
from tinyml_autopilot.checks.sketch import check_contract, load_facts, load_feature_spec, measure_arena, read_sketch

# The study's first compiler error -> the check that names that problem. First match wins.
ERROR_TO_CHECK = [
    (r"fatal error: .*No such file or directory", "includes"),
    (r"'tflite' (does not name a type|has not been declared)|'TfLite(Tensor|Status)' does not name", "includes"),
    (r"'(TFLITE_SCHEMA_VERSION|FLT_MAX)' was not declared", "includes"),
    # a TFLM type the library has, used without its header
    (r"'(MicroInterpreter|MicroErrorReporter|AllOpsResolver|MicroMutableOpResolver)' (in namespace 'tflite' does "
     r"not name|is not a member of 'tflite')", "includes"),
    (r"conflicting declaration .*model|reference to 'model' is ambiguous|'g_model\w*' was not declared|"
     r"weak declaration of 'model'|'model' was not declared|uninitialized const 'model'|"
     r"sizeof' to incomplete type|ld returned", "model_symbols"),
    (r"MicroErrorReporter|AllOpsResolver|MicroMutableOpResolver|MicroOpResolver' is not a template|"
     r"'TfLiteModel' does not name|TF_MUST_USE_ATTR|TFLITE_MODEL_HANDLE_T|TFLMicroArenaBuffer|"
     r"'TensorFlowLite' does not name", "api"),
    (r"expected initializer before", "syntax"),
    (r"expected unqualified-id before 'if'|expected constructor, destructor, or type conversion|"
     r"'T' does not name a type", "syntax"),
    (r"APDS9960|cannot bind non-const lvalue reference of type 'int&'|TCS\w+|setGestureLED", "sensor_api"),
]
NOT_COMPILER = re.compile(r"Generated code is not complete|Max \d+ attempts exceeded")


def expected_check(error: str) -> str | None:
    for rx, check in ERROR_TO_CHECK:
        if re.search(rx, error):
            return check
    return "other"


def run_corpus(corpus: Path, work: Path, show_misses: bool = False) -> None:
    facts = load_facts(corpus / "model" / "model.tflite", labels=["Apple", "Banana", "Orange"])
    t0 = time.monotonic()
    facts.arena_bytes = measure_arena(facts.tflite)
    t_arena = time.monotonic() - t0
    board, features = get_board("nano33ble_tinymlx"), load_feature_spec(None, facts)
    rows = list(csv.DictReader((corpus / "index.csv").open()))
    compiled_findings: list[tuple[str, str]] = []
    table: Counter = Counter()  # (expected, first-finding check) on failed sketches with an error
    no_error = excluded = 0
    start = time.monotonic()
    for row in rows:
        folder = work / row["id"]
        folder.mkdir()
        shutil.copy(corpus / "sketches" / row["id"] / f"{row['id']}.ino", folder)
        shutil.copy(corpus / "model" / "model.h", folder)
        report = check_contract(read_sketch(folder), facts, board, features)
        first = report.findings[0].check if report.findings else "none"
        if row["study_compiled"] == "True":
            compiled_findings += [(row["id"], f"{f.check}: {f.message}") for f in report.findings]
        elif not row["study_error_first_line"].strip():
            no_error += 1
        elif NOT_COMPILER.search(row["study_error_first_line"]):
            excluded += 1
        else:
            want = expected_check(row["study_error_first_line"])
            table[(want, first)] += 1
            if show_misses and want != first:
                print(f"miss {row['id']}: {row['study_error_first_line'][:90]} | first finding: "
                      f"{report.findings[0] if report.findings else 'none'}"[:300])
    elapsed = time.monotonic() - start
    compiled = sum(r["study_compiled"] == "True" for r in rows)
    print(f"corpus: {len(rows)} sketches, {compiled} compiled in the study; arena measured once in {t_arena:.1f} s "
          f"({facts.arena_bytes} B); checks ran in {elapsed:.1f} s ({1000 * elapsed / len(rows):.1f} ms/sketch)")
    print(f"\nfindings on the {compiled} study-compiled sketches: {len(compiled_findings)}")
    for sid, msg in compiled_findings:
        print(f"  {sid}: {msg[:150]}")
    scored = sum(table.values())
    hits = sum(n for (want, got), n in table.items() if want == got)
    print(f"\nfailed sketches with a compiler error in index.csv: {scored} (+{no_error} with no error recorded, "
          f"{excluded} whose message is not a compiler error)")
    print(f"first finding names the study's first compiler error: {hits}/{scored} = {100 * hits / max(scored, 1):.1f}%")
    wants = sorted({w for w, _ in table})
    gots = sorted({g for _, g in table})
    print("\nconfusion (rows: check the compiler error maps to; columns: check of the first finding)")
    print(f"{'':>14}" + "".join(f"{g:>15}" for g in gots) + f"{'total':>8}")
    for w in wants:
        print(f"{w:>14}" + "".join(f"{table[(w, g)]:>15}" for g in gots) + f"{sum(table[(w, g)] for g in gots):>8}")


def _model_bytes(folder: Path) -> bytes | None:
    """The .tflite an example embeds as a C array: the biggest byte array that holds a TFLite flatbuffer."""
    sketch = read_sketch(folder)
    arrays = sorted((a for a in sketch.byte_arrays() if a.data), key=lambda a: -len(a.data or b""))
    return next((a.data for a in arrays if a.data and a.data[4:8] == b"TFL3"), None)


def run_examples(root: Path, work: Path) -> None:
    boards = {"Harvard_TinyMLx": "nano33ble_tinymlx", "Chirale_TensorFlowLite": "nano33ble",
              "Arduino_TensorFlowLite": "nano33ble"}
    print("\nofficial examples (against the model each embeds):")
    total = 0
    for lib, board_id in boards.items():
        for ex in sorted((root / lib / "examples").glob("*/")):
            data = _model_bytes(ex)
            if data is None or not list(ex.glob("*.ino")):
                print(f"  {lib}/{ex.name}: no model in the example, skipped")
                continue
            tfl = work / f"{lib}_{ex.name}.tflite"
            tfl.write_bytes(data)
            facts = load_facts(tfl)
            facts.arena_bytes = measure_arena(tfl)
            report = check_contract(read_sketch(ex), facts, get_board(board_id), load_feature_spec(None, facts))
            total += len(report.findings)
            print(f"  {lib}/{ex.name} ({board_id}): {len(report.findings)} findings")
            for f in report.findings:
                print(f"    {f.check}: {f.message[:150]}")
    print(f"findings on the official examples: {total}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    shared = Path(__file__).resolve().parents[1].parent / "shared"
    ap.add_argument("--corpus", type=Path, default=shared / "corpus" / "study_sketches",
                    help="study_sketches folder (index.csv, sketches/, model/)")
    ap.add_argument("--examples", type=Path, default=shared / "vendor" / "arduino-libraries",
                    help="arduino libraries folder whose */examples to check")
    ap.add_argument("--show-misses", action="store_true", help="print each failed sketch whose first finding differs")
    args = ap.parse_args()
    if not (args.corpus / "index.csv").is_file():
        print(f"no sketch corpus at {args.corpus}: pass --corpus FOLDER (skipped)")
        return
    with tempfile.TemporaryDirectory(prefix="corpus-checks-") as tmp:
        run_corpus(args.corpus, Path(tmp), args.show_misses)
        if args.examples and args.examples.is_dir():
            run_examples(args.examples, Path(tmp))


if __name__ == "__main__":
    main()
