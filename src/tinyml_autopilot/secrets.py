"""Keep API keys out of everything the tool writes or passes to generated code."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping

_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH)", re.IGNORECASE)
_extra: set[str] = set()


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def register(*values: str | None) -> None:
    """Remember secret values that did not come from the environment (config file, .env)."""
    for value in values:
        if value and len(value) >= 6:
            _extra.add(value)


def secret_values(env: Mapping[str, str] | None = None) -> set[str]:
    env = os.environ if env is None else env
    found = {v for k, v in env.items() if is_secret_name(k) and v and len(v) >= 6}
    return found | _extra


def redact(text: str, values: Iterable[str] | None = None) -> str:
    for value in sorted(values if values is not None else secret_values(), key=len, reverse=True):
        text = text.replace(value, "***")
    return text


def clean_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of the environment without any variable that looks like a credential."""
    env = os.environ if env is None else env
    return {k: v for k, v in env.items() if not is_secret_name(k)}
