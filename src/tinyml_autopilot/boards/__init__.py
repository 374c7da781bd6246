"""The board catalogue: data in catalogue.yaml, read into validated Board entries."""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from ..errors import UserError


class Sensor(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelled catalogue field is an error

    id: str
    kind: str  # imu, microphone, colour, temperature, humidity, pressure, ...
    part: str
    library: str
    header: str
    channels: list[str] = []
    notes: str = ""


class Board(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    fqbn: str
    core: str  # what `arduino-cli core install` needs
    arch: str  # avr | nrf52 | rp2040 | esp32 | stm32h7
    cpu: str
    clock_hz: int
    flash_bytes: int
    ram_bytes: int
    runtime: str  # tflm | portable-c
    tflm_library: str | None = None  # Arduino library providing TFLite Micro
    tflm_api: str = "current"  # current | errorreporter (old TFLM bundled in Harvard_TinyMLx)
    simulator: str | None = None  # simavr mcu name where the firmware can be simulated here
    mcu: str | None = None
    sensors: list[Sensor] = []
    outputs: list[str] = ["serial"]  # serial, led, ble
    led_pin: str = "LED_BUILTIN"

    @property
    def is_avr(self) -> bool:
        return self.arch == "avr"


@cache
def catalogue() -> dict[str, Board]:
    text = resources.files(__package__).joinpath("catalogue.yaml").read_text()
    boards = {}
    for entry in yaml.safe_load(text)["boards"]:
        try:
            boards[entry["id"]] = Board(**entry)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise UserError(f"boards/catalogue.yaml, board {entry.get('id')!r}: {where}: {first['msg']} "
                            "(fields are those of Board in boards/__init__.py)") from err
    return boards


def get_board(board_id: str) -> Board:
    boards = catalogue()
    if board_id not in boards:
        raise UserError(f"unknown board '{board_id}': use one of {', '.join(boards)} "
                        "(`tinyml-autopilot boards` lists them)")
    return boards[board_id]
