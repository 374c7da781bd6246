"""Checks that depend on the target, not on the conversion code: arena, fit, portable C.

Used after the conversion loop passes, and alone by `convert --check MODEL.tflite`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..checks import tflite
from ..errors import UserError
from ..loop import Finding


@dataclass
class DeviceReport:
    arena_bytes: int | None = None
    c_arena_bytes: int | None = None
    c_weights_bytes: int | None = None
    c_files: list[Path] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def device_checks(path: Path, info: tflite.ModelInfo, quant: str, board_id: str | None,
                  c_dir: Path | None) -> DeviceReport:
    """TFLM arena, portable C (when asked or the board runs it) and flash/RAM fit."""
    report = DeviceReport()
    arena = tflite.measure_arena(path)
    report.arena_bytes = arena.bytes
    if arena.error and "did not finish" in arena.error and "WHILE" in info.ops:
        arena.error += ": its WHILE loop (from a GRU/LSTM layer) is the likely cause: unroll=True, or Conv1D layers"
    runtime = _runtime(board_id)
    if arena.error:
        # float16 / hybrid models are valid TFLite that TFLM cannot run: fatal only when a TFLM target needs it
        if tflite.op_findings(info):  # the probe failed on an op TFLM lacks: the tflm_ops finding says so
            report.notes.append(arena.error)
        elif quant in ("float16", "dynamic") and runtime == "tflm":
            report.findings.append(Finding("arena", f"{board_id} runs TensorFlow Lite Micro, which cannot run "
                                           f"{quant} models ({arena.error}): convert with --quant int8 or float32"))
        elif quant == "int8" or runtime == "tflm":
            report.findings.append(Finding("arena", arena.error))
        else:
            report.notes.append(arena.error)
    if c_dir is not None or runtime == "portable-c":
        _portable_c(path, quant, c_dir, report, board_id)
    if board_id:
        if runtime == "portable-c" and report.c_weights_bytes is not None:
            report.findings += tflite.fit_findings(board_id, report.c_weights_bytes, report.c_arena_bytes)
        elif runtime == "tflm" and arena.bytes is not None:
            report.findings += tflite.fit_findings(board_id, info.model_bytes, arena.bytes)
    return report


def _runtime(board_id: str | None) -> str | None:
    if not board_id:
        return None
    from ..boards import get_board

    return get_board(board_id).runtime


def _portable_c(path: Path, quant: str, c_dir: Path | None, report: DeviceReport,
                board_id: str | None = None) -> None:
    try:
        from ..cruntime import emit_c
    except ImportError as err:
        report.findings.append(Finding("c_runtime", f"the portable C runtime is not available ({err})"))
        return
    try:  # an int8 model with float input/output (QUANTIZE/DEQUANTIZE edges) compiles too
        cmodel = emit_c(path.read_bytes(), prefix="model")
    except UserError as err:
        message = str(err) if quant == "int8" else (f"the portable C runtime takes int8 models only, this one "
                                                    f"is {quant}: convert with --quant int8")
        report.findings.append(Finding("c_runtime", message.splitlines()[0]))
        return
    if board_id:
        from ..boards import get_board

        if get_board(board_id).is_avr:
            report.findings += [Finding("c_runtime", problem) for problem in cmodel.avr_problems()]
    report.c_arena_bytes, report.c_weights_bytes = cmodel.arena_bytes, cmodel.weights_bytes
    if c_dir is not None:
        report.c_files = cmodel.write(c_dir)


SIGNIFICANCE = 0.05  # a drop is a finding only when chance alone would rarely show it


def accuracy_verdict(float_acc: float | None, converted_acc: float | None, samples: int | None,
                     tolerance: float) -> tuple[list[Finding], str | None]:
    """Judge the converted model's accuracy on `samples` test examples against the original's.

    One-sided binomial test: if the converted model's true accuracy were float_acc - tolerance, how likely
    would `samples` examples show this few correct ones? Below SIGNIFICANCE the drop beyond the tolerance is
    shown, and it is a finding; otherwise the verdict says the drop is within what the sample size can tell.
    """
    if float_acc is None or converted_acc is None or not samples:
        return [], None
    from scipy.stats import binom

    correct = round(converted_acc * samples)
    floor = max(0.0, float_acc - tolerance / 100)
    p_value = float(binom.cdf(correct, samples, floor)) if floor > 0 else 1.0
    delta = (float_acc - converted_acc) * 100
    basis = (f"{correct} of {samples} test samples right ({converted_acc:.1%}) against {float_acc:.1%} before "
             f"conversion; one sample is {100 / samples:.1f} points")
    if delta <= tolerance + 1e-9 or p_value >= SIGNIFICANCE:
        verdict = "within" if delta <= tolerance + 1e-9 else "not shown beyond"
        return [], (f"{verdict} the tolerance of {tolerance:g} points: {basis}"
                    + (f" (a drop of {delta:.1f} points on {samples} samples has p = {p_value:.2f})"
                       if delta > tolerance + 1e-9 else ""))
    message = (f"converted accuracy is {delta:.1f} points below the original, beyond the tolerance of "
               f"{tolerance:g} (p = {p_value:.3f} on {samples} samples): {basis}; use more, representative "
               "calibration samples from the training split")
    return [Finding("accuracy", message)], message


def finding_line(finding: Finding) -> str:
    """One printable line (no square brackets: the console would read them as markup)."""
    return f"{finding.check}: {finding.message}"


def check_figures(card: dict[str, Any], findings: list[Finding], report: DeviceReport) -> dict[str, Any]:
    figures = {k: card.get(k) for k in ("quant", "model_bytes", "arena_bytes", "float_accuracy",
                                        "converted_accuracy", "accuracy_delta")}
    if report.c_arena_bytes is not None:
        figures |= {"c_arena_bytes": report.c_arena_bytes, "c_weights_bytes": report.c_weights_bytes}
    figures["findings"] = [finding_line(f) for f in findings]
    if report.notes:
        figures["notes"] = report.notes
    return figures
