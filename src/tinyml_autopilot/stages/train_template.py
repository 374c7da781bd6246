"""Built-in training script (offline mode): a small MLP or 1-D CNN sized to the budget.

Run in the sandbox like any generated script: reads train_config.json from the working
folder, writes model.keras, history.json and metrics.json there.
"""

import json
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

cfg = json.loads(Path("train_config.json").read_text())
keras.utils.set_random_seed(cfg["seed"])
tf.config.experimental.enable_op_determinism()


def load(split):
    with np.load(Path(cfg["processed_dir"]) / f"{split}.npz") as d:
        return d["X"].astype("float32"), d["y"].astype("int64")


def dense_cost(n_in, units):
    params = acts = 0
    for n_out in units:
        params += (n_in + 1) * n_out
        acts = max(acts, n_in + n_out)
        n_in = n_out
    return params, acts


def mlp(shape, n_classes):
    n_in = int(np.prod(shape))
    flatten = len(shape) > 1  # Flatten holds its input and its output: 2 * n_in elements
    for hidden in ((64, 32), (32, 16), (32,), (16,), (8,), (4,), ()):
        params, acts = dense_cost(n_in, [*hidden, n_classes])
        acts = max(acts, 2 * n_in if flatten else 0)
        if params <= cfg["max_params"] and acts <= cfg["max_activation_bytes"]:
            layers = [keras.Input(shape)] + ([keras.layers.Flatten()] if flatten else [])
            layers += [keras.layers.Dense(u, activation="relu") for u in hidden]
            return keras.Sequential([*layers, keras.layers.Dense(n_classes, activation="softmax")])
    raise SystemExit(f"no MLP or 1-D CNN with {n_in} inputs fits {cfg['max_params']} parameters and "
                     f"{cfg['max_activation_bytes']} activation elements: raise the budget (--flash-kb/--ram-kb)")


def cnn(shape, n_classes):
    steps, channels = shape
    for filters, hidden in ((16, 32), (8, 16), (8, 0), (4, 0)):
        t1 = (steps - 5) // 2 + 1
        t2 = t1 // 2
        params = 5 * channels * filters + filters
        params += dense_cost(t2 * filters, [hidden, n_classes] if hidden else [n_classes])[0]
        acts = max(steps * channels + t1 * filters, t1 * filters + t2 * filters, t2 * filters + max(hidden, n_classes))
        if t2 >= 1 and params <= cfg["max_params"] and acts <= cfg["max_activation_bytes"]:
            layers = [keras.Input(shape), keras.layers.Conv1D(filters, 5, strides=2, activation="relu"),
                      keras.layers.MaxPooling1D(2), keras.layers.Flatten()]
            layers += [keras.layers.Dense(hidden, activation="relu")] if hidden else []
            return keras.Sequential([*layers, keras.layers.Dense(n_classes, activation="softmax")])
    return mlp(shape, n_classes)


x_train, y_train = load("train")
x_val, y_val = load("val")
shape, n_classes = tuple(cfg["input_shape"]), cfg["n_classes"]
model = cnn(shape, n_classes) if len(shape) == 2 and shape[0] >= 8 else mlp(shape, n_classes)
model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=8, restore_best_weights=True)
history = model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=cfg["epochs"],
                    batch_size=32, callbacks=[stop], verbose=0)
model.save("model.keras")
Path("history.json").write_text(json.dumps({k: [float(v) for v in vs] for k, vs in history.history.items()}))
val_accuracy = float(model.evaluate(x_val, y_val, verbose=0)[1])
Path("metrics.json").write_text(json.dumps({"val_accuracy": val_accuracy, "params": model.count_params()}))
print(f"val_accuracy={val_accuracy:.4f} params={model.count_params()}")
