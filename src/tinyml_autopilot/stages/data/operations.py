"""Built-in implementations of the common operations, as code run in the sandbox like LLM code.

Every step is a script: `run(in_dir, out_dir)` reads the previous step's files and writes its
own; `python step.py IN OUT` runs it alone. CONFIG holds the values the stage decided.
"""

from __future__ import annotations

import pprint
from typing import Any

from .ops_arrays import SCALE, SPLIT, WINDOW

# operation -> what it reads and writes (the prompts and checks use the phase)
PHASES = {
    "load": "load",
    "drop_columns": "table",
    "coerce_numeric": "table",
    "normalise_labels": "table",
    "deduplicate": "table",
    "impute": "table",
    "window": "window",
    "split": "split",
    "scale": "scale",
}
REQUIRED = ("window", "split", "scale")  # the tail of every table, in this order (window: time series only)
ALIASES = {"normalize_labels": "normalise_labels", "drop_duplicates": "deduplicate", "dedupe": "deduplicate",
           "fill_missing": "impute", "segment": "window", "windowing": "window", "standardize": "scale",
           "normalize": "scale", "train_test_split": "split", "drop_columns": "drop_columns",
           "coerce_types": "coerce_numeric", "to_numeric": "coerce_numeric"}

HEADER = '''"""{title}"""

import io
import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

CONFIG = {config}


def read_table(in_dir):
    names = (CONFIG["label"], CONFIG.get("group"), CONFIG.get("segment"), CONFIG.get("split_column"))
    text_columns = {{c: str for c in names if c}}
    return pd.read_csv(Path(in_dir) / "data.csv", dtype=text_columns, low_memory=False)


def write_table(df, out_dir):
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    df.to_csv(out_dir / "data.csv", index=False)

'''

FOOTER = '''

if __name__ == "__main__":
    run(Path(sys.argv[1]), Path(sys.argv[2]))
'''

LOAD = '''
def read_folder(folder, prefix=""):
    """One CSV per class; blank lines separate recordings (as Arduino IMU capture sketches write).

    Header lines (also repeated ones, after a board reset) and lines that do not hold one value per
    column (status messages) are skipped.
    """
    columns = CONFIG["columns"]
    header = ",".join(columns)
    frames, skipped = [], 0
    files = sorted(p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() == ".csv")
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        blocks = [b for b in re.split(r"\\n[ \\t\\r]*\\n", text.strip()) if b.strip()]
        for number, block in enumerate(blocks):
            lines = [line.strip() for line in block.splitlines()]
            rows = [line for line in lines if line.replace(" ", "") != header and line.count(",") == len(columns) - 1]
            skipped += sum(1 for line in lines if line.replace(" ", "") != header) - len(rows)
            if not rows:
                continue
            part = pd.read_csv(io.StringIO("\\n".join(rows)), header=None, names=columns, skipinitialspace=True)
            part.insert(0, "sample", np.arange(len(part)))
            part["recording"] = f"{prefix}{path.stem}-{number:03d}"
            part["label"] = path.stem
            frames.append(part)
    if skipped:
        print(f"skipped {skipped} lines that are not one value per column", file=sys.stderr)
    return pd.concat(frames, ignore_index=True)


def read_npz(path, prefix=""):
    with np.load(path, allow_pickle=False) as archive:
        x, y = archive[CONFIG["x_key"]], archive[CONFIG["y_key"]].reshape(-1)
    if y.dtype.kind == "f" and np.isfinite(y).all() and (y == np.round(y)).all():
        y = y.astype(np.int64)  # class numbers stored as floats: 1.0 is class "1"
    y = y.astype(str)
    if x.ndim == 2:
        df = pd.DataFrame(x, columns=[f"f{i}" for i in range(x.shape[1])])
        df["label"] = y
        return df
    n, steps = x.shape[:2]
    x = x.reshape(n * steps, -1)
    df = pd.DataFrame(x, columns=[f"c{i}" for i in range(x.shape[1])])
    df.insert(0, "sample", np.tile(np.arange(steps), n))
    df["recording"] = np.repeat([f"{prefix}r{i:06d}" for i in range(n)], steps)
    df["label"] = np.repeat(y, steps)
    return df


def read_input(path, prefix=""):
    source = CONFIG["source"]
    if source == "folder":
        return read_folder(path, prefix)
    if source == "npz":
        return read_npz(path, prefix)
    return pd.read_csv(path, dtype={CONFIG["label"]: str}, sep=CONFIG.get("sep") or ",",
                       decimal=CONFIG.get("decimal") or ".", skipinitialspace=True, low_memory=False)


def run(in_path, out_dir):
    df = read_input(in_path)
    if CONFIG.get("test_path"):  # a given test set: one table, each row marked with the split it belongs to
        test = read_input(Path(CONFIG["test_path"]), prefix="test-")
        df = pd.concat([df.assign(given_split="train"), test.assign(given_split="test")], ignore_index=True)
    write_table(df, out_dir)

'''

DROP_COLUMNS = '''
def run(in_dir, out_dir):
    df = read_table(in_dir)
    df = df.drop(columns=[c for c in CONFIG["columns"] if c in df.columns])
    write_table(df, out_dir)
'''

COERCE_NUMERIC = '''
def run(in_dir, out_dir):
    df = read_table(in_dir)
    for column in CONFIG["columns"]:
        text = df[column].astype("string").str.strip()
        df[column] = pd.to_numeric(text, errors="coerce").astype("float64")
    write_table(df, out_dir)
'''

NORMALISE_LABELS = '''
def run(in_dir, out_dir):
    df = read_table(in_dir)
    label = CONFIG["label"]
    df[label] = df[label].str.strip().str.lower().str.replace(r"[\\s_-]+", " ", regex=True)
    write_table(df, out_dir)
'''

DEDUPLICATE = '''
def run(in_dir, out_dir):
    df = read_table(in_dir)
    write_table(df.drop_duplicates(keep="first"), out_dir)
'''

IMPUTE = '''
def run(in_dir, out_dir):
    df = read_table(in_dir)
    if not CONFIG.get("keep_unlabelled"):  # a time series keeps them: the window step cuts there
        df = df[df[CONFIG["label"]].notna()].reset_index(drop=True)
    df[CONFIG["features"]] = df[CONFIG["features"]].replace([np.inf, -np.inf], np.nan)
    columns = [c for c in CONFIG["features"] if df[c].isna().any()]
    if columns and CONFIG["group"]:
        # within a recording, a gap is filled from its neighbours in time
        df[columns] = df.groupby(CONFIG["group"], sort=False)[columns].transform(
            lambda s: s.interpolate(limit_direction="both"))
    for column in columns:
        df[column] = df[column].fillna(df[column].median())
    write_table(df, out_dir)
'''

BODIES = {"load": LOAD, "drop_columns": DROP_COLUMNS, "coerce_numeric": COERCE_NUMERIC,
          "normalise_labels": NORMALISE_LABELS, "deduplicate": DEDUPLICATE, "impute": IMPUTE,
          "window": WINDOW, "split": SPLIT, "scale": SCALE}


def canonical(name: str) -> str:
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    return ALIASES.get(key, key)


def phase(operation: str) -> str:
    return PHASES.get(canonical(operation), "table")


def has_template(operation: str) -> bool:
    return canonical(operation) in BODIES


def code_for(operation: str, config: dict[str, Any]) -> str:
    """The built-in script for `operation` with `config` baked in."""
    name = canonical(operation)
    title = f"Step: {name} (built-in). Usage: python this.py IN OUT"
    literal = pprint.pformat(config, indent=4, width=100, sort_dicts=False)
    return HEADER.format(title=title, config=literal) + BODIES[name] + FOOTER
