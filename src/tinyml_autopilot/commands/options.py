"""Numeric options checked before anything runs: a wrong number is one line, not a traceback later."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..checks.model_file import is_tflite, looks_like
from ..errors import UserError

# option -> (low, high, low included, what it is); None: unbounded on that side
BOUNDS: dict[str, tuple[float | None, float | None, bool, str]] = {
    "window": (1, None, True, "a number of samples per window of at least 1"),
    "stride": (1, None, True, "a number of samples between window starts of at least 1"),
    "rate": (0, None, False, "a sample rate in Hz above 0"),
    "test_size": (0, 1, False, "a share between 0 and 1 (exclusive), e.g. 0.2"),
    "val_size": (0, 1, True, "a share from 0 to below 1, e.g. 0.1"),
    "seed": (0, 2**32 - 1, True, f"a seed from 0 to {2**32 - 1}"),
    "epochs": (1, 100_000, True, "a number of epochs of at least 1"),
    "tolerance": (0, 100, True, "a number of accuracy points between 0 and 100"),
    "flash_kb": (0, None, False, "a number of kilobytes above 0"),
    "ram_kb": (0, None, False, "a number of kilobytes above 0"),
    "drop_steps": (1, None, True, "a step number of the proposal, from 1"),
}
FLAGS = {"drop_steps": "--drop-step"}
# a value of 1.0 makes no test split; a test share plus a validation share must leave training data
SHARES = ("test_size", "val_size")


def check_numbers(values: dict[str, Any]) -> None:
    """Raise one UserError line for the first numeric option out of its range."""
    for key, value in values.items():
        if key not in BOUNDS or value is None or isinstance(value, bool):
            continue
        for item in value if isinstance(value, (list, tuple)) else [value]:
            _check(key, item)
    test, val = (values.get(k) for k in SHARES)
    if isinstance(test, (int, float)) and isinstance(val, (int, float)) and test + val >= 1:
        raise UserError(f"--test-size {test:g} and --val-size {val:g} leave nothing to train on: "
                        "keep their sum below 1")


def _check(key: str, value: Any) -> None:
    low, high, low_included, what = BOUNDS[key]
    flag = FLAGS.get(key, "--" + key.replace("_", "-"))
    if not isinstance(value, (int, float)) or math.isnan(value) or math.isinf(value):
        raise UserError(f"{flag} {value!r} is not {what}")
    too_low = low is not None and (value < low or (value == low and not low_included))
    too_high = high is not None and value > high
    if too_low or too_high:
        raise UserError(f"{flag} {value:g} is not {what}")


# (stage, option) -> (test of the file's first bytes, what the option takes); convert --model is
# checked by the stage, after its other options
MODEL_FILES = {
    ("sketch", "model"): (is_tflite, "a .tflite model"),
    ("convert", "check"): (is_tflite, "a .tflite model"),
}


def check_model_files(stage: str, values: dict[str, Any]) -> None:
    """A model option given a file of another kind (an image, a CSV) is named for what it looks like."""
    for (where, key), (fits, takes) in MODEL_FILES.items():
        path = values.get(key)
        if where != stage or path is None or not Path(path).is_file() or fits(Path(path)):
            continue
        raise UserError(f"{path} is not {takes}: it looks like {looks_like(Path(path))} (check --{key})")
