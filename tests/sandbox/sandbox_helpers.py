"""Shared by the sandbox tests: markers and running a script."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tinyml_autopilot.sandbox import cgroups
from tinyml_autopilot.sandbox.python import run_python

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap (bwrap) is not installed")


def memory_cgroup() -> bool:
    group = cgroups.create(64, 64)
    group.remove()
    return group.memory is not None


needs_memory_cgroup = pytest.mark.skipif(not memory_cgroup(),
                                         reason="no memory cgroup may be created here (needs root or delegation)")


def run_script(tmp_path: Path, code: str, **kwargs):
    work = tmp_path / "attempt"
    work.mkdir(exist_ok=True)
    (work / "script.py").write_text(code)
    return run_python(work / "script.py", work, **{"timeout_s": 30, "memory_mb": 512, **kwargs})
