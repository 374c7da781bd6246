"""report.html from a real run folder: the repair loop over HTTP, then the report read from disk."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

from tinyml_autopilot.llm import get_model
from tinyml_autopilot.loop import CheckFailed, ExecutionFailed, Finding, Limits, run_loop
from tinyml_autopilot.report import build_report, run_summary
from tinyml_autopilot.report.facts import key_figures
from tinyml_autopilot.report.progress import describe_attempt
from tinyml_autopilot.runs import Run
from tinyml_autopilot.sandbox.python import run_python


class PrintTask:
    name = "answer"
    language = "python"

    def messages(self):
        return [{"role": "user", "content": "Print 42."}]

    def template(self):
        return "print(42)\n"

    def execute(self, code: str, workdir: Path) -> str:
        (workdir / "s.py").write_text(code)
        result = run_python(workdir / "s.py", workdir, timeout_s=30, memory_mb=512)
        if not result.ok:
            raise ExecutionFailed(result.describe())
        return result.stdout.strip()

    def check(self, outcome: str, workdir: Path) -> None:
        if outcome != "42":
            raise CheckFailed([Finding("answer", f"printed {outcome!r}")])


def _stage_run(settings, tmp_path: Path) -> Run:
    run = Run.create(tmp_path / "runs", "sketch")
    result = run_loop(PrintTask(), get_model(settings), run, Limits(max_attempts=3))
    run.finish("ok" if result.ok else "failed", attempts=len(result.attempts))
    return run


def test_report_shows_attempts_and_embeds_its_plots(scripted, llm_settings, tmp_path):
    server = scripted(["```python\nprint(41)\n```", "```python\nprint(42)\n```"])
    run = _stage_run(llm_settings(server), tmp_path)
    report = build_report(run.dir)
    html = report.read_text()
    assert report == run.dir / "report.html"
    assert "check" in html and "answer" in html and ">ok<" in html
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(images) >= 2  # attempt timeline and time per stage
    assert all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    assert not re.search(r'(src|href)="https?://', html)  # opens offline: nothing fetched
    summary = run_summary(run.dir)
    assert summary["status"] == "ok" and summary["totals"]["llm_calls"] == 2
    assert summary["stages"][0]["failed_attempts"] == 1


def test_no_verdict_recorded_is_never_a_pass(offline_settings, tmp_path):
    run = _stage_run(offline_settings, tmp_path)
    figures = key_figures(run.dir)
    assert figures["compile"] == "not run" and figures["simulation"] == "not run"
    run.write_json("verdicts.json", {"compile": {"status": "failed", "flash_bytes": 40000, "flash_budget": 32256},
                                     "simulation": {"status": "not simulated"}})
    figures = key_figures(run.dir)
    assert (figures["compile"], figures["simulation"], figures["flash_bytes"]) == ("failed", "not simulated", 40000)
    html = build_report(run.dir).read_text()
    assert "not simulated" in html and "passed" not in html


def test_attempt_lines_say_how_an_attempt_failed(tmp_path):
    line = describe_attempt("train", {"number": 2, "status": "failed", "category": "check", "checks": ["params"],
                                      "error": "[params] 90000 parameters exceed the budget\nmore", "duration_s": 3.2})
    assert "train attempt 2" in line and "check: params" in line and "exceed the budget" in line
    assert "more" not in line
    record = json.loads(json.dumps({"number": 1, "status": "ok", "duration_s": 1.0, "tokens_in": 10,
                                    "tokens_out": 5}))
    assert "10+5 tokens" in describe_attempt("data", record)


def test_messages_with_square_brackets_are_printed_verbatim(tmp_path, capsys):
    from tinyml_autopilot.commands import pipeline, runs
    from tinyml_autopilot.stages.base import StageResult

    run_dir = tmp_path / "20250101-000000-run-abcdef"
    (run_dir / "sketch" / "attempts" / "sketch" / "01").mkdir(parents=True)
    (run_dir / "run.json").write_text("{}")
    (run_dir / "metrics.json").write_text(json.dumps({"status": "failed", "message": "[arena] too small"}))
    (run_dir / "sketch" / "attempts" / "sketch" / "01" / "attempt.json").write_text(json.dumps(
        {"status": "failed", "category": "check", "error": "[/x] closes nothing [bold]"}))
    (run_dir / "summary.json").write_text(json.dumps({
        "stages": [{"stage": "sketch", "status": "failed", "wall_s": 1.0, "attempts": 1}], "figures": {},
        "totals": {"llm_calls": 0, "tokens_in": 0, "tokens_out": 0, "wall_s": 1.0, "attempts": 1},
        "board": {"name": "Uno [rev3]"}, "llm": "offline"}))
    runs._show(run_dir, json_out=False)
    runs._table([{"run": "[red]x[/] run"}], tmp_path)
    pipeline.show_summary(run_dir, StageResult("run", "failed", run_dir, message="[arena] short [/x]"))
    err = " ".join(capsys.readouterr().err.split())
    for text in ("message: [arena] too small", "[/x] closes nothing [bold]", "[red]x[/] run", "Uno [rev3]",
                 "run: failed [arena] short [/x]"):
        assert text in err, text
