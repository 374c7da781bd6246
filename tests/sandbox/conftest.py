"""Fixtures of the sandbox tests."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest


@pytest.fixture
def outside():
    """A folder outside /tmp (the sandbox has its own /tmp), removed afterwards."""
    folder = Path(tempfile.mkdtemp(dir="/var/tmp", prefix="tinyml-hostile-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)
