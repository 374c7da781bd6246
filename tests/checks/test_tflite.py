"""The .tflite checks on models built here: unsupported ops, corrupt files, oversize models, bad inputs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinyml_autopilot.checks import tflite
from tinyml_autopilot.stages.convert_output import c_array

CLI = Path(sys.executable).with_name("tinyml-autopilot")
RNG = np.random.default_rng(0)
X13 = RNG.normal(size=(64, 13)).astype(np.float32)


def to_tflite(model, path: Path, int8: bool, dynamic: bool = False) -> Path:
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if dynamic:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if int8:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([x[None]] for x in X13)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = converter.inference_output_type = tf.int8
    path.write_bytes(converter.convert())
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    import keras

    keras.utils.set_random_seed(0)
    folder = tmp_path_factory.mktemp("models")

    def mlp(*layers):
        head = keras.layers.Dense(3, activation="softmax")
        return keras.Sequential([keras.Input((13,), batch_size=1), *layers, head])

    gelu = mlp(keras.layers.Dense(8, activation="gelu"))
    big = mlp(keras.layers.Dense(256, activation="relu"), keras.layers.Dense(128, activation="relu"))
    small = mlp(keras.layers.Dense(8, activation="relu"))
    tanh = mlp(keras.layers.Dense(8, activation="tanh"))
    for name, model in (("gelu", gelu), ("big", big)):
        model.save(folder / f"{name}.keras")
    (folder / "corrupt.keras").write_bytes(b"PK\x03\x04 not really a zip")
    (folder / "corrupt.tflite").write_bytes((folder / "corrupt.keras").read_bytes() * 20)
    np.savez(folder / "rep.npz", X=X13)
    np.savez(folder / "rep_wrong.npz", X=X13[:, :5])
    np.save(folder / "small_keras_classes.npy", np.argmax(small.predict(X13, verbose=0), axis=-1))
    return {"gelu_tflite": to_tflite(gelu, folder / "gelu.tflite", int8=False),
            "small_int8": to_tflite(small, folder / "small.tflite", int8=True),
            "small_float": to_tflite(small, folder / "small_f32.tflite", int8=False),
            "tanh_int8": to_tflite(tanh, folder / "tanh.tflite", int8=True),
            "big_float": to_tflite(big, folder / "big_f32.tflite", int8=False),
            "big_dynamic": to_tflite(big, folder / "big_dynamic.tflite", int8=False, dynamic=True),
            **{p.stem if p.suffix != ".tflite" else p.name: p for p in folder.iterdir()}}


def cli(*args: str, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(CLI), "convert", *args, "--out", str(out), "--llm", "offline"],
                          capture_output=True, text=True)


def test_unsupported_tflm_op_is_a_finding(models, tmp_path):
    proc = cli("--check", str(models["gelu_tflite"]), "--json", out=tmp_path)
    assert proc.returncode == 1
    findings = json.loads(proc.stdout)["findings"]
    assert len(findings) == 1  # the arena probe's "Didn't find op" would only repeat it
    assert "tflm_ops: op GELU not supported by TensorFlow Lite Micro" in findings[0]
    card = json.loads(next(tmp_path.glob("*/artifacts/model_card.json")).read_text())
    assert {"name": "GELU", "tflm_supported": False} in card["ops"]


@pytest.mark.slow
def test_conversion_of_a_model_with_an_unsupported_op_fails_with_the_finding(models, tmp_path):
    proc = cli("--model", str(models["gelu"]), "--rep-data", str(models["rep"]), "--json", out=tmp_path)
    assert proc.returncode == 1
    out = json.loads(proc.stdout)
    assert out["status"] == "failed" and "tflm_ops: op GELU not supported" in out["message"]


def test_corrupt_files_give_one_clear_line(models, tmp_path):
    proc = cli("--check", str(models["corrupt.tflite"]), "--json", out=tmp_path)
    assert proc.returncode == 2  # a bad input, not a failed check
    assert json.loads(proc.stdout)["message"].endswith("corrupt.tflite is not a .tflite model: it looks like a zip "
                                                       "archive (check --check)")
    proc = cli("--model", str(models["corrupt"]), "--rep-data", str(models["rep"]), out=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "error: cannot load corrupt.keras: it is not a .keras archive" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_model_too_large_for_the_uno(models, tmp_path):
    proc = cli("--model", str(models["big"]), "--rep-data", str(models["rep"]), "--board", "uno", "--json",
               out=tmp_path)
    assert proc.returncode == 1, proc.stderr
    out = json.loads(proc.stdout)
    assert any(f.startswith("fit: model needs") and "uno leaves 24064 B" in f for f in out["findings"])
    assert out["c_weights_bytes"] > 24064


def test_representative_data_of_the_wrong_shape(models, tmp_path):
    proc = cli("--model", str(models["big"]), "--rep-data", str(models["rep_wrong"]), out=tmp_path)
    assert proc.returncode == 2
    assert "representative data has samples shaped [5] but the model expects [13]" in proc.stderr


def test_measured_arena_is_the_minimum(models, tmp_path):
    path = models["small_int8"]
    arena = tflite.measure_arena(path)
    assert arena.error is None and 1000 < arena.bytes < 20000
    probe = ("import sys, numpy as np\nfrom tflite_micro.python.tflite_micro import runtime\n"
             "i = runtime.Interpreter.from_bytes(open(sys.argv[1], 'rb').read(), arena_size=int(sys.argv[2]))\n"
             "i.set_input(np.zeros((1, 13), np.int8), 0); i.invoke()\n")
    (tmp_path / "p.py").write_text(probe)
    runs = [subprocess.run([sys.executable, str(tmp_path / "p.py"), str(path), str(size)], capture_output=True)
            for size in (arena.bytes, arena.bytes - 64)]
    assert runs[0].returncode == 0 and runs[1].returncode != 0


def test_tensor_types_and_ops(models):
    info = tflite.inspect(models["small_float"])
    found = [str(f) for f in tflite.type_findings(info, "int8")]
    assert any("input tensor is float32, int8 was asked" in f for f in found)
    assert any("ops still computing in float32" in f for f in found)
    assert tflite.type_findings(info, "float32") == []
    int8 = tflite.inspect(models["small_int8"])
    assert tflite.type_findings(int8, "int8") == [] and int8.input.dtype == "int8" and int8.input.scale > 0
    assert tflite.op_findings(int8) == [] and "FULLY_CONNECTED" in int8.ops
    keras_classes = np.load(models["small_keras_classes"])
    assert tflite.accuracy(models["small_int8"], X13, keras_classes) >= 0.95  # agrees with the float model
    assert tflite.accuracy(models["small_float"], X13, keras_classes) == 1.0


def test_dynamic_quantization_needs_int8_weights(models):
    dynamic, plain = tflite.inspect(models["big_dynamic"]), tflite.inspect(models["big_float"])
    assert ("int8", 13 * 256) in dynamic.constants and ("float32", 256 * 128) in plain.constants
    assert tflite.type_findings(dynamic, "dynamic") == []
    found = [str(f) for f in tflite.type_findings(plain, "dynamic")]
    assert len(found) == 1 and "no int8 weights although 2 weight tensor(s) hold >= 1024 values" in found[0]
    assert tflite.type_findings(tflite.inspect(models["small_float"]), "dynamic") == []  # small stays float


def test_emit_c_unsupported_op_is_one_finding_line(models, tmp_path):
    proc = cli("--check", str(models["tanh_int8"]), "--emit", "c", "--json", out=tmp_path)
    assert proc.returncode == 1, proc.stderr
    findings = json.loads(proc.stdout)["findings"]
    assert len(findings) == 1 and findings[0].startswith("c_runtime: unsupported op TANH")
    assert "\n" not in findings[0]


def test_emit_c_writes_the_portable_runtime(models, tmp_path):
    proc = cli("--check", str(models["small_int8"]), "--emit", "c", "--board", "uno", "--json", out=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    c_dir = Path(out["run_dir"]) / "artifacts" / "c"
    assert "model_invoke" in (c_dir / "model.h").read_text() and (c_dir / "model.c").stat().st_size > 500
    assert out["c_arena_bytes"] <= 1024


def test_c_array_layout():
    head, source = c_array(bytes(range(20)))
    assert "extern const unsigned char g_model_data[];" in head and "g_model_data_len" in head
    assert source.count("0x") == 20 and "const unsigned int g_model_data_len = 20;" in source
    assert source.startswith('#include "model_data.h"') and "alignas(16) const unsigned char" in source


@pytest.mark.slow
def test_float_conversion_needs_no_data(models, tmp_path):
    proc = cli("--model", str(models["big"]), "--quant", "float32", "--json", out=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["quant"] == "float32" and out["converted_accuracy"] is None and out["arena_bytes"] > 0


def test_representative_csv_is_reshaped_and_sampled(tmp_path):
    from tinyml_autopilot.stages.train_data import representative_npz

    rows = "\n".join(",".join(str(v) for v in row) for row in RNG.normal(size=(400, 120)).round(3))
    (tmp_path / "rep.csv").write_text(",".join(f"c{i}" for i in range(120)) + "\n" + rows + "\n")
    target = representative_npz(None, tmp_path / "rep.csv", tmp_path / "out", [40, 3])
    with np.load(target) as data:
        assert data["X"].shape == (300, 40, 3) and data["X"].dtype == np.float32


def one_op_model(fn, folder: Path, name: str, shape=(1, 8)) -> Path:
    import tensorflow as tf

    graph = tf.function(fn, input_signature=[tf.TensorSpec(shape, tf.float32)]).get_concrete_function()
    path = folder / f"{name}.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_concrete_functions([graph]).convert())
    return path


def test_the_tflm_op_list_agrees_with_the_tflm_interpreter(tmp_path):
    import tensorflow as tf

    graphs = {"REDUCE_MIN": lambda x: tf.reduce_min(x, axis=1, keepdims=True),
              "REVERSE_V2": lambda x: tf.reverse(x, axis=[1]),
              "RELU_N1_TO_1": lambda x: tf.minimum(tf.maximum(x, -1.0), 1.0),
              "TOPK_V2": lambda x: tf.math.top_k(x, 2)[0]}
    for op, fn in graphs.items():
        path = one_op_model(fn, tmp_path, op)
        assert tflite.inspect(path).ops == [op]
        arena = tflite.measure_arena(path)
        runs = arena.error is None
        assert runs == (op in tflite.TFLM_OPS), f"{op}: listed {op in tflite.TFLM_OPS}, TFLM: {arena.error}"
        assert runs or f"Didn't find op for builtin opcode '{op}'" in arena.error


@pytest.mark.slow
def test_an_inference_that_never_ends_is_named(tmp_path):
    import keras
    import tensorflow as tf

    model = keras.Sequential([keras.Input((40, 3), batch_size=1), keras.layers.GRU(4, return_sequences=True),
                              keras.layers.Flatten(), keras.layers.Dense(3)])  # its WHILE loop never ends in TFLM
    path = tmp_path / "gru.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    assert "WHILE" in tflite.inspect(path).ops
    arena = tflite.measure_arena(path, timeout_s=5)
    assert arena.bytes is None
    assert arena.error == "TFLite Micro allocated the model but one inference did not finish within 5 s " \
        "(a loop in the graph that never ends there)"


def test_accuracy_finding_says_what_one_sample_weighs():
    assert tflite.accuracy_findings(1.0, 35 / 36, 3.0, 36) == []
    found = tflite.accuracy_findings(1.0, 35 / 36, 2.0, 36)
    assert len(found) == 1 and "2.8 points below the original 100.0% on 36 test samples (one sample is 2.8 " \
        "points), more than the tolerance of 2" in found[0].message


def test_float16_on_a_tflm_board_is_a_finding_naming_the_way_out(tmp_path):
    import keras
    import tensorflow as tf

    from tinyml_autopilot.stages.convert_checks import device_checks

    converter = tf.lite.TFLiteConverter.from_keras_model(
        keras.Sequential([keras.Input((13,), batch_size=1), keras.layers.Dense(64), keras.layers.Dense(3)]))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_types = [tf.float16]
    path = tmp_path / "f16.tflite"
    path.write_bytes(converter.convert())
    report = device_checks(path, tflite.inspect(path), "float16", "nano33ble", None)
    assert [f.check for f in report.findings] == ["arena"]
    message = report.findings[0].message
    assert message.startswith("nano33ble runs TensorFlow Lite Micro, which cannot run float16 models")
    assert message.endswith("convert with --quant int8 or float32")
    assert device_checks(path, tflite.inspect(path), "float16", None, None).findings == []  # no board: a note
