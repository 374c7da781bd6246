"""The convert stage: Keras/SavedModel -> .tflite in the sandbox, proven by deterministic checks.

The loop's checks (load, tensor types, accuracy delta, TFLM ops) send failures back to the
conversion code; the target checks (arena, portable C, flash/RAM fit) follow once it passes.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..checks import tflite
from ..checks.model_file import is_keras, looks_like
from ..errors import UserError
from ..loop import CheckFailed, Finding, run_loop
from ..prompts import render
from ..runs import read_output, write_output
from ..sandbox.folder import copy_regular
from .base import StageContext, StageResult
from .convert_checks import accuracy_verdict, check_figures, device_checks, finding_line
from .convert_library import fit_library
from .convert_output import guess_quant, model_card, write_c_array
from .train_data import Processed, representative_npz, resolve_processed
from .train_sandbox import packaged_script, plain, read_json, run_code, run_trusted

DEFAULT_TOLERANCE = 2.0


@dataclass
class Source:
    model: Path
    processed: Processed | None
    input_shape: list[int]
    float_accuracy: float | None


@dataclass
class ConvertTask:
    ctx: StageContext
    source: Source
    quant: str
    rep_data: Path | None
    tolerance: float
    name: str = "convert"
    language: str = "python"

    def messages(self) -> list[dict[str, str]]:
        prompt = render("convert.j2", model_path=str(self.source.model), is_dir=self.source.model.is_dir(),
                        input_shape=self.source.input_shape, quant=self.quant, tolerance=self.tolerance)
        return [{"role": "user", "content": prompt}]

    def template(self) -> str:
        return packaged_script("convert_template.py").read_text()

    def execute(self, code: str, workdir: Path) -> Path:
        rep = str(self.rep_data) if self.rep_data else None
        config = {"model_path": str(self.source.model), "quant": self.quant, "rep_data": rep,
                  "input_shape": self.source.input_shape}
        (workdir / "convert_config.json").write_text(json.dumps(config, indent=2))
        readable = [self.source.model, *([self.rep_data] if self.rep_data else [])]
        run_code(code, workdir, "convert.py", self.ctx.settings, readable=readable)
        target = workdir / "model.tflite"
        if not target.is_file():
            raise CheckFailed([Finding("tflite_file", "the script finished but wrote no model.tflite in its "
                                       "working folder")])
        return target

    def check(self, outcome: Path | None, workdir: Path) -> None:
        findings, figures = conversion_checks(workdir / "model.tflite", self.quant, self.source, self.tolerance)
        (workdir / "checks.json").write_text(json.dumps(figures, indent=2))
        if findings:
            raise CheckFailed(findings)


def conversion_checks(path: Path, quant: str | None, source: Source | None, tolerance: float,
                      processed: Processed | None = None) -> tuple[list[Finding], dict[str, Any]]:
    """The checks the conversion code can fix: load, tensor types, shape, accuracy, TFLM ops."""
    try:
        info = tflite.inspect(path)
    except tflite.LoadFailed as err:
        return [Finding("load", str(err))], {}
    quant = quant or guess_quant(info)
    processed = processed or (source.processed if source else None)
    findings = tflite.type_findings(info, quant)
    findings += tflite.shape_findings(info, source.input_shape if source else None)
    converted, samples = None, None
    if processed is not None and info.input.shape[1:] == processed.input_shape:
        x, y = processed.load("test")
        converted, samples = tflite.accuracy(path, x, y), len(y)
    float_acc = source.float_accuracy if source else None
    judged, verdict = accuracy_verdict(float_acc, converted, samples, tolerance)
    findings += judged
    findings += tflite.op_findings(info)
    return findings, {"quant": quant, "converted_accuracy": converted, "float_accuracy": float_acc,
                      "accuracy_verdict": verdict, "accuracy_samples": samples}


def run(ctx: StageContext, data: Path | None = None, model: Path | None = None, quant: str | None = None,
        rep_data: Path | None = None, tolerance: float | None = None, emit: str | None = None,
        check: Path | None = None) -> StageResult:
    tolerance = DEFAULT_TOLERANCE if tolerance is None else tolerance
    if quant is not None and quant not in tflite.QUANT_MODES:
        raise UserError(f"unknown --quant {quant}: use one of {', '.join(tflite.QUANT_MODES)}")
    if emit not in (None, "c"):
        raise UserError(f"unknown --emit {emit}: the only value is 'c' (portable C runtime)")
    if not 0 <= tolerance <= 100:
        raise UserError(f"--tolerance {tolerance:g} is not a number of accuracy points between 0 and 100")
    _refuse_float_on_portable_c(ctx.settings.board, quant)
    _board_of_the_train_run(ctx, data, quant)
    if check is not None:
        return check_only(ctx, check, data, quant, tolerance, emit)
    quant = quant or "int8"
    source = resolve_source(ctx, data, model)
    rep = None
    if quant == "int8" or rep_data is not None:
        rep = representative_npz(source.processed, rep_data, ctx.run.path("inputs", ".keep").parent,
                                 source.input_shape)
    task = ConvertTask(ctx, source, quant, rep, tolerance)
    result = run_loop(task, ctx.model, ctx.run, ctx.limits)
    if not result.ok:
        last = plain(result.attempts[-1].error if result.attempts else None)
        checked = bool(result.attempts) and result.attempts[-1].category == "check"
        figures = {"attempts": len(result.attempts), "quant": quant, "findings": last.splitlines() if checked else []}
        ctx.run.finish("failed", attempts=len(result.attempts))
        message = f"conversion failed ({result.stopped_by}): {last}"
        return StageResult("convert", "failed", ctx.run.dir, figures, message)
    tflite_path = Path(copy_regular(result.workdir / "model.tflite", ctx.run.path("artifacts", "model.tflite")))
    fit = fit_library(ctx, tflite_path, lambda p: conversion_checks(p, quant, source, tolerance), source.processed,
                      rep)
    figures = fit.figures or read_json(result.workdir / "checks.json") or {}
    return publish(ctx, tflite_path, quant, source.processed, figures.get("float_accuracy"),
                   figures.get("converted_accuracy"), emit, fit.findings, attempts=len(result.attempts),
                   accuracy_verdict=figures.get("accuracy_verdict"), accuracy_samples=figures.get("accuracy_samples"),
                   rewrite=fit.record)


def _refuse_float_on_portable_c(board: str | None, quant: str | None) -> None:
    if not board or quant in (None, "int8"):
        return
    from ..boards import get_board

    if get_board(board).runtime == "portable-c":
        raise UserError(f"--quant {quant} cannot run on {board}: its portable C runtime takes int8 models only; "
                        "use --quant int8 or drop --board")


def _board_of_the_train_run(ctx: StageContext, data: Path | None, quant: str | None) -> None:
    """Without --board, check the model against the board its train run was sized for."""
    if ctx.settings.board or data is None:
        return
    try:
        board = read_output(data, ("train",)).get("board")
    except UserError:
        return
    if not board:
        return
    from ..boards import get_board

    runtime = get_board(board).runtime
    if quant not in (None, "int8") and (runtime == "portable-c" or quant != "float32"):
        ctx.run.log.warning("the train run targets %s, whose %s runtime cannot run %s models: checked without "
                            "a board (--board to check one)", board, runtime, quant)
        return
    ctx.run.log.info("checking against %s, the board of the train run (--board overrides)", board)
    ctx.settings = ctx.settings.model_copy(update={"board": board})


def publish(ctx: StageContext, path: Path, quant: str, processed: Processed | None, float_acc: float | None,
            converted_acc: float | None, emit: str | None, findings: list[Finding] | None = None,
            **extra: Any) -> StageResult:
    """Target checks, then model card, C array and output.json; failed when any finding remains."""
    run_, board = ctx.run, ctx.settings.board
    info = tflite.inspect(path)
    c_dir = run_.dir / "artifacts" / "c" if emit == "c" else None  # created only when the C is written
    report = device_checks(path, info, quant, board, c_dir)
    findings = [*(findings or []), *report.findings]
    labels = processed.labels if processed else None
    card = model_card(info, quant, labels, report.arena_bytes, float_acc, converted_acc, board,
                      c_arena_bytes=report.c_arena_bytes, c_weights_bytes=report.c_weights_bytes,
                      findings=[finding_line(f) for f in findings], notes=report.notes,
                      **({"rewrite": extra["rewrite"]} if extra.get("rewrite") else {}))
    run_.write_json("artifacts/model_card.json", card)
    write_c_array(path, path.parent)
    outputs: dict[str, Any] = {"tflite": path, "model_card": run_.path("artifacts", "model_card.json")}
    if processed is not None:
        outputs |= {"processed_dir": processed.dir, "feature_spec": processed.dir / "feature_spec.json",
                    "labels": processed.dir / "labels.json"}
    outputs["c_dir"] = c_dir if report.c_files else None
    write_output(run_, **outputs)
    figures = {**extra, **check_figures(card, findings, report)}
    status = "failed" if findings else "ok"
    run_.finish(status, **{k: v for k, v in figures.items() if k != "findings"}, findings=len(findings))
    message = "; ".join(finding_line(f) for f in findings) if findings else f"model.tflite in {path.parent}"
    return StageResult("convert", status, run_.dir, figures, message)


def check_only(ctx: StageContext, path: Path, data: Path | None, quant: str | None, tolerance: float,
               emit: str | None) -> StageResult:
    """`convert --check MODEL.tflite`: every check on an existing model, findings printed."""
    if not Path(path).is_file():
        raise UserError(f"{path} does not exist: --check takes a .tflite file")
    processed = resolve_processed(data, ctx.run, ("data", "train")) if data else None
    float_acc = _train_accuracy(data) if data else None
    source = Source(Path(path), processed, processed.input_shape, float_acc) if processed else None
    findings, figures = conversion_checks(Path(path), quant, source, tolerance, processed)
    unloadable = [f for f in findings if f.check == "load"]
    if unloadable:  # a bad input, not a failed check: one line, exit 2
        raise UserError(f"{unloadable[0].message}: --check takes a .tflite model file")
    target = Path(shutil.copy2(path, ctx.run.path("artifacts", "model.tflite")))
    fit = fit_library(ctx, target, lambda p: conversion_checks(p, quant, source, tolerance, processed), processed,
                      None)
    if fit.figures is not None:  # rewritten for the board's library: the checks of the rewritten file count
        findings, figures = fit.findings, {**figures, **fit.figures}
    else:
        findings = [*findings, *fit.findings]
    return publish(ctx, target, figures["quant"], processed, float_acc, figures.get("converted_accuracy"), emit,
                   findings, accuracy_verdict=figures.get("accuracy_verdict"),
                   accuracy_samples=figures.get("accuracy_samples"), rewrite=fit.record)


def resolve_source(ctx: StageContext, data: Path | None, model: Path | None) -> Source:
    """The model to convert and the data around it, from --model and/or --data."""
    report = None
    if model is None:
        if data is None:
            raise UserError("nothing to convert: pass --model MODEL (.keras, .h5 or SavedModel folder) "
                            "or --data with a train run folder")
        out = read_output(data, ("train",))
        model, report = Path(out["model"]), read_json(Path(out.get("train_report") or out["run_dir"]))
    model = Path(model).expanduser().resolve()
    if not model.exists():
        raise UserError(f"{model} does not exist: check --model")
    if model.is_dir() and not (model / "saved_model.pb").is_file():
        raise UserError(f"{model} is a folder without saved_model.pb: --model takes .keras, .h5 or a SavedModel")
    if model.is_file() and (model.suffix not in (".keras", ".h5", ".hdf5") or not is_keras(model)):
        raise UserError(f"{model} looks like {looks_like(model)}: --model takes a .keras or .h5 file, "
                        "or a SavedModel folder")
    processed = resolve_processed(data, ctx.run, ("data", "train")) if data else None
    if report and report.get("input_shape") and isinstance(report.get("test_accuracy"), float):
        return Source(model, processed, report["input_shape"], report["test_accuracy"])  # our own train run
    reference = _reference(ctx, model, processed)
    float_acc = reference.get("accuracy")
    return Source(model, processed, reference["input_shape"], float_acc)


def _reference(ctx: StageContext, model: Path, processed: Processed | None) -> dict[str, Any]:
    folder = ctx.run.path("reference", ".keep").parent
    args = [str(model), str(folder / "reference.json")]
    readable = [model]
    if processed is not None:
        args.append(str(processed.split("test")))
        readable.append(processed.dir)
    with ctx.run.span("check", "reference"):
        result = run_trusted("convert_reference.py", folder, ctx.settings, readable=readable, args=args)
    reference = read_json(folder / "reference.json")
    if reference is None:
        raise UserError(f"cannot evaluate {model.name} in the sandbox: {result.describe().strip()[-300:]}")
    if "error" in reference:
        raise UserError(f"{reference['error']}: check --model and --data")
    return reference


def _train_accuracy(data: Path) -> float | None:
    """The float model's test accuracy when --data is a train run (for --check)."""
    try:
        report = read_output(data, ("train",)).get("train_report")
    except UserError:
        return None
    value = (read_json(Path(report)) or {}).get("test_accuracy") if report else None
    return float(value) if isinstance(value, int | float) else None

