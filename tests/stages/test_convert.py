"""The convert stage on trained fixtures: offline and scripted LLM, all quantization modes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from tinyml_autopilot.llm import get_model
from tinyml_autopilot.runs import Run, read_output
from tinyml_autopilot.stages import convert
from tinyml_autopilot.stages.base import StageContext
from tinyml_autopilot.stages.train_fixtures import cached_train_run

CLI = Path(sys.executable).with_name("tinyml-autopilot")
TEMPLATE = convert.packaged_script("convert_template.py").read_text()
pytestmark = pytest.mark.slow


def context(settings) -> StageContext:
    return StageContext(settings, get_model(settings), Run.create(settings.out, "convert"), Console(stderr=True))


@pytest.mark.parametrize("kind", ["tabular", "timeseries"])
@pytest.mark.parametrize("quant", ["int8", "float32", "float16", "dynamic"])
def test_offline_conversion(kind, quant, train_cache, offline_settings):
    train_run = cached_train_run(kind, train_cache)  # trained for the Uno: no --board means the Uno
    result = convert.run(context(offline_settings), data=train_run, quant=quant, emit="c" if quant == "int8" else None)
    assert result.ok, result.message
    art = result.run_dir / "artifacts"
    card = json.loads((art / "model_card.json").read_text())
    assert card["board"] == ("uno" if quant == "int8" else None)  # the Uno's C runtime takes int8 only
    io_dtype = "int8" if quant == "int8" else "float32"
    assert card["quant"] == quant and card["input_dtype"] == card["output_dtype"] == io_dtype
    assert card["input_shape"] == ([1, 13] if kind == "tabular" else [1, 40, 3])
    assert card["output_shape"] == [1, 3] and card["labels"] == json.loads(
        (Path(read_output(train_run, ("train",))["processed_dir"]) / "labels.json").read_text())
    assert card["accuracy_delta"] <= (1.0 if quant == "int8" else 0.5)
    assert card["model_bytes"] == (art / "model.tflite").stat().st_size
    assert all(op["tflm_supported"] for op in card["ops"]) and {"FULLY_CONNECTED", "SOFTMAX"} <= {
        op["name"] for op in card["ops"]}
    source = (art / "model_data.cc").read_text()
    assert "alignas(16) const unsigned char g_model_data[]" in source
    assert f"const unsigned int g_model_data_len = {card['model_bytes']};" in source
    assert len(re.findall(r"0x[0-9a-f]{2}", source)) == card["model_bytes"]
    if quant == "int8":
        assert card["input_scale"] > 0 and -128 <= card["input_zero_point"] <= 127
        assert card["arena_bytes"] > 0 and card["c_arena_bytes"] <= 1024 and card["c_weights_bytes"] < 24 * 1024
        assert "MODEL_INPUT_SIZE" in (art / "c" / "model.h").read_text()
        assert read_output(result.run_dir, ("convert",))["c_dir"] == str(art / "c")
    elif quant == "float32":
        assert card["arena_bytes"] > 0
    else:  # float16 / hybrid weights are valid TFLite that TFLite Micro cannot run: noted, not fatal
        assert card["arena_bytes"] is None and "TFLite Micro cannot run" in card["notes"][0]


FORGETS_INT8_IO = TEMPLATE.replace("    converter.inference_input_type = tf.int8\n", "").replace(
    "    converter.inference_output_type = tf.int8\n", "")


@pytest.mark.parametrize("kind", ["tabular", "timeseries"])
def test_llm_conversion_repaired_after_the_tensor_type_check(kind, train_cache, scripted, llm_settings):
    assert FORGETS_INT8_IO != TEMPLATE
    server = scripted([f"```python\n{FORGETS_INT8_IO}```", f"Fixed:\n```python\n{TEMPLATE}```"])
    result = convert.run(context(llm_settings(server)), data=cached_train_run(kind, train_cache), quant="int8")
    assert result.ok, result.message
    assert result.figures["attempts"] == 2 and result.figures["accuracy_delta"] <= 1.0
    first = server.requests[0]["messages"][-1]["content"]
    assert "inference_input_type = tf.int8" in first and "int8" in first
    repair = server.requests[1]["messages"][-1]["content"]
    assert "[tensor_types] input tensor is float32, int8 was asked" in repair
    attempt = json.loads((result.run_dir / "attempts" / "convert" / "01" / "attempt.json").read_text())
    assert attempt["category"] == "check" and attempt["checks"] == ["tensor_types"]


# The conversion an LLM usually writes: the loaded model as it is, so the batch stays open (-1).
PLAIN = """import json
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

cfg = json.loads(Path("convert_config.json").read_text())
model = keras.models.load_model(cfg["model_path"], compile=False)
converter = tf.lite.TFLiteConverter.from_keras_model(model)
converter.optimizations = [tf.lite.Optimize.DEFAULT]
samples = np.load(cfg["rep_data"])["X"].astype("float32")
converter.representative_dataset = lambda: ([s[None]] for s in samples)
converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
converter.inference_input_type = tf.int8
converter.inference_output_type = tf.int8
Path("model.tflite").write_bytes(converter.convert())
"""


def test_a_conv1d_model_for_harvard_tinymlx_is_rewritten_and_its_sketch_runs(train_cache, scripted, llm_settings,
                                                                              offline_settings):
    """The plain conversion of a Conv1D model has EXPAND_DIMS (no kernel in TFLite Micro 2.4) and an int32
    STRIDED_SLICE (no int32 case there): the convert stage rewrites both away, and the offline sketch for the
    Harvard_TinyMLx board then builds against the real library and agrees with the host model, on the host
    and on a Cortex-M4."""
    from stages import tflm_sketches as ts
    from tinyml_autopilot.checks import tflite
    from tinyml_autopilot.stages import sketch

    lib = ts.needs_library("Harvard_TinyMLx")
    train_run = cached_train_run("timeseries", train_cache)  # a Conv1D model from the search
    settings = llm_settings(scripted([f"```python\n{PLAIN}```"]), board="nano33ble_tinymlx",
                            libraries=str(lib.path.parent))
    result = convert.run(context(settings), data=train_run, quant="int8")
    assert result.ok, result.message
    art = result.run_dir / "artifacts"
    record = json.loads((art / "rewrite.json").read_text())
    assert record["ops_without_kernel"] == ["EXPAND_DIMS"] and record["int32_kernels_missing"] == ["STRIDED_SLICE"]
    assert record["outputs_equal"] is True and record["compared_on"].endswith("test samples")
    assert "EXPAND_DIMS" in tflite.inspect(art / record["as_converted"]).ops
    ops = tflite.inspect(art / "model.tflite").ops
    assert "CONV_2D" in ops and not {"EXPAND_DIMS", "STRIDED_SLICE"} & set(ops) and record["ops_after"] == list(
        dict.fromkeys(ops))
    card = json.loads((art / "model_card.json").read_text())
    assert card["rewrite"] == record and card["accuracy_delta"] <= 1.0
    sketch_settings = offline_settings.model_copy(update={"libraries": str(lib.path.parent)})
    ctx = StageContext(sketch_settings, get_model(sketch_settings), Run.create(sketch_settings.out, "sketch"),
                       Console(stderr=True))
    made = sketch.run(ctx, data=result.run_dir, board="nano33ble_tinymlx")
    assert made.ok, made.message
    assert made.figures["verdicts"]["run"] == "passed" and made.figures["verdicts"]["m4_run"] == "passed"
    assert "against Harvard_TinyMLx" in made.message


def test_llm_conversion_other_modes(train_cache, scripted, llm_settings):
    train_run = cached_train_run("timeseries", train_cache)
    server = scripted([f"```python\n{TEMPLATE}```"] * 3)
    for quant in ("float32", "float16", "dynamic"):
        result = convert.run(context(llm_settings(server)), data=train_run, quant=quant)
        assert result.ok and result.figures["quant"] == quant and result.figures["attempts"] == 1
    assert [f'"{q}"' in r["messages"][-1]["content"] for q, r in
            zip(("float32", "float16", "dynamic"), server.requests, strict=True)] == [True] * 3


def test_check_mode_on_a_converted_model(train_cache, offline_settings, tmp_path):
    train_run = cached_train_run("tabular", train_cache)
    result = convert.run(context(offline_settings), data=train_run)
    tflite = result.run_dir / "artifacts" / "model.tflite"
    proc = subprocess.run([str(CLI), "convert", "--check", str(tflite), "--board", "nano33ble", "--data",
                           str(train_run), "--json", "--out", str(tmp_path / "runs")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["findings"] == [] and out["quant"] == "int8" and out["arena_bytes"] > 0
    assert out["float_accuracy"] is not None and out["converted_accuracy"] >= 0.85
    proc = subprocess.run([str(CLI), "convert", "--check", str(tflite), "--quant", "float32", "--json", "--out",
                           str(tmp_path / "runs")], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "tensor_types: input tensor is int8; float32 keeps float32 inputs and outputs" in json.loads(
        proc.stdout)["findings"]


def test_the_train_run_board_is_used_when_it_runs_the_quantization(offline_settings, tmp_path):
    (tmp_path / "output.json").write_text(json.dumps({"stage": "train", "board": "nano33ble"}))
    boards = {}
    for quant in ("int8", "float32", "float16", "dynamic"):
        ctx = context(offline_settings)
        convert._board_of_the_train_run(ctx, tmp_path, quant)
        boards[quant] = ctx.settings.board
    assert boards == {"int8": "nano33ble", "float32": "nano33ble", "float16": None, "dynamic": None}


def test_a_negative_tolerance_is_refused(tmp_path):
    (tmp_path / "m.keras").write_bytes(b"never read")
    proc = subprocess.run([str(CLI), "convert", "--model", str(tmp_path / "m.keras"), "--tolerance", "-3", "--llm",
                           "offline", "--out", str(tmp_path / "runs")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: --tolerance -3 is not a number of accuracy points between 0 and 100"


def test_float_quantization_for_a_portable_c_board_is_refused_up_front(tmp_path):
    model = tmp_path / "model.keras"
    model.write_bytes(b"never read")
    for quant in ("float32", "float16", "dynamic"):
        proc = subprocess.run([str(CLI), "convert", "--model", str(model), "--quant", quant, "--board", "uno",
                               "--llm", "offline", "--out", str(tmp_path / "runs")], capture_output=True, text=True)
        assert proc.returncode == 2, proc.stderr
        lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and f"--quant {quant} cannot run on uno" in lines[0] and "int8" in lines[0]


def test_prompt_matches_the_model_form_and_the_quantization():
    from tinyml_autopilot.prompts import render

    saved = render("convert.j2", model_path="/m/saved", is_dir=True, input_shape=[13], quant="float16", tolerance=2)
    assert "TFLiteConverter.from_saved_model" in saved and "keras.models.load_model(path" not in saved
    assert "`rep_data` is null" in saved and "representative samples" not in saved
    keras_int8 = render("convert.j2", model_path="/m/a.keras", is_dir=False, input_shape=[13], quant="int8",
                        tolerance=2)
    assert "keras.models.load_model(path, compile=False)" in keras_int8 and "from_saved_model" not in keras_int8
    assert "holds representative samples from the training split" in keras_int8 and "is null" not in keras_int8


def test_representative_csv_with_or_without_a_header_keeps_every_row(tmp_path):
    from tinyml_autopilot.stages.train_data import _read_rep

    (tmp_path / "bare.csv").write_text("1,2,3,4\n5,6,7,8\n")
    (tmp_path / "named.csv").write_text("a,b,c,d\n1,2,3,4\n5,6,7,8\n")
    for name in ("bare.csv", "named.csv"):
        assert _read_rep(tmp_path / name).tolist() == [[1, 2, 3, 4], [5, 6, 7, 8]]
