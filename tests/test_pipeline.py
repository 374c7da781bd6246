"""`demo` and `run` end to end through the real CLI: four stages chained, the report, --resume."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

EXE = str(Path(sys.executable).with_name("tinyml-autopilot"))
STAGES = ["data", "train", "convert", "sketch"]


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("TINYML_LLM", None)
    return subprocess.run([EXE, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=900)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    """One offline demo for the module: bundled data, Uno, real training, compile and simulation."""
    home = tmp_path_factory.mktemp("demo")
    result = cli("demo", "--out", str(home / "runs"), "--epochs", "20", "--json", cwd=home)
    return result, home


@pytest.mark.slow
def test_demo_compiles_and_simulates_an_uno_sketch(demo):
    result, home = demo
    assert result.stdout.strip(), result.stderr[-3000:]
    out = json.loads(result.stdout)
    run_dir = Path(out["run_dir"])
    assert out["stages"] == {s: "ok" for s in STAGES}, out.get("message")
    assert result.returncode == 0 and out["status"] == "ok"
    assert run_dir.parent == home / "runs" and re.match(r"\d{8}-\d{6}-run-[0-9a-f]{6}$", run_dir.name)
    for name in [*STAGES, "report.html", "summary.json", "metrics.json"]:
        assert (run_dir / name).exists(), name
    verdicts = json.loads((run_dir / "sketch/verdicts.json").read_text())
    assert verdicts["compile"]["status"] == "passed" and verdicts["simulation"]["status"] == "passed"
    assert (out["compile"], out["simulation"]) == ("passed", "passed")
    assert 0 < out["flash_bytes"] <= out["flash_max"] == 32256 and 0 < out["ram_bytes"] <= out["ram_max"] == 2048
    assert out["float_accuracy"] > 0.5 and out["int8_accuracy"] is not None and out["llm_calls"] == 0
    assert set(out["stage_seconds"]) == set(STAGES)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "ok" and metrics["attempts"] >= 4
    html = (run_dir / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 4 and not re.search(r'(src|href)="https?://', html)
    for title in ("Training curves", "Confusion matrix", "Memory against the board", "Attempt timeline"):
        assert title in html
    # the progress display went to stderr, the JSON alone to stdout, each attempt under its own stage
    err = result.stderr
    marks = [err.index(f"[{n}/4] {stage}") for n, stage in enumerate(STAGES, 1)]
    assert marks == sorted(marks)
    assert marks[1] < err.index("✓ train attempt 1: ok") < marks[2] < err.index("✓ convert attempt 1: ok") < marks[3]
    assert err.index("✓ data-00-load attempt 1: ok") < marks[1] and "attempt 1: ok" in err[marks[3]:]


@pytest.mark.slow
def test_resume_runs_only_the_unfinished_stage(demo):
    result, home = demo
    run_dir = Path(json.loads(result.stdout)["run_dir"])
    kept = {s: (run_dir / s / "metrics.json").stat().st_mtime_ns for s in STAGES[:3]}
    shutil.rmtree(run_dir / "sketch")  # as if the run had stopped before the sketch stage
    again = cli("run", "--resume", str(run_dir), "--json", cwd=home)
    out = json.loads(again.stdout)
    assert out["stages"]["sketch"] == json.loads(result.stdout)["stages"]["sketch"]
    assert {s: (run_dir / s / "metrics.json").stat().st_mtime_ns for s in STAGES[:3]} == kept
    assert again.stderr.count("finished earlier, kept") == 3 and (run_dir / "sketch/verdicts.json").is_file()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["board"]["id"] == "uno" and summary["llm"] == "offline"  # taken from the saved run



@pytest.mark.slow
def test_ctrl_c_during_training_then_resume_finishes_the_run(demo, tmp_path):
    _, home = demo
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("TINYML_LLM", None)
    args = [EXE, "run", "--data", str(home / "runs/demo-data"), "--label", "file name", "--board", "uno",
            "--epochs", "20", "--out", str(tmp_path / "runs")]
    # as from a terminal: a shell starts background jobs (a CI runner's, `cmd &`) with SIGINT ignored, and a
    # Python started that way keeps ignoring it, so the test restores the default the user's shell gives
    proc = subprocess.Popen(args, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=tmp_path, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob("runs/*/train/attempts/train/01")) and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    (run_dir,) = list((tmp_path / "runs").glob("*-run-*"))
    assert proc.returncode == 130 and f"tinyml-autopilot run --resume {run_dir}" in " ".join(err.split()), err
    assert "Traceback" not in err and not (run_dir / "train/output.json").exists()
    data_stamp = (run_dir / "data/metrics.json").stat().st_mtime_ns

    again = cli("run", "--resume", str(run_dir), "--json", cwd=tmp_path)
    out = json.loads(again.stdout)
    assert again.returncode == 0 and out["stages"] == {s: "ok" for s in STAGES}, again.stderr[-2000:]
    assert (run_dir / "data/metrics.json").stat().st_mtime_ns == data_stamp  # finished stage kept
    tries = sorted(p.name for p in (run_dir / "train/attempts/train").iterdir() if p.is_dir())
    assert tries == ["01", "01-interrupted"]  # the interrupted attempt is kept aside, its number tried again


def test_run_without_data_or_board_is_one_line(tmp_path):
    result = cli("run", "--board", "uno", cwd=tmp_path)
    assert result.returncode == 2 and "no input data" in result.stderr and "Traceback" not in result.stderr
    result = cli("run", "--data", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 2 and "no target board" in result.stderr
    result = cli("run", "--resume", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 2 and "not a run folder" in result.stderr


@pytest.mark.parametrize("command", ["demo", "run"])
def test_an_unwritable_out_folder_is_one_line(tmp_path, command):
    extra = ["--data", str(tmp_path), "--board", "uno"] if command == "run" else []
    result = cli(command, *extra, "--out", "/proc/nope", cwd=tmp_path)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == 2 and len(errors) == 1 and "/proc/nope" in errors[0], result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
