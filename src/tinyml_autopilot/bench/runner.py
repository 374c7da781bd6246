"""Run one stage N times per model, each run an isolated `tinyml-autopilot <stage>` subprocess.

A crashed or hung run is a failure of category "crash"; a finished run (its bench_run.json
exists) is never run again, so a bench folder can be resumed at any time.
"""

from __future__ import annotations

import importlib.util
import json
import platform
import re
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import UserError
from .aggregate import RUN_FILE, read_json
from .limits import LocalLimiter, llm_gate, upstream
from .process import _tail, parse_result, run_cli

BENCH_STAGES = ("data", "train", "convert", "sketch", "all")
PREVIOUS = {"train": ("data",), "convert": ("data", "train"), "sketch": ("data", "train", "convert")}
CONFIG_FILE = "bench.json"
EXECUTORS = ("local", "ray")
RAY_ADDRESS = re.compile(r"auto|(ray://)?[\w.-]+:\d{1,5}|(ray://)?\[[0-9a-fA-F:]+\]:\d{1,5}")


@dataclass
class BenchConfig:
    stage: str
    models: list[str]
    runs: int = 30
    jobs: int = 1
    data: str | None = None
    board: str | None = None
    description: str | None = None
    label: str | None = None
    api_base: str | None = None
    max_attempts: int | None = None
    config: str | None = None  # a settings file every benched run reads (--config)
    timeout_s: float = 3600.0
    extra: dict[str, list[str]] = field(default_factory=dict)  # command -> extra arguments of the benched runs
    # how the runs are executed (a resumed bench may change them)
    executor: str = "local"
    ray_address: str | None = None
    run_cpus: float = 1.0
    run_memory_mb: int | None = None
    max_concurrent_llm: int | None = None
    max_retries: int = 2  # re-queues of a run whose worker or node died
    scratch: str | None = None  # the node-local folder a Ray task runs in (default: the node's temp folder)

    def validate(self, data: bool = True) -> None:
        """Every option; the data too unless `data` is False (the bundled data is written later)."""
        if self.stage not in BENCH_STAGES:
            raise UserError(f"unknown bench stage '{self.stage}': use one of {', '.join(BENCH_STAGES)}")
        if not self.models:
            raise UserError("no model to bench: pass --llm PROVIDER/MODEL (repeat it to compare models)")
        if self.runs < 1 or self.jobs < 1:
            raise UserError("--runs and --jobs must be at least 1")
        if not self.timeout_s > 0:
            raise UserError(f"--timeout {self.timeout_s:g}: give the seconds a run may take, more than 0")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise UserError("--max-attempts must be at least 1")
        validate_executor(self)
        if self.config is not None and not Path(self.config).is_file():
            raise UserError(f"config file {self.config} not found: check --config")
        if not data:
            return
        if not self.data:
            raise UserError("bench needs the input data: pass --data PATH (a dataset, or a run folder)")
        if not Path(self.data).exists():
            raise UserError(f"data {self.data} not found: check --data")


def validate_executor(config: BenchConfig) -> None:
    if config.executor not in EXECUTORS:
        raise UserError(f"unknown --executor '{config.executor}': use local or ray")
    if config.ray_address and config.executor != "ray":
        raise UserError("--ray-address is for --executor ray: add it, or drop --ray-address")
    if config.ray_address and not RAY_ADDRESS.fullmatch(config.ray_address):
        raise UserError(f"--ray-address {config.ray_address}: use auto, HOST:PORT or ray://HOST:PORT")
    if not config.run_cpus > 0 or (config.run_memory_mb is not None and config.run_memory_mb < 1):
        raise UserError("--run-cpus must be more than 0 and --run-memory-mb at least 1")
    if (config.max_concurrent_llm is not None and config.max_concurrent_llm < 1) or config.max_retries < 0:
        raise UserError("--max-concurrent-llm must be at least 1 and --max-retries at least 0")
    for model in config.models:
        upstream(config, model)  # every model's requests can be gated
    if config.executor == "ray" and importlib.util.find_spec("ray") is None:
        raise UserError("--executor ray needs Ray: pip install 'tinyml-autopilot[cluster]'")
    if config.executor == "ray" and config.ray_address and config.ray_address != "auto":
        _reachable(config.ray_address)


def _reachable(address: str) -> None:
    """A quick look before ray.init, which would retry an unreachable address for a minute."""
    import socket

    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
    except OSError as err:
        raise UserError(f"cannot reach the Ray cluster at {address} ({err.strerror or err}): start it with "
                        "`ray start --head`, or check --ray-address") from err


def slug(model: str) -> str:
    return re.sub(r"[^\w.-]+", "_", model).strip("_") or "model"


def new_bench_dir(out: Path, stage: str) -> Path:
    """A new folder under `out` (a second bench started in the same second gets a -2 suffix)."""
    base = Path(out) / f"{datetime.now():%Y%m%d-%H%M%S}-bench-{stage}"
    for n in range(1, 100):
        folder = base if n == 1 else base.with_name(f"{base.name}-{n}")
        try:
            folder.mkdir(parents=True, exist_ok=False)
            return folder.resolve()
        except FileExistsError:
            continue
        except OSError as err:
            raise UserError(f"cannot create the bench folder in {out} ({err.strerror or err}): "
                            "pass --out FOLDER you can write to") from err
    raise UserError(f"too many bench folders named {base.name} in {out}: wait a second and retry")


def save_config(bench_dir: Path, config: BenchConfig) -> None:
    (bench_dir / CONFIG_FILE).write_text(json.dumps(asdict(config), indent=2) + "\n")


def load_config(bench_dir: Path) -> BenchConfig:
    info = read_json(Path(bench_dir) / CONFIG_FILE)
    if not info:
        raise UserError(f"{bench_dir} is not a bench folder (no {CONFIG_FILE}): check --resume")
    return BenchConfig(**info)


def stage_args(stage: str, config: BenchConfig, data: str, model: str, out: Path) -> list[str]:
    """The command line of one stage run (`--stage all` runs the chained `run` command)."""
    name = "run" if stage == "all" else stage
    args = [name, "--data", data, "--llm", model, "--json", "--yes", "--out", str(out)]
    takes = options_of(name)
    wanted = {"board": config.board, "description": config.description, "label": config.label,
              "api_base": config.api_base if model != "offline" else None, "max_attempts": config.max_attempts,
              "config": config.config,
              "emit": "c" if name == "convert" and config.board and _portable_c(config.board) else None}
    for key, value in wanted.items():
        if value is not None and key in takes:
            args += [f"--{key.replace('_', '-')}", str(value)]
    return args + (config.extra.get(name, []) if name == ("run" if config.stage == "all" else config.stage) else [])


def options_of(command: str) -> set[str]:
    """The parameters a stage command takes (they differ between stages)."""
    import importlib
    import inspect

    module = importlib.import_module(f"tinyml_autopilot.commands.{'pipeline' if command == 'run' else command}")
    fn = module.run_command if command == "run" else module.command
    return set(inspect.signature(fn).parameters)


def _portable_c(board_id: str) -> bool:
    from ..boards import get_board

    return get_board(board_id).runtime == "portable-c"


def prepare(config: BenchConfig, bench_dir: Path, log: Callable[[str], None]) -> str:
    """The input every bench run gets: the data as given, or earlier stages run once offline."""
    data = str(Path(config.data).resolve())
    needed = PREVIOUS.get(config.stage, ())
    if not needed or ready(config.stage, Path(data)):
        return data
    given = read_json(Path(data) / "output.json").get("stage") if Path(data).is_dir() else None
    for stage in needed[needed.index(given) + 1:] if given in needed else needed:
        out = bench_dir / "prepared" / stage
        done = _finished_run(out)
        if done is None:
            log(f"preparing the {config.stage} input: {stage} (offline, once)")
            shutil.rmtree(out, ignore_errors=True)
            result = run_cli(stage_args(stage, config, data, "offline", out), config.timeout_s)
            done = _finished_run(out)
            if done is None:
                raise UserError(f"could not prepare the bench input: the offline {stage} stage failed "
                                f"({_tail(result.stderr, 1)}); see {out}")
        data = str(done)
    return data


def ready(stage: str, data: Path) -> bool:
    """True when `data` can go to `stage` as it is: the previous stage's run folder, or for train
    (which splits them itself) an .npz with X/y or a processed/ folder."""
    if data.is_dir() and read_json(data / "output.json").get("stage") == PREVIOUS[stage][-1]:
        return True
    return stage == "train" and (data.suffix == ".npz" or (data / "train.npz").is_file())


def _finished_run(out: Path) -> Path | None:
    found = sorted(p.parent for p in out.glob("*/output.json"))
    return found[-1] if found else None


def run_dir(bench_dir: Path, stage: str, model: str, index: int) -> Path:
    return bench_dir / "runs" / stage / slug(model) / f"{index:02d}"


def run_one(config: BenchConfig, bench_dir: Path, data: str, model: str, index: int) -> dict[str, Any]:
    """One bench run in its place in the bench folder."""
    with llm_gate(config, model, LocalLimiter.shared(config)) as api_base:
        return execute(replace(config, api_base=api_base), data, model, index,
                       run_dir(bench_dir, config.stage, model, index))


def execute(config: BenchConfig, data: str, model: str, index: int, out: Path,
            die_with_parent: bool = False) -> dict[str, Any]:
    """One bench run in `out`: an isolated subprocess, recorded in bench_run.json whatever happens."""
    shutil.rmtree(out, ignore_errors=True)  # an unfinished earlier try of this run
    out.mkdir(parents=True)
    started = time.time()
    result = run_cli(stage_args(config.stage, config, data, model, out), config.timeout_s,
                     die_with_parent=die_with_parent)
    parsed = parse_result(result.stdout)
    crashed = result.timed_out or result.returncode not in (0, 1) or parsed is None
    record = {"stage": config.stage, "model": model, "index": index, "returncode": result.returncode,
              "status": (parsed or {}).get("status", "crash"), "crashed": crashed,
              "crash_reason": "timeout" if result.timed_out else (_tail(result.stderr, 3) if crashed else None),
              "wall_s": result.wall_s, "started": round(started, 3), "node": platform.node(), "result": parsed}
    (out / "stderr.log").write_text(result.stderr)
    write_record(out, record)
    return record


def write_record(out: Path, record: dict[str, Any]) -> None:
    """bench_run.json: the run is finished (whatever its outcome) and will not be run again."""
    (out / RUN_FILE).write_text(json.dumps(record, indent=2, default=str) + "\n")


def pending(config: BenchConfig, bench_dir: Path) -> list[tuple[str, int]]:
    todo = []
    for model in config.models:
        for index in range(1, config.runs + 1):
            if not (run_dir(bench_dir, config.stage, model, index) / RUN_FILE).is_file():
                todo.append((model, index))
    return todo


def run_all(config: BenchConfig, bench_dir: Path, data: str,
            on_done: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Every pending run, `config.jobs` at a time; `on_done` sees each record as it lands."""
    records = []
    with ThreadPoolExecutor(max_workers=config.jobs) as pool:
        futures = [pool.submit(run_one, config, bench_dir, data, model, index)
                   for model, index in pending(config, bench_dir)]
        for future in as_completed(futures):
            record = future.result()
            records.append(record)
            if on_done:
                on_done(record)
    return records
