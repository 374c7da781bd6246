"""Find Arduino libraries where users have them: the `libraries` setting, else arduino-cli's sketchbook
(`arduino-cli config get directories.user` + /libraries), else ~/Arduino/libraries."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

TFLM_NAMES = ("Chirale_TensorFlowLite", "Arduino_TensorFlowLite", "Harvard_TinyMLx")
SENSOR_NAMES = ("Arduino_APDS9960", "Arduino_LSM9DS1", "Arduino_BMI270_BMM150", "Arduino_HTS221", "Arduino_HS300x",
                "Arduino_LPS22HB", "Arduino_LSM6DSOX", "ArduinoBLE")
INSTALL_HINT = "arduino-cli lib install Chirale_TensorFlowLite, or set libraries"


@dataclass(frozen=True)
class Library:
    name: str  # the folder name, as arduino-cli installs it
    version: str
    path: Path
    declared_name: str = ""  # library.properties name= (Chirale's differs from its folder in case)

    @property
    def src(self) -> Path:
        return self.path / "src" if (self.path / "src").is_dir() else self.path

    def describe(self) -> str:
        return f"{self.name} {self.version} ({self.path})"

    def resolver_methods(self) -> frozenset[str] | None:
        """The Add<Op> methods of the library's MicroMutableOpResolver (the kernels a sketch can
        register), or None when its header is not where TFLM keeps it."""
        header = self.src / "tensorflow" / "lite" / "micro" / "micro_mutable_op_resolver.h"
        try:
            text = header.read_text(errors="replace")
        except OSError:
            return None
        return frozenset(re.findall(r"TfLiteStatus\s+(Add\w+)\s*\(", text))

    def kernel_types(self, op: str) -> frozenset[str] | None:
        """The tensor types the library's kernel for a builtin op dispatches on (its `case kTfLite<Type>:`
        labels: "Int8", "Int32", ...), or None when its source is not where TFLM keeps it or has no such case."""
        folder = self.src / "tensorflow" / "lite" / "micro" / "kernels"
        for suffix in (".cpp", ".cc"):
            try:
                text = (folder / f"{op.lower()}{suffix}").read_text(errors="replace")
            except OSError:
                continue
            return frozenset(re.findall(r"case\s+kTfLite(\w+)\s*:", text)) or None
        return None


def read_properties(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return out
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not key.lstrip().startswith("#"):
            out[key.strip()] = value.strip()
    return out


def arduino_cli_libraries() -> Path | None:
    """arduino-cli's library folder when arduino-cli is on PATH and answers."""
    try:
        proc = subprocess.run(["arduino-cli", "config", "get", "directories.user"], capture_output=True,
                              text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    user = proc.stdout.strip()
    return Path(user) / "libraries" if proc.returncode == 0 and user else None


def library_dirs(setting: Path | str | None = None) -> list[Path]:
    """Folders to search, first match wins: the setting (os.pathsep-separated), arduino-cli's, the default."""
    if setting:
        return [Path(p).expanduser() for p in str(setting).split(os.pathsep) if p]
    found = arduino_cli_libraries()
    return [found] if found is not None else [Path.home() / "Arduino" / "libraries"]


def installed(setting: Path | str | None = None) -> dict[str, Library]:
    """Every library (a folder with library.properties) in the search folders, by folder name."""
    libs: dict[str, Library] = {}
    for folder in library_dirs(setting):
        if not folder.is_dir():
            continue
        for props in sorted(folder.glob("*/library.properties")):
            info = read_properties(props)
            lib = Library(props.parent.name, info.get("version", "?"), props.parent.resolve(), info.get("name", ""))
            libs.setdefault(lib.name, lib)
    return libs


def find(name: str, setting: Path | str | None = None) -> Library | None:
    """A library by folder name or library.properties name (case-insensitive)."""
    want = name.lower()
    for lib in installed(setting).values():
        if want in (lib.name.lower(), lib.declared_name.lower()):
            return lib
    return None


def not_found_message(wanted: str | None, setting: Path | str | None = None) -> str:
    """Why a TFLite Micro sketch cannot be run here, as its verdict says it."""
    others = [lib.name for n in TFLM_NAMES if (lib := find(n, setting)) is not None]
    where = ", ".join(str(d) for d in library_dirs(setting))
    if not others:
        return f"not run: no TFLite Micro library found in {where} ({INSTALL_HINT})"
    return (f"not run: the sketch needs {wanted}, which is not installed in {where} (found {', '.join(others)}): "
            f"arduino-cli lib install {wanted}, or set libraries")
