"""What a model may cost on the target: flash for weights and graph, RAM for activations, time.

Boards running TFLite Micro keep room for the interpreter and the sketch; the portable C
runtime (AVR) needs far less code, so most of the small flash can hold weights. Latency is
estimated from multiply-accumulates at the board's clock.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..errors import UserError

# bytes kept for everything that is not the model
RESERVE = {
    "tflm": {"flash": 160 * 1024, "ram": 48 * 1024},
    "portable-c": {"flash": 8 * 1024, "ram": 1024},
}
GRAPH_OVERHEAD = 2048  # flatbuffer / C tables beside the weights
DEFAULT = {"flash": 256 * 1024, "ram": 64 * 1024}  # no board and no explicit budget
DEFAULT_CLOCK_HZ = 64_000_000
# Cycles per int8 multiply-accumulate, requantization and loop overhead included. AVR: the portable
# C runtime measured in simavr (a 12k-MAC 1-D CNN takes 1.36 M cycles); the others: TFLite Micro's
# reference kernels, rough figures (no SIMD).
CYCLES_PER_MAC = {"avr": 110, "rp2040": 20, "esp32": 10}
CYCLES_PER_MAC_DEFAULT = 8


@dataclass
class Budget:
    flash_bytes: int  # for the model (weights + graph)
    ram_bytes: int  # for the tensor arena
    runtime: str  # tflm | portable-c
    source: str  # board id, "explicit" or "default"
    clock_hz: int = DEFAULT_CLOCK_HZ
    cycles_per_mac: float = CYCLES_PER_MAC_DEFAULT
    latency_ms: float | None = None  # --latency-ms: the longest inference allowed

    def latency_of(self, macs: int) -> float:
        """Estimated milliseconds per inference for `macs` multiply-accumulates."""
        return 1000.0 * macs * self.cycles_per_mac / self.clock_hz

    @property
    def max_macs(self) -> int | None:
        if self.latency_ms is None:
            return None
        return int(self.latency_ms / 1000.0 * self.clock_hz / self.cycles_per_mac)

    @property
    def max_params(self) -> int:
        """Parameters that fit as int8 weights (biases are int32: keep a margin)."""
        return max(0, int((self.flash_bytes - GRAPH_OVERHEAD) * 0.85))

    @property
    def max_activation_bytes(self) -> int:
        """Int8 activations alive at once (input + output of the largest layer)."""
        return self.ram_bytes if self.runtime == "portable-c" else int(self.ram_bytes * 0.6)

    def as_dict(self) -> dict:
        return {**asdict(self), "max_params": self.max_params, "max_activation_bytes": self.max_activation_bytes,
                "max_macs": self.max_macs}


def model_budget(board_id: str | None, flash_kb: float | None = None, ram_kb: float | None = None,
                 latency_ms: float | None = None) -> Budget:
    """The budget from --flash-kb/--ram-kb (the model's share), else from the board, else a default."""
    board = None
    if board_id:
        from ..boards import get_board

        board = get_board(board_id)
    runtime = board.runtime if board else "tflm"
    if board is not None:
        reserve = RESERVE[runtime]
        flash, ram = board.flash_bytes - reserve["flash"], board.ram_bytes - reserve["ram"]
        source = board.id
    else:
        flash, ram, source = DEFAULT["flash"], DEFAULT["ram"], "default"
    if flash_kb is not None or ram_kb is not None:
        source = "explicit"
        flash = int(flash_kb * 1024) if flash_kb is not None else flash
        ram = int(ram_kb * 1024) if ram_kb is not None else ram
    if flash <= GRAPH_OVERHEAD or ram <= 0:
        raise UserError(f"the model budget ({flash} B flash, {ram} B RAM) leaves no room for a model: "
                        "raise --flash-kb/--ram-kb or pick a larger board")
    if latency_ms is not None and not latency_ms > 0:
        raise UserError(f"--latency-ms {latency_ms}: give a positive number of milliseconds per inference")
    clock = board.clock_hz if board else DEFAULT_CLOCK_HZ
    cycles = CYCLES_PER_MAC.get(board.arch, CYCLES_PER_MAC_DEFAULT) if board else CYCLES_PER_MAC_DEFAULT
    return Budget(flash_bytes=flash, ram_bytes=ram, runtime=runtime, source=source, clock_hz=clock,
                  cycles_per_mac=cycles, latency_ms=latency_ms)


def device_fit(board_id: str, model_bytes: int, arena_bytes: int) -> list[str]:
    """Problems fitting a model of these sizes on the board (empty when it fits)."""
    from ..boards import get_board

    board = get_board(board_id)
    reserve = RESERVE[board.runtime]
    problems = []
    if model_bytes + reserve["flash"] > board.flash_bytes:
        problems.append(f"model needs {model_bytes} B of flash but {board.id} leaves "
                        f"{board.flash_bytes - reserve['flash']} B for it ({board.flash_bytes} B minus "
                        f"{reserve['flash']} B for the {board.runtime} runtime and sketch): use a smaller model")
    if arena_bytes + reserve["ram"] > board.ram_bytes:
        problems.append(f"tensor arena needs {arena_bytes} B of RAM but {board.id} leaves "
                        f"{board.ram_bytes - reserve['ram']} B for it ({board.ram_bytes} B minus "
                        f"{reserve['ram']} B for the sketch): use a smaller model")
    return problems
