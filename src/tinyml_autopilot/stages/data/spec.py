"""feature_spec.json: what the device must do to feed the model (also embedded in pipeline.py)."""

from __future__ import annotations


def build_spec(meta, scaling, labels):
    """The feature spec from the stage's decisions (meta), the fitted scaling and the class names."""
    timeseries = meta["kind"] == "timeseries"
    columns = list(meta["columns"])
    spec = {
        "kind": meta["kind"],
        "input_shape": [meta["window"], len(columns)] if timeseries else [len(columns)],
        "window": meta["window"] if timeseries else None,
        "stride": meta["stride"] if timeseries else None,
        "sample_rate_hz": meta["sample_rate_hz"] if timeseries else None,
        "scaling": {"method": scaling["method"], "offset": scaling["offset"], "scale": scaling["scale"]},
        "label_column": meta["label_column"],
        "labels": list(labels),
    }
    spec["channels" if timeseries else "feature_columns"] = columns
    if timeseries:
        spec["layout"] = "X[t][c]: window samples, oldest first, each the channels in order"
    grouping = meta.get("grouping") or {}
    spec["grouping"] = grouping
    spec["dropped"] = meta.get("dropped") or {}
    if timeseries and meta.get("fixed_length"):
        rule = meta["fixed_length"]
        spec["example"] = "recording"
        spec["fixed_length"] = dict(rule, rule=(
            f"one example per recording: from its first sample take {rule['length']} samples; a shorter "
            "recording is padded by repeating its last sample (on the device: after the start is detected, "
            f"capture {rule['length']} samples)" if rule["method"] == "pad" else
            f"one example per recording: the whole recording resampled linearly to {rule['length']} samples "
            "(on the device: buffer the whole event, then resample)"))
    elif timeseries:
        spec["example"] = "window"
    return spec
