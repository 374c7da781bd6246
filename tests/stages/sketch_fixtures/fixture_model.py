"""A convert-stage run folder built for the sketch tests: a tiny Keras classifier on 4 raw
sensor features, converted to full int8, with model card, feature spec, labels and test set.
Built once per test session (cached in a temporary folder)."""

from __future__ import annotations

import json
import tempfile
from functools import cache
from pathlib import Path

import numpy as np

from tinyml_autopilot.stages.convert_output import write_c_array

LABELS = ["idle", "walk", "run"]
OFFSET = [512.0, 300.0, 20.0, 5.0]
SCALE = [100.0, 50.0, 4.0, 2.0]
FIXTURES = Path(__file__).parent


def _dataset(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    y = np.where(x[:, 0] + x[:, 1] < -0.3, 0, np.where(x[:, 2] - x[:, 3] > 0.4, 2, 1))
    return x, y.astype(np.int64)


def int8_tflite(model, x: np.ndarray, samples: int, per_tensor: bool) -> bytes:
    """Full-int8 conversion calibrated on the first `samples` rows of `x`; `per_tensor` as the convert stage
    does for TFLite Micro boards, else TensorFlow's default per-channel FULLY_CONNECTED weights."""
    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([x[i:i + 1]] for i in range(samples))
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.int8
    conv._experimental_disable_per_channel_quantization_for_dense_layers = per_tensor
    return conv.convert()


@cache
def convert_run() -> Path:
    """The folder; its layout follows the convert stage's contract."""
    import tensorflow as tf

    root = Path(tempfile.mkdtemp(prefix="sketch-fixture-"))
    x, y = _dataset(1200, 0)
    xt, yt = _dataset(200, 1)
    tf.keras.utils.set_random_seed(0)
    model = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(12, activation="relu"),
                                 tf.keras.layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=30, batch_size=32, verbose=0)
    data = int8_tflite(model, x, 200, per_tensor=True)  # per-tensor FC weights, as the convert stage writes
    art, proc = root / "artifacts", root / "processed"
    art.mkdir()
    proc.mkdir()
    (art / "model.tflite").write_bytes(data)
    write_c_array(art / "model.tflite", art)
    np.savez(proc / "test.npz", X=xt, y=yt)
    spec = {"kind": "tabular", "input_shape": [4], "feature_columns": ["a0", "a1", "a2", "a3"],
            "window": None, "stride": None, "sample_rate_hz": None,
            "scaling": {"method": "standard", "offset": OFFSET, "scale": SCALE},
            "label_column": "activity", "labels": LABELS}
    (proc / "feature_spec.json").write_text(json.dumps(spec))
    (proc / "labels.json").write_text(json.dumps(LABELS))
    (art / "model_card.json").write_text(json.dumps(_card(art / "model.tflite")))
    (root / "output.json").write_text(json.dumps({
        "stage": "convert", "tflite": "artifacts/model.tflite", "model_card": "artifacts/model_card.json",
        "processed_dir": "processed", "feature_spec": "processed/feature_spec.json", "labels": LABELS}))
    return root


def _card(tflite: Path) -> dict:
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(tflite))
    interp.allocate_tensors()
    i, o = interp.get_input_details()[0], interp.get_output_details()[0]
    ops = sorted({d["op_name"] for d in interp._get_ops_details()})
    return {"quant": "int8", "input_shape": i["shape"].tolist(), "output_shape": o["shape"].tolist(),
            "input_dtype": "int8", "output_dtype": "int8",
            "input_scale": float(i["quantization"][0]), "input_zero_point": int(i["quantization"][1]),
            "output_scale": float(o["quantization"][0]), "output_zero_point": int(o["quantization"][1]),
            "labels": LABELS, "ops": [{"name": op, "tflm_supported": True} for op in ops],
            "arena_bytes": 1536, "model_bytes": tflite.stat().st_size, "float_accuracy": 0.9,
            "converted_accuracy": 0.9, "accuracy_delta": 0.0, "board": "nano33ble",
            "model_symbol": "g_model_data", "model_header": "model_data.h"}


def card() -> dict:
    return json.loads((convert_run() / "artifacts" / "model_card.json").read_text())


def render(name: str, **subs: object) -> str:
    """A hand-written fixture sketch with {{KEY}} placeholders filled from the model card."""
    return render_text((FIXTURES / name).read_text(), **subs)


def render_text(text: str, **subs: object) -> str:
    c = card()
    values = {"IN_SCALE": f"{c['input_scale']:.9g}", "IN_ZP": c["input_zero_point"],
              "OUT_SCALE": f"{c['output_scale']:.9g}", "OUT_ZP": c["output_zero_point"], **subs}
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", str(value))
    return text


def sketch_folder(tmp: Path, name: str, text: str, model: bool = True) -> Path:
    """A sketch folder holding `text` as <name>.ino and the fixture's model_data files."""
    folder = tmp / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.ino").write_text(text)
    if model:
        art = convert_run() / "artifacts"
        for f in ("model_data.h", "model_data.cc"):
            (folder / f).write_text((art / f).read_text())
    return folder


def xxd_array(symbol: str, data: bytes | None = None) -> str:
    """The model as `xxd -i` writes it (made const and aligned, as sketches usually do)."""
    data = (convert_run() / "artifacts" / "model.tflite").read_bytes() if data is None else data
    rows = [", ".join(f"0x{b:02x}" for b in data[i:i + 12]) for i in range(0, len(data), 12)]
    return (f"alignas(16) const unsigned char {symbol}[] = {{\n  " + ",\n  ".join(rows) +
            f"\n}};\nconst unsigned int {symbol}_len = {len(data)};\n")


def hand_written(tmp: Path, fixture: str, text: str | None = None) -> Path:
    """A sketch folder laid out the way its style lays out the model (see each fixture's header)."""
    stem = fixture.rsplit(".", 1)[0]
    text = render(fixture) if text is None else text
    if stem == "chirale_xxd":
        folder = sketch_folder(tmp, stem, text, model=False)
        (folder / "model.h").write_text("// xxd -i model.tflite > model.h\n#pragma once\n" + xxd_array("model_tflite"))
    elif stem == "examples_inline":
        folder = sketch_folder(tmp, stem, text, model=False)
        (folder / "activity_model_data.h").write_text(
            "#ifndef ACTIVITY_MODEL_DATA_H_\n#define ACTIVITY_MODEL_DATA_H_\nextern const unsigned char "
            "g_activity_model[];\nextern const int g_activity_model_len;\n#endif\n")
        (folder / "activity_model_data.cpp").write_text(
            '#include "activity_model_data.h"\n' + xxd_array("g_activity_model").replace("unsigned int", "int"))
    elif stem == "multifile":
        folder = sketch_folder(tmp, stem, text, model=False)
        (folder / "inference.h").write_text("#pragma once\nbool inference_setup();\n"
                                            "const char *classify(const float *x);\n")
        source = render("multifile_inference.cpp", MODEL_ARRAY=xxd_array("activity_model"))
        (folder / "inference.cpp").write_text(source)
    else:
        folder = sketch_folder(tmp, stem, text)
    return folder
