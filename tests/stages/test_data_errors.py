"""Bad input: one clear line on stderr, exit code 2, and the raw data untouched."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from .conftest_data import digest

CLI = Path(sys.executable).with_name("tinyml-autopilot")


def _csv(path: Path, rows: int, classes: list[str]) -> Path:
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(rows, 3)), columns=["a", "b", "c"])
    df["label"] = [classes[i % len(classes)] for i in range(rows)]
    df.to_csv(path, index=False)
    return path


def _make(kind: str, tmp: Path) -> tuple[Path, list[str]]:
    if kind == "missing":
        return tmp / "nope.csv", []
    if kind == "empty":
        (tmp / "empty.csv").write_text("")
        return tmp / "empty.csv", []
    if kind == "binary":
        (tmp / "data.csv").write_bytes(bytes(range(256)) * 8)
        return tmp / "data.csv", []
    if kind == "header-only":
        (tmp / "head.csv").write_text("a,b,label\n")
        return tmp / "head.csv", []
    if kind == "no-label":
        return _csv(tmp / "d.csv", 60, ["x", "y"]), ["--label", "activity"]
    if kind == "one-class":
        return _csv(tmp / "d.csv", 60, ["walk", "Walk "]), []
    if kind == "too-few":
        return _csv(tmp / "d.csv", 8, ["x", "y"]), []
    if kind == "npz-no-y":
        np.savez(tmp / "d.npz", X=np.zeros((10, 3)))
        return tmp / "d.npz", []
    if kind == "folder-one-class":
        (tmp / "caps").mkdir()
        (tmp / "caps" / "wave.csv").write_text("aX,aY\n1,2\n3,4\n")
        return tmp / "caps", []
    if kind == "misspelled-label":
        return _csv(tmp / "d.csv", 60, ["x", "y"]).rename(tmp / "gestures.csv"), ["--label", "lable"]
    if kind == "text-features":
        rows = [f"{c},{s},{lab}" for _ in range(20) for c, s, lab in (("red", "big", "a"), ("blue", "small", "b"))]
        (tmp / "d.csv").write_text("color,size,label\n" + "\n".join(rows) + "\n")
        return tmp / "d.csv", []
    if kind == "short-recordings":  # four recordings per class, but only two of 'flex' hold a window
        (tmp / "caps").mkdir()
        for cls, sizes in (("punch", [60] * 4), ("flex", [60, 20, 20, 60])):
            blocks = ["\n".join(f"{i},{i % 7},{i % 3}" for i in range(n)) for n in sizes]
            (tmp / "caps" / f"{cls}.csv").write_text("aX,aY,aZ\n" + "\n\n".join(blocks) + "\n")
        return tmp / "caps", ["--window", "50"]
    if kind == "npz-one-hot":
        np.savez(tmp / "d.npz", X=np.zeros((30, 3)), y=np.eye(3)[np.arange(30) % 3])
        return tmp / "d.npz", []
    if kind in ("folder-header-only", "folder-columns-differ"):
        (tmp / "caps").mkdir()
        (tmp / "caps" / "wave.csv").write_text("aX,aY,aZ\n" + "1,2,3\n" * 40)
        (tmp / "caps" / "punch.csv").write_text("aX,aY,aZ\n" if kind == "folder-header-only" else
                                               "aX,aY\n" + "1,2\n" * 40)
        return tmp / "caps", []
    raise AssertionError(kind)


EXPECTED = {
    "missing": "does not exist", "empty": "is empty", "binary": "binary file", "header-only": "no data rows",
    "no-label": "label column 'activity' is not in", "one-class": "one class only",
    "too-few": "needs at least", "npz-no-y": "needs arrays X and y", "folder-one-class": "at least two",
    "misspelled-label": "did you mean --label 'label'?", "text-features": "no numeric column is left",
    "npz-one-hot": "y.argmax(axis=1)",
    "short-recordings": "'flex' has 2 recordings with a segment of at least 50 samples",
    "folder-header-only": "punch.csv has no data rows", "folder-columns-differ": "every file needs the same columns",
}


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_bad_input_is_one_line_and_exit_2(kind, tmp_path):
    raw, extra = _make(kind, tmp_path)
    before = digest(raw) if raw.exists() else None
    env = {**os.environ, "COLUMNS": "250"}
    done = subprocess.run([str(CLI), "data", "--data", str(raw), "--out", str(tmp_path / "runs"), "--yes",
                           "--llm", "offline", *extra], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and EXPECTED[kind] in errors[0], done.stderr
    assert "Traceback" not in done.stderr
    if before is not None:
        assert digest(raw) == before


def test_required_step_cannot_be_dropped(tmp_path):
    raw = _csv(tmp_path / "d.csv", 90, ["x", "y", "z"])
    done = subprocess.run([str(CLI), "data", "--data", str(raw), "--out", str(tmp_path / "runs"), "--yes",
                           "--llm", "offline", "--drop-step", "1"], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "250"}, timeout=120)
    assert done.returncode == 2 and "required" in done.stderr
