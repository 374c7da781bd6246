"""`bench` through the real CLI: parallel subprocess runs, the scripted server as the LLM, results on disk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tinyml_autopilot.bench import collect_runs, summarize

EXE = str(Path(sys.executable).with_name("tinyml-autopilot"))
TEMPLATE = (Path(__file__).parents[1] / "src/tinyml_autopilot/stages/train_template.py").read_text()
BROKEN = "# plan: {plan}\nraise RuntimeError('scripted failure')\n"  # runtime error
NO_MODEL = "# plan: doomed\nprint('trained nothing')\n"  # runs, but writes no model.keras: a failed check


def bench(*args: str, cwd: Path) -> dict:
    env = {**os.environ, "COLUMNS": "200"}
    result = subprocess.run([EXE, "bench", *args, "--json"], capture_output=True, text=True, cwd=cwd, env=env,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def fenced(code: str) -> str:
    return f"Here is the script.\n```python\n{code}```\n"


class PlannedReplies:
    """Per model, the n-th first request (whichever run sends it) gets plan n; a repair request
    follows the plan its conversation started with (the plan is a comment in the first reply)."""

    def __init__(self, plans: dict[str, list[str]]) -> None:
        self.plans = {model: list(p) for model, p in plans.items()}
        self.lock = threading.Lock()

    def __call__(self, request: dict) -> str:
        answered = [m["content"] for m in request["messages"] if m["role"] == "assistant"]
        if not answered:
            with self.lock:
                plan = self.plans[request["model"]].pop(0)
        else:
            plan = "doomed" if "plan: doomed" in answered[0] else "repair" if "plan: repair" in answered[0] else "good"
            plan = {"repair": "good"}.get(plan, plan)
        return fenced({"good": TEMPLATE, "repair": BROKEN.format(plan="repair"), "doomed": NO_MODEL}[plan])


def tiny_npz(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 20)
    x = (rng.normal(0, 0.3, (60, 4)) + y[:, None]).astype("float32")
    np.savez(folder / "tiny.npz", X=x, y=y)
    return folder / "tiny.npz"


@pytest.mark.slow
def test_bench_reports_what_the_scripted_replies_imply(scripted, tmp_path):
    # model "repairs": runs 1-2 fail their first attempt (runtime error) and are repaired, run 3 passes at once.
    # model "doomed": one run writes no model twice and exhausts --max-attempts 2.
    replies = PlannedReplies({"repairs": ["repair", "repair", "good"], "doomed": ["repair", "doomed", "good"]})
    server = scripted(responder=replies)
    result = bench("--stage", "train", "--runs", "3", "--jobs", "2", "--llm", "openai/repairs", "--llm",
                   "openai/doomed", "--api-base", server.url, "--max-attempts", "2", "--data",
                   str(tiny_npz(tmp_path)), "--stage-args=--epochs 2 --trials 1 --search-time 10",
                   "--out", str(tmp_path / "runs"), cwd=tmp_path)
    rows = {row["model"]: row for row in result["summary"]}
    repairs, doomed = rows["openai/repairs"], rows["openai/doomed"]
    assert (repairs["successes"], repairs["runs"], repairs["success_rate"]) == (3, 3, 1.0)
    assert repairs["attempts_to_success"] == {"1": 1, "2": 2} or repairs["attempts_to_success"] == {1: 1, 2: 2}
    assert repairs["failed_attempts"] == {"runtime": 2} and repairs["run_failures"] == {}
    assert (doomed["successes"], doomed["runs"]) == (2, 3) and doomed["success_rate"] == pytest.approx(2 / 3, 1e-3)
    assert doomed["failed_attempts"] == {"check:model_file": 2, "runtime": 1}
    assert doomed["run_failures"] == {"check:model_file": 1}
    assert repairs["llm_calls"] == 5 and doomed["llm_calls"] == 5 and repairs["tokens_in"] > 0

    files = {k: Path(v) for k, v in result["files"].items()}
    assert all(p.is_file() and p.stat().st_size > 0 for p in files.values())
    assert all(files[k].read_bytes().startswith(b"\x89PNG") for k in files if k.endswith("_png"))
    table = pd.read_csv(files["summary_csv"]).set_index("model")
    assert table.loc["openai/repairs", "successes"] == 3 and table.loc["openai/doomed", "successes"] == 2
    markdown = files["markdown"].read_text()
    assert "| train | openai/doomed | 2/3 (67%) | 1:1; 2:1 |" in markdown
    assert "| train | openai/repairs | 3/3 (100%) | 1:1; 2:2 |" in markdown
    runs = pd.read_csv(files["runs_csv"])
    assert len(runs) == 6 and sorted(runs["attempts"]) == [1, 1, 2, 2, 2, 2]


def test_crashed_runs_count_as_failures_and_a_bench_resumes(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("not a dataset\n")
    first = bench("--stage", "data", "--runs", "1", "--data", str(bad), "--out", str(tmp_path / "runs"),
                  cwd=tmp_path)
    bench_dir = Path(first["bench_dir"])
    record = bench_dir / "runs/data/offline/01/bench_run.json"
    stamp = record.stat().st_mtime_ns
    assert first["summary"][0]["run_failures"] == {"crash": 1} and first["summary"][0]["successes"] == 0
    assert "error:" in json.loads(record.read_text())["crash_reason"]

    again = bench("--resume", str(bench_dir), "--runs", "2", cwd=tmp_path)
    assert record.stat().st_mtime_ns == stamp  # the finished run was kept, only run 02 ran
    row = again["summary"][0]
    assert (row["runs"], row["successes"], row["run_failures"]) == (2, 0, {"crash": 2})
    frame = collect_runs(bench_dir)
    assert list(frame["run"]) == [1, 2] and summarize(frame).loc[0, "success_rate"] == 0.0


@pytest.mark.parametrize(("args", "words"), [
    (["--stage", "flash", "--data", "."], "unknown bench stage 'flash'"),
    (["--stage", "bogus"], "unknown bench stage 'bogus'"),
    (["--stage", "data", "--runs", "0"], "--runs and --jobs must be at least 1"),
    (["--stage", "data", "--jobs", "0"], "--runs and --jobs must be at least 1"),
    (["--stage", "data", "--timeout", "-5"], "--timeout -5"),
    (["--stage", "train", "--stage-args", "--epochs 'x"], "--stage-args"),
    (["--stage", "data", "--out", "/proc/zz"], "cannot create the bench folder in /proc/zz"),
    (["--stage", "data", "--executor", "slurm"], "unknown --executor 'slurm': use local or ray"),
    (["--stage", "data", "--ray-address", "auto"], "--ray-address is for --executor ray"),
    (["--stage", "data", "--executor", "ray", "--ray-address", "nowhere"], "--ray-address nowhere: use auto"),
    (["--stage", "data", "--executor", "ray", "--ray-address", "127.0.0.1:1"],
     "cannot reach the Ray cluster at 127.0.0.1:1"),
    (["--stage", "data", "--run-cpus", "0"], "--run-cpus must be more than 0"),
    (["--stage", "data", "--max-concurrent-llm", "0"], "--max-concurrent-llm must be at least 1"),
    (["--stage", "data", "--llm", "anthropic/claude", "--max-concurrent-llm", "2"],
     "--max-concurrent-llm with --llm anthropic/claude: pass --api-base"),
])
def test_bench_refuses_bad_options_with_one_line_before_writing_anything(tmp_path, args, words):
    result = subprocess.run([EXE, "bench", *args], capture_output=True, text=True, cwd=tmp_path)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode == 2 and len(errors) == 1 and words in errors[0], result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert list(tmp_path.iterdir()) == []  # no bench folder, no demo data


def test_executor_ray_without_ray_installed_says_how_to_install_it(tmp_path):
    hide_ray = ("import sys; sys.modules['ray'] = None; from tinyml_autopilot.cli import main; "
                "sys.argv = ['tinyml-autopilot', 'bench', '--stage', 'data', '--executor', 'ray']; main()")
    result = subprocess.run([sys.executable, "-c", hide_ray], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.strip().splitlines() == [
        "error: --executor ray needs Ray: pip install 'tinyml-autopilot[cluster]'"], result.stderr
    assert list(tmp_path.iterdir()) == []


def test_offline_bench_on_the_bundled_data_needs_no_arguments_but_the_stage(tmp_path):
    (tmp_path / "bench.toml").write_text(f'max_attempts = 2\nout = "{tmp_path / "out"}"\n')
    summary = bench("--stage", "data", "--runs", "2", "--jobs", "2", "--config", "bench.toml", "--json", cwd=tmp_path)
    (row,) = summary["summary"]
    records = [json.loads(p.read_text()) for p in Path(summary["bench_dir"]).glob("runs/*/*/*/bench_run.json")]
    why = [(r["status"], r["crash_reason"], (r["result"] or {}).get("message")) for r in records]
    assert (row["stage"], row["model"], row["runs"], row["successes"]) == ("data", "offline", 2, 2), why
    assert (Path(summary["files"]["summary_csv"]).parents[1] / "demo-data" / "wave.csv").is_file()
    assert Path(summary["bench_dir"]).parent == tmp_path / "out"  # the config file's out, and every run read it
    saved = [json.loads(p.read_text()) for p in Path(summary["bench_dir"]).glob("runs/data/offline/*/*/inputs.json")]
    assert len(saved) == 2 and all(s["settings"]["max_attempts"] == 2 for s in saved)


def sketch_replies(spec: str, good: str) -> Callable[[dict], str]:
    """The n-th sketch conversation gets plan n: a sketch that does not compile, one that compiles but
    predicts wrongly (channels scaled in the wrong order), or a good one; every repair gets the good one."""
    broken = good.replace("int best = 0;", "int best = 0")
    wrong = good.replace("/ kFeatureScale[c]", "/ kFeatureScale[(c + 1) % kChannels]")
    assert broken != good and wrong != good
    plans = [broken, wrong, good]
    lock = threading.Lock()

    def reply(request: dict) -> str:
        first = next(m["content"] for m in request["messages"] if m["role"] == "user")
        if first.startswith("Complete the application spec"):
            return spec
        if any(m["role"] == "assistant" for m in request["messages"]):
            return f"```cpp\n{good}```\n"
        with lock:
            return f"```cpp\n{plans.pop(0)}```\n"

    return reply


@pytest.mark.slow
def test_bench_sketch_counts_compile_errors_and_wrong_simulations_as_the_replies_imply(scripted, tmp_path):
    from stages.sketch_fixtures import fixture_model as fm

    from tinyml_autopilot.stages.sketch.generate import render_sketch
    from tinyml_autopilot.stages.sketch.inputs import resolve
    from tinyml_autopilot.stages.sketch.spec import default_spec

    convert_run = fm.convert_run()
    inputs = resolve(convert_run, "uno", None, None, None, None)
    inputs.name, inputs.output = "activity", "serial"
    spec = default_spec(inputs)
    server = scripted(responder=sketch_replies(f"```json\n{spec.model_dump_json()}\n```", render_sketch(spec, inputs)))
    result = bench("--stage", "sketch", "--runs", "3", "--jobs", "1", "--llm", "openai/coder", "--api-base", server.url,
                   "--max-attempts", "2", "--data", str(convert_run), "--board", "uno", "--stage-args=--name activity",
                   "--out", str(tmp_path / "runs"), cwd=tmp_path)
    (row,) = result["summary"]
    assert (row["stage"], row["runs"], row["successes"], row["success_rate"]) == ("sketch", 3, 3, 1.0)
    assert row["attempts_to_success"] in ({"1": 1, "2": 2}, {1: 1, 2: 2})
    assert row["failed_attempts"] == {"compile": 1, "check:simulation": 1} and row["run_failures"] == {}
    assert row["llm_calls"] == 3 * 1 + 5  # one spec call per run, then 2 + 2 + 1 sketch calls
    assert "| sketch | openai/coder | 3/3 (100%) | 1:1; 2:2 |" in Path(result["files"]["markdown"]).read_text()
