"""Trusted evaluation of a trained model, run in the sandbox after the training script.

Usage: python train_evaluate.py MODEL PROCESSED_DIR OUT_DIR
Writes OUT_DIR/evaluation.json, confusion_matrix.png and (from history.json) training_curves.png.
"""

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

model_path, processed, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
report = {"loads": False}


def save(**fields):
    report.update(fields)
    (out / "evaluation.json").write_text(json.dumps(report, indent=2))


def elements(shape):
    return int(np.prod([d for d in shape[1:] if d is not None]))


def shapes(tensors):
    return [tuple(t.shape) for t in (tensors if isinstance(tensors, (list, tuple)) else [tensors])]


def peak_activations(model):
    peak = 0
    for layer in model.layers:
        try:
            n = sum(elements(s) for s in shapes(layer.input)) + sum(elements(s) for s in shapes(layer.output))
        except (AttributeError, ValueError):
            continue
        peak = max(peak, n)
    return peak


def macs(model):
    """Multiply-accumulates of one inference (dense and convolution layers; pooling reads counted)."""
    import keras

    L, total = keras.layers, 0
    for layer in model.layers:
        try:
            n_in, n_out = elements(layer.input.shape), elements(layer.output.shape)
        except (AttributeError, ValueError):
            continue
        if isinstance(layer, L.Dense):
            total += n_out * int(layer.input.shape[-1])
        elif isinstance(layer, (L.DepthwiseConv1D, L.DepthwiseConv2D)):
            total += n_out * int(np.prod(layer.kernel_size))
        elif isinstance(layer, (L.Conv1D, L.Conv2D)):
            total += n_out * int(np.prod(layer.kernel_size)) * int(layer.input.shape[-1]) // layer.groups
        elif isinstance(layer, (L.MaxPooling1D, L.AveragePooling1D, L.MaxPooling2D, L.AveragePooling2D,
                                L.GlobalAveragePooling1D, L.GlobalAveragePooling2D)):
            total += n_in
    return total


def accuracy(model, split):
    with np.load(processed / f"{split}.npz") as d:
        x, y = d["X"].astype("float32"), d["y"].astype("int64")
    pred = np.argmax(model.predict(x, verbose=0, batch_size=256), axis=-1)
    return float(np.mean(pred == y)), y, pred


def plot_curves(history_file):
    history = json.loads(history_file.read_text())
    if not isinstance(history, dict):
        raise ValueError("history.json is not a JSON object")
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for ax, key in zip(axes, ("loss", "accuracy"), strict=True):
        for name in (key, f"val_{key}"):
            if name in history:
                ax.plot(history[name], label=name)
        ax.set_xlabel("epoch")
        ax.set_title(key)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out / "training_curves.png", dpi=90)


def plot_confusion(y, pred, labels):
    from sklearn.metrics import ConfusionMatrixDisplay, confusion_matrix

    matrix = confusion_matrix(y, pred, labels=list(range(len(labels))))
    fig, ax = plt.subplots(figsize=(4 + 0.3 * len(labels), 4 + 0.3 * len(labels)))
    ConfusionMatrixDisplay(matrix, display_labels=labels).plot(ax=ax, colorbar=False)
    ax.set_title("test split")
    fig.tight_layout()
    fig.savefig(out / "confusion_matrix.png", dpi=90)
    return matrix.tolist()


try:
    import keras

    model = keras.models.load_model(model_path, compile=False)
except Exception as err:  # any load failure is the finding itself
    save(error=f"{type(err).__name__}: {err}"[:1500])
    raise SystemExit(0) from None
labels = json.loads((processed / "labels.json").read_text()) if (processed / "labels.json").is_file() else None
save(loads=True, params=int(model.count_params()), input_shape=list(model.input_shape[1:]),
     output_shape=list(model.output_shape[1:]), activation_bytes=peak_activations(model), macs=macs(model))
val_acc, _, _ = accuracy(model, "val")
test_acc, y_test, pred = accuracy(model, "test")
labels = labels or [str(i) for i in range(int(max(y_test.max(), pred.max())) + 1)]
save(val_accuracy=val_acc, test_accuracy=test_acc, confusion=plot_confusion(y_test, pred, labels))
try:  # history.json is written by the training script: a malformed one costs the curves plot only
    plot_curves(out / "history.json")
except Exception as err:  # noqa: BLE001
    plt.close("all")
    (out / "training_curves.png").unlink(missing_ok=True)
    save(curves_error=f"{type(err).__name__}: {err}"[:300])
