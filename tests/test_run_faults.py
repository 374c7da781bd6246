"""Run folders under faults: two processes on one folder, and a process killed with -9 mid-attempt."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tinyml_autopilot.errors import UserError
from tinyml_autopilot.llm import get_model
from tinyml_autopilot.loop import Limits, run_loop
from tinyml_autopilot.runs import Run

EXE = str(Path(sys.executable).with_name("tinyml-autopilot"))
HOLD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from tinyml_autopilot.runs import Run
    run = Run.open(Path(sys.argv[1]))
    run.lock("holder")
    print("locked", flush=True)
    time.sleep(60)
""")


def _holder(run_dir: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(run_dir)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


@pytest.fixture
def data_run(tmp_path: Path) -> Run:
    return Run.create(tmp_path / "runs", "data", {"arguments": {"data": str(tmp_path / "x.csv")}, "settings": {}})


def test_a_second_resume_of_a_held_folder_refuses_naming_the_holder(data_run, tmp_path):
    holder = _holder(data_run.dir)
    try:
        result = subprocess.run([EXE, "data", "--resume", str(data_run.dir), "--llm", "offline"],
                                capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "300"})
    finally:
        holder.kill()
        holder.wait()
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert f"pid {holder.pid}" in lines[0] and socket.gethostname() in lines[0] and "started" in lines[0]
    assert "in use by" in lines[0]


def test_the_lock_of_a_process_killed_with_9_is_taken_over(data_run, caplog):
    holder = _holder(data_run.dir)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    assert json.loads((data_run.dir / "run.lock").read_text())["pid"] == holder.pid  # left behind
    again = Run.open(data_run.dir)
    with caplog.at_level("INFO", logger="tinyml_autopilot"):
        again.lock("test")
    try:
        assert json.loads((data_run.dir / "run.lock").read_text())["pid"] == os.getpid()
        assert f"pid {holder.pid}" in caplog.text and "no longer runs" in caplog.text
        with pytest.raises(UserError) as err:  # and it is held now, against a third one
            Run.open(data_run.dir).lock("test")
        assert f"pid {os.getpid()}" in str(err.value)
    finally:
        again.unlock()
    Run.open(data_run.dir).lock("test")  # released: free again


KILLED = textwrap.dedent("""
    import sys
    from pathlib import Path
    from tinyml_autopilot.config import load_settings
    from tinyml_autopilot.llm import get_model
    from tinyml_autopilot.loop import Limits, run_loop
    from tinyml_autopilot.runs import Run
    sys.path.insert(0, sys.argv[3])
    from test_loop import AnswerTask
    settings = load_settings({"llm": "openai/scripted-model", "api_base": sys.argv[1], "llm_retries": 0})
    run_loop(AnswerTask(), get_model(settings), Run.open(Path(sys.argv[2])), Limits(max_attempts=3))
""")


def test_after_kill_9_the_unfinished_attempt_is_set_aside(scripted, llm_settings, tmp_path):
    server = scripted([{"hang": 60}])
    run = Run.create(tmp_path / "runs", "probe")
    proc = subprocess.Popen([sys.executable, "-c", KILLED, server.url, str(run.dir), str(Path(__file__).parent)],
                            cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while not server.requests and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)  # the request is out: attempt 01 has its prompt and is waiting for the reply
        assert server.requests, "the child never asked the server"
    finally:
        proc.kill()
        proc.wait()
    assert not (run.dir / "attempts/answer/01/attempt.json").exists()  # no `finally` ran
    server.queue("```python\nprint(6 * 7)\n```")
    result = run_loop(_task(), get_model(llm_settings(server)), Run.open(run.dir), Limits(max_attempts=3))
    assert result.ok and [a.number for a in result.attempts] == [1]
    aside = run.dir / "attempts/answer/01-interrupted"
    assert (aside / "prompt.json").is_file()
    assert json.loads((aside / "attempt.json").read_text())["status"] == "interrupted"
    assert json.loads((run.dir / "attempts/answer/01/attempt.json").read_text())["status"] == "ok"


def _task():
    sys.path.insert(0, str(Path(__file__).parent))
    from test_loop import AnswerTask

    return AnswerTask()
