"""The `boards` command: the board catalogue as a table (or JSON)."""

from __future__ import annotations

import json
import sys

from .common import Debug, Json


def command(json_out: Json = False, debug: Debug = False) -> None:
    """List the board catalogue: FQBN, CPU, memory, sensors and inference runtime."""
    from rich.console import Console
    from rich.table import Table

    from ..boards import catalogue

    boards = catalogue()
    if json_out:
        sys.stdout.write(json.dumps([b.model_dump() for b in boards.values()], indent=2) + "\n")
        return
    table = Table(title="Board catalogue")
    for col in ("id", "board", "FQBN / core", "CPU", "flash", "RAM", "runtime", "sensors", "outputs"):
        table.add_column(col, overflow="fold")
    for b in boards.values():
        runtime = b.runtime + (f" ({b.tflm_library}{', old API' if b.tflm_api != 'current' else ''})"
                               if b.tflm_library else "")
        sensors = "\n".join(f"{s.id}: {s.part} ({s.library})" if s.library else f"{s.id}: {s.part}"
                             for s in b.sensors) or "-"
        table.add_row(b.id, b.name, f"{b.fqbn}\n{b.core}", f"{b.cpu} @ {b.clock_hz // 1_000_000} MHz",
                      _kb(b.flash_bytes), _kb(b.ram_bytes), runtime, sensors, ", ".join(b.outputs))
    Console(width=max(160, Console().width)).print(table)


def _kb(n: int) -> str:
    return f"{n / 1024:.1f} KB" if n < 1 << 20 else f"{n / (1 << 20):.2f}".rstrip("0").rstrip(".") + " MB"
