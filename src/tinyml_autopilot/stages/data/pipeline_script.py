"""One pipeline.py that redoes every step from the raw data: python pipeline.py RAW_PATH OUT_DIR."""

from __future__ import annotations

import inspect
import pprint
from typing import Any

from . import spec

HEAD = '''"""Reproduces processed/ from the raw data, step by step, exactly as the data stage ran it.

Usage: python pipeline.py RAW_PATH OUT_DIR
Needs numpy, pandas and scikit-learn. Each step is the script that passed the stage's checks;
it runs in its own namespace and reads the previous step's output folder.
"""

import json
import shutil
import sys
import tempfile
from pathlib import Path

'''

TAIL = '''

def run_step(name, source, in_path, out_dir):
    namespace = {"__name__": f"step_{name}"}
    exec(compile(source, f"<step {name}>", "exec"), namespace)
    namespace["run"](Path(in_path), Path(out_dir))


def main(raw, out):
    out = Path(out)
    with tempfile.TemporaryDirectory() as tmp:
        current = Path(raw)
        for name, source in STEPS:
            target = Path(tmp) / name
            target.mkdir()
            print(f"step {name}", file=sys.stderr)
            run_step(name, source, current, target)
            current = target
        out.mkdir(parents=True, exist_ok=True)
        for name in OUTPUTS:
            shutil.copyfile(current / name, out / name)
        scaling = json.loads((current / "scaling.json").read_text())
    labels = json.loads((out / "labels.json").read_text())
    spec = build_spec(META, scaling, labels)
    (out / "feature_spec.json").write_text(json.dumps(spec, indent=2) + "\\n")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python pipeline.py RAW_PATH OUT_DIR")
    main(sys.argv[1], sys.argv[2])
'''

OUTPUTS = ["train.npz", "val.npz", "test.npz", "labels.json"]


def render(steps: list[tuple[str, str]], meta: dict[str, Any]) -> str:
    """`steps` are (name, code) in order, the first reading the raw data."""
    parts = [HEAD, "STEPS = [\n"]
    for name, code in steps:
        parts.append(f"    ({name!r}, {_literal(code)}),\n")
    parts.append("]\n\n")
    parts.append(f"OUTPUTS = {OUTPUTS!r}\n")
    parts.append(f"META = {pprint.pformat(meta, width=100, sort_dicts=False)}\n\n\n")
    parts.append(inspect.getsource(spec.build_spec))
    parts.append(TAIL)
    return "".join(parts)


def _literal(code: str) -> str:
    """A readable raw triple-quoted string where that is exact, else repr()."""
    if "'''" not in code and not code.endswith(("\\", "'")) and "\\'" not in code:
        return "r'''" + code + "'''"
    return repr(code)
