"""Provider layer: `get_model(settings)` returns the model the stages talk to."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import Completion, LLMError, Model, OfflineModel

if TYPE_CHECKING:
    from ..config import Settings

OFFLINE_HINT = "no LLM configured: using the built-in templates (set --llm PROVIDER/MODEL or TINYML_LLM)"


def get_model(settings: Settings) -> Model:
    if not settings.llm or settings.llm == "offline":
        return OfflineModel()
    from .provider import LiteLLMModel

    return LiteLLMModel(settings)


__all__ = ["Completion", "LLMError", "Model", "OfflineModel", "get_model", "OFFLINE_HINT"]
