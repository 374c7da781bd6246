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
    return spec
