"""The HTML run report: one self-contained file (plots embedded), openable offline."""

from __future__ import annotations

from .facts import key_figures, run_summary
from .html import build_report

__all__ = ["build_report", "key_figures", "run_summary"]
