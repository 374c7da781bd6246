"""The data stage with an LLM (the scripted OpenAI-compatible server): proposal, step code, repairs."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tinyml_autopilot.cli import app
from tinyml_autopilot.llm.scripted import ScriptedServer
from tinyml_autopilot.stages.data.operations import code_for

from .conftest_data import (
    IMU,
    digest,
    imu_folder,
    long_csv,
    messy_iris,
    prompt_config,
    reply,
    step_operation,
    template_reply,
    wine_npz,
)


def ops_reply(ops: list[dict], **extra) -> str:
    return reply(json.dumps({"operations": ops, **extra}, indent=1), "json")


def _impute_leaves_nan(cfg: dict) -> str:  # forgets to fill: the "no NaN left" check must catch it
    return code_for("impute", cfg).replace("    for column in columns:\n", "    for column in []:\n")


def _window_channels_reversed(cfg: dict) -> str:  # the device would feed the model the wrong axes
    return code_for("window", {**cfg, "channels": cfg["channels"][::-1]})


def _split_name_error(cfg: dict) -> str:
    return code_for("split", cfg).replace("classes = sorted(set(labels))", "classes = sorted(set(label))")


def _scale_fits_all(cfg: dict) -> str:  # leaks validation/test statistics into the scaler
    return code_for("scale", cfg).replace('train = splits["train"]["X"].astype(np.float64)',
                                          'train = np.concatenate([s["X"] for s in splits.values()]).astype(float)')


CASES = {
    "csv": dict(
        build=lambda d: messy_iris(d / "iris.csv"), args=["--label", "species"],
        ops=[{"operation": "drop_columns", "columns": ["sample_id", "device"], "reason": "id and constant"},
             {"operation": "coerce_numeric", "columns": ["petal_width"], "reason": "'?' in numbers"},
             {"operation": "normalise_labels", "columns": ["species"], "reason": "mixed case"},
             {"operation": "deduplicate", "reason": "repeated rows"},
             {"operation": "impute", "columns": ["sepal_length", "petal_width"], "reason": "gaps"},
             {"operation": "split", "reason": "stratified"}, {"operation": "scale", "reason": "standardise"}],
        extra={}, bad_step="impute", bad=_impute_leaves_nan, category="check", error="values left after imputation",
        bad_ops=True),
    "long-csv": dict(
        build=lambda d: long_csv(d / "long.csv"), args=["--label", "gesture"],
        ops=[{"operation": "impute", "reason": "sensor dropouts"}, {"operation": "window", "reason": "1 s"},
             {"operation": "split", "reason": "by session"}, {"operation": "scale", "reason": "standardise"}],
        extra={"window": 50, "stride": 25, "sample_rate_hz": 50}, bad_step="window", bad=_window_channels_reversed,
        category="check", error="channels in CONFIG['channels'] order"),
    "folder": dict(
        build=lambda d: imu_folder(d / "captures"), args=["--label", "file name"],
        ops=[{"operation": "window", "reason": "0.6 s"}, {"operation": "split", "reason": "by recording"},
             {"operation": "scale", "reason": "standardise"}],
        extra={"window": 30, "stride": 30}, bad_step="split", bad=_split_name_error, category="runtime",
        error="NameError"),
    "npz": dict(
        build=lambda d: wine_npz(d / "wine.npz"), args=[],
        ops=[{"operation": "split", "reason": "stratified"}, {"operation": "scale", "reason": "standardise"}],
        extra={}, bad_step="scale", bad=_scale_fits_all, category="check", error="fit-on-train"),
}


def responder_for(case: dict):
    """Replies by prompt content: the table, then each step's code; the chosen step is wrong once."""
    seen: dict[str, int] = defaultdict(int)

    def respond(request: dict) -> str:
        prompt = request["messages"][1]["content"]
        key = "ops" if "Propose the processing steps" in prompt else step_operation(prompt)
        seen[key] += 1
        if key == "ops":
            if case.get("bad_ops") and seen[key] == 1:
                return "```json\n{\"operations\": [{\"step\": 1, \"operation\": }]}\n```"
            return ops_reply(case["ops"], **case["extra"])
        if key == case["bad_step"] and seen[key] == 1:
            return reply(case["bad"](prompt_config(prompt)))
        return template_reply(prompt)

    return respond


@pytest.fixture(scope="module", params=[pytest.param(c, marks=pytest.mark.slow) if c == "csv" else c for c in CASES])
def llm_run(request, tmp_path_factory):
    case = CASES[request.param]
    base = tmp_path_factory.mktemp(f"llm-{request.param}")
    raw = case["build"](base)
    before = digest(raw)
    with ScriptedServer(responder=responder_for(case)) as server:
        result = CliRunner().invoke(app, ["data", "--data", str(raw), *case["args"], "--out", str(base / "runs"),
                                          "--llm", "openai/scripted", "--api-base", server.url, "--yes", "--json",
                                          "--description", "gesture / species classification"])
        requests = list(server.requests)
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    return request.param, case, raw, before, figures, Path(figures["run_dir"]), requests


def test_llm_path_succeeds_after_a_repair(llm_run):
    shape, case, raw, before, figures, run_dir, requests = llm_run
    assert figures["status"] == "ok" and digest(raw) == before
    step = next(p for p in (run_dir / "attempts").iterdir() if p.name.endswith("-" + case["bad_step"]))
    first = json.loads((step / "01" / "attempt.json").read_text())
    second = json.loads((step / "02" / "attempt.json").read_text())
    assert first["status"] == "failed" and first["category"] == case["category"]
    assert case["error"] in first["error"] and second["status"] == "ok"
    repair = [r for r in requests if len(r["messages"]) > 2 and case["bad_step"] in r["messages"][1]["content"]
              and "Write the Python script" in r["messages"][1]["content"]]
    assert repair, "no repair request was sent"
    assert case["error"] in repair[0]["messages"][-1]["content"], "the repair prompt lacks the error"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["llm_calls"] == len(requests) and metrics["status"] == "ok"


def test_llm_path_outputs(llm_run):
    shape, case, raw, _, figures, run_dir, requests = llm_run
    spec = json.loads((run_dir / "processed" / "feature_spec.json").read_text())
    saved = [o["operation"] for o in json.loads((run_dir / "operations.json").read_text())["operations"]]
    assert saved == [o["operation"] for o in case["ops"]]
    if "window" in case["extra"]:
        assert spec["window"] == case["extra"]["window"] and spec["stride"] == case["extra"]["stride"]
    if shape in ("long-csv", "folder"):
        assert spec["channels"] == IMU
    step_prompts = [r["messages"][1]["content"] for r in requests if len(r["messages"]) == 2
                    and "Write the Python script" in r["messages"][1]["content"]]
    assert len(step_prompts) == len(case["ops"])
    assert all("CONFIG = " in p and "IN/" in p and "OUT/" in p for p in step_prompts)
    with np.load(run_dir / "processed" / "train.npz") as train:
        assert list(train["X"].shape[1:]) == spec["input_shape"]
    if case.get("bad_ops"):
        first = json.loads((run_dir / "attempts" / "data-operations" / "01" / "attempt.json").read_text())
        assert first["category"] == "format" and "not valid JSON" in first["error"]


def test_a_step_that_never_passes_fails_the_stage(tmp_path):
    raw = imu_folder(tmp_path / "captures", recordings=4, rows=40)
    case = {**CASES["folder"], "bad": lambda cfg: "import sys\n\ndef run(i, o):\n    sys.exit('boom')\n\n"
            "if __name__ == '__main__':\n    run(1, 2)\n"}
    respond = responder_for(case)

    def always_bad(request: dict) -> str:
        prompt = request["messages"][1]["content"]
        if "Write the Python script" in prompt and step_operation(prompt) == "split":
            return reply(case["bad"]({}))
        return respond(request)

    with ScriptedServer(responder=always_bad) as server:
        result = CliRunner().invoke(app, ["data", "--data", str(raw), "--out", str(tmp_path / "runs"), "--llm",
                                          "openai/scripted", "--api-base", server.url, "--yes", "--json",
                                          "--max-attempts", "2"])
    assert result.exit_code == 1
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["status"] == "failed" and "data-02-split failed after 2 attempt(s)" in figures["message"]
    metrics = json.loads((Path(figures["run_dir"]) / "metrics.json").read_text())
    assert metrics["status"] == "failed"
    assert not (Path(figures["run_dir"]) / "processed" / "train.npz").exists()
