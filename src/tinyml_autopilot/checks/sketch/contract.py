"""Static contract checks of an Arduino sketch against its model, before any compiler runs.

Each check returns findings (fed back to the LLM, or printed by `sketch --check`) and a
verdict. The sketch may be ours or hand-written: constants may be literals, named constants
or read from the tensor at run time, ops may be added in any order.
"""

from __future__ import annotations

import re
from pathlib import Path

from ...boards import Board
from . import libraries as libs
from .facts import FeatureFacts, ModelFacts
from .model import check_model_symbols
from .reader import Sketch, read_sketch
from .resources import check_arena, check_budget, check_ops, check_resolver_count
from .rules import check_api, check_includes, check_syntax, is_fatal
from .sensors import check_sensor_api
from .types import Context, ContractReport, Result
from .values import check_label_count, check_quantization, check_scaling

CHECK_FUNCS = {
    "includes": check_includes, "syntax": check_syntax, "api": check_api, "model_symbols": check_model_symbols,
    "sensor_api": check_sensor_api, "ops_registered": check_ops, "resolver_count": check_resolver_count,
    "arena_size": check_arena, "quantization": check_quantization, "label_count": check_label_count,
    "feature_scaling": check_scaling, "budget": check_budget,
}
CHECKS = tuple(CHECK_FUNCS)
# Findings the compiler would stop on come first, in source order, as the compiler reports them;
# a missing header stops it before anything else.
_COMPILE = ("syntax", "api", "model_symbols", "sensor_api")


def detect_runtime(sketch: Sketch, default: str = "tflm") -> str:
    """The runtime the sketch's code uses; `default` (the board's) when it shows no clear sign."""
    if re.search(r"\btflite::|MicroInterpreter", sketch.code):
        return "tflm"
    if re.search(r"\b[A-Za-z_]\w*_invoke\s*\(", sketch.code):
        return "portable-c"
    return default


def check_contract(sketch: Sketch, facts: ModelFacts, board: Board, features: FeatureFacts,
                   runtime: str | None = None) -> ContractReport:
    runtime = runtime or detect_runtime(sketch, board.runtime)
    lib = libs.library_for(board, sketch.included_names()) if runtime == "tflm" else None
    ctx = Context(sketch, facts, board, features, runtime, lib, [])
    report = ContractReport(runtime=runtime, library=ctx.library, notes=ctx.notes)
    for name in CHECKS:
        result: Result = CHECK_FUNCS[name](ctx)
        if result is None:
            report.verdicts[name] = {"status": "skipped", "message": "not applicable"}
            continue
        found, message = result
        report.findings += found
        report.verdicts[name] = {"status": "failed" if found else "passed",
                                 "message": "; ".join(f.message for f in found) or message}
    report.findings.sort(key=_order)
    return report


def _order(f) -> tuple[int, int]:
    if is_fatal(f):
        return (0, 0)
    if "(a link error)" in f.message:
        return (1, 1 << 29)  # the linker runs after the compiler
    if f.check in _COMPILE or f.check == "includes":  # on one line: the type name, then its namespace, then the rest
        rank = {"api": 0, "includes": 1}.get(f.check, 2)
        return (1, 3 * min(f.lines) + rank if f.lines else 1 << 30)
    return (2, 0)


def lint_folder(folder: Path, facts: ModelFacts, board: Board, features: FeatureFacts,
                runtime: str | None = None) -> ContractReport:
    return check_contract(read_sketch(folder), facts, board, features, runtime)
