"""The `bench` command."""

from __future__ import annotations

from .common import Debug, not_built


def command(debug: Debug = False) -> None:
    """Not built yet."""
    not_built("bench")
