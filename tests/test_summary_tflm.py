"""The run summary and report.html on a TFLite Micro board: the host and Cortex-M4 run verdicts, named."""

from __future__ import annotations

from tinyml_autopilot.commands.pipeline import _run_line
from tinyml_autopilot.report import build_report
from tinyml_autopilot.report.facts import key_figures
from tinyml_autopilot.runs import Run


def test_the_summary_names_the_host_and_cortex_m4_run_verdicts(tmp_path):
    run = Run.create(tmp_path / "runs", "sketch")
    run.finish("ok")
    assert "host_run" not in key_figures(run.dir)  # no TFLite Micro run recorded: no such line
    run.write_json("metrics.json", {"run_agreement": "18/18"})
    run.write_json("verdicts.json", {"compile": {"status": "not compiled"}, "run": {"status": "passed"},
                                     "m4_run": {"status": "passed", "flash_bytes": 144256, "ram_bytes": 12208,
                                                "instructions_per_inference": 55680}})
    line = _run_line(key_figures(run.dir))
    assert "host run: [green]passed[/] (18/18 readings agree)" in line
    assert "Cortex-M4 run: [green]passed[/] (flash 144,256 B, RAM 12,208 B, 55,680 instructions" in line
    run.write_json("verdicts.json", {"run": {"status": "passed"}, "m4_run": {"status": "failed", "reason": "crash"}})
    figures = key_figures(run.dir)
    assert (figures["host_run"], figures["m4_run"], figures["m4_run_reason"]) == ("passed", "failed", "crash")
    assert "Cortex-M4 run: [red]failed[/] (crash)" in _run_line(figures)
    html = build_report(run.dir).read_text()
    assert "Cortex-M4 run</th>" in html and "(crash)" in html
