"""Packaged Jinja prompt templates: `render("name.j2", **values)`."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined


@cache
def _env() -> Environment:
    return Environment(
        loader=PackageLoader("tinyml_autopilot", "prompts"),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(name: str, **values: Any) -> str:
    return _env().get_template(name).render(**values).strip() + "\n"
