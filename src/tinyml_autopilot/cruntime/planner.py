"""Static activation memory plan: one arena, tensors whose lifetimes don't overlap share bytes.

Greedy best-offset placement, largest buffers first (the strategy of TFLM's
GreedyMemoryPlanner). Lifetimes are inclusive op-index ranges: an op's inputs and outputs
are live at the same time, so no kernel ever runs in place.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Buffer:
    key: int
    size: int
    first: int  # index of the step that writes it
    last: int  # index of the last step that reads it


def _overlaps(a: Buffer, b: Buffer) -> bool:
    return a.first <= b.last and b.first <= a.last


def plan_arena(buffers: list[Buffer]) -> tuple[dict[int, int], int]:
    """Return ({key: byte offset}, arena size in bytes)."""
    placed: list[tuple[int, Buffer]] = []
    offsets: dict[int, int] = {}
    for buf in sorted(buffers, key=lambda b: (-b.size, b.first, b.key)):
        conflicts = sorted(((off, other) for off, other in placed if _overlaps(buf, other)),
                           key=lambda p: p[0])
        offset = 0
        for off, other in conflicts:
            if off - offset >= buf.size:
                break
            offset = max(offset, off + other.size)
        offsets[buf.key] = offset
        placed.append((offset, buf))
    total = max((off + b.size for off, b in placed), default=0)
    return offsets, total


def naive_size(buffers: list[Buffer]) -> int:
    """Arena size without sharing (for reporting the saving)."""
    return sum(b.size for b in buffers)
