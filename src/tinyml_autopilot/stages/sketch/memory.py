"""What an AVR sketch of the portable C runtime needs in RAM, before compiling; the linker's own words after.

On an AVR every initialised global and string literal is copied into RAM at start-up (.data), beside the
zeroed globals (.bss); the linker refuses the sketch when they overflow the `data` region. The prediction
adds what the built-in sketch puts there, so a sketch that cannot link is refused in one line first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# HardwareSerial (two 64-byte rings and state), millis/timer state and the core's other globals, as
# avr-size reports them for an empty sketch that calls Serial.begin (184 B), rounded up.
AVR_CORE_RAM = 200
# string literals of the built-in sketch ("READY", "PRED ", "uncertain", "model_invoke failed") and small scalars
SKETCH_LITERALS = 48
# More channels than this keep their scaling constants in PROGMEM (8 B of RAM each otherwise)
FLASH_CONSTANTS_FROM = 16
STACK_RESERVE = 160  # loop() -> model_invoke() -> kernels, with their locals and return addresses
LINKER_LINE = re.compile(r".*(not within region|region `?\S+'? overflowed|will not fit in region|"
                         r"section `\S+' will not fit|undefined reference to|relocation truncated).*")


@dataclass
class RamBudget:
    parts: dict[str, int]
    total: int
    ram_bytes: int

    @property
    def fits(self) -> bool:
        return self.total <= self.ram_bytes

    def line(self, board_name: str, channels: int) -> str:
        shown = ", ".join(f"{name} {size} B" for name, size in self.parts.items() if size)
        return (f"the sketch needs about {self.total} B of RAM and {board_name} has {self.ram_bytes} B ({shown}): "
                f"the linker would refuse it (section .data/.bss not within region data); {channels} input "
                "features are too many for this board: select fewer features (or a board with more RAM)")


def avr_portable_c_ram(channels: int, labels: list[str], arena_bytes: int, input_size: int, output_size: int,
                       ram_bytes: int) -> RamBudget:
    """RAM of the built-in portable-C sketch on an AVR (wide ones keep their scaling constants in PROGMEM)."""
    parts = {
        "raw sample (floats)": 4 * channels,  # quantized into the model input as it arrives: no float window
        "scaling constants": 0 if channels > FLASH_CONSTANTS_FROM else 8 * channels,
        "model input": input_size,
        "model output": output_size,
        "activations": arena_bytes,
        "labels": 2 * len(labels) + sum(len(label.encode()) + 1 for label in labels),
        "core and Serial": AVR_CORE_RAM,
        "sketch literals": SKETCH_LITERALS,
        "stack": STACK_RESERVE,
    }
    return RamBudget(parts, sum(parts.values()), ram_bytes)


def linker_lines(log: str, limit: int = 4) -> list[str]:
    """The linker's own lines (a region overflow, an undefined reference), not only "ld returned 1"."""
    found = []
    for line in log.splitlines():
        if LINKER_LINE.match(line) and line.strip() not in found:
            found.append(line.strip())
    return found[:limit]
