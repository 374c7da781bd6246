"""The real litellm path over HTTP to the scripted server."""

from __future__ import annotations

import time

import pytest

from tinyml_autopilot.llm import LLMError, get_model
from tinyml_autopilot.llm.provider import parse_spec
from tinyml_autopilot.runs import Run

MESSAGES = [{"role": "user", "content": "say hi"}]


def test_completion_records_tokens_latency_and_trace(scripted, llm_settings, tmp_path):
    server = scripted(["hello there"])
    model = get_model(llm_settings(server))
    run = Run.create(tmp_path / "runs", "probe")
    reply = model.complete(MESSAGES, run=run, tags={"task": "t"})
    assert reply.text == "hello there"
    assert reply.tokens_in > 0 and reply.tokens_out > 0
    assert reply.latency_s >= reply.network_s > 0
    assert server.requests[0]["messages"] == MESSAGES
    events = [e for e in run.trace_events() if e["kind"] == "llm"]
    assert len(events) == 1 and events[0]["tokens_in"] == reply.tokens_in
    assert events[0]["trace_id"] == run.trace_id and events[0]["tags"] == {"task": "t"}
    saved = list((run.dir / "llm_calls").glob("*.json"))
    assert len(saved) == 1 and "hello there" in saved[0].read_text()


def test_rate_limit_is_retried_with_backoff(scripted, llm_settings):
    server = scripted([{"status": 429}, "after the limit"])
    reply = get_model(llm_settings(server, llm_retries=2)).complete(MESSAGES)
    assert reply.text == "after the limit"
    assert reply.retries == 1 and len(server.requests) == 2


def test_server_errors_are_retried_then_explained(scripted, llm_settings):
    server = scripted([{"status": 503}, {"status": 503}])
    with pytest.raises(LLMError) as err:
        get_model(llm_settings(server, llm_retries=1)).complete(MESSAGES)
    assert len(server.requests) == 2
    assert server.url in str(err.value)


def test_hanging_server_times_out_with_one_line(scripted, llm_settings):
    server = scripted([{"hang": 5}, {"hang": 5}])
    start = time.monotonic()
    with pytest.raises(LLMError) as err:
        get_model(llm_settings(server, llm_timeout=1, llm_retries=0)).complete(MESSAGES)
    assert time.monotonic() - start < 5
    assert "no answer" in str(err.value) and "llm_timeout" in str(err.value)
    assert "\n" not in str(err.value)


def test_unreachable_endpoint_names_the_setting(llm_settings, scripted):
    server = scripted([])
    settings = llm_settings(server, api_base="http://127.0.0.1:9/v1", llm_retries=0)
    with pytest.raises(LLMError) as err:
        get_model(settings).complete(MESSAGES)
    assert "cannot reach http://127.0.0.1:9/v1" in str(err.value) and "--api-base" in str(err.value)


def test_wrong_key_is_one_clear_line(scripted, llm_settings):
    server = scripted(["never sent"], api_key="sk-right-key-123")
    settings = llm_settings(server, api_key="sk-wrong-key-456")
    with pytest.raises(LLMError) as err:
        get_model(settings).complete(MESSAGES)
    assert "rejected the API key" in str(err.value)
    assert "sk-wrong-key-456" not in str(err.value)


def test_missing_key_names_the_variable(monkeypatch, tmp_path):
    from tinyml_autopilot.config import load_settings

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(LLMError, match="OPENAI_API_KEY is not set"):
        get_model(load_settings({"llm": "openai/gpt-4o"}, cwd=tmp_path))


@pytest.mark.parametrize("spec", ["gpt-4o", "nosuch/model", "openai/"])
def test_bad_spec_is_rejected(spec):
    with pytest.raises(LLMError, match="--llm"):
        parse_spec(spec)


def test_offline_is_the_default(tmp_path):
    from tinyml_autopilot.config import load_settings

    assert get_model(load_settings({}, cwd=tmp_path)).offline


def test_trace_export_keys_without_the_package_do_not_break_calls(scripted, llm_settings, monkeypatch):
    import importlib.util

    monkeypatch.setenv("LANGFUSE_PUBLIC_KEY", "pk-lf-test-123456")
    monkeypatch.setenv("LANGFUSE_SECRET_KEY", "sk-lf-test-123456")
    server = scripted(["still answered"])
    reply = get_model(llm_settings(server)).complete(MESSAGES)
    assert reply.text == "still answered"
    import litellm

    assert ("langfuse" in litellm.success_callback) == (importlib.util.find_spec("langfuse") is not None)


def test_unknown_model_is_one_line_naming_the_setting(scripted, llm_settings):
    server = scripted(["never sent"], models={"scripted-model"})
    with pytest.raises(LLMError) as err:
        get_model(llm_settings(server, llm="openai/gpt-9")).complete(MESSAGES)
    assert str(err.value) == f"model 'gpt-9' not found at {server.url}: check --llm"
    assert len(server.requests) == 1  # not a transient failure: no retry


def test_every_provider_key_variable_is_read(monkeypatch, tmp_path):
    from tinyml_autopilot.config import load_settings

    monkeypatch.setenv("OPENROUTER_API_KEY", "or-key-from-env-123")
    model = get_model(load_settings({"llm": "openrouter/meta/llama-3"}, cwd=tmp_path))
    assert model.api_key == "or-key-from-env-123"


def test_a_provider_without_a_default_address_needs_api_base(tmp_path):
    from tinyml_autopilot.config import load_settings

    with pytest.raises(LLMError, match="--llm hosted_vllm/qwen needs --api-base"):
        get_model(load_settings({"llm": "hosted_vllm/qwen"}, cwd=tmp_path))


def test_lasting_server_errors_name_the_retry_setting(scripted, llm_settings):
    server = scripted([{"status": 500, "error": "boom"}, {"status": 502, "error": "boom"}])
    with pytest.raises(LLMError) as err:
        get_model(llm_settings(server, llm_retries=1)).complete(MESSAGES)
    assert str(err.value).startswith(f"{server.url} kept failing with server errors after 1 retries")
    assert "llm_retries" in str(err.value) and len(server.requests) == 2
