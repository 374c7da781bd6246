"""Bad input refused early with one line and exit 2, before any run folder is made where possible."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

EXE = str(Path(sys.executable).with_name("tinyml-autopilot"))


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "300"}
    return subprocess.run([EXE, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=120)


def one_error_line(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.fixture
def iris_csv(tmp_path: Path) -> Path:
    from sklearn.datasets import load_iris

    path = tmp_path / "iris.csv"
    load_iris(as_frame=True).frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(("option", "value", "words"), [
    ("--seed", "-1", "--seed -1 is not a seed from 0 to"),
    ("--test-size", "1.5", "--test-size 1.5 is not a share between 0 and 1"),
    ("--window", "0", "--window 0 is not a number of samples per window of at least 1"),
    ("--rate", "nan", "--rate nan is not a sample rate in Hz above 0"),
])
def test_numeric_options_are_checked_before_any_run_folder(tmp_path, iris_csv, option, value, words):
    result = cli("data", "--data", str(iris_csv), "--label", "target", "--llm", "offline", "--out", "runs",
                 option, value, cwd=tmp_path)
    assert words in one_error_line(result)
    assert not (tmp_path / "runs").exists()


def test_train_and_convert_numbers_are_checked_too(tmp_path, iris_csv):
    assert "--epochs 0" in one_error_line(cli("train", "--data", str(iris_csv), "--epochs", "0", "--out", "runs",
                                              cwd=tmp_path))
    assert "--tolerance -3" in one_error_line(cli("convert", "--data", str(iris_csv), "--tolerance", "-3",
                                                  "--out", "runs", cwd=tmp_path))
    assert not (tmp_path / "runs").exists()


def test_an_enormous_header_line_is_refused_at_once(tmp_path):
    path = tmp_path / "wide.csv"
    with path.open("w") as fh:  # 2.5 million columns: pandas alone would take minutes and gigabytes
        fh.write(",".join(f"c{i}" for i in range(2_500_000)) + "\n")
        fh.write(",".join("1" for _ in range(2_500_000)) + "\n")
    start = time.monotonic()
    line = one_error_line(cli("data", "--data", str(path), "--label", "c0", "--llm", "offline", "--out", "runs",
                              cwd=tmp_path))
    assert time.monotonic() - start < 30
    assert "header line" in line and ("columns" in line or "longer than" in line)


def test_a_wide_but_reasonable_table_passes_the_guard(tmp_path):
    from tinyml_autopilot.stages.data.csv_guard import guard_text_table

    path = tmp_path / "spectra.csv"
    path.write_text(",".join(f"f{i}" for i in range(5000)) + ",label\n" + ",".join(["0.5"] * 5000) + ",a\n")
    guard_text_table(path)  # no error


def test_a_utf16_csv_is_named_as_utf16(tmp_path, iris_csv):
    for codec in ("utf-16", "utf-16-le"):  # with and without a byte-order mark
        path = tmp_path / f"iris-{codec}.csv"
        path.write_bytes(iris_csv.read_text().encode(codec))
        line = one_error_line(cli("data", "--data", str(path), "--label", "target", "--llm", "offline",
                                  "--out", "runs", cwd=tmp_path))
        assert "UTF-16" in line and "save it as UTF-8" in line and "binary" not in line


def _png(path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    png = path.with_name(path.name + ".png")
    plt.imsave(png, np.random.default_rng(0).random((8, 8)))
    return png.rename(path)


def test_a_png_given_as_a_tflite_model_is_named(tmp_path):
    png = _png(tmp_path / "model.tflite")
    line = one_error_line(cli("convert", "--check", str(png), "--out", "runs", cwd=tmp_path))
    assert "not a .tflite model" in line and "PNG image" in line and "unpack_from" not in line
    line = one_error_line(cli("sketch", "--model", str(png), "--labels", "a,b", "--board", "uno", "--llm",
                              "offline", "--out", "runs", cwd=tmp_path))
    assert "not a .tflite model" in line and "PNG image" in line and "unpack_from" not in line
    assert not (tmp_path / "runs").exists()
    from tinyml_autopilot.checks.tflite import LoadFailed, inspect

    with pytest.raises(LoadFailed, match="not a TFLite model: it looks like a PNG image"):
        inspect(png)  # generated conversion code writing an image is told so too


def test_a_png_given_as_a_keras_model_is_named(tmp_path):
    png = _png(tmp_path / "model.keras")
    line = one_error_line(cli("convert", "--model", str(png), "--llm", "offline", "--out", "runs",
                                  cwd=tmp_path))
    assert "PNG image" in line and "--model takes a .keras or .h5 file" in line


def test_convert_check_of_a_corrupt_model_exits_2(tmp_path):
    tflm = pytest.importorskip("tflite_micro", reason="tflite-micro (the arena probe's interpreter) is absent")
    good = (Path(tflm.__file__).parent / "python" / "tflite_micro" / "sine_float.tflite").read_bytes()
    corrupt = tmp_path / "corrupt.tflite"
    corrupt.write_bytes(good[:64] + b"\x00" * 32)  # a TFLite header, the rest cut off
    line = one_error_line(cli("convert", "--check", str(corrupt), "--out", "runs", cwd=tmp_path))
    assert "corrupt.tflite" in line and "--check takes a .tflite model" in line


def test_a_yaml_config_that_is_a_list(tmp_path, iris_csv):
    config = tmp_path / "tinyml-autopilot.yaml"
    config.write_text("- llm: openai/gpt-4o\n- max_attempts: 3\n")
    line = one_error_line(cli("data", "--data", str(iris_csv), "--config", str(config), cwd=tmp_path))
    assert "holds a list, not settings" in line and "dictionary update" not in line
