"""Static contract checks of an Arduino sketch against its model, before any compiler runs.

Each check returns findings (fed back to the LLM, or printed by `sketch --check`) and a
verdict. The sketch may be ours or hand-written: constants may be literals, named constants
or read from the tensor at run time, ops may be added in any order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..boards import Board
from ..loop import Finding
from . import sketch_api as api
from .sketch_facts import FeatureFacts, ModelFacts
from .sketch_model import check_model_symbols
from .sketch_resources import check_arena, check_budget, check_ops, check_resolver_count
from .sketch_source import IDENT, Sketch, call_args
from .sketch_values import check_label_count, check_quantization, check_scaling

CHECKS = ("includes", "api", "model_symbols", "ops_registered", "resolver_count", "arena_size",
          "quantization", "label_count", "feature_scaling", "budget")


@dataclass
class ContractReport:
    runtime: str
    library: str | None
    findings: list[Finding] = field(default_factory=list)
    verdicts: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


@dataclass
class Context:
    sketch: Sketch
    facts: ModelFacts
    board: Board
    features: FeatureFacts
    runtime: str
    library: str | None
    notes: list[str]


def detect_runtime(sketch: Sketch, default: str = "tflm") -> str:
    """The runtime the sketch's code uses; `default` (the board's) when it shows no clear sign."""
    if re.search(r"\btflite::|MicroInterpreter", sketch.code):
        return "tflm"
    if re.search(rf"\b{IDENT}_invoke\s*\(", sketch.code):
        return "portable-c"
    return default


def check_contract(sketch: Sketch, facts: ModelFacts, board: Board, features: FeatureFacts,
                   runtime: str | None = None) -> ContractReport:
    runtime = runtime or detect_runtime(sketch, board.runtime)
    included = {path.rsplit("/", 1)[-1] for _, path in sketch.includes()}
    library = api.library_for(board, included) if runtime == "tflm" else None
    ctx = Context(sketch, facts, board, features, runtime, library, [])
    report = ContractReport(runtime=runtime, library=library, notes=ctx.notes)
    for name in CHECKS:
        result = CHECK_FUNCS[name](ctx)
        if result is None:
            report.verdicts[name] = {"status": "skipped", "message": "not applicable"}
            continue
        found, message = result
        report.findings += found
        report.verdicts[name] = {"status": "failed" if found else "passed",
                                 "message": "; ".join(f.message for f in found) or message}
    return report


Result = tuple[list[Finding], str] | None


def _f(check: str, message: str, lines: list[int] | None = None) -> Finding:
    return Finding(check=check, message=message, lines=lines or [])


def check_includes(ctx: Context) -> Result:
    s, found = ctx.sketch, []
    paths = [p for _, p in s.includes()]
    for delim, path in s.includes():
        if delim == '"' and (path.startswith("/") or ".." in Path(path).parts):
            found.append(_f("includes", f'#include "{path}" reaches outside the sketch folder: keep every file '
                                        "the sketch includes inside its folder", s.lines(re.escape(path))))
        elif delim == '"' and not path.startswith(("tensorflow/", "third_party/")) \
                and not (s.folder / path).is_file():
            found.append(_f("includes", f'#include "{path}" names a file that is not in the sketch folder',
                            s.lines(re.escape(path))))
    foreign = api.foreign_sensor_headers(ctx.board)
    own = api.sensor_headers(ctx.board)
    for path in paths:
        if path in foreign:
            have = ", ".join(f"{h} ({lib})" for h, lib in own.items()) or "no on-board sensor library"
            found.append(_f("includes", f"<{path}> is the library of the {foreign[path]}; {ctx.board.name} "
                                        f"has {have}", s.lines(re.escape(path))))
    if ctx.runtime == "tflm":
        found += _tflm_includes(ctx, paths)
    elif any(p.startswith("tensorflow/") or p.endswith("TensorFlowLite.h") for p in paths):
        found.append(_f("includes", "the portable C runtime needs no TensorFlow Lite headers: include only "
                                    "the generated model.h"))
    if re.search(r"\bBLE\s*\.", s.code) and "ArduinoBLE.h" not in {p.rsplit('/', 1)[-1] for p in paths}:
        found.append(_f("includes", "BLE is used but <ArduinoBLE.h> is not included"))
    return found, "every include exists for this board and library"


def _tflm_includes(ctx: Context, paths: list[str]) -> list[Finding]:
    s, found = ctx.sketch, []
    if ctx.board.is_avr:
        found.append(_f("includes", f"TensorFlow Lite Micro does not build for {ctx.board.name} (AVR): "
                                    "use the portable C runtime (model.h, model_invoke)"))
    top = api.TFLM_LIBRARIES.get(ctx.library or "", {}).get("header")
    if top and top not in {p.rsplit("/", 1)[-1] for p in paths}:
        found.append(_f("includes", f"include <{top}> (the {ctx.library} library) before the "
                                    "tensorflow/lite/... headers"))
    api_kind = api.TFLM_LIBRARIES.get(ctx.library or "", {}).get("api", ctx.board.tflm_api)
    bad = api.REMOVED_IN_CURRENT if api_kind == "current" else api.MISSING_IN_ERRORREPORTER
    for path in paths:
        if path.startswith("tensorflow/lite/experimental/micro/"):
            found.append(_f("includes", f"{path} is from TFLite Micro 1.x: these headers moved to "
                                        f"tensorflow/lite/micro/ ({path.replace('experimental/', '', 1)})",
                            s.lines(re.escape(path))))
        elif path in bad:
            found.append(_f("includes", f"{path} does not exist in {ctx.library}: {bad[path]}",
                            s.lines(re.escape(path))))
        elif path.startswith("tensorflow/") and path not in api.KNOWN_TFLM_HEADERS:
            ctx.notes.append(f"{path}: not a header the checks know; the compiler will tell")
    return found


_CTOR = r"\bMicroInterpreter\s*(?:\w+\s*)?\("
# <TensorFlowLite.h> is also the top header of Harvard_TinyMLx, which keeps the ErrorReporter API.
_TINYMLX_HINT = ("; if the sketch is built with Harvard_TinyMLx (TFLite Micro 2.4), check it with "
                 "--board nano33ble_tinymlx")


def check_api(ctx: Context) -> Result:
    if ctx.runtime != "tflm":
        return _portable_api(ctx)
    s, found = ctx.sketch, []
    kind = api.TFLM_LIBRARIES.get(ctx.library or "", {}).get("api", ctx.board.tflm_api)
    ctors = call_args(s.code, r"\bMicroInterpreter\s*(?:\w+)?")
    if not ctors:
        found.append(_f("api", "no tflite::MicroInterpreter is constructed"))
    if not re.search(r"\bGetModel\s*\(", s.code):
        found.append(_f("api", "the model is never mapped with tflite::GetModel(...)"))
    if kind == "current":
        rx = r"\b(ErrorReporter|MicroErrorReporter|TF_LITE_REPORT_ERROR|error_reporter)\b"
        if re.search(rx, s.code):
            found.append(_f("api", f"{ctx.library} has the current TFLite Micro API without ErrorReporter: "
                                   "remove MicroErrorReporter/TF_LITE_REPORT_ERROR (use MicroPrintf or Serial)"
                                   f"{_TINYMLX_HINT if ctx.library == 'Arduino_TensorFlowLite' else ''}",
                            s.lines(rx)))
        for _pos, args in ctors:
            if len(args) != 4 and not (len(args) > 4 and "report" not in args[4].lower()):
                found.append(_f("api", f"MicroInterpreter takes 4 arguments here (model, resolver, arena, "
                                       f"arena size), not {len(args)}", s.lines(_CTOR)))
        # Register_FULLY_CONNECTED_INT8() passed to AddFullyConnected() is current API; AddBuiltin is not.
        old = r"\bAddBuiltin\s*\(|\bops\s*::\s*micro\s*::\s*Register_"
        if re.search(old, s.code):
            found.append(_f("api", "AddBuiltin and tflite::ops::micro::Register_* are gone: call "
                                   "resolver.AddFullyConnected() etc.", s.lines(old)))
    else:
        for _pos, args in ctors:
            if len(args) != 5:
                found.append(_f("api", f"{ctx.library} bundles TFLite Micro 2.4: MicroInterpreter takes 5 "
                                       "arguments (model, resolver, arena, arena size, error_reporter)",
                                s.lines(_CTOR)))
        if re.search(r"\bMicroPrintf\b", s.code):
            found.append(_f("api", f"MicroPrintf does not exist in {ctx.library}: use "
                                   "TF_LITE_REPORT_ERROR(error_reporter, ...)", s.lines(r"\bMicroPrintf\b")))
    if re.search(r"\bAllOpsResolver\b", s.code):
        ctx.notes.append("AllOpsResolver links every kernel: MicroMutableOpResolver with the model's ops "
                         "saves flash")
    return found, f"{kind} TFLite Micro API of {ctx.library}"


def _portable_api(ctx: Context) -> Result:
    s = ctx.sketch
    if not re.search(rf"\b{IDENT}_invoke\s*\(", s.code):
        return [_f("api", "the model is never run: call model_invoke(input, output)")], ""
    return [], "portable C runtime API"


CHECK_FUNCS = {
    "includes": check_includes, "api": check_api, "model_symbols": check_model_symbols,
    "ops_registered": check_ops, "resolver_count": check_resolver_count, "arena_size": check_arena,
    "quantization": check_quantization, "label_count": check_label_count,
    "feature_scaling": check_scaling, "budget": check_budget,
}


def lint_folder(folder: Path, facts: ModelFacts, board: Board, features: FeatureFacts,
                runtime: str | None = None) -> ContractReport:
    from .sketch_source import read_sketch

    return check_contract(read_sketch(folder), facts, board, features, runtime)
