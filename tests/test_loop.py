"""The shared repair loop, driven over HTTP by the scripted server with a small Python task."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tinyml_autopilot.llm import get_model
from tinyml_autopilot.loop import CheckFailed, ExecutionFailed, Finding, Limits, extract_code, run_loop
from tinyml_autopilot.runs import Run
from tinyml_autopilot.sandbox.python import run_python

GOOD = "```python\nprint(6 * 7)\n```"
CRASH = "```python\nx = 1\nprint(undefined_name)\n```"
WRONG = "```python\nprint(41)\n```"


class AnswerTask:
    """Write a script printing 42: run in the sandbox, checked by value."""

    name = "answer"
    language = "python"

    def messages(self):
        return [{"role": "user", "content": "Write a Python script that prints 42."}]

    def template(self):
        return "print(42)\n"

    def execute(self, code: str, workdir: Path) -> str:
        script = workdir / "script.py"
        script.write_text(code)
        result = run_python(script, workdir, timeout_s=30, memory_mb=512)
        if not result.ok:
            raise ExecutionFailed(result.describe(), lines=_traceback_lines(result.stderr))
        return result.stdout.strip()

    def check(self, outcome: str, workdir: Path) -> None:
        if outcome != "42":
            raise CheckFailed([Finding("answer", f"printed {outcome!r}, expected '42'", [1])])


def _traceback_lines(stderr: str) -> list[int]:
    import re

    return [int(n) for n in re.findall(r'script\.py", line (\d+)', stderr)]


def _run(settings, tmp_path, limits=None):
    run = Run.create(tmp_path / "runs", "test")
    result = run_loop(AnswerTask(), get_model(settings), run, limits or Limits(max_attempts=3))
    return run, result


def test_runtime_error_is_repaired(scripted, llm_settings, tmp_path):
    server = scripted([CRASH, GOOD])
    run, result = _run(llm_settings(server), tmp_path)
    assert result.ok and result.outcome == "42"
    assert [a.status for a in result.attempts] == ["failed", "ok"]
    assert result.attempts[0].category == "runtime"
    repair = server.requests[1]["messages"][-1]["content"]
    assert "NameError" in repair and "print(undefined_name)" in repair
    assert (run.dir / "attempts/answer/01/code.py").read_text().startswith("x = 1")
    assert json.loads((run.dir / "attempts/answer/02/attempt.json").read_text())["status"] == "ok"


def test_reply_without_code_block_is_a_format_error(scripted, llm_settings, tmp_path):
    server = scripted(["Sure! Just print 42.", GOOD])
    _, result = _run(llm_settings(server), tmp_path)
    assert result.ok and result.attempts[0].category == "format"
    assert "no fenced ```python code block" in server.requests[1]["messages"][-1]["content"]


def test_failed_check_names_the_check(scripted, llm_settings, tmp_path):
    server = scripted([WRONG, GOOD])
    _, result = _run(llm_settings(server), tmp_path)
    assert result.ok and result.attempts[0].checks == ["answer"]
    assert "printed '41'" in server.requests[1]["messages"][-1]["content"]


def test_attempts_are_bounded(scripted, llm_settings, tmp_path):
    server = scripted([WRONG, WRONG, WRONG, GOOD])
    _, result = _run(llm_settings(server), tmp_path, Limits(max_attempts=3))
    assert not result.ok and result.stopped_by == "attempts" and len(server.requests) == 3


def test_cost_limit_stops_the_loop(scripted, llm_settings, tmp_path):
    server = scripted([WRONG, WRONG, GOOD])
    settings = llm_settings(server, llm="openai/gpt-4o")  # litellm knows this model's price
    _, result = _run(settings, tmp_path, Limits(max_attempts=5, cost_usd=1e-9))
    assert result.attempts[0].cost_usd and result.attempts[0].cost_usd > 0
    assert not result.ok and result.stopped_by == "cost" and len(result.attempts) == 1


def test_wall_time_limit_stops_the_loop(scripted, llm_settings, tmp_path):
    server = scripted([{"text": WRONG, "delay": 0.3}, GOOD])
    _, result = _run(llm_settings(server), tmp_path, Limits(max_attempts=5, wall_s=0.2))
    assert not result.ok and result.stopped_by == "wall-time"


def test_resume_continues_after_the_last_attempt(scripted, llm_settings, tmp_path):
    server = scripted([CRASH])
    run, first = _run(llm_settings(server), tmp_path, Limits(max_attempts=1))
    assert not first.ok
    server.queue(GOOD)
    again = run_loop(AnswerTask(), get_model(llm_settings(server)), Run.open(run.dir), Limits(max_attempts=3))
    assert again.ok and [a.number for a in again.attempts] == [1, 2]
    assert "NameError" in server.requests[-1]["messages"][-1]["content"]
    done = run_loop(AnswerTask(), get_model(llm_settings(server)), Run.open(run.dir), Limits())
    assert done.ok and len(server.requests) == 2 and done.workdir.name == "02"


def test_offline_uses_the_template(offline_settings, tmp_path):
    _, result = _run(offline_settings, tmp_path)
    assert result.ok and result.outcome == "42" and len(result.attempts) == 1


def test_extract_code_prefers_the_requested_language():
    text = "```text\nnot this\n```\nthen\n```python\nprint(1)\n```"
    assert extract_code(text, "python") == "print(1)\n"


def test_api_key_never_reaches_the_run_folder(scripted, llm_settings, tmp_path, monkeypatch):
    key = "sk-live-abcdef123456"
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-other-secret-987")
    echoed = f"```python\n# key: {key}\nprint(undefined_name)\n```"  # a reply quoting the key
    server = scripted([echoed, GOOD], api_key=key)
    settings = llm_settings(server, api_key=key)
    run = Run.create(tmp_path / "runs", "test", {"settings": settings.model_dump(mode="json")})
    run.log.info("calling with %s", key)
    result = run_loop(AnswerTask(), get_model(settings), run, Limits(max_attempts=3))
    assert result.ok
    for path in run.dir.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            assert key not in text and "sk-ant-other-secret-987" not in text, path


def test_an_interrupted_attempt_is_tried_again_on_resume(scripted, llm_settings, tmp_path):
    from tinyml_autopilot.llm import LLMError

    server = scripted([CRASH, {"status": 401}])
    run = Run.create(tmp_path / "runs", "test")
    with pytest.raises(LLMError):  # attempt 2 never got an answer
        run_loop(AnswerTask(), get_model(llm_settings(server, llm_retries=0)), run, Limits(max_attempts=2))
    assert json.loads((run.dir / "attempts/answer/02/attempt.json").read_text())["status"] == "interrupted"
    server.queue(GOOD)
    again = run_loop(AnswerTask(), get_model(llm_settings(server)), Run.open(run.dir), Limits(max_attempts=2))
    assert again.ok and [a.status for a in again.attempts] == ["failed", "ok"]
    assert (run.dir / "attempts/answer/02-interrupted/attempt.json").is_file()
    assert "NameError" in server.requests[-1]["messages"][-1]["content"]


def test_offline_resume_after_an_interruption_runs_the_template(offline_settings, tmp_path):
    run = Run.create(tmp_path / "runs", "test")
    (run.dir / "attempts/answer/01").mkdir(parents=True)
    (run.dir / "attempts/answer/01/attempt.json").write_text(json.dumps({"number": 1, "status": "interrupted"}))
    result = run_loop(AnswerTask(), get_model(offline_settings), Run.open(run.dir), Limits())
    assert result.ok and result.outcome == "42"


def test_the_cost_limit_counts_the_whole_stage(scripted, llm_settings, tmp_path):
    server = scripted([GOOD, WRONG, GOOD])
    settings = llm_settings(server, llm="openai/gpt-4o")
    run = Run.create(tmp_path / "runs", "test")
    first = run_loop(AnswerTask(), get_model(settings), run, Limits(max_attempts=3, cost_usd=1e-9))
    assert first.ok  # the first call is allowed: nothing was spent yet

    class SecondTask(AnswerTask):
        name = "second"

    second = run_loop(SecondTask(), get_model(settings), run, Limits(max_attempts=3, cost_usd=1e-9))
    assert not second.ok and second.stopped_by == "cost" and second.attempts == []


def test_the_stage_log_records_each_attempt_and_call(scripted, llm_settings, tmp_path):
    server = scripted([CRASH, GOOD])
    run, result = _run(llm_settings(server), tmp_path)
    log = (run.dir / "logs" / "test.log").read_text()
    assert result.ok
    assert "answer attempt 1: failed (runtime)" in log and "NameError" in log
    assert "answer attempt 2: ok" in log and log.count("LLM openai/scripted-model: ok") == 2


def test_trace_nests_each_call_execution_and_check_under_its_attempt(scripted, llm_settings, tmp_path):
    server = scripted([CRASH, GOOD])
    run, result = _run(llm_settings(server), tmp_path)
    events = run.trace_events()
    attempts = [e for e in events if e["kind"] == "attempt"]
    assert result.ok and [a["status"] for a in attempts] == ["error", "ok"]
    for attempt in attempts:
        children = {e["kind"]: e for e in events if e["parent"] == attempt["span_id"]}
        assert children["llm"]["tokens_in"] > 0 and children["llm"]["tags"]["attempt"] == attempt["tags"]["attempt"]
        assert children["execution"]["duration_s"] > 0
    first, second = ({e["kind"]: e["status"] for e in events if e["parent"] == a["span_id"]} for a in attempts)
    assert first == {"llm": "ok", "execution": "error"}  # the crash never reached the checks
    assert second == {"llm": "ok", "execution": "ok", "check": "ok"}
    assert all(e["trace_id"] == run.trace_id for e in events)


def test_an_attempt_interrupted_twice_is_kept_both_times(scripted, llm_settings, tmp_path):
    from tinyml_autopilot.llm import LLMError

    server = scripted([{"status": 401}, {"status": 401}, GOOD])
    settings = llm_settings(server, llm_retries=0)
    run = Run.create(tmp_path / "runs", "test")
    for _ in range(2):
        with pytest.raises(LLMError):
            run_loop(AnswerTask(), get_model(settings), Run.open(run.dir), Limits(max_attempts=2))
    again = run_loop(AnswerTask(), get_model(settings), Run.open(run.dir), Limits(max_attempts=2))
    assert again.ok and [a.number for a in again.attempts] == [1]
    kept = sorted(p.name for p in (run.dir / "attempts/answer").iterdir() if p.is_dir())
    assert kept == ["01", "01-interrupted", "01-interrupted-2"]
    error = json.loads((run.dir / "attempts/answer/01-interrupted/attempt.json").read_text())["error"]
    assert "rejected the API key" in error
    calls = [json.loads(p.read_text()) for p in sorted((run.dir / "llm_calls").glob("*.json"))]
    assert [bool(c["error"]) for c in calls] == [True, True, False]  # each session's calls kept
    assert calls[2]["tokens_in"] > 0 and calls[2]["latency_s"] > 0
