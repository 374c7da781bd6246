"""Memory planner invariants and the TensorFlow-free emit path."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np

from tinyml_autopilot.cruntime.planner import Buffer, plan_arena


def test_live_buffers_never_overlap_in_memory() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        bufs = []
        for k in range(int(rng.integers(1, 12))):
            first = int(rng.integers(0, 10))
            bufs.append(Buffer(k, int(rng.integers(1, 300)), first,
                               first + int(rng.integers(0, 4))))
        offsets, total = plan_arena(bufs)
        for a, b in itertools.combinations(bufs, 2):
            if a.first <= b.last and b.first <= a.last:
                oa, ob = offsets[a.key], offsets[b.key]
                assert oa + a.size <= ob or ob + b.size <= oa
        assert total == max(offsets[b.key] + b.size for b in bufs)
        assert total <= sum(b.size for b in bufs)


def test_chain_reuses_memory() -> None:
    # A chain of ops: each tensor lives from its producer to its single consumer.
    bufs = [Buffer(i, 100, i, i + 1) for i in range(6)]
    _, total = plan_arena(bufs)
    assert total == 200


def test_emit_c_does_not_import_tensorflow(tmp_path: Path, cnn) -> None:
    model = tmp_path / "m.tflite"
    model.write_bytes(cnn.ref.tflite)
    # CPU seconds, not wall: with other tests on the same cores the wall clock says how busy they are
    code = ("import sys, time; t = time.process_time()\n"
            "from tinyml_autopilot.cruntime import emit_c\n"
            f"m = emit_c(open({str(model)!r}, 'rb').read())\n"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
            "print(round(time.process_time() - t, 2), m.arena_bytes)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    secs, arena = out.stdout.split()
    assert int(arena) == cnn.cmodel.arena_bytes
    assert float(secs) < 2.0


def _live_pairs(plan: list) -> list:
    return [(a, b) for a, b in itertools.combinations(plan, 2) if a.first <= b.last and b.first <= a.last]


def test_generated_plan_reuses_memory_without_overlapping_live_tensors(cnn) -> None:
    """The plan the C source uses: tensors live at the same step never share bytes, dead ones do."""
    cm = cnn.cmodel
    assert len(cm.plan) >= 4 and cm.arena_bytes == max(p.offset + p.size for p in cm.plan)
    for a, b in _live_pairs(cm.plan):
        assert a.offset + a.size <= b.offset or b.offset + b.size <= a.offset, (a, b)
    live = set(_live_pairs(cm.plan))
    shared = [(a, b) for a, b in itertools.combinations(cm.plan, 2) if (a, b) not in live
              and a.offset < b.offset + b.size and b.offset < a.offset + a.size]
    assert shared, "no two dead-apart tensors share bytes: the arena is not reused"
    assert cm.arena_bytes < cm.unshared_arena_bytes == sum(p.size for p in cm.plan)
    # A chain needs at most its largest input+output pair at once.
    assert cm.arena_bytes <= max(a.size + b.size for a, b in _live_pairs(cm.plan))
    for p in cm.plan:
        assert f"[{p.offset}, {p.offset + p.size})" in cm.source
