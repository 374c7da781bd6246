"""Built-in conversion script (offline mode): Keras / SavedModel -> TensorFlow Lite.

Run in the sandbox like any generated script: reads convert_config.json from the working
folder ({"model_path", "quant", "rep_data"}), writes model.tflite there.
"""

import json
from pathlib import Path

import numpy as np
import tensorflow as tf

cfg = json.loads(Path("convert_config.json").read_text())
model_path, quant = Path(cfg["model_path"]), cfg["quant"]

if model_path.is_dir():
    converter = tf.lite.TFLiteConverter.from_saved_model(str(model_path))
else:
    import keras

    model = keras.models.load_model(model_path, compile=False)
    # A fixed batch of 1 keeps the graph static (no SHAPE/PACK ops around Flatten).
    inputs = keras.Input(model.input_shape[1:], batch_size=1)
    converter = tf.lite.TFLiteConverter.from_keras_model(keras.Model(inputs, model(inputs)))

if quant != "float32":
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
if quant == "float16":
    converter.target_spec.supported_types = [tf.float16]
if quant == "int8":
    with np.load(cfg["rep_data"]) as data:
        samples = data["X"].astype("float32")

    def representative():
        for sample in samples:
            yield [sample[None]]

    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    # Per-tensor FULLY_CONNECTED weights: the FC kernels of the TFLite Micro Arduino libraries read only the
    # first weight scale, so per-channel FC weights (the converter's default) compute other numbers on a board.
    converter._experimental_disable_per_channel_quantization_for_dense_layers = True

Path("model.tflite").write_bytes(converter.convert())
print(f"wrote model.tflite ({Path('model.tflite').stat().st_size} bytes, {quant})")
