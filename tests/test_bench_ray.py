"""`bench --executor ray` on a real two-node Ray cluster bound to 127.0.0.1, and the LLM token buckets."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_bench import EXE, bench

from tinyml_autopilot.bench.limits import LocalLimiter, llm_gate
from tinyml_autopilot.bench.runner import BenchConfig

TIMING = {"mean_wall_s", "p90_wall_s", "mean_llm_latency_s"}


class Cluster:
    def __init__(self, ray_cluster, worker_node, scratch: Path) -> None:
        self.address = ray_cluster.address
        self.worker_raylet = worker_node.all_processes["raylet"][0].process.pid
        self.scratch = scratch

    def args(self) -> list[str]:
        return ["--executor", "ray", "--ray-address", self.address, "--scratch", str(self.scratch)]

    def leftovers(self) -> list[Path]:
        """Run folders still on the nodes' scratch (a finished or re-queued run leaves none)."""
        return [p for p in self.scratch.glob("tinyml-bench/*") if p.name != "inputs"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    """A head node and a second node, each its own raylet process with 1 CPU, on 127.0.0.1 only."""
    ray_cluster_utils = pytest.importorskip("ray.cluster_utils", reason="ray is not installed (extra 'cluster')")
    saved = os.environ.get("RAY_USAGE_STATS_ENABLED")
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    node = {"node_ip_address": "127.0.0.1", "num_cpus": 1, "object_store_memory": 80 * 2**20}
    ray_cluster = None
    try:
        ray_cluster = ray_cluster_utils.Cluster(initialize_head=True,
                                                head_node_args=node | {"include_dashboard": False})
        worker = ray_cluster.add_node(**node)
        yield Cluster(ray_cluster, worker, tmp_path_factory.mktemp("scratch"))
    finally:
        if ray_cluster is not None:
            ray_cluster.shutdown()
        os.environ.pop("RAY_USAGE_STATS_ENABLED") if saved is None else os.environ.update(RAY_USAGE_STATS_ENABLED=saved)


def records(bench_dir: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(bench_dir.glob("runs/*/*/*/bench_run.json"))]


def without_timing(summary: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k not in TIMING} for row in summary]


def test_a_ray_bench_spreads_over_both_nodes_gives_the_local_summary_and_resumes_locally(cluster, tmp_path):
    local = bench("--stage", "data", "--runs", "6", "--jobs", "2", "--out", str(tmp_path / "local"), cwd=tmp_path)
    ray = bench("--stage", "data", "--runs", "6", *cluster.args(),
                "--out", str(tmp_path / "ray"), cwd=tmp_path)
    assert without_timing(ray["summary"]) == without_timing(local["summary"])
    assert ray["summary"][0]["runs"] == 6 and ray["summary"][0]["successes"] == 6
    ray_dir = Path(ray["bench_dir"])
    done = records(ray_dir)
    assert sorted(r["index"] for r in done) == [1, 2, 3, 4, 5, 6]
    assert len({r["node"] for r in done}) == 2, [r["node"] for r in done]  # both nodes ran some
    for run in ray_dir.glob("runs/data/offline/0?"):  # the whole run folder came back, none left incoming
        assert (next(run.glob("*/output.json")).parent / "processed").is_dir() and (run / "stderr.log").is_file()
    assert not list(ray_dir.glob("runs/*/*/*.incoming")) and cluster.leftovers() == []

    first = ray_dir / "runs/data/offline/01/bench_run.json"
    stamp = first.stat().st_mtime_ns
    again = bench("--resume", str(ray_dir), "--runs", "7", "--executor", "local", cwd=tmp_path)
    assert first.stat().st_mtime_ns == stamp and again["summary"][0]["runs"] == 7  # only run 07 ran, here
    assert json.loads((ray_dir / "runs/data/offline/07/bench_run.json").read_text())["node"] == os.uname().nodename


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def test_a_worker_killed_mid_run_has_its_run_requeued_with_nothing_lost_or_counted_twice(cluster, tmp_path):
    args = [EXE, "bench", "--stage", "data", "--runs", "4", *cluster.args(),
            "--out", str(tmp_path / "out"), "--json"]
    proc = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "COLUMNS": "200"})
    try:
        victim = run = None
        deadline = time.monotonic() + 240
        while victim is None and time.monotonic() < deadline and proc.poll() is None:
            for worker in _children(cluster.worker_raylet):  # the second node's workers, then the run they started
                runs = [c for c in _children(worker) if "tinyml_autopilot.cli" in _cmdline(c)]
                if runs:
                    victim, run = worker, runs[0]
            time.sleep(0.1)
        assert victim is not None, "no run started on the second node"
        os.kill(victim, signal.SIGKILL)
        out, err = proc.communicate(timeout=400)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-3000:]
    assert "its worker was lost" in err and "re-queued (1/2)" in err, err[-3000:]
    result = json.loads(out)
    (row,) = result["summary"]
    assert (row["runs"], row["successes"], row["run_failures"], result["lost"]) == (4, 4, {}, [])
    done = records(Path(result["bench_dir"]))
    assert sorted(r["index"] for r in done) == [1, 2, 3, 4] and sum(r["requeued"] for r in done) == 1
    assert cluster.leftovers() == []
    deadline = time.monotonic() + 10
    while Path(f"/proc/{run}").exists() and "tinyml_autopilot.cli" in _cmdline(run) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "tinyml_autopilot.cli" not in _cmdline(run)  # the killed worker's run died with it


class Overlap:
    """What the scripted server saw: the most requests in flight at once (each answer takes `delay`)."""

    def __init__(self, delay: float) -> None:
        self.delay, self.spans, self.lock = delay, [], threading.Lock()

    def __call__(self, request: dict) -> dict:
        with self.lock:
            self.spans.append(time.monotonic())
        return {"text": "No plan in this answer.", "delay": self.delay}

    def peak(self) -> int:
        # an answer is sent `delay` after the request arrived: count arrivals inside each span
        return max((sum(1 for t in self.spans if s <= t < s + self.delay) for s in self.spans), default=0)


def _burst(api_base: str, n: int) -> None:
    body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).encode()
    request = {"data": body, "headers": {"Content-Type": "application/json", "Authorization": "Bearer k1"}}
    threads = [threading.Thread(target=lambda: urllib.request.urlopen(
        urllib.request.Request(f"{api_base}/chat/completions", **request), timeout=30).read()) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


@pytest.mark.parametrize("limit", [None, 2])
def test_the_gate_holds_a_burst_of_requests_to_the_limit(scripted, limit):
    seen = Overlap(0.3)
    server = scripted(responder=seen)
    config = BenchConfig(stage="data", models=["openai/m"], api_base=server.url, max_concurrent_llm=limit)
    with llm_gate(config, "openai/m", LocalLimiter() if limit else None) as api_base:
        _burst(api_base, 6)
    assert len(seen.spans) == 6
    assert seen.peak() == (limit or 6)  # without a limit all six are in flight at once: the test can fail


def test_the_cluster_token_bucket_holds_the_scripted_server_to_its_limit(cluster, scripted, tmp_path):
    seen = Overlap(0.5)
    server = scripted(responder=seen)
    result = bench("--stage", "data", "--runs", "2", "--llm", "openai/scripted", "--api-base", server.url,
                   "--max-attempts", "2", *cluster.args(),
                   "--max-concurrent-llm", "1", "--out", str(tmp_path / "out"), cwd=tmp_path)
    done = records(Path(result["bench_dir"]))
    assert len({r["node"] for r in done}) == 2 and len(seen.spans) >= 4  # two nodes, two calls per run at least
    assert seen.peak() == 1 and cluster.leftovers() == []
    calls = [json.loads(p.read_text()) for p in Path(result["bench_dir"]).glob("runs/*/*/*/*/llm_calls/*.json")]
    assert len(calls) == len(seen.spans) and all(c["response"] == "No plan in this answer." for c in calls)
