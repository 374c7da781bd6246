"""LLM providers through litellm: one class, transport retries, every call recorded."""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import time
from typing import TYPE_CHECKING, Any

from .. import secrets
from .base import Completion, LLMError, excerpt
from .transport import RETRY_AFTER_MAX_S, RequestTimeout, call_within, remaining, retry_after

if TYPE_CHECKING:
    from ..config import Settings
    from ..runs import Run

# provider prefix -> environment variable holding its key (None: no key needed)
PROVIDERS: dict[str, str | None] = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "ollama": None,
    "ollama_chat": None,
    "hosted_vllm": None,
    "lm_studio": None,
    "gemini": "GEMINI_API_KEY",
    "mistral": "MISTRAL_API_KEY",
    "groq": "GROQ_API_KEY",
    "deepseek": "DEEPSEEK_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
}
# providers with no default address: the server's URL must be given
NEEDS_API_BASE = {"hosted_vllm": "the vLLM server's URL, e.g. http://host:8000/v1"}
# where litellm looks when --api-base is not given, for servers people run themselves
DEFAULT_BASES = {"ollama": "http://localhost:11434", "ollama_chat": "http://localhost:11434"}
BACKOFF_S = 0.5
INLINE_REPLY_CHARS = 64 * 1024  # a longer reply is kept in the attempt's response.md only
EXCERPT_CHARS = 2000
UNREACHABLE = ("connect", "name or service not known", "temporary failure in name resolution",
               "nodename nor servname", "network is unreachable", "no route to host")


def parse_spec(spec: str) -> tuple[str, str]:
    provider, sep, model = spec.partition("/")
    if not sep or not model:
        raise LLMError(f"--llm '{spec}' is not PROVIDER/MODEL (e.g. openai/gpt-4o) or 'offline'")
    if provider not in PROVIDERS:
        known = ", ".join(sorted(PROVIDERS))
        raise LLMError(f"unknown LLM provider '{provider}' in --llm {spec}: use one of {known}")
    return provider, model


class LiteLLMModel:
    """Any provider litellm speaks; an OpenAI-compatible server via `openai/MODEL` + --api-base."""

    offline = False

    def __init__(self, settings: Settings) -> None:
        assert settings.llm
        self.name = settings.llm
        self.provider, self.model = parse_spec(settings.llm)
        self.api_base = settings.api_base
        if self.provider in NEEDS_API_BASE and not self.api_base:
            raise LLMError(f"--llm {self.name} needs --api-base ({NEEDS_API_BASE[self.provider]})")
        self.timeout = settings.llm_timeout
        self.retries = settings.llm_retries
        self.temperature = settings.temperature
        self.api_key = self._key(settings)

    def _key(self, settings: Settings) -> str | None:
        needs = PROVIDERS[self.provider]
        key = settings.provider_key(needs)
        if key:
            secrets.register(key)
            return key
        if needs and not self.api_base:
            raise LLMError(f"{needs} is not set for --llm {self.name}: put it in .env or the "
                           "environment, or use --llm offline")
        return "none" if self.api_base else None

    def complete(self, messages, *, run: Run | None = None, parent: str | None = None,
                 tags: dict[str, Any] | None = None, deadline: float | None = None,
                 reply_file: str | None = None) -> Completion:
        litellm = _litellm()
        start, retries = time.perf_counter(), 0
        request = self._request(messages)
        while True:
            t0 = time.perf_counter()
            try:  # llm_timeout bounds the whole exchange, not each read of a reply trickling in
                response = call_within(lambda: litellm.completion(**request), self.timeout)
                break
            except Exception as err:
                if not _transient(litellm, err) or retries >= self.retries:  # key, model, request: no retry
                    self._record(run, parent, tags, messages, None, start, retries, err)
                    raise self._explain(err) from err
                retries += 1
                try:
                    wait = self._pause(err, retries, deadline, run)
                except LLMError as stop:
                    self._record(run, parent, tags, messages, None, start, retries, stop)
                    raise
                time.sleep(wait)
            except KeyboardInterrupt:  # the call is on record even when the run stops during it
                self._record(run, parent, tags, messages, None, start, retries, "interrupted before the answer")
                raise
        end = time.perf_counter()
        done = Completion(
            text=response.choices[0].message.content or "",
            model=self.name,
            tokens_in=getattr(response.usage, "prompt_tokens", 0) or 0,
            tokens_out=getattr(response.usage, "completion_tokens", 0) or 0,
            cost_usd=_cost(litellm, response),
            latency_s=round(end - start, 4),
            network_s=round(end - t0, 4),
            retries=retries,
        )
        if reply_file and run is not None and len(done.text) > INLINE_REPLY_CHARS:
            run.write_text(reply_file, done.text)  # stored once, there; the call's record points to it
        self._record(run, parent, tags, messages, done, start, retries, None, reply_file)
        return done

    def _pause(self, err: Exception, retry: int, deadline: float | None, run: Run | None) -> float:
        """Seconds to wait before retry number `retry`: the server's Retry-After (capped), else back-off."""
        where = self.api_base or DEFAULT_BASES.get(self.provider, self.provider)
        asked = retry_after(err)
        wait = BACKOFF_S * 2 ** (retry - 1) if asked is None else min(asked, RETRY_AFTER_MAX_S)
        left = remaining(deadline)
        if left is not None and wait > left:
            what = f"{where} asked to wait {wait:.0f} s" if asked is not None else f"{where} failed"
            raise LLMError(f"{what} before retrying, more than the {max(left, 0):.0f} s left of the stage's "
                           "wall-time limit: retry later, or raise wall_limit (config file or TINYML_WALL_LIMIT)")
        why = f"as it asked (Retry-After {asked:g} s{', capped' if asked > wait else ''})" if asked is not None \
            else "before retrying"
        status = getattr(err, "status_code", None) or type(err).__name__
        (run.log if run is not None else logging.getLogger("tinyml_autopilot")).info(
            "%s answered %s: waiting %s s %s (retry %d of %d)", where, status, f"{wait:.3g}", why, retry,
            self.retries)
        return wait

    def _request(self, messages) -> dict[str, Any]:
        req: dict[str, Any] = {"model": f"{self.provider}/{self.model}", "messages": messages, "timeout": self.timeout,
                               "temperature": self.temperature, "num_retries": 0,
                               "max_retries": 0}
        if self.api_base:
            req["api_base"] = self.api_base
        if self.api_key:
            req["api_key"] = self.api_key
        return req

    def _record(self, run, parent, tags, messages, done: Completion | None, start, retries, err,
                reply_file: str | None = None):
        if run is None:
            return
        # numbered after the calls already in the folder: a resumed run keeps the earlier ones
        number = len(list((run.dir / "llm_calls").glob("*.json"))) + 1
        call = f"llm_calls/{number:03d}-{(tags or {}).get('task', 'call')}.json"
        figures = {k: v for k, v in vars(done).items() if k != "text"} if done else {}
        body = {"model": self.name, "api_base": self.api_base, "messages": messages,
                "response": done.text if done else None, "error": str(err) if err else None,
                **figures, "retries": retries}
        if done and reply_file and len(done.text) > INLINE_REPLY_CHARS:
            body |= {"response": excerpt(done.text, EXCERPT_CHARS), "response_chars": len(done.text),
                     "response_file": reply_file}
        run.write_json(call, body)
        run.log.debug("LLM %s: %s, %s tokens in, %s out, %.2f s%s", self.name, "ok" if done else "error",
                      done.tokens_in if done else 0, done.tokens_out if done else 0,
                      time.perf_counter() - start, f": {str(err)[:200]}" if err else "")
        run.event("llm", self.name, parent, tags=tags or {}, file=call, retries=retries,
                  duration_s=round(time.perf_counter() - start, 4),
                  status="ok" if done else "error", error=str(err)[:300] if err else None,
                  **{k: v for k, v in figures.items() if k != "retries"})

    def _explain(self, err: Exception) -> LLMError:
        """One line naming the setting to fix; the provider's own words only when nothing fits."""
        kind = type(err).__name__
        where = self.api_base or DEFAULT_BASES.get(self.provider, self.provider)
        key_name = PROVIDERS.get(self.provider) or "api_key (config file or TINYML_API_KEY)"
        text = _provider_words(secrets.redact(str(err))) or kind
        lowered = text.lower()
        retried = f"after {self.retries} retries" if self.retries else "without retries"
        if kind == "AuthenticationError" or "401" in text:
            return LLMError(f"{where} rejected the API key for --llm {self.name}: check {key_name}")
        if kind == "PermissionDeniedError" or "403" in text:
            return LLMError(f"{where} refused access to model '{self.model}' with this key: check {key_name} "
                            "and --llm")
        if kind == "NotFoundError" or "404" in text:
            return LLMError(f"model '{self.model}' not found at {where}: check --llm")
        if kind in ("Timeout", "APITimeoutError") or "timed out" in lowered:
            return LLMError(f"no answer from {where} within {self.timeout:g}s ({retried}): check the server "
                            "or raise llm_timeout (config file or TINYML_LLM_TIMEOUT)")
        if kind == "APIConnectionError" or any(s in lowered for s in UNREACHABLE):
            fix = ("check --api-base and that the server is running" if self.api_base
                   else "check the network, or point --api-base at the server")
            return LLMError(f"cannot reach {where} for --llm {self.name} ({retried}): {fix}")
        if kind == "RateLimitError":
            return LLMError(f"{where} kept rate-limiting {retried}: wait and retry, or raise llm_retries "
                            "(config file or TINYML_LLM_RETRIES)")
        if isinstance(getattr(err, "status_code", None), int) and err.status_code >= 500:
            return LLMError(f"{where} kept failing with server errors {retried} ({text[:120]}): check the "
                            "server, or raise llm_retries (config file or TINYML_LLM_RETRIES)")
        return LLMError(f"{where} refused the request for --llm {self.name} ({kind}): {text}")


def _provider_words(text: str) -> str:
    """The provider's own message, without litellm's class-name prefixes."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    return re.sub(r"^(litellm\.\w+: )?(\w+: )?\w*Exception - ", "", first)[:200]


def _litellm():
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.telemetry = False
    litellm.suppress_debug_info = True
    _tracing(litellm)
    return litellm


def _tracing(litellm) -> None:
    """Export to LangSmith or Langfuse when their keys are set; never required."""
    wanted = []
    if os.environ.get("LANGFUSE_PUBLIC_KEY") and os.environ.get("LANGFUSE_SECRET_KEY"):
        wanted.append("langfuse")
    if os.environ.get("LANGSMITH_API_KEY"):
        wanted.append("langsmith")
    for name in wanted:
        if importlib.util.find_spec(name) is None:
            logging.getLogger(__name__).warning("%s keys are set but the %s package is not installed: "
                                                "pip install %s to export traces there", name, name, name)
        elif name not in litellm.success_callback:
            litellm.success_callback.append(name)


def _transient(litellm, err: Exception) -> bool:
    """Worth retrying: rate limits, timeouts, dropped connections and any 5xx (502, 503, 529...)."""
    if isinstance(err, (litellm.RateLimitError, litellm.Timeout, litellm.APIConnectionError, RequestTimeout)):
        return True
    status = getattr(err, "status_code", None)
    return isinstance(status, int) and status >= 500


def _cost(litellm, response) -> float | None:
    try:
        cost = litellm.completion_cost(completion_response=response)
    except Exception:  # litellm does not know this model's price
        return None
    return round(float(cost), 6) if cost else None
