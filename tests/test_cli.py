"""The command line as a user runs it: a real subprocess of the installed console script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

EXE = str(Path(sys.executable).with_name("tinyml-autopilot"))
COMMANDS = ["data", "train", "convert", "sketch", "run", "demo", "bench", "runs", "doctor", "boards"]


def cli(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run([EXE, *args], capture_output=True, text=True, cwd=cwd, env=full_env, timeout=300)


def test_help_lists_every_command():
    result = cli("--help")
    assert result.returncode == 0
    for name in COMMANDS:
        assert name in result.stdout


def test_version():
    from importlib.metadata import version

    result = cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"tinyml-autopilot {version('tinyml-autopilot')}"


@pytest.mark.parametrize("name", COMMANDS)
def test_each_command_has_help(name):
    result = cli(name, "--help")
    assert result.returncode == 0 and "Usage" in result.stdout


def test_help_starts_without_tensorflow_or_litellm():
    code = ("import sys\nfrom tinyml_autopilot.cli import app\nfrom tinyml_autopilot.commands import doctor\n"
            "doctor.items()\nprint(sorted(m for m in ('tensorflow', 'litellm', 'keras') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr


def test_doctor_reflects_what_is_installed():
    result = cli("doctor", "--json")
    assert result.returncode == 0
    items = {i["name"]: i for i in json.loads(result.stdout)}
    assert items["simavr"]["ok"] == bool(shutil.which("simavr"))
    assert items["arduino-cli"]["ok"] == bool(shutil.which("arduino-cli"))
    assert items["qemu-system-arm"]["ok"] == bool(shutil.which("qemu-system-arm"))
    assert items["isolation"]["detail"] in ("bubblewrap", "subprocess")
    assert items["offline"]["ok"] is True
    if not items["arduino-cli"]["ok"]:
        assert items["arduino-cli"]["fix"]


def test_doctor_sees_a_tool_appear_on_path(tmp_path):
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    tool = fake_bin / "arduino-cli"
    tool.write_text("#!/bin/sh\necho 1.0\n")
    tool.chmod(0o755)
    result = cli("doctor", "--json", env={"PATH": f"{fake_bin}:{os.environ['PATH']}"})
    items = {i["name"]: i for i in json.loads(result.stdout)}
    assert items["arduino-cli"]["ok"] and items["arduino-cli"]["detail"] == str(tool)
    alone = {i["name"]: i for i in json.loads(cli("doctor", "--json", env={"PATH": str(fake_bin)}).stdout)}
    assert not alone["simavr"]["ok"] and alone["simavr"]["fix"] == "apt-get install -y simavr"
    assert alone["isolation"]["detail"] == "subprocess" and "bubblewrap" in alone["isolation"]["fix"]


def test_bad_config_is_one_line_exit_2(tmp_path):
    (tmp_path / "tinyml-autopilot.toml").write_text("max_attempts = -1\n")
    result = cli("train", "--data", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "max_attempts" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_unknown_provider_is_one_line_exit_2(tmp_path):
    result = cli("train", "--data", str(tmp_path), "--llm", "nosuch/model", cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown LLM provider 'nosuch'" in result.stderr and "Traceback" not in result.stderr


def test_debug_shows_the_traceback(tmp_path):
    result = cli("train", "--data", str(tmp_path), "--llm", "nosuch/model", "--debug", cwd=tmp_path)
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_runs_lists_and_shows(tmp_path):
    from tinyml_autopilot.runs import Run

    run = Run.create(tmp_path / "runs", "data", {"x": 1})
    run.finish("ok", rows=10)
    listed = cli("runs", "--out", str(tmp_path / "runs"), "--json")
    rows = json.loads(listed.stdout)
    assert rows[0]["run"] == run.dir.name and rows[0]["status"] == "ok"
    table = cli("runs", "--out", str(tmp_path / "runs"), env={"COLUMNS": "80"})
    assert run.dir.name in table.stderr  # never cut short: it is what `runs <run>` and --resume take
    shown = cli("runs", run.dir.name, "--out", str(tmp_path / "runs"))
    assert shown.returncode == 0 and "rows: 10" in shown.stdout + shown.stderr
    (run.dir / "attempts/t/01").mkdir(parents=True)
    (run.dir / "attempts/t/01/attempt.json").write_text(json.dumps({"number": 1, "status": "failed",
                                                                     "category": "runtime", "error": "boom"}))
    record = json.loads(cli("runs", str(run.dir), "--json").stdout)
    assert record["status"] == "ok" and record["attempt_records"]["attempts/t/01"]["error"] == "boom"
    missing = cli("runs", "nope", "--out", str(tmp_path / "runs"))
    assert missing.returncode == 2 and "no run folder 'nope'" in missing.stderr
    configured = cli("runs", "--json", cwd=tmp_path, env={"TINYML_OUT": str(tmp_path / "runs")})
    assert [r["run"] for r in json.loads(configured.stdout)] == [run.dir.name]  # the configured out, not ./runs


def test_resume_reuses_the_saved_arguments(tmp_path):
    from sklearn.datasets import load_iris

    frame = load_iris(as_frame=True).frame
    frame.to_csv(tmp_path / "iris.csv", index=False)
    out = str(tmp_path / "runs")
    first = cli("data", "--data", "iris.csv", "--label", "target", "--llm", "offline", "--out", out, "--json",
                cwd=tmp_path)
    run_dir = json.loads(first.stdout)["run_dir"]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    again = cli("data", "--resume", run_dir, "--json", cwd=elsewhere)
    result = json.loads(again.stdout)
    assert again.returncode == 0 and result["status"] == "ok" and result["run_dir"] == run_dir
    saved = json.loads((Path(run_dir) / "inputs.json").read_text())
    assert saved["arguments"]["data"] == str(tmp_path / "iris.csv")  # stored absolute: resumable from anywhere
    assert saved["settings"]["llm"] == "offline"


def test_usage_errors_are_click_messages_with_exit_2():
    bad_value = cli("bench", "--runs", "abc")
    assert bad_value.returncode == 2 and "Invalid value for '--runs'" in bad_value.stderr
    unknown = cli("nosuchcommand")
    assert unknown.returncode == 2 and "No such command" in unknown.stderr
    assert "internal error" not in bad_value.stderr + unknown.stderr


def test_brackets_in_messages_are_shown_verbatim(tmp_path):
    result = cli("train", "--data", "x[/y]", cwd=tmp_path)
    assert result.returncode == 2 and "x[/y] does not exist" in result.stderr


def test_resume_refuses_another_stages_folder(tmp_path):
    from tinyml_autopilot.runs import Run

    run = Run.create(tmp_path / "runs", "sketch")
    result = cli("train", "--resume", str(run.dir), cwd=tmp_path)
    assert result.returncode == 2 and "is a sketch run, not a train run" in result.stderr
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "run.json").write_text("{not json")
    junk = cli("train", "--resume", str(tmp_path / "junk"), cwd=tmp_path)
    assert junk.returncode == 2 and "not a run folder" in junk.stderr


def test_doctor_sees_a_key_in_dotenv(tmp_path):
    (tmp_path / ".env").write_text("ANTHROPIC_API_KEY=sk-ant-doctor-123456\n")
    env = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"}
    result = subprocess.run([EXE, "doctor", "--json"], capture_output=True, text=True, cwd=tmp_path, env=env)
    item = next(i for i in json.loads(result.stdout) if i["name"] == "anthropic")
    assert item["ok"] and item["detail"] == "ANTHROPIC_API_KEY set in the .env"
    assert "sk-ant-doctor" not in result.stdout


def _iris(folder: Path) -> Path:
    from sklearn.datasets import load_iris

    load_iris(as_frame=True).frame.to_csv(folder / "iris.csv", index=False)
    return folder / "iris.csv"


def test_a_stage_stopped_by_the_provider_still_prints_json_and_closes_its_record(tmp_path):
    data = _iris(tmp_path)
    result = cli("data", "--data", str(data), "--label", "target", "--llm", "openai/x", "--api-base",
                 "http://127.0.0.1:9/v1", "--out", str(tmp_path / "runs"), "--json", cwd=tmp_path,
                 env={"TINYML_LLM_RETRIES": "0"})
    out = json.loads(result.stdout)
    assert result.returncode == 2 and out["status"] == "error" and "cannot reach" in out["message"]
    metrics = json.loads((Path(out["run_dir"]) / "metrics.json").read_text())
    assert metrics["status"] == "error" and metrics["error"] == out["message"]


def test_sigterm_stops_a_run_like_ctrl_c(tmp_path, scripted):
    server = scripted([{"hang": 60}])
    args = [EXE, "data", "--data", str(_iris(tmp_path)), "--label", "target", "--llm", "openai/x", "--api-base",
            server.url, "--out", str(tmp_path / "runs")]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    deadline = time.monotonic() + 120
    while not server.requests and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.terminate()
    _, err = proc.communicate(timeout=60)
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert proc.returncode == 130 and f"--resume {run_dir}" in " ".join(err.split()), err
    record = json.loads((run_dir / "attempts/data-operations/01/attempt.json").read_text())
    assert record["status"] == "interrupted"
    assert json.loads((run_dir / "metrics.json").read_text())["status"] == "interrupted"


def test_help_shows_every_default_an_option_names():
    import typer.main

    from tinyml_autopilot.cli import app

    for name, command in typer.main.get_command(app).commands.items():
        named = [p.name for p in command.params if "default:" in (getattr(p, "help", None) or "")]
        shown = cli(name, "--help", env={"COLUMNS": "400"}).stdout
        assert shown.count("[default:") >= len(named), (name, named)


def test_a_misspelled_board_field_is_refused():
    from pydantic import ValidationError

    from tinyml_autopilot.boards import Board, catalogue

    entry = catalogue()["uno"].model_dump() | {"simulater": "simavr"}
    with pytest.raises(ValidationError, match="simulater"):
        Board(**entry)
