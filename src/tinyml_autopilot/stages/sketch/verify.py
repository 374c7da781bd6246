"""Steps 3-5 on one sketch folder: static contract checks, compile, simulate. Used by the
generation loop (stopping at the first failing step) and by `sketch --check` (running all)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...checks.sketch import ContractReport, check_contract, read_sketch
from ...loop import Finding
from .compile import CompileVerdict, SimVerdict, budget_problems, compile_for, simulate
from .inputs import Inputs


@dataclass
class Evaluation:
    report: ContractReport
    compile: CompileVerdict | None = None
    sim: SimVerdict | None = None
    host: Any = None  # stages/sketch/host_run.HostRun on TFLite Micro boards

    def host_findings(self) -> list[Finding]:
        if self.host is None:
            return []
        if self.host.build_failed:
            return [Finding("compile", self.host.build["message"], self.host.build.get("lines", []))]
        for run in (self.host.run, self.host.m4):  # the verdict's name first: what the repair prompt leads with
            if run is not None and run.status == "failed":
                return [Finding("run", f"run verdict '{run.reason}': {run.message}" if run.reason else run.message)]
        return []

    def findings(self) -> list[Finding]:
        found = list(self.report.findings)
        if self.compile is not None and self.compile.status == "failed":
            found.append(Finding("compile", self.compile.message, self.compile.lines))
        if self.compile is not None:
            found += [Finding("budget", p) for p in budget_problems(self.compile)]
        if self.sim is not None and self.sim.status == "failed":
            found.append(Finding("simulation", self.sim.message))
        return found + self.host_findings()

    def verdicts(self) -> dict[str, Any]:
        out: dict[str, Any] = {"runtime": self.report.runtime, "library": self.report.library,
                               "checks": dict(self.report.verdicts), "notes": list(self.report.notes)}
        problems = budget_problems(self.compile) if self.compile else []
        if problems:
            out["checks"]["budget"] = {"status": "failed", "message": "; ".join(problems)}
        out["compile"] = (self.compile.as_dict() if self.compile else
                          {"status": "not compiled", "message": "not compiled: the static checks failed first"})
        out["simulation"] = (self.sim.as_dict() if self.sim else
                             {"status": "not simulated", "message": "not simulated: an earlier step failed"})
        if self.host is not None:
            out["host_build"] = {k: v for k, v in self.host.build.items() if v not in (None, [], "")}
            out["run"] = self.host.run.as_dict() if self.host.run else {"status": "not run"}
            out["m4_run"] = self.host.m4.as_dict() if self.host.m4 else {"status": "not run"}
        return out

    @property
    def ok(self) -> bool:
        return not self.findings()


def static_checks(sketch_dir: Path, inp: Inputs, runtime: str | None = None) -> ContractReport:
    return check_contract(read_sketch(sketch_dir), inp.facts, inp.board, inp.features, runtime)


def evaluate(sketch_dir: Path, inp: Inputs, workdir: Path, runtime: str | None = None,
             run_all: bool = False, no_simulation: str | None = None) -> Evaluation:
    """`no_simulation`: why the compiled sketch is not run (its verdict says so, never "passed")."""
    ev = Evaluation(static_checks(sketch_dir, inp, runtime))
    tflm = ev.report.runtime == "tflm" and not inp.board.is_avr
    if ev.report.findings and not run_all:
        if tflm:  # the cached host run is cheap and shows what a rule only suspects: the repair gets both
            ev.host = _run_tflm(sketch_dir, inp, workdir, no_simulation)
        return ev
    ev.compile = compile_for(sketch_dir, inp.board, workdir / "build")
    if tflm:
        ev.host = _run_tflm(sketch_dir, inp, workdir, no_simulation)
    if ev.compile.status != "passed" or budget_problems(ev.compile):
        if ev.compile.status == "not compiled":
            ev.sim = SimVerdict("not simulated", "not simulated: the sketch was not compiled")
        return ev
    if no_simulation:
        ev.sim = SimVerdict("not simulated", f"not simulated: {no_simulation}")
        return ev
    ev.sim = simulate(sketch_dir, inp.board, workdir, inp.facts, inp.features, inp.test_vectors(),
                      ev.compile.flash_bytes, markers_required=not run_all)
    return ev


def _run_tflm(sketch_dir: Path, inp: Inputs, workdir: Path, no_simulation: str | None):
    from .host_run import run_on_host
    from .m4_run import no_stand_in, run_on_m4

    host = run_on_host(sketch_dir, inp, workdir, no_run=no_simulation if inp.readings is None else None,
                       m4_too=no_stand_in(inp.board.cpu) is None)
    host.m4 = run_on_m4(sketch_dir, inp, workdir, host)
    return host
