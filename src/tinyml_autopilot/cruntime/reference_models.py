"""Small reference models for tests and benchmarks: trained for a few epochs, converted to
full-int8 .tflite. Needs TensorFlow (imported inside the functions) and scikit-learn.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass
class RefModel:
    name: str
    tflite: bytes
    x_test: np.ndarray  # float features
    y_test: np.ndarray
    params: int


def to_int8_tflite(keras_model: object, rep: np.ndarray, int8_io: bool = True,
                   per_channel: bool = True) -> bytes:
    """Full-integer conversion with a representative dataset (int8 input/output if asked).

    A model with a fixed batch size N > 1 takes its representative samples N at a time;
    `per_channel=False` quantizes CONV_2D and FULLY_CONNECTED weights per tensor.
    """
    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_keras_model(keras_model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    rep32 = np.asarray(rep, dtype=np.float32)
    batch = keras_model.input_shape[0] or 1
    starts = range(0, min(len(rep32), 200 * batch) - batch + 1, batch)
    conv.representative_dataset = lambda: ([rep32[i:i + batch]] for i in starts)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if int8_io:
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    if not per_channel:
        conv._experimental_disable_per_channel = True
        conv._experimental_disable_per_channel_quantization_for_dense_layers = True
    return conv.convert()


def quantize_inputs(x: np.ndarray, scale: float, zero_point: int) -> np.ndarray:
    """TFLite's float->int8 input quantization (round half away from zero, clamp)."""
    r = (x.astype(np.float32) / np.float32(scale)).astype(np.float64)
    q = np.trunc(r + np.copysign(0.5, r)).astype(np.int64)
    return np.clip(q + zero_point, -128, 127).astype(np.int8)


def _fit(model: object, x: np.ndarray, y: np.ndarray, epochs: int) -> None:
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=epochs, batch_size=16, verbose=0)


def _standardize(x_train: np.ndarray, x_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mu, sd = x_train.mean(0), x_train.std(0) + 1e-6
    return ((x_train - mu) / sd).astype(np.float32), ((x_test - mu) / sd).astype(np.float32)


def tabular_mlp(dataset: str = "iris", hidden: int = 16, epochs: int = 30, seed: int = 0
                ) -> RefModel:
    """Dense-ReLU-Dense-softmax on sklearn's iris or wine."""
    import keras
    from sklearn import datasets
    from sklearn.model_selection import train_test_split

    keras.utils.set_random_seed(seed)
    loader = {"iris": datasets.load_iris, "wine": datasets.load_wine}[dataset]
    x, y = loader(return_X_y=True)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.3, random_state=seed, stratify=y)
    xtr, xte = _standardize(xtr, xte)
    n_cls = int(y.max()) + 1
    m = keras.Sequential([keras.Input((x.shape[1],)),
                          keras.layers.Dense(hidden, activation="relu"),
                          keras.layers.Dense(n_cls, activation="softmax")])
    _fit(m, xtr, ytr, epochs)
    return RefModel(f"mlp_{dataset}", to_int8_tflite(m, xtr), xte, yte, m.count_params())


def synthetic_windows(n: int, length: int = 32, channels: int = 3, classes: int = 4,
                      seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """3-channel windows: per-class sine frequency and phase pattern plus noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    t = np.arange(length)[None, :, None]
    freq = (1 + y)[:, None, None] * 2 * np.pi / length
    phase = np.arange(channels)[None, None, :] * (0.5 + 0.3 * y[:, None, None])
    x = np.sin(freq * t + phase) + 0.3 * rng.normal(size=(n, length, channels))
    return x.astype(np.float32), y


def cnn1d(length: int = 32, filters: int = 8, epochs: int = 5, seed: int = 0,
          n_train: int = 600, n_test: int = 200, dense: int = 0, gap: bool = False) -> RefModel:
    """Conv1D-MaxPool-Conv1D-AvgPool-Flatten (or GlobalAveragePooling)-[Dense]-Dense-softmax
    on synthetic windows."""
    import keras

    keras.utils.set_random_seed(seed)
    xtr, ytr = synthetic_windows(n_train, length, seed=seed)
    xte, yte = synthetic_windows(n_test, length, seed=seed + 1)
    layers = [keras.Input((length, 3)),
              keras.layers.Conv1D(filters, 5, activation="relu", padding="same"),
              keras.layers.MaxPooling1D(2),
              keras.layers.Conv1D(filters, 3, activation="relu"),
              keras.layers.AveragePooling1D(2),
              keras.layers.GlobalAveragePooling1D() if gap else keras.layers.Flatten()]
    if dense:
        layers.append(keras.layers.Dense(dense, activation="relu"))
    layers.append(keras.layers.Dense(4, activation="softmax"))
    m = keras.Sequential(layers)
    _fit(m, xtr, ytr, epochs)
    name = f"cnn1d_{'gap_' if gap else ''}{m.count_params()}p"
    return RefModel(name, to_int8_tflite(m, xtr), xte, yte, m.count_params())


BUNDLED: dict[str, Callable[[], RefModel]] = {
    "mlp_iris": lambda: tabular_mlp("iris"),
    "cnn1d": lambda: cnn1d(),
    "cnn1d_uno": lambda: cnn1d(length=40, filters=8, dense=48),  # ~4k params, sized for an Uno
    "cnn1d_large": lambda: cnn1d(length=64, filters=12, dense=16),
}
