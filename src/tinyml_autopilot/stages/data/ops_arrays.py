"""Built-in window, split and scale steps (the table -> arrays end of the pipeline)."""

import inspect

from ...checks import dataset_segments

WINDOW_RUN = '''

def run(in_dir, out_dir):
    """Cut each segment into windows of CONFIG["window"] samples every CONFIG["stride"] samples, or (example
    "recording") make one example of CONFIG["window"] samples of each segment."""
    label, width, stride = CONFIG["label"], CONFIG["window"], CONFIG["stride"]
    df, owner, segment, labelled = segments(read_table(in_dir), CONFIG)
    values = df[CONFIG["channels"]].to_numpy(np.float32)
    labels = df[label].to_numpy().astype(str)
    xs, starts = [], []
    for begin, end in runs(segment, labelled):
        if CONFIG["example"] == "recording":
            if end - begin >= CONFIG["min_length"]:
                xs.append(fixed_length(values[begin:end], width, CONFIG["fit"])[None])
                starts.append(np.array([begin]))
            continue
        if end - begin < width:
            continue
        windows = np.lib.stride_tricks.sliding_window_view(values[begin:end], width, axis=0)[::stride]
        xs.append(windows.transpose(0, 2, 1))
        starts.append(begin + np.arange(len(windows)) * stride)
    starts = np.concatenate(starts) if starts else np.zeros(0, int)
    groups = owner[starts].astype(str)
    if CONFIG["group_windows"]:  # each window its own group: "<recording>@<row>"
        groups = np.char.add(np.char.add(groups, "@"), starts.astype(str))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    x = np.concatenate(xs) if xs else np.zeros((0, width, len(CONFIG["channels"])), np.float32)
    arrays = {"X": x.astype(np.float32), "labels": labels[starts], "groups": groups}
    if CONFIG["split_column"]:
        arrays["splits"] = df[CONFIG["split_column"]].astype(str).to_numpy().astype(str)[starts]
    np.savez(out_dir / "windows.npz", **arrays)
'''
WINDOW = "\n" + "\n\n".join(inspect.getsource(f) for f in (dataset_segments.clock_seconds, dataset_segments.segments,
                                                          dataset_segments.runs, dataset_segments.fixed_length)) \
    + WINDOW_RUN

SPLIT = '''
def held_out(y, groups, index, share, seed):
    """Per class, a `share` of whole groups (recordings), so no group is on both sides."""
    rng = np.random.default_rng(seed)
    first = pd.Series(y[index]).groupby(groups[index], sort=True).first()
    picked = []
    for cls in sorted(first.unique()):
        names = first.index[first == cls].to_numpy().copy()
        rng.shuffle(names)
        picked.extend(names[: max(1, int(round(share * len(names))))])
    return index[np.isin(groups[index], picked)]


def read_examples(in_dir):
    """X, labels, groups and the given split of each example (None when the split is ours to make)."""
    column = CONFIG["split_column"]
    if (Path(in_dir) / "windows.npz").exists():
        with np.load(Path(in_dir) / "windows.npz", allow_pickle=False) as archive:
            given = archive["splits"].astype(str) if column else None
            return (archive["X"].astype(np.float32), archive["labels"].astype(str), archive["groups"].astype(str),
                    given)
    df = read_table(in_dir)
    x = df[CONFIG["features"]].to_numpy(np.float32)
    groups = df[CONFIG["group"]].astype(str) if CONFIG["group"] else pd.Series(np.arange(len(df))).astype(str)
    given = df[column].astype(str).to_numpy() if column else None
    return x, df[CONFIG["label"]].to_numpy().astype(str), groups.to_numpy().astype(str), given


SPLIT_NAMES = {"train": "train", "training": "train", "val": "val", "valid": "val", "validation": "val",
               "dev": "val", "test": "test", "testing": "test", "eval": "test"}


def run(in_dir, out_dir):
    x, labels, groups, given = read_examples(in_dir)
    classes = sorted(set(labels))
    y = np.searchsorted(classes, labels).astype(np.int64)
    index = np.arange(len(y))
    test_size, val_size, seed = CONFIG["test_size"], CONFIG["val_size"], CONFIG["seed"]
    val_share = val_size / (1 - test_size)
    if given is not None:  # the user's split: test (and val) as given; val from train's groups otherwise
        named = np.array([SPLIT_NAMES[v.strip().lower()] for v in given])
        test = index[named == "test"]
        val = index[named == "val"] if (named == "val").any() else held_out(y, groups, index[named == "train"],
                                                                          val_share, seed + 1)
    elif CONFIG["grouped"]:
        test = held_out(y, groups, index, test_size, seed)
        rest = np.setdiff1d(index, test)
        val = held_out(y, groups, rest, val_share, seed + 1)
    else:
        from sklearn.model_selection import train_test_split

        rest, test = train_test_split(index, test_size=test_size, stratify=y, random_state=seed)
        _, val = train_test_split(rest, test_size=val_share, stratify=y[rest], random_state=seed)
    train = np.setdiff1d(index, np.concatenate([test, val]))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, rows in (("train", train), ("val", np.sort(val)), ("test", np.sort(test))):
        np.savez(out_dir / f"{name}.npz", X=x[rows], y=y[rows], groups=groups[rows])
    (out_dir / "labels.json").write_text(json.dumps(classes) + "\\n")
'''

SCALE = '''
def run(in_dir, out_dir):
    """Standardise each channel (feature) with constants fitted on the training split only."""
    in_dir, out_dir = Path(in_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    splits = {}
    for name in ("train", "val", "test"):
        with np.load(in_dir / f"{name}.npz", allow_pickle=False) as archive:
            splits[name] = {"X": archive["X"], "y": archive["y"], "groups": archive["groups"]}
    train = splits["train"]["X"].astype(np.float64)
    flat = train.reshape(-1, train.shape[-1])
    offset = flat.mean(axis=0)
    scale = flat.std(axis=0)
    scale[scale < 1e-12] = 1.0
    for name, arrays in splits.items():
        x = ((arrays["X"].astype(np.float64) - offset) / scale).astype(np.float32)
        np.savez(out_dir / f"{name}.npz", X=x, y=arrays["y"].astype(np.int64), groups=arrays["groups"])
    scaling = {"method": "standard", "offset": offset.tolist(), "scale": scale.tolist()}
    (out_dir / "scaling.json").write_text(json.dumps(scaling, indent=2) + "\\n")
    (out_dir / "labels.json").write_text((in_dir / "labels.json").read_text())
'''
