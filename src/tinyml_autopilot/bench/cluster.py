"""`--executor ray`: every benched run a Ray task, on any node of the cluster where the tool is installed.

The input (data or prepared run folder, and the settings file) goes to the nodes through Ray's object
store, once per bench, and is unpacked once per node. A run works in a node-local scratch folder;
the finished run folder comes back as a tar archive through the object store, so the nodes share
no filesystem. A task whose worker or node died is re-queued (`max_retries` times) and never
counted as a failure of the model; a run that crashes by itself is recorded like any crash.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import sys
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from ..errors import UserError
from .aggregate import RUN_FILE
from .limits import RayLimiter, llm_gate, ray_limiter_class
from .runner import BenchConfig, execute, pending, run_dir, slug, write_record

LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


def connect(address: str | None) -> Any:
    """ray.init on the given cluster (default: RAY_ADDRESS, else the one started on this machine)."""
    host = (address or "").removeprefix("ray://").rpartition(":")[0]
    if host in LOOPBACK:  # a cluster bound to loopback: keep Ray from swapping in this machine's address
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray

    try:
        ray.init(address=address or os.environ.get("RAY_ADDRESS") or "auto", log_to_driver=False,
                 logging_level="WARNING", configure_logging=True)
    except (ConnectionError, RuntimeError, ValueError) as err:
        where = address or os.environ.get("RAY_ADDRESS") or "auto"
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UserError(f"cannot reach the Ray cluster at {where} ({first[:160]}): start it with "
                        "`ray start --head`, or check --ray-address") from err
    return ray


def pack(path: Path) -> bytes:
    """A file or folder as a gzipped tar, named by its own name."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(path, arcname=path.name)
    return buffer.getvalue()


def unpack(blob: bytes, into: Path) -> None:
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        tar.extractall(into, filter="data")


def scratch_root(scratch: str | None) -> Path:
    """Where runs work on a node: --scratch, else the node's temp folder."""
    return Path(scratch or tempfile.gettempdir()) / "tinyml-bench"


def node_inputs(root: Path, blob: bytes, digest: str, name: str) -> Path:
    """The bench input on this node: unpacked once, shared by the runs the node gets."""
    folder = root / "inputs" / digest
    if not (folder / name).exists():
        folder.parent.mkdir(parents=True, exist_ok=True)
        incoming = Path(tempfile.mkdtemp(prefix=f"{digest}.", dir=folder.parent))
        try:
            unpack(blob, incoming)
            with contextlib.suppress(OSError):  # another run on this node was first: use its copy
                incoming.rename(folder)
        finally:
            shutil.rmtree(incoming, ignore_errors=True)
    return folder / name


def node_label() -> str:
    import ray

    return f"{ray.util.get_node_ip_address()}/{ray.get_runtime_context().get_node_id()[:6]}"


def benched_run(settings: dict[str, Any], inputs: dict[str, tuple[str, str]], data_blob: bytes,
                config_blob: bytes | None, model: str, index: int, bench_key: str, limiter: Any) -> dict[str, Any]:
    """The Ray task: one run in this node's scratch, returned as its record plus the packed run folder."""
    config = BenchConfig(**settings)
    root = scratch_root(config.scratch)
    data = node_inputs(root, data_blob, *inputs["data"])
    if config_blob is not None:
        config.config = str(node_inputs(root, config_blob, *inputs["config"]))
    work = root / bench_key / f"{slug(model)}-{index:02d}"
    shutil.rmtree(work, ignore_errors=True)  # a try of this run whose worker died
    try:
        with llm_gate(config, model, RayLimiter(limiter) if limiter else None) as api_base:
            record = execute(replace(config, api_base=api_base), str(data), model, index, work / "run",
                             die_with_parent=True)
        record["node"] = node_label()
        return {"record": record, "archive": pack(work / "run")}
    finally:
        shutil.rmtree(work, ignore_errors=True)
        with contextlib.suppress(OSError):  # the bench's folder on this node, once its last run is gone
            work.parent.rmdir()


def land(bench_dir: Path, config: BenchConfig, model: str, index: int, archive: bytes | None,
         record: dict[str, Any]) -> None:
    """Put a finished run in its place; bench_run.json is written last, so a run is there whole or not at all."""
    final = run_dir(bench_dir, config.stage, model, index)
    incoming = final.with_name(final.name + ".incoming")
    shutil.rmtree(incoming, ignore_errors=True)
    incoming.mkdir(parents=True)
    if archive is not None:
        unpack(archive, incoming)
        (incoming / "run" / RUN_FILE).unlink(missing_ok=True)
        for item in (incoming / "run").iterdir():
            item.rename(incoming / item.name)
        (incoming / "run").rmdir()
    shutil.rmtree(final, ignore_errors=True)  # an unfinished earlier try
    incoming.rename(final)
    write_record(final, record)


def _digest(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()[:16]


def run_all_ray(config: BenchConfig, bench_dir: Path, data: str,
                on_done: Callable[[dict[str, Any]], None] | None = None,
                log: Callable[[str], None] = print) -> tuple[list[dict[str, Any]], list[tuple[str, int]]]:
    """Every pending run as a Ray task; records land as they arrive. Returns the records and the runs
    given up on after `max_retries` lost workers (left pending for --resume)."""
    todo = pending(config, bench_dir)
    if not todo:
        return [], []
    # Ray prints the errors of its nodes (a worker that died) to stdout, which belongs to --json
    with contextlib.redirect_stdout(sys.stderr):
        return _run_tasks(config, bench_dir, data, todo, on_done, log)


def _run_tasks(config: BenchConfig, bench_dir: Path, data: str, todo: list[tuple[str, int]],
               on_done: Callable[[dict[str, Any]], None] | None,
               log: Callable[[str], None]) -> tuple[list[dict[str, Any]], list[tuple[str, int]]]:
    ray = connect(config.ray_address)
    from ray.exceptions import RayError, RayTaskError

    try:
        data_blob = pack(Path(data))
        inputs = {"data": (_digest(data_blob), Path(data).name)}
        config_blob = pack(Path(config.config)) if config.config else None
        if config_blob is not None:
            inputs["config"] = (_digest(config_blob), Path(config.config).name)
        shared = (ray.put(data_blob), ray.put(config_blob) if config_blob is not None else None)
        limiter = ray_limiter_class().remote() if config.max_concurrent_llm else None
        options: dict[str, Any] = {"num_cpus": config.run_cpus, "max_retries": 0, "scheduling_strategy": "SPREAD"}
        if config.run_memory_mb:
            options["memory"] = config.run_memory_mb * 2**20
        task = ray.remote(benched_run).options(**options)
        settings, key = asdict(config), _digest(str(bench_dir).encode())

        def submit(model: str, index: int) -> Any:
            return task.remote(settings, inputs, *shared, model, index, key, limiter)

        running = {submit(model, index): (model, index) for model, index in todo}
        requeued: dict[tuple[str, int], int] = {}
        records, lost = [], []
        while running:
            (ref,), _ = ray.wait(list(running), num_returns=1)
            model, index = running.pop(ref)
            try:
                result = ray.get(ref)
            except RayTaskError as err:  # the task's own code failed: the run crashed
                if isinstance(getattr(err, "cause", None), ModuleNotFoundError):  # the node's fault, not the run's
                    log(f"{model} #{index:02d}: a node lacks tinyml-autopilot ({err.cause}); left for --resume")
                    lost.append((model, index))
                    continue
                result = {"archive": None, "record": _crash(config, model, index, err)}
            except RayError as err:  # the worker or its node died: not the model's doing
                tries = requeued[(model, index)] = requeued.get((model, index), 0) + 1
                reason = type(err).__name__
                if tries <= config.max_retries:
                    log(f"{model} #{index:02d}: its worker was lost ({reason}); re-queued ({tries}/"
                        f"{config.max_retries})")
                    running[submit(model, index)] = (model, index)
                else:
                    log(f"{model} #{index:02d}: its worker was lost {tries} times ({reason}); left for --resume")
                    lost.append((model, index))
                continue
            record = result["record"] | {"requeued": requeued.get((model, index), 0)}
            land(bench_dir, config, model, index, result["archive"], record)
            records.append(record)
            if on_done:
                on_done(record)
        return records, lost
    finally:
        ray.shutdown()


def _crash(config: BenchConfig, model: str, index: int, err: Exception) -> dict[str, Any]:
    lines = str(err).strip().splitlines()
    return {"stage": config.stage, "model": model, "index": index, "returncode": None, "status": "crash",
            "crashed": True, "crash_reason": "\n".join(lines[-3:]), "wall_s": None, "node": None, "result": None}
