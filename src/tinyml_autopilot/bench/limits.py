"""`--max-concurrent-llm N`: at most N LLM requests in flight per provider, endpoint and key.

Each benched run talks to its LLM through a small forwarding proxy on 127.0.0.1 (its `--api-base`
points there). Before forwarding a request the proxy takes a token from the bucket of that
provider, endpoint and key, and gives it back when the answer is in. The buckets live in this
process for the local executor, and in one Ray actor for the whole cluster (limits.RayLimiter).
A token whose holder died comes back after `LEASE_S`.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import UserError

if TYPE_CHECKING:
    from .runner import BenchConfig

# where litellm sends a provider's requests when no --api-base is given
UPSTREAMS = {"openai": "https://api.openai.com/v1", "ollama": "http://localhost:11434",
             "ollama_chat": "http://localhost:11434"}
LEASE_S = 900.0  # longer than any one LLM call may take (llm_timeout), so only a dead holder's token expires
KEY_HEADERS = ("authorization", "x-api-key", "api-key")
HOP_HEADERS = {"host", "content-length", "connection", "accept-encoding", "transfer-encoding"}


class Limiter(Protocol):
    def acquire(self, bucket: str, capacity: int) -> str: ...
    def release(self, lease: str) -> None: ...


def upstream(config: BenchConfig, model: str) -> str | None:
    """The address a run's LLM requests go to, or None when they need no gate."""
    if model == "offline" or not config.max_concurrent_llm:
        return None
    provider = model.partition("/")[0]
    base = config.api_base or UPSTREAMS.get(provider)
    if base is None:
        raise UserError(f"--max-concurrent-llm with --llm {model}: pass --api-base (the provider's URL) "
                        "so its requests can be counted")
    return base.rstrip("/")


class Buckets:
    """Leases per bucket, with expiry: the bookkeeping both limiters share."""

    def __init__(self) -> None:
        self.leases: dict[str, dict[str, float]] = {}  # bucket -> lease -> expiry
        self.where: dict[str, str] = {}  # lease -> bucket
        self.peak: dict[str, int] = {}

    def try_take(self, bucket: str, capacity: int) -> str | None:
        now = time.monotonic()
        held = self.leases.setdefault(bucket, {})
        for lease in [lease for lease, expiry in held.items() if expiry < now]:
            self.give_back(lease)
        if len(held) >= capacity:
            return None
        lease = uuid.uuid4().hex
        held[lease], self.where[lease] = now + LEASE_S, bucket
        self.peak[bucket] = max(self.peak.get(bucket, 0), len(held))
        return lease

    def give_back(self, lease: str) -> None:
        bucket = self.where.pop(lease, None)
        if bucket is not None:
            self.leases[bucket].pop(lease, None)


class LocalLimiter:
    """The buckets of one bench process (the local executor)."""

    _shared: dict[int, LocalLimiter] = {}
    _shared_lock = threading.Lock()

    def __init__(self) -> None:
        self.buckets = Buckets()
        self.freed = threading.Condition()

    @classmethod
    def shared(cls, config: BenchConfig) -> LocalLimiter | None:
        if not config.max_concurrent_llm:
            return None
        with cls._shared_lock:
            return cls._shared.setdefault(config.max_concurrent_llm, cls())

    def acquire(self, bucket: str, capacity: int) -> str:
        with self.freed:
            while (lease := self.buckets.try_take(bucket, capacity)) is None:
                self.freed.wait(timeout=1.0)
            return lease

    def release(self, lease: str) -> None:
        with self.freed:
            self.buckets.give_back(lease)
            self.freed.notify_all()


def ray_limiter_class():
    """The Ray actor holding the buckets of a whole cluster (async: a waiting acquire blocks nobody)."""
    import asyncio

    import ray

    @ray.remote(num_cpus=0, max_concurrency=10_000)
    class LlmBuckets:
        def __init__(self) -> None:
            self.buckets = Buckets()
            self.freed = asyncio.Condition()

        async def acquire(self, bucket: str, capacity: int) -> str:
            async with self.freed:
                while (lease := self.buckets.try_take(bucket, capacity)) is None:
                    with contextlib.suppress(asyncio.TimeoutError):  # an expired lease frees a token too
                        await asyncio.wait_for(self.freed.wait(), timeout=1.0)
                return lease

        async def release(self, lease: str) -> None:
            async with self.freed:
                self.buckets.give_back(lease)
                self.freed.notify_all()

        async def peaks(self) -> dict[str, int]:
            return dict(self.buckets.peak)

    return LlmBuckets


class RayLimiter:
    """A Limiter over the cluster's bucket actor (its handle travels with every task)."""

    def __init__(self, actor: Any) -> None:
        self.actor = actor

    def acquire(self, bucket: str, capacity: int) -> str:
        import ray

        return ray.get(self.actor.acquire.remote(bucket, capacity))

    def release(self, lease: str) -> None:
        import ray

        ray.get(self.actor.release.remote(lease))


def bucket_name(provider: str, base: str, headers: Any) -> str:
    """provider, endpoint and a fingerprint of the key (never the key itself)."""
    key = next((headers.get(h) for h in KEY_HEADERS if headers.get(h)), "")
    return f"{provider} {base} key:{hashlib.sha256(key.encode()).hexdigest()[:12]}"


@contextlib.contextmanager
def llm_gate(config: BenchConfig, model: str, limiter: Limiter | None) -> Iterator[str | None]:
    """The --api-base a run gets: a gated proxy's address, or the configured one when there is no limit."""
    base = upstream(config, model)
    if base is None or limiter is None:
        yield config.api_base
        return
    assert config.max_concurrent_llm
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(model.partition("/")[0], base, limiter,
                                                            config.max_concurrent_llm))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _handler(provider: str, base: str, limiter: Limiter, capacity: int) -> type[BaseHTTPRequestHandler]:
    class Forward(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 (http.server naming)
            self._forward(None)

        def do_POST(self) -> None:  # noqa: N802
            self._forward(self.rfile.read(int(self.headers.get("Content-Length", 0))))

        def _forward(self, body: bytes | None) -> None:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
            request = urllib.request.Request(base + self.path, data=body, headers=headers, method=self.command)
            lease = limiter.acquire(bucket_name(provider, base, self.headers), capacity)
            try:
                with urllib.request.urlopen(request, timeout=LEASE_S) as answer:
                    self._send(answer.status, answer.headers.get("Content-Type"), answer.read())
            except urllib.error.HTTPError as err:
                self._send(err.code, err.headers.get("Content-Type"), err.read())
            except OSError as err:
                message = f'{{"error": {{"message": "cannot reach {base}: {type(err).__name__}"}}}}'
                self._send(502, "application/json", message.encode())
            finally:
                limiter.release(lease)

        def _send(self, status: int, content_type: str | None, data: bytes) -> None:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.send_response(status)
                self.send_header("Content-Type", content_type or "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

    return Forward
