"""Built-in training script (offline mode): an optuna search of models within the board's budget.

Run in the sandbox like any generated script: reads train_config.json (data, budget, search space and bounds), tries
1-D CNNs (plain or depthwise-separable, batch norm folded into the convolutions before saving) or MLPs with their
training settings, prunes candidates over the budget before training them (a known-good one over it is tried again
made to fit), retrains and refits the best one and writes model.keras, history.json, metrics.json and trials.json.
"""

import json
import time
from pathlib import Path

import keras
import numpy as np
import optuna
import tensorflow as tf

cfg = json.loads(Path("train_config.json").read_text())
space, search = cfg["space"], cfg["search"]
keras.utils.set_random_seed(cfg["seed"])
tf.config.experimental.enable_op_determinism()
optuna.logging.set_verbosity(optuna.logging.WARNING)
L = keras.layers
BN_MOMENTUM = 0.9  # Keras's 0.99 lags behind the weights when a small set gives a few steps per epoch
CONFIDENT = 0.02  # val loss of a perfect model that more epochs or trials would not improve in practice


def load(split):
    with np.load(Path(cfg["processed_dir"]) / f"{split}.npz") as d:
        return d["X"].astype("float32"), d["y"].astype("int64")


def elements(shape):
    return int(np.prod([d for d in shape[1:] if d is not None]))


def costs(model):
    """Parameters, peak activations (input + output of a layer, as the check counts) and MACs."""
    acts = macs = 0
    for layer in model.layers:
        n_in, n_out = elements(layer.input.shape), elements(layer.output.shape)
        acts = max(acts, n_in + n_out)
        if isinstance(layer, L.Dense):
            macs += n_out * layer.input.shape[-1]
        elif isinstance(layer, L.DepthwiseConv1D):
            macs += n_out * layer.kernel_size[0]
        elif isinstance(layer, L.Conv1D):
            macs += n_out * layer.kernel_size[0] * layer.input.shape[-1]
        elif isinstance(layer, L.MaxPooling1D | L.AveragePooling1D | L.GlobalAveragePooling1D):
            macs += n_in
    weights = sum(int(np.prod(w.shape)) for layer in model.layers for w in layer.weights[:1])
    params = model.count_params()
    return {"params": params, "activation_bytes": acts, "macs": macs,
            "flash_bytes": weights + 4 * (params - weights) + cfg["graph_overhead"],
            "latency_ms": 1000.0 * macs * cfg["cycles_per_mac"] / cfg["clock_hz"]}


def over_budget(cost):
    limits = (("params", cfg["max_params"]), ("activation_bytes", cfg["max_activation_bytes"]),
              ("macs", cfg.get("max_macs")))
    return [f"{key} {cost[key]} > {limit}" for key, limit in limits if limit is not None and cost[key] > limit]


def cnn(trial, shape, n_classes):
    def pick(key):
        return trial.suggest_categorical(key, space["cnn"][key])

    filters, kernel, growth, separable, pool = (pick(k) for k in ("filters", "kernel", "growth", "separable", "pool"))
    norm = pick("batch_norm")

    def conv(width, size, **kw):  # with batch norm: conv, norm, ReLU (folded into one conv before saving)
        if not norm:
            return [L.Conv1D(width, size, padding="same", activation="relu", **kw)]
        return [L.Conv1D(width, size, padding="same", use_bias=False, **kw),
                L.BatchNormalization(momentum=BN_MOMENTUM), L.ReLU()]

    layers = [keras.Input(shape), *conv(filters, kernel, strides=pick("stride"))]
    for block in range(1, pick("blocks")):
        if pool != "none":
            layers.append(L.MaxPooling1D(2) if pool == "max" else L.AveragePooling1D(2))
        width = filters * growth**block
        if separable:
            layers += [L.DepthwiseConv1D(kernel, padding="same", activation="relu"), *conv(width, 1)]
        else:
            layers += conv(width, kernel)
    layers.append(L.GlobalAveragePooling1D() if pick("head") == "gap" else L.Flatten())
    dense = pick("dense")
    layers += [L.Dense(dense, activation="relu")] if dense else []
    return keras.Sequential([*layers, L.Dense(n_classes, activation="softmax")])


def folded(model):
    """The model with each conv, batch norm, ReLU run as one conv with its ReLU: what int8 conversion and the
    C runtime see (the same outputs, no MUL/ADD ops)."""
    if not any(isinstance(layer, L.BatchNormalization) for layer in model.layers):
        return model
    layers, weights, rest = [], [], list(model.layers)
    while rest:
        layer = rest.pop(0)
        if not (isinstance(layer, L.Conv1D) and rest and isinstance(rest[0], L.BatchNormalization)):
            layers.append(layer.__class__.from_config(layer.get_config()))
            weights.append(layer.get_weights())
            continue
        norm = rest.pop(0)
        relu = bool(rest) and isinstance(rest[0], L.ReLU)
        if relu:
            rest.pop(0)
        gamma, beta, mean, var = (np.asarray(w) for w in norm.get_weights())
        scale = gamma / np.sqrt(var + norm.epsilon)
        kernel = layer.get_weights()[0] * scale
        bias = (layer.get_weights()[1] if layer.use_bias else 0.0) * scale + beta - mean * scale
        layers.append(L.Conv1D.from_config({**layer.get_config(), "use_bias": True,
                                            "activation": "relu" if relu else "linear"}))
        weights.append([kernel, bias.astype("float32")])
    plain = keras.Sequential([keras.Input(model.input_shape[1:]), *layers])
    for layer, values in zip(plain.layers, weights, strict=True):
        layer.set_weights(values)
    plain.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return plain


def mlp(trial, shape, n_classes):
    s = space["mlp"]
    layers = [keras.Input(shape)] + ([L.Flatten()] if len(shape) > 1 else [])
    units, dropout = trial.suggest_categorical("units", s["units"]), trial.suggest_categorical("dropout", s["dropout"])
    for depth in range(trial.suggest_categorical("layers", s["layers"])):
        layers.append(L.Dense(max(4, units // 2**depth), activation="relu"))
        layers += [L.Dropout(dropout)] if dropout else []
    return keras.Sequential([*layers, L.Dense(n_classes, activation="softmax")])


def augmented(x, y, rng, kind):
    """One extra copy of every window: jittered, scaled per channel and shifted by a few steps; or a random tenth
    sliced off and the rest stretched back with a smooth random time warp (window slicing and time warping)."""
    steps, grid = x.shape[1], np.arange(x.shape[1], dtype="float64")
    copy = x * rng.uniform(0.9, 1.1, (len(x), 1, x.shape[2])) + rng.normal(0, 0.03 * x.std(), x.shape)
    for i, shift in enumerate(rng.integers(-max(1, steps // 10), max(1, steps // 10) + 1, len(x))):
        if kind == "slice_warp":  # where each output step reads the input: inside a 90% slice, at varying speed
            pace = np.interp(grid, np.linspace(0, steps - 1, 4), rng.uniform(0.7, 1.3, 4)).cumsum()
            path = rng.uniform(0, 0.1 * (steps - 1)) + (pace - pace[0]) / (pace[-1] - pace[0]) * 0.9 * (steps - 1)
            copy[i] = np.stack([np.interp(path, grid, x[i, :, c]) for c in range(x.shape[2])], axis=-1)
        else:  # shifted, the edge value repeated into the gap
            copy[i] = np.take(copy[i], np.clip(np.arange(steps) - shift, 0, steps - 1), axis=0)
    return np.concatenate([x, copy.astype("float32")]), np.concatenate([y, y])


def score(accuracy, loss, n_val):
    """Val accuracy, ties broken by val loss: a 20-40 sample split gives many models the same (often perfect)
    accuracy, and the more confident of them generalises better. Capped loss: one step of accuracy always wins."""
    return float(accuracy) - min(float(loss), 10.0) / (20.0 * n_val)


def scored():
    """A callback adding val_score (see score) to each epoch's logs, for early stopping and best weights to monitor."""
    return keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: logs.update(
        val_score=score(logs["val_accuracy"], logs["val_loss"], len(y_val))))


class Perfect(keras.callbacks.Callback):
    """Stop once val accuracy has been perfect for a few epochs in which its loss did not fall by a tenth (or was
    confident): neither accuracy nor confidence improves (a perfect epoch alone says little on a small split)."""

    def __init__(self, epochs=3):
        super().__init__()
        self.epochs, self.run, self.low = epochs, 0, float("inf")

    def on_epoch_end(self, epoch, logs=None):
        loss = float(logs["val_loss"])
        falling, self.low = loss < 0.9 * self.low and loss > CONFIDENT, min(self.low, loss)
        self.run = 0 if float(logs["val_accuracy"]) < 1.0 or falling else self.run + 1
        self.model.stop_training = self.model.stop_training or self.run >= self.epochs


class Report(keras.callbacks.Callback):
    """The best val accuracy so far, each epoch, to optuna, which stops trials far behind the others (the best so
    far: a noisy epoch of a small val split is no reason to stop)."""

    def __init__(self, trial):
        super().__init__()
        self.trial, self.best = trial, 0.0

    def on_epoch_end(self, epoch, logs=None):
        self.best = max(self.best, float(logs["val_accuracy"]))
        self.trial.report(self.best, epoch)
        if self.trial.should_prune():
            self.model.stop_training = True
            self.trial.set_user_attr("pruned_by", f"behind the other trials at epoch {epoch + 1}")


def fit(trial, epochs, patience, data=None, rates=None):
    """Build the trial's model and train it; (model, history, cost) or None when it does not fit. With `data` and
    `rates` (a learning rate per epoch): a refit on those samples for the given epochs, without validation."""
    keras.utils.set_random_seed(cfg["seed"])  # the same start whatever ran before (how many trials fit in the time)
    shape, n_classes = tuple(cfg["input_shape"]), cfg["n_classes"]
    series = len(shape) == 2 and shape[0] >= 8
    family = trial.suggest_categorical("family", space["families"]["series" if series else "tabular"])
    model = cnn(trial, shape, n_classes) if family == "cnn" else mlp(trial, shape, n_classes)
    cost = costs(folded(model))
    for key, value in cost.items():
        trial.set_user_attr(key, value)
    if problems := over_budget(cost):
        trial.set_user_attr("pruned_by", "budget: " + ", ".join(problems))
        return None
    t = space["training"]
    lr = trial.suggest_float("learning_rate", *t["learning_rate"], log=True)
    batch = trial.suggest_categorical("batch_size", t["batch_size"])
    weights = trial.suggest_categorical("class_weight", t["class_weight"])
    x, y = data or (x_train, y_train)
    counts = np.bincount(y, minlength=n_classes)
    balance = {i: len(y) / (n_classes * max(1, c)) for i, c in enumerate(counts)} if weights == "balanced" else None
    if series and (kind := trial.suggest_categorical("augment", t["augment"])) != "none":
        x, y = augmented(x, y, np.random.default_rng(cfg["seed"]), kind)
    model.compile(optimizer=keras.optimizers.Adam(lr), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    if rates is None:  # early stopping restores the best epoch's weights however training ends
        stop = keras.callbacks.EarlyStopping(monitor="val_score", mode="max", patience=patience,
                                             restore_best_weights=True)
        slower = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=max(2, patience // 4))
        callbacks = [scored(), stop, slower, Perfect()] + ([Report(trial)] if hasattr(trial, "report") else [])
    else:
        callbacks = [keras.callbacks.LearningRateScheduler(lambda epoch, _: rates[epoch])]
    history = model.fit(x, y, validation_data=None if rates else (x_val, y_val), epochs=epochs, batch_size=batch,
                        class_weight=balance, callbacks=callbacks, verbose=0)
    plain = folded(model)
    if plain is not model:  # the folded model must compute what the trained one does
        gap = float(np.max(np.abs(plain.predict(x_val, verbose=0) - model.predict(x_val, verbose=0))))
        if gap > 1e-3:
            raise RuntimeError(f"folding batch norm changed the outputs by up to {gap:.2g}")
    return plain, history, cost


best = {"value": -1.0}


def objective(trial):
    started = time.monotonic()
    fitted = fit(trial, search["epochs"], search["patience"])
    if fitted is None:
        raise optuna.TrialPruned()
    model, history, cost = fitted
    loss, value = (float(v) for v in model.evaluate(x_val, y_val, verbose=0)[:2])
    trial.set_user_attr("val_loss", round(loss, 5))
    trial.set_user_attr("epochs", len(history.history["loss"]))
    trial.set_user_attr("seconds", round(time.monotonic() - started, 2))
    if "pruned_by" in trial.user_attrs:  # stopped early by the pruner: its accuracy is kept, not ranked
        trial.set_user_attr("val_accuracy_when_stopped", value)
        raise optuna.TrialPruned()
    rank = (score(value, loss, len(y_val)), -cost["params"])
    if rank > best.get("rank", (-1.0, 0)):
        best.update(value=value, loss=loss, rank=rank, model=model, history=history.history, number=trial.number)
    return value


def enough(study, trial):
    """Stop early: after a few perfect val accuracies (one can be luck on a small split; the val loss picks among
    them) or one perfect and confident, or after a long run of trials without a better val accuracy."""
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not done:
        return
    best_at = max(range(len(done)), key=lambda i: (done[i].value, -i))
    perfect = [t for t in done if t.value >= 1.0]
    confident = any(t.user_attrs.get("val_loss", 1.0) <= CONFIDENT for t in perfect)
    if len(perfect) >= search.get("perfect", 1) or confident or len(done) - 1 - best_at >= search["stall"]:
        study.stop()


def record(study):
    pruned, waiting = optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.WAITING
    return [{"number": t.number, "state": "pruned" if t.state == pruned else t.state.name.lower(),
             "val_accuracy": t.value, "settings": t.params, **t.user_attrs} for t in study.trials if t.state != waiting]


def smaller(first):
    """A CNN first trial over the budget made to fit, or None: a larger first stride, then the most filters that fit
    (in an Uno's 1 KB of activations, a fully convolutional network with stride 4 and 4-8-16 filters learns leaves)."""
    def fits(settings):
        model = cnn(optuna.trial.FixedTrial(settings), tuple(cfg["input_shape"]), cfg["n_classes"])
        return not over_budget(costs(folded(model)))

    if first.get("family") != "cnn" or fits(first):
        return None
    widths = sorted((f for f in space["cnn"]["filters"] if f <= first["filters"]), reverse=True)
    return next((small for small in ({**first, "stride": s, "filters": f} for s in space["cnn"]["stride"]
                                     if s >= first["stride"] for f in widths) if fits(small)), None)


(x_train, y_train), (x_val, y_val) = load("train"), load("val")
sampler = optuna.samplers.TPESampler(seed=cfg["seed"], n_startup_trials=min(8, search["trials"]))
study = optuna.create_study(direction="maximize", sampler=sampler,
                            pruner=optuna.pruners.MedianPruner(n_startup_trials=4, n_warmup_steps=15))
for first in search.get("first_trials", []):  # known-good starting points, tried before the sampler's picks
    for settings in (first, smaller(first)):  # the over-budget one stays on record, pruned
        if settings:
            study.enqueue_trial(settings, skip_if_exists=True)
started = time.monotonic()
most = optuna.study.MaxTrialsCallback(search["trials"], states=(optuna.trial.TrialState.COMPLETE,))
study.optimize(objective, timeout=search["time_s"], callbacks=[most, enough], n_trials=search["trials"] * 25)
trials = record(study)
Path("trials.json").write_text(json.dumps(trials, indent=1))
if "model" not in best:
    raise SystemExit(f"no model of the search space with {cfg['input_shape']} inputs fits {cfg['max_params']} "
                     f"parameters, {cfg['max_activation_bytes']} activation elements"
                     + (f" and {cfg['max_macs']} MACs" if cfg.get("max_macs") else "")
                     + " (all candidates pruned): raise the budget (--flash-kb/--ram-kb/--latency-ms)")
winner = study.trials[best["number"]]
search_s = time.monotonic() - started
model, history, kept, retrained = best["model"], best["history"], "search", None
if winner.user_attrs.get("epochs", 0) >= search["epochs"] and cfg["epochs"] > search["epochs"]:
    # still improving when the trial's epochs ran out: retrain with the full bound, keep the better one
    retrained = fit(optuna.trial.FixedTrial(winner.params), cfg["epochs"], search["patience"] * 2)
    loss, value = retrained[0].evaluate(x_val, y_val, verbose=0)[:2]
    if score(value, loss, len(y_val)) >= best["rank"][0]:
        model, history, kept = retrained[0], retrained[1].history, "retrained"
search_val, refit = float(model.evaluate(x_val, y_val, verbose=0)[1]), None
if search.get("refit"):
    # the winner trained afresh on train + val (as MiniRocket and most baselines are) for the epochs its best val
    # score took, at the learning rates it had then; kept unless it misses val samples the winner got right unseen
    best_epoch = int(np.argmax(history["val_score"])) + 1
    lrs = [float(winner.params["learning_rate"]), *history["learning_rate"]][:best_epoch]  # as ReduceLROnPlateau set
    both = (np.concatenate([x_train, x_val]), np.concatenate([y_train, y_val]))
    refitted = fit(optuna.trial.FixedTrial(winner.params), best_epoch, None, data=both, rates=lrs)[0]
    refit_val = float(refitted.evaluate(x_val, y_val, verbose=0)[1])
    refit = {"epochs": best_epoch, "kept": refit_val >= search_val}
    model, val_accuracy = (refitted, refit_val) if refit["kept"] else (model, search_val)
else:
    val_accuracy = search_val
model.save("model.keras")
Path("history.json").write_text(json.dumps({k: [float(v) for v in vs] for k, vs in history.items()}))
Path("metrics.json").write_text(json.dumps({"val_accuracy": val_accuracy, "params": model.count_params(),
                                            "chosen_trial": winner.number, "search_seconds": round(search_s, 1),
                                            "retrained": retrained is not None, "kept": kept,
                                            "search_val_accuracy": search_val, "refit": refit}))
done = sum(t["state"] == "complete" for t in trials)
print(f"val_accuracy={val_accuracy:.4f} params={model.count_params()} trial={winner.number} "
      f"({done} trained, {len(trials) - done} pruned, {search_s:.0f} s)")
