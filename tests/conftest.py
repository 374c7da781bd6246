"""Shared fixtures: a scripted OpenAI-compatible server on 127.0.0.1 and settings pointing at it; the offline
train runs several files share; the order of the test files for pytest-xdist (`make test`)."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tinyml_autopilot.config import Settings, load_settings
from tinyml_autopilot.llm.scripted import ScriptedServer

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
TESTS = Path(__file__).parent
WIDE_SCOPES = ("module", "package", "session")


def _builds_a_shared_fixture(item: pytest.Item) -> bool:
    """The test uses a fixture of ours that lives longer than one test (a trained model, a compiled sketch)."""
    info: Any = getattr(item, "_fixtureinfo", None)
    for defs in (info.name2fixturedefs.values() if info is not None else ()):
        for fixturedef in defs:
            code = getattr(fixturedef.func, "__code__", None)
            if fixturedef.scope in WIDE_SCOPES and code is not None and Path(code.co_filename).is_relative_to(TESTS):
                return True
    return False


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """For pytest-xdist (`make test`: `--dist loadfile --no-loadscope-reorder`): the files with end-to-end
    (slow) tests or shared fixtures are handed out first, so that the workers finish together on quick
    tests; each file's tests keep their order."""
    modules: dict[Path, list[pytest.Item]] = {}
    shared: set[Path] = set()
    slow: set[Path] = set()
    for item in items:
        modules.setdefault(item.path, []).append(item)
        if _builds_a_shared_fixture(item):
            shared.add(item.path)
        if item.get_closest_marker("slow"):
            slow.add(item.path)
    # first the files whose slow tests share a fixture (one worker runs them in a row), then the other slow
    # or shared-fixture files, then the rest
    ordered = sorted(modules, key=lambda path: -((path in shared) + (path in slow)))
    items[:] = [item for path in ordered for item in modules[path]]


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
