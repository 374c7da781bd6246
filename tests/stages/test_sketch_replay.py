"""The sketch generation loop on a TFLite Micro board, driven over HTTP by the scripted LLM server: each
mistake LLM-written sketches make is one attempt whose run verdict names it, that verdict leads the next
repair prompt, and the correct sketch that follows passes on the host and on Cortex-M4."""

from __future__ import annotations

import json

import pytest

from stages import tflm_sketches as ts
from stages.sketch_fixtures import fixture_model as fm
from stages.test_sketch_stage import ctx_for, fenced, replies_for
from tinyml_autopilot.stages import sketch

# mistake -> the run verdict that names it (the host run: none of these reaches the Cortex-M4 run)
REPLAYED = {k: v for k, v in ts.VERDICTS.items() if k not in ("infinite loop", "crash", "waits for Serial")}


def read(path) -> dict | list:
    return json.loads(path.read_text())


@pytest.mark.slow
def test_each_mistake_replayed_through_the_llm_loop_is_named_by_the_run_and_fed_back(scripted, llm_settings):
    ts.needs_library("Chirale_TensorFlowLite")
    spec, _ = replies_for("nano33ble")
    mistakes = list(REPLAYED)
    sketches = [ts.sketch_text("current", m, library="Chirale_TensorFlowLite") for m in mistakes]
    good = ts.sketch_text("current", library="Chirale_TensorFlowLite")
    server = scripted([spec, *map(fenced, sketches), fenced(good)])
    settings = llm_settings(server, max_attempts=len(mistakes) + 1, libraries=ts.library_setting())
    result = sketch.run(ctx_for(settings), data=fm.convert_run(), board="nano33ble", name="activity")
    assert result.ok, result.message
    folder = result.run_dir / "attempts" / "sketch"
    for n, mistake in enumerate(mistakes, start=1):
        attempt, verdicts = read(folder / f"{n:02d}" / "attempt.json"), read(folder / f"{n:02d}" / "verdicts.json")
        assert attempt["status"] == "failed" and "run" in attempt["checks"], (mistake, attempt)
        assert verdicts["run"]["status"] == "failed" and verdicts["run"]["reason"] == REPLAYED[mistake], \
            (mistake, verdicts["run"])
        assert (folder / f"{n:02d}" / "code.ino").read_text() == sketches[n - 1]
        repair = read(folder / f"{n + 1:02d}" / "prompt.json")[-1]["content"]
        assert f"[run] run verdict '{REPLAYED[mistake]}': {verdicts['run']['message'][:60]}" in repair, (mistake,
                                                                                                     repair)
    last = read(folder / f"{len(mistakes) + 1:02d}" / "verdicts.json")
    assert read(folder / f"{len(mistakes) + 1:02d}" / "attempt.json")["status"] == "ok"
    assert last["run"]["status"] == "passed" and last["m4_run"]["status"] == "passed"
    assert result.figures["run_agreement"] == "200/200" and result.figures["attempts"] == len(mistakes) + 1
    assert result.figures["verdicts"]["m4_run"] == "passed" and result.figures["m4"]["instructions_per_inference"]
