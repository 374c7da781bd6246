"""The `doctor` command: what is installed, what is missing, how to get it. Imports nothing heavy."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.table import Table

from .common import Json, console

APT = "apt-get install -y"


@dataclass
class Item:
    group: str
    name: str
    ok: bool
    detail: str
    fix: str = ""


def _module(name: str, pip: str) -> Item:
    found = importlib.util.find_spec(name) is not None
    return Item("python", pip, found, "installed" if found else "missing",
                "" if found else f"pip install {pip}")


def _tool(name: str, package: str, purpose: str) -> Item:
    path = shutil.which(name)
    return Item("toolchain", name, bool(path), path or f"missing ({purpose})",
                "" if path else f"{APT} {package}")


def _arduino_cli() -> Item:
    path = shutil.which("arduino-cli")
    return Item("toolchain", "arduino-cli", bool(path), path or "missing (compiles any board)",
                "" if path else "install from arduino.github.io/arduino-cli (not in apt), then "
                "`arduino-cli core install <core>` for your board")


def _ollama() -> Item:
    host = os.environ.get("OLLAMA_HOST", "127.0.0.1:11434").replace("http://", "").split("/")[0]
    name, _, port = host.partition(":")
    try:
        with socket.create_connection((name, int(port or 11434)), timeout=0.2):
            return Item("llm", "ollama", True, f"server at {host}")
    except OSError:
        return Item("llm", "ollama", False, f"no server at {host}", "install Ollama and `ollama serve`")


def _key(name: str) -> Item:
    from dotenv import dotenv_values

    dotenv = Path(".env")
    where = ("environment" if os.environ.get(name)
             else ".env" if dotenv.is_file() and dotenv_values(dotenv).get(name) else None)
    return Item("llm", name.split("_")[0].lower(), where is not None,
                f"{name} {'set in the ' + where if where else 'not set'}",
                "" if where else f"export {name}=... or put it in .env")


def _sandbox_limits() -> list[Item]:
    from ..config import Settings
    from ..sandbox.status import limits

    memory_mb = Settings.model_fields["sandbox_memory_mb"].default
    return [Item("sandbox", name, ok, detail, "" if ok else "run as root (or with bubblewrap installed)")
            for name, ok, detail in limits(memory_mb)]


def _libraries() -> list[Item]:
    """The TFLite Micro and sensor libraries found where sketches are built from, with versions."""
    from ..sandbox.libraries import INSTALL_HINT, SENSOR_NAMES, TFLM_NAMES, find, library_dirs

    try:
        from ..config import load_settings

        setting = load_settings().libraries
    except Exception:  # a broken config is reported by the commands that use it
        setting = os.environ.get("TINYML_LIBRARIES")
    where = ", ".join(str(d) for d in library_dirs(setting))
    out = []
    for name in (*TFLM_NAMES, *SENSOR_NAMES):
        lib = find(name, setting)
        tflm = name in TFLM_NAMES
        missing = f"not in {where}" + ("" if tflm else " (board builds need it; the host run replays its API)")
        out.append(Item("libraries", name, lib is not None, f"{lib.version} in {lib.path.parent}" if lib else missing,
                        "" if lib else f"arduino-cli lib install {name}" if name != TFLM_NAMES[0] else INSTALL_HINT))
    return out


def items() -> list[Item]:
    from ..sandbox.python import isolation

    keys = [_key(name) for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")]
    mode = isolation()
    avr_core = os.path.isdir("/usr/share/arduino/hardware/arduino/avr")
    return [
        *keys,
        _ollama(),
        Item("llm", "offline", True, "built-in templates (always available)"),
        Item("sandbox", "isolation", mode == "bubblewrap", mode,
             "" if mode == "bubblewrap" else f"{APT} bubblewrap"),
        *_sandbox_limits(),
        _module("tensorflow", "tensorflow-cpu"),
        _module("ai_edge_litert", "ai-edge-litert"),
        _module("tflite_micro", "tflite-micro"),
        _module("litellm", "litellm"),
        _arduino_cli(),
        _tool("arduino-builder", "arduino-builder arduino-core-avr arduino-ctags", "AVR builds offline"),
        Item("toolchain", "arduino-core-avr", avr_core, "installed" if avr_core else "missing",
             "" if avr_core else f"{APT} arduino-core-avr"),
        _tool("simavr", "simavr", "runs AVR firmware"),
        _tool("arm-none-eabi-gcc", "gcc-arm-none-eabi libnewlib-arm-none-eabi", "Cortex-M builds"),
        _tool("qemu-system-arm", "qemu-system-arm", "runs Cortex-M firmware"),
        _tool("gcc", "gcc", "host builds of the C runtime"),
        Item("toolchain", "g++ -m32", _multilib(), "32-bit host builds of TFLite Micro sketches" if _multilib()
             else "missing (32-bit host builds of TFLite Micro sketches)",
             "" if _multilib() else f"{APT} g++-multilib"),
        *_libraries(),
    ]


def _multilib() -> bool:
    return os.path.isdir("/usr/lib/gcc/x86_64-linux-gnu/12/32") or bool(
        [p for p in Path("/usr/lib/gcc").glob("*/*/32") if p.is_dir()])


def command(json_out: Json = False) -> None:
    found = items()
    if json_out:
        sys.stdout.write(json.dumps([asdict(i) for i in found]) + "\n")
        return
    table = Table("group", "item", "status", "detail", "to install")
    for i in found:
        table.add_row(i.group, i.name, "[green]ok[/]" if i.ok else "[yellow]missing[/]", i.detail, i.fix)
    console.print(table)
