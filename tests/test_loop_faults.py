"""The loop under hostile replies: huge replies, keys the code writes out, servers asking to wait."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from test_loop import GOOD, AnswerTask

from tinyml_autopilot import secrets
from tinyml_autopilot.llm import LLMError, get_model
from tinyml_autopilot.loop import Limits, run_loop
from tinyml_autopilot.runs import Run

KEY = "sk-i12b-run-folder-key-7781"


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def test_a_huge_reply_without_code_is_fed_back_as_an_excerpt_and_stored_once(scripted, llm_settings, tmp_path):
    huge = "I think the answer is this. " * 200_000  # 5.6 MB and no code block
    server = scripted([huge, GOOD])
    run = Run.create(tmp_path / "runs", "test")
    result = run_loop(AnswerTask(), get_model(llm_settings(server)), run, Limits(max_attempts=3))
    assert result.ok and result.attempts[0].category == "format"
    repair_request = json.dumps(server.requests[1])
    assert len(repair_request) < 60_000
    assert "characters left out" in repair_request and "no fenced ```python code block" in repair_request
    assert (run.dir / "attempts/answer/01/response.md").read_text() == huge  # kept whole, once
    assert _size(run.dir) < len(huge) * 1.1
    call = json.loads(sorted((run.dir / "llm_calls").glob("*.json"))[0].read_text())
    assert call["response_file"] == "attempts/answer/01/response.md" and call["response_chars"] == len(huge)


LEAKY = """```python
import pathlib
key = "sk-i12b-run-folder" + "-key-7781"  # rebuilt, so no redaction of the reply catches it
pathlib.Path("notes.txt").write_text("the key is " + key + "\\n")
pathlib.Path("sub").mkdir()
pathlib.Path("sub/weights.bin").write_bytes(b"\\x00\\x01" + key.encode())
with open("big.log", "w") as fh:
    for i in range(70_000):
        fh.write(("x" * 1000) + (key if i in (3, 69_999) else "") + "\\n")
print(("y" * 1000 + key + "\\n") * 70_000, end="")
print(6 * 7)
```"""


def test_every_file_kept_in_the_run_folder_is_scrubbed_of_the_key(scripted, llm_settings, tmp_path):
    secrets.register(KEY)
    server = scripted([LEAKY])
    run = Run.create(tmp_path / "runs", "test")
    run_loop(_LastLineTask(), get_model(llm_settings(server)), run, Limits(max_attempts=1))
    run.finish("ok")
    folder = run.dir / "attempts/answer/01"
    assert (folder / ".stdout").stat().st_size < 1024**2  # 70 MB printed: the sandbox keeps a head and tail
    assert (folder / "notes.txt").read_text() == "the key is ***\n"
    assert (folder / "big.log").stat().st_size > 64 * 1024**2
    for path in run.dir.rglob("*"):
        if path.is_file():
            with path.open("rb") as fh:
                while block := fh.read(1 << 24):
                    assert KEY.encode() not in block, path
    assert not (folder / "sub/weights.bin").exists()
    metrics = json.loads((run.dir / "metrics.json").read_text())
    assert metrics["removed_files"] == ["attempts/answer/01/sub/weights.bin"]
    assert "removed attempts/answer/01/sub/weights.bin" in (run.dir / "logs/test.log").read_text()


class _LastLineTask(AnswerTask):
    def execute(self, code: str, workdir: Path) -> str:
        from tinyml_autopilot.sandbox.python import run_python

        script = workdir / "script.py"
        script.write_text(code)
        return run_python(script, workdir, timeout_s=60, memory_mb=1024).stdout.strip().splitlines()[-1]


def test_the_streaming_scrub_agrees_with_redact(tmp_path, monkeypatch):
    import random

    from tinyml_autopilot import scrub
    from tinyml_autopilot.scrub import scrub_tree

    monkeypatch.setattr(scrub, "CHUNK", 7)  # secrets straddle every chunk boundary
    rng, keys = random.Random(0), {"sk-abcdef123", "tok-999999"}
    target = tmp_path / "f.txt"
    for _ in range(500):
        text = "".join(rng.choice(["x", "sk-abc", "sk-abcdef123", "tok-999999", "\n", "tok-99"])
                       for _ in range(rng.randint(0, 30)))
        target.write_text(text)
        assert scrub_tree(tmp_path, keys) == []
        assert target.read_text() == secrets.redact(text, keys)


def test_a_server_wait_beyond_the_wall_time_limit_stops_the_stage(scripted, llm_settings, tmp_path):
    server = scripted([{"status": 429, "retry_after": 60}, GOOD])
    run = Run.create(tmp_path / "runs", "test")
    start = time.monotonic()
    with pytest.raises(LLMError) as err:
        run_loop(AnswerTask(), get_model(llm_settings(server, llm_retries=2)), run, Limits(wall_s=5))
    assert time.monotonic() - start < 5 and len(server.requests) == 1
    assert "asked to wait 60 s" in str(err.value) and "wall-time limit" in str(err.value)
