"""The sketch stage: spec -> .ino -> static contract checks -> compile -> simulate.

`run(ctx, **inputs)` generates a sketch (LLM or built-in templates, through the same loop);
with `check=SKETCH_DIR` it only checks someone else's sketch. `check_sketch(...)` is the linter
as a function.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from ...loop import Finding, run_loop
from ...runs import write_output
from ...sandbox.folder import copy_tree_regular
from ..base import StageContext, StageResult
from .inputs import Inputs, check_fits, resolve
from .verify import Evaluation, evaluate

__all__ = ["run", "check_sketch", "Evaluation"]


def run(ctx: StageContext, data: Path | None = None, board: str | None = None, name: str | None = None,
        description: str | None = None, sensor: str | None = None, output: str | None = None,
        runtime: str | None = None, spec_file: Path | None = None, model: Path | None = None,
        labels: str | None = None, spec: Path | None = None, check: Path | list[Path] | None = None,
        readings: Path | None = None) -> StageResult:
    inp = resolve(data, board, model, labels, spec, runtime, default_board=ctx.settings.board)
    inp.name, inp.description = name, description
    inp.sensor, inp.output = (sensor if sensor != "serial" else None), output or "serial"
    inp.libraries = ctx.settings.libraries
    if readings is not None:
        from .readings import read_csv

        inp.readings = read_csv(Path(readings), inp.facts, inp.features)
    if isinstance(check, list):
        from .check_many import check_many

        return check_many(ctx, inp, check, runtime, unspecified=spec is None and data is None)
    if check is not None:
        unspecified = spec is None and data is None
        return _check_mode(ctx, inp, Path(check), runtime, unspecified)
    check_fits(inp)
    from ...errors import UserError
    from .spec import SpecTask, default_spec, merge_spec_file, spec_findings

    if inp.output not in inp.board.outputs:
        raise UserError(f"{inp.board.name} has no '{inp.output}' output: use one of {', '.join(inp.board.outputs)}")
    sensors = [s.id for s in inp.board.sensors]
    if inp.sensor is not None and inp.sensor not in sensors:
        raise UserError(f"{inp.board.name} has no on-board sensor '{inp.sensor}': use --sensor "
                        f"{' | '.join(sensors + ['serial'])}")
    if spec_file is not None:
        app = merge_spec_file(default_spec(inp), Path(spec_file))
        if found := spec_findings(app, inp):
            raise UserError(f"spec file {spec_file} disagrees with the model or board: "
                            + "; ".join(f.message for f in found))
    else:
        spec_result = run_loop(SpecTask(inp), ctx.model, ctx.run, ctx.limits)
        if not spec_result.ok:
            return _failed(ctx, "the application spec could not be completed", spec_result.summary())
        app = spec_result.outcome or _saved_spec(spec_result.workdir)
    ctx.run.write_json("spec.json", app)
    _show_spec(ctx, app)
    if not ctx.confirm("Generate the sketch from this spec?"):
        return _failed(ctx, "stopped: edit spec.json and rerun with --spec-file", {})
    return _generate(ctx, inp, app)


def _show_spec(ctx: StageContext, app) -> None:
    """The spec as a two-column table; code fields by their first line (spec.json has them whole)."""
    from rich.table import Table

    table = Table("field", "value", title=f"Application spec ({ctx.run.dir / 'spec.json'})", title_justify="left")
    for key, value in app.model_dump().items():
        if value in (None, "", [], {}):
            continue
        if isinstance(value, str) and "\n" in value:
            lines = value.strip().splitlines()
            value = f"{lines[0]} … ({len(lines)} lines)"
        elif isinstance(value, dict):
            value = "; ".join(f"{k}: {_short(v)}" for k, v in value.items())
        table.add_row(key, _short(value))
    ctx.console.print(table, markup=False, highlight=False)


def _short(value) -> str:
    if isinstance(value, list):
        return ", ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in value)
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _saved_spec(workdir: Path | None):
    from .spec import AppSpec

    return AppSpec(**json.loads((Path(workdir) / "spec.json").read_text()))


def _generate(ctx: StageContext, inp: Inputs, app) -> StageResult:
    from .generate import SketchTask, render_readme, write_model_files

    task = SketchTask(app, inp)
    result = run_loop(task, ctx.model, ctx.run, ctx.limits)
    verdicts = _verdicts_of(result.workdir) if result.workdir else (task.last.verdicts() if task.last else {})
    ctx.run.write_json("verdicts.json", verdicts)
    if not result.ok:
        return _failed(ctx, f"no sketch passed the checks in {len(result.attempts)} attempt(s)", result.summary(),
                       verdicts)
    folder = ctx.run.path("sketch", app.name, ".keep").parent
    src = Path(result.workdir) / app.name
    copy_tree_regular(src, folder)
    files = write_model_files(inp, folder)
    (folder / "README.md").write_text(render_readme(app, inp, files))
    _keep_logs(ctx, Path(result.workdir))
    figures = _figures(verdicts, len(result.attempts))
    write_output(ctx.run, sketch_dir=folder, ino=folder / f"{app.name}.ino", verdicts=ctx.run.path("verdicts.json"),
                 board=inp.board.id, runtime=inp.runtime)
    ctx.run.finish("ok", **figures)
    return StageResult("sketch", "ok", ctx.run.dir, figures, _message(verdicts))


def _verdicts_of(workdir: Path) -> dict[str, Any]:
    path = Path(workdir) / "verdicts.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def _keep_logs(ctx: StageContext, workdir: Path) -> None:
    for rel, dest in (("build/compile.log", "logs/compile.log"), ("test_build/build/compile.log",
                                                                  "logs/test_build_compile.log"),
                      ("simulation.log", "logs/simulation.log"), ("host_build/build.log", "logs/host_build.log"),
                      ("host_run.log", "logs/host_run.log"), ("m4_build/build.log", "logs/m4_build.log"),
                      ("m4_run.log", "logs/m4_run.log")):
        if (workdir / rel).is_file():
            ctx.run.write_text(dest, (workdir / rel).read_text(errors="replace"))  # write_text redacts


def _message(verdicts: dict[str, Any]) -> str:
    comp = verdicts.get("compile", {})
    sim = verdicts.get("simulation", {})
    if "run" in verdicts:  # TFLite Micro boards: the host build and run say more than "not simulated"
        sim = {"message": "; ".join(m.splitlines()[0] for m in (verdicts.get("host_build", {}).get("message", ""),
                                                                 verdicts["run"].get("message", ""),
                                                                 verdicts.get("m4_run", {}).get("message", "")) if m)}
    return f"contract checks passed; {comp.get('message', '')}; {sim.get('message', '')}".strip("; ")


def _figures(verdicts: dict[str, Any], attempts: int | None = None) -> dict[str, Any]:
    comp, sim = verdicts.get("compile", {}), verdicts.get("simulation", {})
    checks = verdicts.get("checks", {})
    out = {"verdicts": {k: v.get("status") for k, v in checks.items()} | {
        "compile": comp.get("status"), "simulation": sim.get("status")},
        "compiled": comp.get("status") == "passed",
        "flash_used": comp.get("flash_bytes"), "flash_budget": comp.get("flash_budget"),
        "ram_used": comp.get("ram_bytes"), "ram_budget": comp.get("ram_budget"),
        "ram_peak": sim.get("ram_peak"),
        "simulation_agreement": (f"{sim.get('agree', 0)}/{sim.get('vectors')}" if sim.get("vectors") else None)}
    if "run" in verdicts:
        run = verdicts["run"]
        out["verdicts"]["run"] = run.get("status")
        out["run_agreement"] = f"{run.get('agree', 0)}/{run['predictions']}" if run.get("predictions") else None
        out["arena_used_bytes"] = run.get("arena_used_bytes")
        m4 = verdicts.get("m4_run", {})
        out["verdicts"]["m4_run"] = m4.get("status")
        out["m4"] = {k: m4.get(k) for k in ("flash_bytes", "ram_bytes", "arena_used_bytes",
                                             "instructions_per_inference")} if m4.get("status") == "passed" else None
    if attempts is not None:
        out["attempts"] = attempts
    return out


def _failed(ctx: StageContext, message: str, summary: dict, verdicts: dict | None = None) -> StageResult:
    figures = {"loop": summary} | (_figures(verdicts) if verdicts else {})
    ctx.run.finish("failed", **figures)
    return StageResult("sketch", "failed", ctx.run.dir, figures, message)


def check_sketch(sketch_dir: Path, inp: Inputs, workdir: Path, runtime: str | None = None,
                 no_simulation: str | None = None) -> tuple[Evaluation, list[Finding]]:
    """Steps 3-5 on a sketch someone else wrote (copied into `workdir`, never changed in place).
    `runtime` forces one; otherwise the sketch's code decides, and the board's runtime when it is unclear."""
    from ...errors import UserError

    sketch_dir = Path(sketch_dir)
    if not sketch_dir.is_dir():
        raise UserError(f"{sketch_dir} is not a folder: pass the sketch folder to --check")
    inos = sorted(sketch_dir.glob("*.ino"))
    name = sketch_dir.resolve().name
    if not inos:
        raise UserError(f"{sketch_dir} holds no .ino file: pass the folder holding {name}.ino to --check")
    copy = Path(workdir) / name
    shutil.copytree(sketch_dir, copy, dirs_exist_ok=True, ignore=shutil.ignore_patterns("build", ".*"))
    renamed = None
    if not (sketch_dir / f"{name}.ino").is_file():
        if len(inos) > 1:
            raise UserError(f"{sketch_dir} holds {len(inos)} .ino files and none is {name}.ino: Arduino requires "
                            f"the main file to be named like its folder ({name}/{name}.ino)")
        (copy / inos[0].name).rename(copy / f"{name}.ino")
        renamed = (f"{inos[0].name} was checked as {name}.ino: Arduino requires the main file to be named like "
                   f"its folder ({name}/{name}.ino); rename it before opening the sketch in the IDE")
    ev = evaluate(copy, inp, Path(workdir), runtime, run_all=True, no_simulation=no_simulation)
    if renamed:
        ev.report.notes.insert(0, renamed)
    return ev, ev.findings()


NO_SPEC = "no feature spec (--spec feature_spec.json or --data CONVERT_RUN), so what the model must be fed is unknown"


def _check_mode(ctx: StageContext, inp: Inputs, folder: Path, runtime: str | None = None,
                unspecified: bool = False) -> StageResult:
    ev, findings = check_sketch(folder, inp, ctx.run.path("check", ".keep").parent, runtime,
                                no_simulation=NO_SPEC if unspecified else None)
    if unspecified:
        ev.report.notes.append(f"{NO_SPEC}: the checks take the model's inputs as raw, unscaled values and the "
                               "sketch is compiled but not simulated")
    verdicts = ev.verdicts()
    ctx.run.write_json("verdicts.json", verdicts)
    ctx.run.write_json("findings.json", [f.__dict__ for f in findings])
    _keep_logs(ctx, ctx.run.dir / "check")
    for f in findings:
        ctx.console.print(str(f), style="red", markup=False, highlight=False)
    for note in ev.report.notes:
        ctx.console.print(f"note: {note}", style="yellow", markup=False, highlight=False)
    figures = _figures(verdicts) | {"findings": [str(f) for f in findings]}
    status = "failed" if findings else "ok"
    ctx.run.finish(status, **figures)
    message = (f"{len(findings)} finding(s)" if findings else "no findings") + "; " + _message(verdicts).split(
        "; ", 1)[-1]
    return StageResult("sketch", status, ctx.run.dir, figures, message)
