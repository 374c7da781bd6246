"""Find the processed data a training or conversion run reads, whatever form `--data` takes.

Accepted: a data run folder (its output.json), a `processed/` folder, or one .npz with X/y
(split here, deterministically, into a new processed/ folder inside the run; the user's file
is never modified).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UserError
from ..runs import Run, read_output

SPLITS = ("train", "val", "test")


@dataclass
class Processed:
    dir: Path
    feature_spec: dict[str, Any]
    labels: list[str]

    @property
    def input_shape(self) -> list[int]:
        return [int(n) for n in self.feature_spec["input_shape"]]

    @property
    def n_classes(self) -> int:
        return len(self.labels)

    def split(self, name: str) -> Path:
        return self.dir / f"{name}.npz"

    def load(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        with np.load(self.split(name)) as arrays:
            return arrays["X"].astype(np.float32), arrays["y"].astype(np.int64)


def resolve_processed(data: Path | None, run: Run, stages: tuple[str, ...] = ("data",)) -> Processed:
    """The processed data behind `--data` (UserError when it is none of the accepted forms)."""
    if data is None:
        raise UserError("no input data: pass --data with a data run folder, a processed/ folder "
                        "or an .npz with X and y")
    data = Path(data).expanduser()
    if not data.exists():
        raise UserError(f"{data} does not exist: check --data")
    if data.is_file():
        if data.suffix != ".npz":
            raise UserError(f"{data} is not an .npz file: pass a data run folder, a processed/ folder or an .npz")
        return split_npz(data, run.path("processed", ".keep").parent)
    if (data / "train.npz").is_file():
        return load_processed(data)
    if (data / "processed" / "train.npz").is_file() and not (data / "output.json").is_file():
        return load_processed(data / "processed")
    out = read_output(data, stages)
    if not out.get("processed_dir"):
        raise UserError(f"{data}: its output.json names no processed_dir; run the data stage again")
    return load_processed(Path(out["processed_dir"]))


def load_processed(folder: Path) -> Processed:
    missing = [f"{s}.npz" for s in SPLITS if not (folder / f"{s}.npz").is_file()]
    if missing:
        raise UserError(f"{folder} lacks {', '.join(missing)}: pass the data stage's processed/ folder")
    spec_file, labels_file = folder / "feature_spec.json", folder / "labels.json"
    with np.load(folder / "train.npz") as arrays:
        if "X" not in arrays or "y" not in arrays:
            raise UserError(f"{folder / 'train.npz'} has no X/y arrays: it must hold X (samples) and y (class index)")
        x_shape, y = arrays["X"].shape, arrays["y"]
    spec = json.loads(spec_file.read_text()) if spec_file.is_file() else infer_spec(x_shape)
    if list(spec.get("input_shape", [])) != list(x_shape[1:]):
        raise UserError(f"{spec_file}: input_shape {spec.get('input_shape')} does not match train.npz X "
                        f"{list(x_shape[1:])}: rerun the data stage")
    labels = (json.loads(labels_file.read_text()) if labels_file.is_file()
              else spec.get("labels") or [str(i) for i in range(int(y.max()) + 1)])
    return Processed(dir=folder.resolve(), feature_spec=spec, labels=[str(s) for s in labels])


def infer_spec(x_shape: tuple[int, ...]) -> dict[str, Any]:
    kind = "tabular" if len(x_shape) == 2 else "timeseries"
    names = [f"f{i}" for i in range(x_shape[-1])]
    return {"kind": kind, "input_shape": list(x_shape[1:]),
            ("feature_columns" if kind == "tabular" else "channels"): names,
            "window": x_shape[1] if kind == "timeseries" else None, "stride": None, "sample_rate_hz": None,
            "scaling": {"method": "none", "offset": [0.0] * len(names), "scale": [1.0] * len(names)},
            "label_column": "y", "labels": []}


def split_npz(path: Path, folder: Path, seed: int = 0) -> Processed:
    """Split one X/y archive 70/15/15 (stratified where possible) into `folder`."""
    from sklearn.model_selection import train_test_split

    try:
        with np.load(path) as arrays:
            x, y = arrays["X"].astype(np.float32), arrays["y"].astype(np.int64)
    except (KeyError, ValueError, OSError) as err:
        raise UserError(f"{path}: cannot read arrays X and y ({err}): "
                        "save them with np.savez(path, X=..., y=...)") from err
    if x.ndim < 2 or len(x) != len(y) or len(x) < 10:
        raise UserError(f"{path}: X {x.shape} and y {y.shape} must have the same number (>= 10) of samples")
    counts = np.bincount(y)
    strat = y if counts[counts > 0].min() >= 3 else None
    x_tr, x_rest, y_tr, y_rest = train_test_split(x, y, test_size=0.3, random_state=seed, stratify=strat)
    strat = y_rest if strat is not None and np.bincount(y_rest)[np.bincount(y_rest) > 0].min() >= 2 else None
    x_va, x_te, y_va, y_te = train_test_split(x_rest, y_rest, test_size=0.5, random_state=seed, stratify=strat)
    folder.mkdir(parents=True, exist_ok=True)
    for name, xs, ys in (("train", x_tr, y_tr), ("val", x_va, y_va), ("test", x_te, y_te)):
        np.savez(folder / f"{name}.npz", X=xs, y=ys)
    spec = infer_spec(x.shape)
    spec["labels"] = [str(i) for i in range(int(y.max()) + 1)]
    (folder / "feature_spec.json").write_text(json.dumps(spec, indent=2))
    (folder / "labels.json").write_text(json.dumps(spec["labels"]))
    return load_processed(folder)


def representative_npz(processed: Processed | None, rep_data: Path | None, folder: Path,
                       input_shape: list[int], limit: int = 300) -> Path:
    """Write rep.npz (X only, float32) from --rep-data (NPZ/CSV) or the training split."""
    if rep_data is not None:
        x = _read_rep(Path(rep_data).expanduser())
    elif processed is not None:
        x, _ = processed.load("train")
    else:
        raise UserError("no representative data: pass --rep-data (NPZ with X, or CSV) or --data with processed data")
    want = tuple(input_shape)
    if x.ndim == len(want) and tuple(x.shape) == want:
        x = x[None]
    if x.ndim == 2 and len(want) > 1 and x.shape[1] == int(np.prod(want)):
        x = x.reshape(len(x), *want)
    if tuple(x.shape[1:]) != want:
        raise UserError(f"representative data has samples shaped {list(x.shape[1:])} but the model expects "
                        f"{list(want)}: pass --rep-data with matching samples")
    rng = np.random.default_rng(0)
    idx = np.sort(rng.permutation(len(x))[:limit])
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "rep.npz"
    np.savez(target, X=x[idx].astype(np.float32))
    return target


def _read_rep(path: Path) -> np.ndarray:
    if not path.is_file():
        raise UserError(f"{path} does not exist: check --rep-data")
    try:
        if path.suffix == ".npz":
            with np.load(path) as arrays:
                return np.asarray(arrays["X"] if "X" in arrays else arrays[arrays.files[0]], dtype=np.float32)
        if path.suffix == ".csv":
            import pandas as pd

            frame = pd.read_csv(path)
            if pd.to_numeric(frame.columns, errors="coerce").notna().all():  # no header: the first row is data
                frame = pd.read_csv(path, header=None)
            return frame.select_dtypes("number").to_numpy(np.float32)
    except (ValueError, OSError, KeyError, IndexError) as err:
        raise UserError(f"cannot read {path} ({err}): --rep-data takes an .npz with X or a numeric CSV") from err
    raise UserError(f"{path}: --rep-data takes an .npz (array X) or a .csv of numeric columns")
