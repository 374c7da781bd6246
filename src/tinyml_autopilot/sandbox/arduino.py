"""Build Arduino sketches (arduino-cli, else Debian's arduino-builder) and run AVR firmware
in simavr. Every result says which tool ran; a missing compiler is never reported as a pass.

A sketch is generated code and the compiler reads whatever it #includes: compiles and
simulations run in the same sandbox as generated Python (python.run_command), with the build
folder writable and the sketch, the libraries and the toolchains read-only.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..secrets import clean_env, redact, secret_values
from .python import run_command

HARDWARE_DIRS = (Path("/usr/share/arduino/hardware"), Path("/usr/share/arduino-builder"))
TOOL_MEMORY_MB = 4096  # a compiler on a TensorFlow Lite Micro sketch, or a simulator
TOOL_OUTPUT_LIMIT = 256 * 1024  # compile logs and simulator output are parsed whole
AVR_EXTRA_PREFS = ("compiler.cpp.extra_flags=-DDECIMAL_DIG=9",)
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_FLASH = re.compile(r"Sketch uses (\d+) bytes.*?Maximum is (\d+) bytes", re.S)
_RAM = re.compile(r"Global variables use (\d+) bytes.*?Maximum is (\d+) bytes", re.S)
_ERROR = re.compile(r"(error:|Error |\berror\b|too big|not found|undefined reference)", re.I)
_NO_CORE = re.compile(r"[Pp]latform '?([\w.-]+:[\w.-]+)'? (?:not found: platform )?(?:is )?not installed")


@dataclass
class CompileResult:
    ok: bool
    tool: str  # "arduino-cli" | "arduino-builder" | "none"
    log: str
    flash_bytes: int | None = None
    ram_bytes: int | None = None
    flash_max: int | None = None
    ram_max: int | None = None
    elf: Path | None = None
    errors: list[str] = field(default_factory=list)
    missing: str | None = None  # what must be installed first (a core): not the sketch's fault


@dataclass
class SimResult:
    ok: bool
    output: str
    timed_out: bool = False
    cycles: int | None = None
    returncode: int | None = None
    duration_s: float = 0.0


@dataclass
class Proc:
    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool
    duration_s: float


def tool_available(name: str) -> bool:
    """True if the named executable is on PATH."""
    return shutil.which(name) is not None


def missing_tools(*names: str) -> list[str]:
    """The subset of `names` not on PATH (for pytest.skip reasons)."""
    return [n for n in names if not tool_available(n)]


def avr_toolchain_available() -> bool:
    return tool_available("arduino-cli") or (
        tool_available("arduino-builder") and HARDWARE_DIRS[0].exists())


def run_process(cmd: list[str], timeout: float, cwd: Path | None = None,
                stdin: bytes | None = None) -> Proc:
    """Run `cmd` in its own process group, without credentials in its environment and with any
    secret value redacted from its output (a sketch can #include any readable file and the
    compiler echoes it); on timeout kill the whole group."""
    start = time.monotonic()
    p = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.PIPE if stdin is not None else
                         subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True, env=clean_env())
    try:
        out, err = p.communicate(stdin, timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        timed_out = True
    return Proc(p.returncode, redact(out.decode(errors="replace")), redact(err.decode(errors="replace")),
                timed_out, time.monotonic() - start)


def run_sandboxed(cmd: list[str], timeout: float, workdir: Path, readable: list[Path],
                  env: dict[str, str] | None = None) -> Proc:
    """Run a compiler or simulator with `workdir` as its only writable folder."""
    res = run_command(cmd, workdir, timeout_s=timeout, memory_mb=TOOL_MEMORY_MB, readable=readable, env=env,
                      output_limit=TOOL_OUTPUT_LIMIT)
    stderr = res.stderr if res.ok or not (res.out_of_memory or res.disk_full or res.links) else \
        res.stderr + "\n" + res.describe().splitlines()[0]
    return Proc(res.returncode, res.stdout, stderr, res.timed_out, res.duration_s)


def _arduino_cli_dirs() -> tuple[list[Path], dict[str, str]]:
    """arduino-cli keeps cores and libraries under the home folder, which the sandbox does not show."""
    home = Path.home()
    data = Path(os.environ.get("ARDUINO_DIRECTORIES_DATA", home / ".arduino15"))
    user = Path(os.environ.get("ARDUINO_DIRECTORIES_USER", home / "Arduino"))
    env = {"ARDUINO_DIRECTORIES_DATA": str(data), "ARDUINO_DIRECTORIES_USER": str(user)}
    return [p for p in (data, user) if p.exists()], env


def scrub_secrets(folder: Path) -> None:
    """Redact secret values from the text files under `folder`; delete binary files holding one
    (the preprocessor's output in a build folder holds whatever the sketch included)."""
    values = secret_values()
    if not values or not folder.is_dir():
        return
    needles = [v.encode() for v in values]
    for path in folder.rglob("*"):
        if path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        if not any(n in data for n in needles):
            continue
        try:
            path.write_text(redact(data.decode(), values))
        except UnicodeDecodeError:
            path.unlink()


def _error_lines(log: str, limit: int = 20) -> list[str]:
    lines = [ln.strip() for ln in log.splitlines() if _ERROR.search(ln)]
    return [ln[:300] for ln in dict.fromkeys(lines)][:limit]


def _parse_sizes(res: CompileResult) -> None:
    if m := _FLASH.search(res.log):
        res.flash_bytes, res.flash_max = int(m.group(1)), int(m.group(2))
    if m := _RAM.search(res.log):
        res.ram_bytes, res.ram_max = int(m.group(1)), int(m.group(2))


def _find_elf(build_dir: Path, sketch_dir: Path) -> Path | None:
    preferred = build_dir / f"{sketch_dir.name}.ino.elf"
    if preferred.exists():
        return preferred
    elfs = sorted(build_dir.glob("*.elf"))
    return elfs[0] if elfs else None


def _cli_sizes(res: CompileResult, data: dict) -> None:
    result = data.get("builder_result") or data
    for sec in result.get("executable_sections_size") or []:
        name = str(sec.get("name", "")).lower()
        if name in ("text", "flash"):
            res.flash_bytes, res.flash_max = sec.get("size"), sec.get("max_size")
        elif name in ("data", "ram"):
            res.ram_bytes, res.ram_max = sec.get("size"), sec.get("max_size")


def _compile_cli(sketch_dir: Path, fqbn: str, build_dir: Path, libraries: list[Path],
                 timeout: float) -> CompileResult:
    cmd = ["arduino-cli", "compile", "--fqbn", fqbn, "--format", "json",
           "--build-path", str(build_dir)]
    for lib in libraries:
        cmd += ["--library", str(Path(lib).resolve())]
    dirs, env = _arduino_cli_dirs()
    proc = run_sandboxed(cmd + [str(sketch_dir)], timeout, build_dir, [sketch_dir, *libraries, *dirs], env)
    log = proc.stdout + proc.stderr
    res = CompileResult(ok=proc.returncode == 0 and not proc.timed_out, tool="arduino-cli",
                        log=log)
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        data = {}
    if isinstance(data, dict):
        res.ok = res.ok and data.get("success", True) is not False
        res.log = "\n".join(filter(None, [str(data.get("compiler_out", "")), str(data.get("compiler_err", "")),
                                          str(data.get("error", "")), proc.stderr])) or log
        _cli_sizes(res, data)
    if not res.ok and (m := _NO_CORE.search(res.log)):
        res.missing = f"arduino-cli has no core {m.group(1)} installed: run `arduino-cli core install {m.group(1)}`"
    if res.flash_bytes is None:
        _parse_sizes(res)
    if proc.timed_out:
        res.errors.append(f"arduino-cli timed out after {timeout:.0f}s")
    return res


def _compile_builder(sketch_dir: Path, fqbn: str, build_dir: Path, libraries: list[Path],
                     timeout: float) -> CompileResult:
    ino = sketch_dir / f"{sketch_dir.name}.ino"
    cmd = ["arduino-builder", "-compile", "-tools", "/usr/bin", "-fqbn", fqbn,
           "-build-path", str(build_dir)]
    for hw in HARDWARE_DIRS:
        cmd += ["-hardware", str(hw)]
    for lib in libraries:
        cmd += ["-libraries", str(Path(lib).resolve())]
    for pref in AVR_EXTRA_PREFS:
        cmd += ["-prefs", pref]
    proc = run_sandboxed(cmd + [str(ino)], timeout, build_dir, [sketch_dir, *libraries, *HARDWARE_DIRS])
    res = CompileResult(ok=proc.returncode == 0 and not proc.timed_out, tool="arduino-builder",
                        log=proc.stdout + proc.stderr)
    _parse_sizes(res)
    if proc.timed_out:
        res.errors.append(f"arduino-builder timed out after {timeout:.0f}s")
    return res


def compile_sketch(sketch_dir: Path, fqbn: str, build_dir: Path,
                   libraries: list[Path] = (), timeout: float = 300) -> CompileResult:
    """Compile the sketch folder `sketch_dir` (containing `<name>/<name>.ino`) for `fqbn`."""
    sketch_dir, build_dir = Path(sketch_dir).resolve(), Path(build_dir).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    libs = [Path(p) for p in libraries]
    if tool_available("arduino-cli"):
        res = _compile_cli(sketch_dir, fqbn, build_dir, libs, timeout)
    elif fqbn.startswith("arduino:avr:") and avr_toolchain_available():
        res = _compile_builder(sketch_dir, fqbn, build_dir, libs, timeout)
    else:
        why = ("neither arduino-cli nor arduino-builder with the AVR core is available"
               if fqbn.startswith("arduino:avr:") else
               "arduino-cli is not on PATH and arduino-builder only builds arduino:avr boards")
        msg = f"no compiler for board {fqbn} is installed: {why}"
        return CompileResult(ok=False, tool="none", log=msg, errors=[msg])
    if not res.ok:
        res.errors = res.errors + (_error_lines(res.log) or [res.log.strip()[-300:]])
    scrub_secrets(build_dir)
    res.elf = _find_elf(build_dir, sketch_dir) if res.ok else None
    if res.ok and res.elf is None:
        res.ok, res.errors = False, res.errors + ["the build produced no .elf file (or it held a secret value)"]
    return res


def simulate_avr(elf: Path, mcu: str = "atmega328p", freq: int = 16_000_000,
                 timeout: float = 60) -> SimResult:
    """Run `elf` in simavr until the firmware halts (cli + sleep) or `timeout` passes.

    simavr prints the UART to stderr with ANSI colours; both streams are returned stripped.
    simavr does not report a cycle count, so `cycles` stays None.
    """
    if not tool_available("simavr"):
        return SimResult(ok=False, output="simavr is not installed")
    with tempfile.TemporaryDirectory(prefix="tinyml-simavr-") as scratch:
        proc = run_sandboxed(["simavr", "-m", mcu, "-f", str(freq), str(elf)], timeout, Path(scratch),
                             [Path(elf)])
    text = _ANSI.sub("", proc.stderr + proc.stdout)
    return SimResult(ok=proc.returncode == 0 and not proc.timed_out, output=text,
                     timed_out=proc.timed_out, returncode=proc.returncode,
                     duration_s=proc.duration_s)
