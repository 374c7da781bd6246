"""The train stage: a Keras model sized for the board, trained in the sandbox, checked here.

The training script (LLM-written, or the built-in template offline) writes model.keras;
our own evaluation script then loads it in the sandbox and reports shapes, parameters,
activation memory and accuracies, which the checks compare against the budget.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UserError
from ..loop import CheckFailed, ExecutionFailed, Finding, run_loop
from ..prompts import render
from ..runs import write_output
from ..sandbox.folder import copy_regular
from .base import StageContext, StageResult
from .train_budget import Budget, model_budget
from .train_data import Processed, resolve_processed
from .train_sandbox import packaged_script, plain, read_json, run_code, run_trusted
from .train_search import SPACE, best_trials, config_fields, read_trials, search_report, search_settings, trial_line

SEED = 42
EPOCHS = 60
ARTIFACTS = ("model.keras", "training_curves.png", "confusion_matrix.png", "trials.json")
SCORES = ("val_accuracy", "test_accuracy")
MARGIN = 0.05  # the model must beat always answering the majority class by this much
HONESTY = 0.02  # largest gap allowed between the script's reported and our measured val accuracy


@dataclass
class TrainTask:
    ctx: StageContext
    processed: Processed
    budget: Budget
    description: str | None = None
    epochs: int = EPOCHS
    search: dict[str, Any] | None = None
    seed: int = SEED
    name: str = "train"
    language: str = "python"

    def config(self) -> dict[str, Any]:
        search = self.search or search_settings(None, None, self.epochs)
        return {"processed_dir": str(self.processed.dir), "input_shape": self.processed.input_shape,
                "n_classes": self.processed.n_classes, "labels": self.processed.labels,
                "kind": self.processed.feature_spec.get("kind", "tabular"),
                "max_params": self.budget.max_params, "max_activation_bytes": self.budget.max_activation_bytes,
                "epochs": self.epochs, "seed": self.seed, "description": self.description,
                **config_fields(self.budget, search, self.processed.input_shape)}

    def messages(self) -> list[dict[str, str]]:
        cfg = self.config()
        prompt = render("train.j2", kind=cfg["kind"], input_shape=cfg["input_shape"], n_classes=cfg["n_classes"],
                        labels=cfg["labels"], processed_dir=cfg["processed_dir"], description=self.description,
                        features=self._features(),
                        budget=self.budget.as_dict(), epochs=self.epochs, seed=self.seed,
                        floor=accuracy_floor(self.processed), space=SPACE, search=cfg["search"])
        return [{"role": "user", "content": prompt}]

    def _features(self) -> list[str]:
        spec = self.processed.feature_spec
        names = spec.get("feature_columns") or spec.get("channels") or []
        return [str(n) for n in names][:40]

    def template(self) -> str:
        return packaged_script("train_template.py").read_text()

    def execute(self, code: str, workdir: Path) -> dict[str, Any]:
        (workdir / "train_config.json").write_text(json.dumps(self.config(), indent=2))
        run_code(code, workdir, "train.py", self.ctx.settings, readable=[self.processed.dir])
        if not (workdir / "model.keras").is_file():
            raise CheckFailed([Finding("model_file", "the script finished but wrote no model.keras in its "
                                       "working folder: save with model.save('model.keras')")])
        (workdir / "evaluation.json").unlink(missing_ok=True)  # the training script could have forged one
        result = run_trusted("train_evaluate.py", workdir, self.ctx.settings, readable=[self.processed.dir],
                             args=[str(workdir / "model.keras"), str(self.processed.dir), str(workdir)])
        evaluation = read_json(workdir / "evaluation.json")
        if evaluation is not None and not evaluation.get("loads"):
            return evaluation  # the load error is the check's finding
        measured = evaluation and all(isinstance(evaluation.get(k), int | float) for k in SCORES)
        if evaluation is None or not result.ok or not measured:
            shape = train_findings(evaluation or {}, None, self.processed, self.budget, scores=False)
            if evaluation and shape:
                raise CheckFailed(shape)
            raise ExecutionFailed(f"evaluating model.keras failed:\n{result.describe()[-2000:]}")
        return evaluation

    def check(self, outcome: dict[str, Any], workdir: Path) -> None:
        findings = train_findings(outcome, read_json(workdir / "metrics.json"), self.processed, self.budget)
        if findings and (best := best_trials(read_trials(workdir))):  # what the failed search learnt, to build on
            last = findings[-1]
            findings[-1] = Finding(last.check, f"{last.message}; best trials of this search: "
                                   + "; ".join(trial_line(t) for t in best), last.lines)
        if findings:
            raise CheckFailed(findings)


def accuracy_floor(processed: Processed) -> tuple[float, float]:
    """(majority-class share of val, the val accuracy a model must reach to count as trained)."""
    _, y = processed.load("val")
    majority = float(np.bincount(y).max() / len(y)) if len(y) else 0.0
    return majority, majority + min(MARGIN, (1 - majority) / 2)  # a 95% majority leaves 2.5 points to gain


def train_findings(evaluation: dict[str, Any], metrics: dict[str, Any] | None, processed: Processed,
                   budget: Budget, scores: bool = True) -> list[Finding]:
    """Deterministic checks of a trained model against the data and the budget (and its accuracy)."""
    if not evaluation.get("loads"):
        return [Finding("model_load", f"model.keras does not load: {evaluation.get('error', 'unknown error')}")]
    found = []
    if evaluation.get("input_shape") != processed.input_shape:
        found.append(Finding("input_shape", f"model input is {evaluation.get('input_shape')} but the data's "
                             f"samples are {processed.input_shape}"))
    if evaluation.get("output_shape") != [processed.n_classes]:
        found.append(Finding("output_shape", f"model output is {evaluation.get('output_shape')}; it must be "
                             f"[{processed.n_classes}] (one probability per class)"))
    if scores:
        found += _score_findings(evaluation, metrics, processed)
    if evaluation.get("params", 0) > budget.max_params:
        found.append(Finding("params", f"{evaluation['params']} parameters exceed the budget of "
                             f"{budget.max_params} ({budget.source}): make the model smaller"))
    if evaluation.get("activation_bytes", 0) > budget.max_activation_bytes:
        found.append(Finding("activations", f"peak activations of {evaluation['activation_bytes']} elements "
                             f"exceed {budget.max_activation_bytes} ({budget.source}): use fewer units/filters "
                             "or stride/pool earlier"))
    if budget.max_macs is not None and evaluation.get("macs", 0) > budget.max_macs:
        found.append(Finding("latency", f"{evaluation['macs']} multiply-accumulates take about "
                             f"{budget.latency_of(evaluation['macs']):.1f} ms on {budget.source}, over --latency-ms "
                             f"{budget.latency_ms:g} ({budget.max_macs} MACs): use fewer filters, a stride or "
                             "pooling earlier"))
    return found


def _score_findings(evaluation: dict[str, Any], metrics: dict[str, Any] | None,
                    processed: Processed) -> list[Finding]:
    measured = evaluation.get("val_accuracy")
    if not isinstance(measured, int | float):
        return []
    found = []
    majority, floor = accuracy_floor(processed)
    if measured < floor - 1e-9:
        found.append(Finding("accuracy", f"val accuracy {measured:.1%} is not above always answering the most "
                             f"common class ({majority:.1%}); it must reach {floor:.1%}: train longer, with a "
                             "sensible learning rate, on the training split"))
    reported = (metrics or {}).get("val_accuracy")
    if not isinstance(reported, int | float) or isinstance(reported, bool):
        found.append(Finding("val_accuracy", "metrics.json with a numeric val_accuracy was not written"))
    elif abs(float(reported) - measured) > HONESTY:
        found.append(Finding("reported_accuracy", f"metrics.json reports val_accuracy {float(reported):.4f} but "
                             f"the saved model.keras measures {measured:.4f} on val.npz: report the accuracy of "
                             "the model you save, as a fraction (0..1)"))
    return found


def run(ctx: StageContext, data: Path | None = None, flash_kb: float | None = None, ram_kb: float | None = None,
        description: str | None = None, epochs: int | None = None, trials: int | None = None,
        search_time: float | None = None, latency_ms: float | None = None, seed: int | None = None) -> StageResult:
    run_ = ctx.run
    if epochs is not None and epochs < 1:
        raise UserError(f"--epochs {epochs}: give at least 1 (it bounds the training epochs)")
    search_settings(trials, search_time, epochs or EPOCHS)  # bad bounds are refused before the data is read
    processed = resolve_processed(data, run_, ("data",))
    search = search_settings(trials, search_time, epochs or EPOCHS, len(processed.load("val")[1]))
    budget = model_budget(ctx.settings.board, flash_kb, ram_kb, latency_ms)
    _refuse_impossible_budget(processed, budget)
    run_.log.info("training for %s: %s inputs, %d classes; budget %d params, %d activation bytes",
                  budget.source, processed.input_shape, processed.n_classes, budget.max_params,
                  budget.max_activation_bytes)
    task = TrainTask(ctx, processed, budget, description, epochs or EPOCHS, search, SEED if seed is None else seed)
    result = run_loop(task, ctx.model, run_, ctx.limits)
    figures: dict[str, Any] = {"attempts": len(result.attempts)}
    if not result.ok:
        last = plain(result.attempts[-1].error if result.attempts else None)
        run_.finish("failed", **figures)
        return StageResult("train", "failed", run_.dir, figures, f"training failed ({result.stopped_by}): {last}")
    report = _publish(ctx, result.workdir, processed, budget)
    figures |= {k: report[k] for k in ("val_accuracy", "test_accuracy", "params", "latency_ms")}
    figures |= {"trials": report["search"]["trained"], "pruned": report["search"]["pruned"]}
    run_.finish("ok", **figures)
    return StageResult("train", "ok", run_.dir, figures, f"model.keras in {run_.dir / 'artifacts'}")


def _refuse_impossible_budget(processed: Processed, budget: Budget) -> None:
    """The first layer holds the whole input and at least one output value: no model fits below that."""
    elements = int(np.prod(processed.input_shape))
    if elements + 1 > budget.max_activation_bytes:
        raise UserError(f"one sample is {elements} values {processed.input_shape}, but the activation budget "
                        f"({budget.source}) holds {budget.max_activation_bytes}: no layer can read it; raise "
                        "--ram-kb, pick a board with more RAM or use shorter windows / fewer features")


def _publish(ctx: StageContext, workdir: Path, processed: Processed, budget: Budget) -> dict[str, Any]:
    run_ = ctx.run
    for name in ARTIFACTS:
        if (workdir / name).is_file():
            copy_regular(workdir / name, run_.path("artifacts", name))
    evaluation = read_json(workdir / "evaluation.json") or {}
    metrics = read_json(workdir / "metrics.json") or {}
    report = {"val_accuracy": evaluation.get("val_accuracy"), "test_accuracy": evaluation.get("test_accuracy"),
              "reported_val_accuracy": metrics.get("val_accuracy"), "params": evaluation.get("params"),
              "activation_bytes": evaluation.get("activation_bytes"), "input_shape": evaluation.get("input_shape"),
              "output_shape": evaluation.get("output_shape"), "confusion": evaluation.get("confusion"),
              "macs": evaluation.get("macs"), "labels": processed.labels, "budget": budget.as_dict(),
              "model": ctx.model.name, "search": search_report(workdir)}
    report["latency_ms"] = round(budget.latency_of(report["macs"]), 3) if isinstance(report["macs"], int) else None
    run_.write_json("artifacts/train_report.json", report)
    _tradeoff_plot(run_.path("artifacts", "search_tradeoff.png"), report)
    spec, labels = processed.dir / "feature_spec.json", processed.dir / "labels.json"
    write_output(run_, model=run_.path("artifacts", "model.keras"), processed_dir=processed.dir,
                 feature_spec=spec if spec.is_file() else processed.feature_spec,
                 labels=labels if labels.is_file() else processed.labels,
                 board=ctx.settings.board, train_report=run_.path("artifacts", "train_report.json"))
    return report


def _tradeoff_plot(target: Path, report: dict[str, Any]) -> None:
    from ..report.plots import search_png

    png = search_png(report["search"]["trials"], report["search"].get("chosen_trial"), report["budget"])
    if png:
        target.write_bytes(png)
