"""Bounds on the HTTP exchange, over real HTTP to the scripted server: deadline, Retry-After."""

from __future__ import annotations

import json
import logging
import time

import pytest

from tinyml_autopilot.llm import LLMError, get_model
from tinyml_autopilot.llm import provider as provider_module
from tinyml_autopilot.runs import Run

MESSAGES = [{"role": "user", "content": "say hi"}]


def test_a_reply_trickling_one_byte_a_second_is_stopped_at_llm_timeout(scripted, llm_settings):
    server = scripted([{"text": "hello " * 50, "trickle": 1.0}])  # ~400 bytes: 400 s at this rate
    model = get_model(llm_settings(server, llm_timeout=2, llm_retries=0))
    provider_module._litellm()  # imported before the clock starts (slow on a busy machine)
    start = time.monotonic()
    with pytest.raises(LLMError) as err:
        model.complete(MESSAGES)
    assert 1.9 <= time.monotonic() - start < 6
    assert "no answer" in str(err.value) and "within 2s" in str(err.value)


def test_a_quick_reply_is_not_affected_by_the_deadline(scripted, llm_settings):
    server = scripted([{"text": "in time", "trickle": 0.001}])
    assert get_model(llm_settings(server, llm_timeout=5)).complete(MESSAGES).text == "in time"


def test_retry_after_is_honoured_and_said(scripted, llm_settings, caplog):
    server = scripted([{"status": 429, "retry_after": 2}, "after the wait"])
    start = time.monotonic()
    with caplog.at_level(logging.INFO, logger="tinyml_autopilot"):
        reply = get_model(llm_settings(server, llm_retries=1)).complete(MESSAGES)
    assert reply.text == "after the wait" and reply.retries == 1
    assert time.monotonic() - start >= 1.95  # not the 0.5 s back-off
    assert "waiting 2 s as it asked (Retry-After 2 s)" in caplog.text


def test_retry_after_is_capped(scripted, llm_settings, caplog, monkeypatch):
    monkeypatch.setattr(provider_module, "RETRY_AFTER_MAX_S", 0.5)
    server = scripted([{"status": 429, "retry_after": 3600}, "soon enough"])
    start = time.monotonic()
    with caplog.at_level(logging.INFO, logger="tinyml_autopilot"):
        reply = get_model(llm_settings(server, llm_retries=1)).complete(MESSAGES)
    assert reply.text == "soon enough" and time.monotonic() - start < 5
    assert "waiting 0.5 s" in caplog.text and "capped" in caplog.text


def test_a_wait_past_the_stage_deadline_stops_with_one_line(scripted, llm_settings, tmp_path):
    server = scripted([{"status": 429, "retry_after": 30}, "too late"])
    run = Run.create(tmp_path / "runs", "probe")
    start = time.monotonic()
    with pytest.raises(LLMError) as err:
        get_model(llm_settings(server, llm_retries=2)).complete(MESSAGES, run=run, deadline=time.monotonic() + 3)
    assert time.monotonic() - start < 3 and len(server.requests) == 1
    assert "asked to wait 30 s" in str(err.value) and "wall-time limit" in str(err.value)
    assert "\n" not in str(err.value)
    call = json.loads(next((run.dir / "llm_calls").glob("*.json")).read_text())
    assert "wall-time" in call["error"]
