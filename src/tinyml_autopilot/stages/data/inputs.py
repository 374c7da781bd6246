"""What the user passed: which of the supported input shapes it is, refused early when unusable."""

from __future__ import annotations

import csv
import difflib
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ...errors import UserError
from .csv_guard import guard_text_table

FILE_NAME_LABELS = {"file name", "filename", "file", "file_name"}
GUESSED_LABELS = ("label", "class", "target", "y", "activity", "gesture")
X_KEYS = ("X", "x", "data", "features")
Y_KEYS = ("y", "Y", "labels", "label", "target")


@dataclass
class Source:
    path: Path
    kind: str  # csv | folder | npz
    label: str  # the label column of the loaded table
    label_given: str  # as the user named it ("file name" for a folder of per-class files)
    x_key: str | None = None
    y_key: str | None = None
    sep: str = ","
    columns: list[str] | None = None  # a folder's channel names (files may lack a header line)
    decimal: str = "."


def inspect_source(data: Path | None, label: str | None) -> Source:
    """Classify the input; raise UserError with one line when it cannot be used."""
    if data is None:
        raise UserError("no input data: pass --data PATH (a CSV, a folder of per-class CSVs or an .npz)")
    path = Path(data).expanduser().resolve()
    if not path.exists():
        raise UserError(f"data path {path} does not exist: check --data")
    if path.is_dir():
        for file in sorted(path.glob("*.[cC][sS][vV]")):
            guard_text_table(file)
        return _folder(path, label)
    if path.stat().st_size == 0:
        raise UserError(f"{path} is empty: pass a file with data")
    if path.suffix.lower() == ".npz":
        return _npz(path)
    guard_text_table(path)
    return _csv(path, label)


def _folder(path: Path, label: str | None) -> Source:
    files = sorted(f for f in path.iterdir() if f.is_file() and f.suffix.lower() == ".csv")
    if not files:
        _refuse_run_folder(path)
        nested = sorted({f.parent for f in path.rglob("*") if f.suffix.lower() == ".csv"
                         and not _inside_a_run(f, path)})
        if nested:
            raise UserError(f"folder {path} has no .csv files itself but {nested[0]} has: pass --data {nested[0]}")
        raise UserError(f"folder {path} has no .csv files: pass one CSV per class (the file name is the label)")
    if label and label.lower() not in FILE_NAME_LABELS:
        raise UserError(f"--label {label!r} does not apply to a folder of per-class CSVs: "
                        "the file name is the label (use --label 'file name')")
    if len(files) < 2:
        raise UserError(f"folder {path} has one class file ({files[0].name}): a classifier needs at least two")
    return Source(path, "folder", "label", "file name", columns=_folder_columns(files))


def _refuse_run_folder(path: Path) -> None:
    """A run folder of this tool is not raw data: say what to pass instead, never a folder inside it."""
    if not ((path / "metrics.json").is_file() and (path / "attempts").is_dir()):
        return
    if (path / "processed" / "feature_spec.json").is_file():
        raw = sorted(p for p in (path / "inputs").glob("*") if p.name != ".keep") if (path / "inputs").is_dir() else []
        again = f"; to redo it, pass the raw data (kept as {raw[0]})" if raw else ""
        raise UserError(f"{path} is a data run folder (already processed): pass it to `train --data {path}`{again}")
    raise UserError(f"{path} is a run folder of this tool, not raw data: pass --data with a CSV, a folder of "
                    "per-class CSVs or an .npz")


def _inside_a_run(file: Path, top: Path) -> bool:
    """Files under a run's attempts/ (or any run folder below `top`) are the tool's own, never raw data."""
    for parent in file.relative_to(top).parents:
        folder = top / parent
        if folder != top and (folder / "metrics.json").is_file() and (folder / "attempts").is_dir():
            return True
    return "attempts" in file.relative_to(top).parts


def _folder_columns(files: list[Path]) -> list[str]:
    """The channel names all files share: their header line, or c0.. when no file has one."""
    headers: dict[Path, list[str] | None] = {}
    widths: dict[Path, int] = {}
    for file in files:
        if file.stat().st_size == 0:
            raise UserError(f"{file} is empty: remove it or record data into it")
        _require_text(file)
        lines = [line.strip() for line in file.read_text(encoding="utf-8", errors="replace").splitlines()]
        lines = [line for line in lines if line]
        cells = [c.strip() for c in lines[0].split(",")] if lines else []
        named = bool(cells) and not all(_is_number(c) for c in cells)
        data = lines[1:] if named else lines
        if not data:
            raise UserError(f"{file} has no data rows (only a header): remove it or record data into it")
        headers[file] = cells if named else None
        widths[file] = Counter(len(line.split(",")) for line in data[:50]).most_common(1)[0][0]
    named = {f: h for f, h in headers.items() if h is not None}
    columns = next(iter(named.values()), None) or [f"c{i}" for i in range(widths[files[0]])]
    for file in files:
        if headers[file] is not None and headers[file] != columns:
            raise UserError(f"{file.name} has columns {','.join(headers[file])} but {next(iter(named)).name} has "
                            f"{','.join(columns)}: every file needs the same columns in the same order")
        if widths[file] != len(columns):
            raise UserError(f"{file.name} has rows of {widths[file]} values but the columns are "
                            f"{','.join(columns)}: every file needs the same columns")
    return columns


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _npz(path: Path) -> Source:
    import numpy as np

    if not zipfile.is_zipfile(path):
        raise UserError(f"{path} is not a valid .npz archive: save it with numpy.savez(X=..., y=...)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = list(archive.files)
            x_key = next((k for k in X_KEYS if k in keys), None)
            y_key = next((k for k in Y_KEYS if k in keys), None)
            if x_key is None or y_key is None:
                raise UserError(f"{path} needs arrays X and y (it has: {', '.join(keys) or 'none'}): "
                                "save it with numpy.savez(path, X=X, y=y)")
            n_x, n_y = len(archive[x_key]), len(archive[y_key])
            x_dims, y_shape = archive[x_key].ndim, archive[y_key].shape
    except (OSError, ValueError) as err:
        raise UserError(f"cannot read {path} as .npz ({err}): save it with numpy.savez(X=..., y=...)") from err
    if n_x != n_y:
        raise UserError(f"{path}: X has {n_x} examples but y has {n_y}: they must match")
    if len(y_shape) != 1 and y_shape[1:] != (1,):
        raise UserError(f"{path}: y is shaped {y_shape}; it needs one class per example (one-hot y: save "
                        "y.argmax(axis=1))")
    if x_dims not in (2, 3):
        raise UserError(f"{path}: X must be (examples, features) or (examples, time, channels), not {x_dims}-D")
    return Source(path, "npz", "label", "y", x_key=x_key, y_key=y_key)


def _csv(path: Path, label: str | None) -> Source:
    import pandas as pd

    _require_text(path)
    sep = _separator(path)
    try:
        head = pd.read_csv(path, nrows=50, sep=sep, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise UserError(f"{path} is not a readable CSV ({str(err).splitlines()[0]}): check the file") from err
    columns = [str(c) for c in head.columns]
    if len(columns) < 2 or head.empty:
        raise UserError(f"{path} has no data rows or only one column: a CSV needs feature columns and a label column")
    if label is None:
        label = next((c for c in columns if c.lower() in GUESSED_LABELS), None)
        if label is None:
            raise UserError(f"which column is the label? pass --label (columns: {', '.join(columns[:12])})")
    if label not in columns:
        match = next((c for c in columns if c.lower() == label.lower()), None)
        if match is None:
            close = difflib.get_close_matches(label.lower(), [c.lower() for c in columns], n=1, cutoff=0.6)
            hint = f"did you mean --label {columns[[c.lower() for c in columns].index(close[0])]!r}? " if close else ""
            raise UserError(f"label column {label!r} is not in {path.name}: {hint}"
                            f"(columns: {', '.join(columns[:12])})")
        label = match
    return Source(path, "csv", label, label, sep=sep, decimal=_decimal(head, sep))


def _decimal(head, sep: str) -> str:
    """',' when the separator is not a comma and numbers are written 3,14 (European spreadsheets)."""
    if sep == ",":
        return "."
    text = head.select_dtypes(exclude="number").astype("string").stack()
    return "," if len(text) and text.str.fullmatch(r"\s*-?\d+,\d+\s*").mean() > 0.5 else "."


def _separator(path: Path) -> str:
    """',' unless the header clearly splits on another delimiter (';' from European spreadsheets, tabs)."""
    with path.open(encoding="utf-8", errors="replace") as fh:
        sample = "".join(fh.readline() for _ in range(20))
    if "," in sample.splitlines()[0]:
        return ","
    try:
        return csv.Sniffer().sniff(sample, delimiters=";\t|").delimiter
    except csv.Error:
        return ","


def _require_text(path: Path) -> None:
    with path.open("rb") as fh:
        chunk = fh.read(8192)
    if b"\x00" in chunk:
        raise UserError(f"{path} is a binary file, not a CSV: pass a text CSV, a folder of CSVs or an .npz")
    try:
        chunk.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start < len(chunk) - 4:  # a multi-byte character cut at the chunk's end is fine
            raise UserError(f"{path} is not UTF-8 text: save it as a UTF-8 CSV") from err
    if not chunk.strip():
        raise UserError(f"{path} is empty: pass a file with data")
