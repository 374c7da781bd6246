"""The small contract every provider meets, and what one call returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import UserError

if TYPE_CHECKING:
    from ..runs import Run


@dataclass
class Completion:
    text: str
    model: str
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float | None = None
    latency_s: float = 0.0  # the whole call, retries and back-off included
    network_s: float | None = None  # the last HTTP exchange alone, where measurable
    retries: int = 0


class Model(Protocol):
    name: str
    offline: bool

    def complete(
        self,
        messages: list[dict[str, str]],
        *,
        run: Run | None = None,
        parent: str | None = None,
        tags: dict[str, Any] | None = None,
        deadline: float | None = None,  # time.monotonic() past which no retry is waited for
        reply_file: str | None = None,  # where the caller keeps the reply (run-relative): stored once
    ) -> Completion: ...


def excerpt(text: str, limit: int) -> str:
    """The head and the tail of a long text, saying how much was left out between them."""
    if len(text) <= limit:
        return text
    head = limit // 2
    return f"{text[:head]}\n[... {len(text) - limit:,} characters left out ...]\n{text[-(limit - head):]}"


class LLMError(UserError):
    """The provider could not be used (key, endpoint, model): stops the stage with one line."""


class OfflineModel:
    """No LLM: tasks fall back to their built-in templates."""

    name = "offline"
    offline = True

    def complete(self, messages, *, run=None, parent=None, tags=None, deadline=None,  # noqa: ARG002
                 reply_file=None) -> Completion:
        raise LLMError("no LLM is configured for this call: pass --llm PROVIDER/MODEL")
