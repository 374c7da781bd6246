"""Shared fixtures: a scripted OpenAI-compatible server on 127.0.0.1 and settings pointing at it."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tinyml_autopilot.config import Settings, load_settings
from tinyml_autopilot.llm.scripted import ScriptedServer

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


@pytest.fixture
def scripted() -> Iterator[Callable[..., ScriptedServer]]:
    """Start scripted servers (`scripted(replies)` or `scripted(responder=f)`); all stop at teardown."""
    servers: list[ScriptedServer] = []

    def start(replies: list | None = None, **kwargs) -> ScriptedServer:
        server = ScriptedServer(replies, **kwargs).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__(None, None, None)


@pytest.fixture
def llm_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings for the scripted server: `llm_settings(server, max_attempts=3)`."""

    def make(server: ScriptedServer, **flags) -> Settings:
        base = {"llm": "openai/scripted-model", "api_base": server.url, "out": tmp_path / "runs",
                "llm_retries": 1, "llm_timeout": 10, "yes": True}
        return load_settings({**base, **flags}, cwd=tmp_path)

    return make


@pytest.fixture
def offline_settings(tmp_path: Path) -> Settings:
    return load_settings({"llm": "offline", "out": tmp_path / "runs", "yes": True}, cwd=tmp_path)


@pytest.fixture(scope="session")
def train_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where `cached_train_run` keeps the offline train runs the train, convert and C-runtime tests share.
    Alone, a run is trained when first asked for. Under pytest-xdist the workers share one folder: the
    first worker to get here trains both kinds while the others wait, and all reuse them."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        return base / "train-cache"
    from tinyml_autopilot.stages.train_fixtures import cached_train_run

    shared = base.parent / "train-cache"
    shared.mkdir(exist_ok=True)
    with (base.parent / "train-cache.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for kind in ("tabular", "timeseries"):
            cached_train_run(kind, shared)
    return shared
