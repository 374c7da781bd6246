"""Trusted reference for a conversion: the original model's input shape and test accuracy.

Usage: python convert_reference.py MODEL OUT_JSON [TEST_NPZ]
Run in the sandbox; writes {"input_shape", "output_shape", "accuracy"} or {"error"}.
"""

import json
import sys
import zipfile
from pathlib import Path

import numpy as np

model_path, out = Path(sys.argv[1]), Path(sys.argv[2])
test = Path(sys.argv[3]) if len(sys.argv) > 3 else None


def save(**fields):
    out.write_text(json.dumps(fields, indent=2))


def load():
    if model_path.is_dir():
        import tensorflow as tf

        fn = tf.saved_model.load(str(model_path)).signatures["serving_default"]
        arg = fn.structured_input_signature[1]
        spec = next(iter(arg.values()))

        def predict(x):
            result = fn(**{next(iter(arg)): tf.constant(x)})
            return next(iter(result.values())).numpy()

        outputs = next(iter(fn.structured_outputs.values()))
        return predict, list(spec.shape[1:]), list(outputs.shape[1:])
    import keras

    model = keras.models.load_model(model_path, compile=False)
    return (lambda x: model.predict(x, verbose=0, batch_size=256)), list(model.input_shape[1:]), \
        list(model.output_shape[1:])


if model_path.suffix == ".keras" and not zipfile.is_zipfile(model_path):  # Keras would say "File not found"
    save(error=f"cannot load {model_path.name}: it is not a .keras archive (a zip file), so it is damaged "
               "or not a Keras model")
    raise SystemExit(0)
try:
    predict, input_shape, output_shape = load()
except Exception as err:  # any load failure is reported, not raised
    save(error=f"cannot load {model_path.name}: {type(err).__name__}: {err}"[:1500])
    raise SystemExit(0) from None
fields = {"input_shape": input_shape, "output_shape": output_shape, "accuracy": None}
if test is not None:
    with np.load(test) as d:
        x, y = d["X"].astype("float32"), d["y"].astype("int64")
    if list(x.shape[1:]) == input_shape:
        fields["accuracy"] = float(np.mean(np.argmax(predict(x), axis=-1) == y))
    else:
        fields["error"] = f"test data samples are {list(x.shape[1:])} but the model expects {input_shape}"
save(**fields)
