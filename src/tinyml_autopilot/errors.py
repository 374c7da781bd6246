"""Typed errors. A UserError is a bad input: the CLI prints its one line and exits."""

from __future__ import annotations


class UserError(Exception):
    """Something the user can fix. `str(err)` is the one line shown; `code` is the exit status."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


class StageNotBuilt(UserError):
    def __init__(self, stage: str) -> None:
        super().__init__(f"the '{stage}' stage is not available in this version yet", code=3)


class Interrupted(Exception):
    """Ctrl-C during a run: `str(err)` says which folder keeps the work and how to continue it."""
