"""The data stage: `run(ctx, **inputs) -> StageResult`."""

from .stage import run

__all__ = ["run"]
