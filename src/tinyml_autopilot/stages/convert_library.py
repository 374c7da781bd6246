"""The board's TFLite Micro library against the converted model.

An op the library has no kernel for is rewritten into one it has when that is exact (convert_rewrite:
EXPAND_DIMS / SQUEEZE -> RESHAPE), and the rewritten file passes the conversion checks again and gives the
same outputs, bit for bit, as the file the conversion wrote. An op that cannot be rewritten is one finding.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..checks import tflite
from ..checks.sketch.libraries import ops_without_kernel, resolver_method
from ..loop import Finding
from .base import StageContext
from .convert_rewrite import REWRITABLE, NotEquivalent, computed_shape_ops, rewrite_to_reshape
from .train_data import Processed

AS_CONVERTED = "model_as_converted.tflite"  # beside artifacts/model.tflite when it was rewritten
RANDOM_SAMPLES = 64

Checks = Callable[[Path], tuple[list[Finding], dict[str, Any]]]


@dataclass
class LibraryFit:
    findings: list[Finding] = field(default_factory=list)
    record: dict[str, Any] | None = None  # what was rewritten and how it was proven (artifacts/rewrite.json)
    figures: dict[str, Any] | None = None  # the conversion checks' figures on the rewritten file


def board_library(ctx: StageContext) -> Any:
    """The installed library (sandbox.libraries.Library) of a TFLite Micro board, or None."""
    board = ctx.settings.board
    if not board:
        return None
    from ..boards import get_board
    from ..sandbox.libraries import find

    entry = get_board(board)
    if entry.runtime != "tflm" or not entry.tflm_library:
        return None
    lib = find(entry.tflm_library, ctx.settings.libraries)
    if lib is None:
        ctx.run.log.info("%s is not installed where the tool looks (libraries setting): the model's ops are "
                         "not checked against its kernels", entry.tflm_library)
    return lib


def int32_gaps(content: bytes, lib: Any) -> list[str]:
    """Ops computing a RESHAPE's shape at run time (int32) whose kernel in the library has no int32 case."""
    if lib is None:
        return []
    return [op for op in computed_shape_ops(content) if (types := lib.kernel_types(op)) and "Int32" not in types]


def fit_library(ctx: StageContext, path: Path, checks: Checks, processed: Processed | None,
                rep_data: Path | None) -> LibraryFit:
    """Rewrite `path` (artifacts/model.tflite) in place for the board's library when it lacks a kernel."""
    lib = board_library(ctx)
    methods = lib.resolver_methods() if lib is not None else None
    info = tflite.inspect(path)
    lacking, gaps = ops_without_kernel(info.ops, methods), int32_gaps(path.read_bytes(), lib)
    if not lacking and not gaps:
        return LibraryFit()
    name = f"{lib.name} {lib.version}"
    fixed = [op for op in lacking if op in REWRITABLE and resolver_method("RESHAPE") in methods]
    if stuck := [op for op in lacking if op not in fixed]:
        return LibraryFit([_no_kernel(stuck, name, "cannot be rewritten into ops it has")])
    original = path.with_name(AS_CONVERTED)
    shutil.copy2(path, original)
    try:
        rewritten = rewrite_to_reshape(original.read_bytes(), set(fixed), fold_shapes=bool(gaps))
    except NotEquivalent as err:
        original.unlink()
        why = f"cannot be rewritten exactly ({err})"
        return LibraryFit([_no_kernel(fixed, name, why) if fixed else _int32_finding(gaps, name, why)])
    path.write_bytes(rewritten.content)
    after = tflite.inspect(path)
    findings, figures = checks(path)
    if still := ops_without_kernel(after.ops, methods):
        findings.append(_no_kernel(still, name, "is still there after the rewrite"))
    if still_gaps := int32_gaps(rewritten.content, lib):
        findings.append(_int32_finding(still_gaps, name, "is still there after the rewrite"))
    x, source = _samples(processed, rep_data, info.input.shape)
    before_out, after_out = tflite.predict(original, x), tflite.predict(path, x)
    equal = before_out.shape == after_out.shape and bool(np.array_equal(before_out, after_out))
    if not equal:
        findings.append(Finding("rewrite", f"the model rewritten for {name} gives other outputs than the one "
                                f"the conversion wrote on {len(x)} {source}: report it with both files"))
    record = {"library": name, "ops_without_kernel": lacking, "int32_kernels_missing": gaps,
              "rewritten": rewritten.counts, "ops_before": list(dict.fromkeys(info.ops)),
              "ops_after": list(dict.fromkeys(after.ops)), "outputs_equal": equal,
              "compared_on": f"{len(x)} {source}", "model_bytes": [info.model_bytes, after.model_bytes],
              "as_converted": original.name}
    ctx.run.write_json("artifacts/rewrite.json", record)
    ctx.run.log.info("rewrote the model for %s (%s): %s; outputs %s on %d %s", name, ", ".join(
        [f"no {op} kernel" for op in lacking] + [f"no int32 {op}" for op in gaps]), ", ".join(
        f"{n} {op}" for op, n in rewritten.counts.items()), "bit-exact" if equal else "DIFFER", len(x), source)
    return LibraryFit(findings, record, figures)


def _no_kernel(ops: list[str], library: str, why: str) -> Finding:
    those = "it" if len(ops) == 1 else "them"
    return Finding("library_ops", f"the model needs {', '.join(ops)}, which {library} has no kernel for (no "
                   f"{', '.join(resolver_method(op) for op in ops)} in its MicroMutableOpResolver) and which "
                   f"{why}: change the layers that produce {those}, or use a board entry with a newer TFLite "
                   "Micro library (Chirale_TensorFlowLite)")


def _int32_finding(ops: list[str], library: str, why: str) -> Finding:
    return Finding("library_ops", f"the model computes a shape at run time with {', '.join(ops)} on int32, which "
                   f"{library} has no int32 kernel for, and that computation {why}: convert with a fixed batch "
                   "of 1 (keras.Input(shape, batch_size=1)) so the shape is a constant")


def _samples(processed: Processed | None, rep_data: Path | None, shape: list[int]) -> tuple[np.ndarray, str]:
    """Inputs to compare the two files on: the test split, else the calibration samples, else seeded noise."""
    if processed is not None and list(processed.input_shape) == shape[1:]:
        return processed.load("test")[0], "test samples"
    if rep_data is not None:
        with np.load(rep_data) as data:
            x = data["X"].astype(np.float32)
        if list(x.shape[1:]) == shape[1:]:
            return x, "calibration samples"
    rng = np.random.default_rng(0)
    return rng.normal(size=(RANDOM_SAMPLES, *shape[1:])).astype(np.float32), "random inputs"
