"""The run step for TFLite Micro boards: find the library, build the sketch on the host, run it on
recorded readings and compare with the host model. One verdict, never "passed" without a run."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...checks.sketch.libraries import TFLM_LIBRARIES, ops_without_kernel, resolver_method
from ...secrets import redact
from ..convert_rewrite import REWRITABLE
from .inputs import Inputs
from .readings import Readings, load_preprocess
from .run_tflm import RunVerdict, compare_run, predictions_by_reading, run_program, sensor_kind

MAX_READINGS = 200


@dataclass
class HostRun:
    build: dict = field(default_factory=dict)  # status, message, errors, lines, library
    run: RunVerdict | None = None
    m4: RunVerdict | None = None  # the same sketch on Cortex-M4 under QEMU (stages/sketch/m4_run.py)
    lib: Any = None  # sandbox.libraries.Library the sketch was built with
    readings: Readings | None = None  # as fed to the sketch
    kind: str = ""  # the sensor the readings were replayed through
    predictions: list[tuple[int, int]] = field(default_factory=list)  # (reading, class) the sketch printed

    @property
    def build_failed(self) -> bool:
        return self.build.get("status") == "failed"


def sketch_library(ino: str, inp: Inputs) -> str:
    """The TFLM library the sketch is written for: its top header, else the board's."""
    board_lib = inp.board.tflm_library or "Chirale_TensorFlowLite"
    if re.search(r"#\s*include\s*[<\"]Chirale_TensorFlowLite\.h[>\"]", ino):
        return "Chirale_TensorFlowLite"
    if re.search(r"#\s*include\s*[<\"]TensorFlowLite\.h[>\"]", ino) and \
            TFLM_LIBRARIES.get(board_lib, {}).get("header") != "TensorFlowLite.h":
        old_api = re.search(r"micro_error_reporter\.h|ErrorReporter|all_ops_resolver\.h|AllOpsResolver", ino)
        return "Harvard_TinyMLx" if old_api else "Arduino_TensorFlowLite"
    return board_lib


def default_readings(inp: Inputs) -> Readings:
    if inp.readings is not None:
        return inp.readings
    raw, source = inp.test_vectors(limit=MAX_READINGS)
    return Readings(np.asarray(raw, np.float32), None, source)


def per_channel_fc(tflite: Path) -> bool:
    """True when a FULLY_CONNECTED layer has per-channel weight scales (the TFLM libraries read only the first)."""
    from ...cruntime.parser import parse_tflite

    graph = parse_tflite(Path(tflite).read_bytes())
    for op in graph.operators:
        if op.opcode == "FULLY_CONNECTED" and len(op.inputs) > 1 and op.inputs[1] >= 0 \
                and graph.tensors[op.inputs[1]].scale.size > 1:
            return True
    return False


def run_on_host(sketch_dir: Path, inp: Inputs, workdir: Path, readings: Readings | None = None,
                no_run: str | None = None, m4_too: bool = False) -> HostRun:
    """`no_run`: why the built sketch is not run (its verdict says so, never "passed"). `m4_too`: a Cortex-M4
    run follows a passed host run, so its build (workdir/m4_build) starts now, beside the host build."""
    from ...sandbox.arm import arm_tools_missing
    from ...sandbox.hostbuild import settle_build, start_build, tools_missing
    from ...sandbox.libraries import find, not_found_message

    sketch_dir, workdir = Path(sketch_dir), Path(workdir).resolve()
    ino = (sketch_dir / f"{sketch_dir.name}.ino").read_text(errors="replace")
    wanted = sketch_library(ino, inp)
    lib = find(wanted, inp.libraries)
    out = HostRun(lib=lib)
    if lib is None:
        msg = not_found_message(wanted, inp.libraries)
        out.build = {"status": "not built", "message": msg.replace("not run", "not built")}
        out.run = RunVerdict("not run", msg, reason="no library")
        return out
    if lacking := ops_without_kernel(inp.facts.ops, lib.resolver_methods()):
        fix = (f"convert it for the board (convert --check MODEL.tflite --board {inp.board.id}, with {lib.name} "
               "installed): the convert stage rewrites that op into RESHAPE, which it has"
               if set(lacking) <= set(REWRITABLE) else
               f"use a board entry with a newer TFLite Micro library (Chirale_TensorFlowLite) or a model without "
               f"{'that op' if len(lacking) == 1 else 'those ops'}")
        msg = (f"not run: the model needs {', '.join(lacking)}, which {lib.name} {lib.version} has no kernel for "
               f"(no {', '.join(resolver_method(op) for op in lacking)} in its MicroMutableOpResolver): no sketch "
               f"can run this model with it; {fix}")
        out.build = {"status": "not built", "message": msg.replace("not run", "not built", 1)}
        out.run = RunVerdict("not run", msg, reason="op not in library", library=lib.name)
        return out
    if missing := tools_missing("host32"):
        msg = f"not run: {', '.join(missing)} not installed (apt-get install g++-multilib)"
        out.build, out.run = {"status": "not built", "message": msg}, RunVerdict("not run", msg, reason="no compiler")
        return out
    m4_too = m4_too and not no_run and not tools_missing("m4") and not arm_tools_missing()
    if m4_too:
        start_build(sketch_dir, lib, workdir / "m4_build", "m4")
    try:
        return _build_and_run(sketch_dir, inp, workdir, readings, no_run, out, ino)
    finally:
        if m4_too and (out.run is None or out.run.status != "passed"):  # no M4 run follows
            settle_build(sketch_dir, lib, workdir / "m4_build", "m4")


def _build_and_run(sketch_dir: Path, inp: Inputs, workdir: Path, readings: Readings | None, no_run: str | None,
                   out: HostRun, ino: str) -> HostRun:
    from ...sandbox.hostbuild import build_sketch

    lib = out.lib
    build = build_sketch(sketch_dir, lib, workdir / "host_build")
    (workdir / "host_build" / "build.log").write_text(redact(build.log))
    out.build = {"status": "passed" if build.ok else ("not built" if build.library_error else "failed"),
                 "library": lib.describe(), "tool": "g++ -m32 (host)", "errors": build.errors[:15],
                 "lines": build.lines}
    if build.library_error:
        out.build["message"] = f"not built: {build.library_error}"
        out.run = RunVerdict("not run", f"not run: {build.library_error}", reason="library build", library=lib.name)
        return out
    if not build.ok:
        out.build["message"] = f"host build against {lib.name} {lib.version} failed:\n" + "\n".join(build.errors[:15])
        out.run = RunVerdict("not run", "not run: the sketch did not build on the host", reason="build failed",
                             library=lib.name)
        return out
    out.build["message"] = f"built on the host with g++ -m32 against {lib.name} {lib.version}"
    if no_run:
        out.run = RunVerdict("not run", f"not run: {no_run}", reason="no inputs", library=lib.name)
        return out
    readings = readings or default_readings(inp)
    kind = sensor_kind(ino)
    if kind in ("colour", "analog"):  # these sensors give integers: the host model gets the same values
        readings = Readings(np.round(readings.raw), readings.labels, readings.source)
    res, text, events = run_program(build.exe, workdir, readings, kind, inp.features)
    out.readings, out.kind = readings, kind
    out.predictions = predictions_by_reading(text, events, inp.facts.labels)
    (workdir / "host_run.log").write_text(redact(text + "\n--- events ---\n" + events))
    pre = load_preprocess(inp.spec_path)
    out.run = compare_run(res, text, events, readings, inp.facts, inp.features, pre, "host32",
                          per_channel_fc(inp.facts.tflite))
    out.run.library = f"{lib.name} {lib.version}"
    if kind == "serial":
        out.run.message += "; readings fed over Serial (the sketch includes no sensor library)"
    return out
