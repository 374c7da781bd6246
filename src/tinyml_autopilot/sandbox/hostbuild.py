"""Build an Arduino TFLite Micro sketch as a program: the user's TFLM library compiled once into a cache
(keyed by library name+version, compiler version, flags and our core), our host Arduino core and same-API
sensor replay libraries (package data in `host_arduino/`), and the sketch itself.

Targets: "host32" (g++ -m32: 32-bit pointers, so arena figures match a Cortex-M) and "m4"
(arm-none-eabi-g++ for Cortex-M4F, run under QEMU with semihosting).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from .arduino import run_process, run_sandboxed
from .libraries import Library
from .pch import HEADER as PCH_HEADER
from .pch import blank_comments, precompiled

HOST_ARDUINO = Path(__file__).parent / "host_arduino"
CORE = HOST_ARDUINO / "core"
STANDINS = HOST_ARDUINO / "standins"
REPLAY = HOST_ARDUINO / "libraries"
MBED = HOST_ARDUINO / "mbed"
ARM_STANDINS = HOST_ARDUINO / "arm"  # searched before STANDINS on Cortex-M4
# Libraries written for one board only: what that board's core gives them (its define, its pin names).
BOARD_FLAGS = {"Arduino_TensorFlowLite": ["-DARDUINO_ARDUINO_NANO33BLE", "-include", "tinyml_mbed_pins.h"]}
EXCLUDE = re.compile(r"(^|/)(examples|cortex-m4|testing|benchmarks)/|OV767X|utility/ov7670|i2s_nrf52840|wm8960|"
                     r"test_over_serial")
DEFINES = ["-DARDUINO=10819", "-DARDUINO_ARCH_MBED", "-DTF_LITE_STATIC_MEMORY", "-DNDEBUG"]
TARGETS = {
    "host32": {"cc": "gcc", "cxx": "g++", "ar": "ar", "flags": ["-m32", "-O1", "-g0"]},
    "m4": {"cc": "arm-none-eabi-gcc", "cxx": "arm-none-eabi-g++", "ar": "arm-none-eabi-ar",
           "flags": ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-O2", "-g0",
                     "-ffunction-sections", "-fdata-sections", "-DTINYML_SEMIHOSTING"]},
}
CXX_FLAGS = ["-std=gnu++17", "-fno-rtti", "-fno-exceptions", "-fno-threadsafe-statics", "-w"]
C_FLAGS = ["-std=gnu11", "-w"]
BUILD_JOBS = 2
LIBRARY_TIMEOUT_S = 3600
SKETCH_TIMEOUT_S = 300
ALLOCATE_TENSORS = "_ZN6tflite16MicroInterpreter15AllocateTensorsEv"  # wrapped by host_arduino/probe
INVOKE = "_ZN6tflite16MicroInterpreter6InvokeEv"  # wrapped on Cortex-M4 to count instructions
ARM_SUPPORT = Path(__file__).parent / "arm_support"
# Cortex-M4 under QEMU: our start-up code and linker script, newlib's semihosting (files, argv, exit code).
M4_LINK = ["--specs=rdimon.specs", "-T", str(ARM_SUPPORT / "board.ld"), "-Wl,--gc-sections",
           "-x", "c", str(ARM_SUPPORT / "startup.c"), "-x", "none", f"-Wl,--wrap={INVOKE}"]
_DIAG = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+):(?:\d+:)? (?:fatal )?error: (?P<msg>.*)$", re.M)


def cache_root() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "tinyml-autopilot" / "tflm"


def pch_root(target: str) -> Path | None:
    """Where precompiled include blocks are kept (None: not used)."""
    return cache_root() / "pch" / target


@cache
def compiler_version(cc: str) -> str:
    try:
        return subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30).stdout.split("\n")[0]
    except (OSError, subprocess.TimeoutExpired):
        return ""


def tools_missing(target: str) -> list[str]:
    t = TARGETS[target]
    return [t[k] for k in ("cc", "cxx", "ar") if shutil.which(t[k]) is None]


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


def _tree_digest(folder: Path, pattern: str = "*") -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob(pattern)):
        if p.is_file():
            h.update(str(p.relative_to(folder)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:12]


def library_sources(lib: Library) -> list[Path]:
    src = lib.src
    return sorted(p for p in src.rglob("*") if p.suffix in (".c", ".cc", ".cpp")
                  and not EXCLUDE.search(str(p.relative_to(src))))


def _includes(lib: Library | None, target: str = "host32") -> list[str]:
    dirs = [CORE, *([ARM_STANDINS] if target == "m4" else []), STANDINS] + sorted(p for p in REPLAY.iterdir()
                                                                               if p.is_dir())
    if lib is not None:
        dirs.insert(0, lib.src)
    flags = BOARD_FLAGS.get(lib.name, []) if lib is not None else []
    return [f"-I{d}" for d in dirs] + ([f"-I{MBED}", *flags] if flags else [])


class BuildError(RuntimeError):
    """A library or core that does not build here (not the sketch's fault)."""


def _make(objects: list[tuple[Path, Path]], archive: Path, target: str, includes: list[str]) -> None:
    """Compile (source, object) pairs with make -j2 under nice, then archive them."""
    t = TARGETS[target]
    lines = [f"all: {archive}", ""]
    for src, obj in objects:
        cc, lang = (t["cc"], C_FLAGS) if src.suffix == ".c" else (t["cxx"], CXX_FLAGS)
        cmd = " ".join([cc, *t["flags"], *lang, *DEFINES, *includes, "-c", f'"{src}"', "-o", f'"{obj}"'])
        lines += [f"{obj}:", f"\t@mkdir -p {obj.parent}", f"\t{cmd}", ""]
    lines += [f"{archive}: " + " ".join(str(o) for _, o in objects), f"\t{t['ar']} rcs $@ $^", ""]
    makefile = archive.parent / "Makefile"
    makefile.write_text("\n".join(lines))
    proc = run_process(["nice", "-n", "10", "make", "-s", "-k", f"-j{BUILD_JOBS}", "-f", str(makefile)],
                       LIBRARY_TIMEOUT_S, cwd=archive.parent)
    if proc.returncode != 0 or not archive.is_file():
        raise BuildError((proc.stdout + proc.stderr)[-3000:] or "make failed")


def _cached_archive(name: str, key: str, sources: list[Path], root: Path, target: str,
                    includes: list[str]) -> Path:
    final = cache_root() / f"{name}-{target}-{key}" / "lib.a"
    if final.is_file():
        return final
    final.parent.parent.mkdir(parents=True, exist_ok=True)
    failed = final.parent.parent / f".{final.parent.name}.failed"
    with (final.parent.parent / f".{final.parent.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a build of the same key in another process: wait for it, then reuse
        if final.is_file():
            return final
        if failed.is_file():  # this library does not build with these flags: say so at once, every time
            raise BuildError(failed.read_text())
        try:
            _build_archive(final, sources, root, target, includes)
        except BuildError as err:
            failed.write_text(str(err))
            raise
    return final


def _build_archive(final: Path, sources: list[Path], root: Path, target: str, includes: list[str]) -> None:
    """Objects go to a `.partial` folder that a later attempt continues (make rebuilds only what is missing)."""
    work = final.parent.with_name(f".{final.parent.name}.partial")
    work.mkdir(parents=True, exist_ok=True)
    objects = [(s, work / "obj" / (str(s.relative_to(root)).replace("/", "__") + ".o")) for s in sources]
    _make(objects, work / "lib.a", target, includes)
    for _, obj in objects:
        obj.unlink()
    with contextlib.suppress(OSError):  # another process finished the same build first
        work.rename(final.parent)
    shutil.rmtree(work, ignore_errors=True)


def _library_key(lib: Library, target: str) -> tuple[str, str]:
    """The library's objects depend on its sources (name, version, place), the compiler, the flags and the
    headers of our core it includes (not on the core's code, which is linked separately)."""
    t = TARGETS[target]
    board = [" ".join(BOARD_FLAGS[lib.name]), _tree_digest(MBED)] if lib.name in BOARD_FLAGS else []
    board += [_tree_digest(ARM_STANDINS)] if target == "m4" else []
    key = _digest(lib.name, lib.version, str(lib.path), compiler_version(t["cxx"]),
                  " ".join(t["flags"] + CXX_FLAGS + DEFINES), _tree_digest(CORE, "*.h"), _tree_digest(STANDINS, "*.h"),
                  *board)
    return key, re.sub(r"[^\w.-]", "_", f"{lib.name}-{lib.version}")


def library_archive(lib: Library, target: str) -> Path:
    """The TFLM library compiled for `target`, from the cache or built now (minutes, once)."""
    key, safe = _library_key(lib, target)
    return _cached_archive(safe, key, library_sources(lib), lib.src, target, _includes(lib, target))


def is_cached(lib: Library, target: str) -> bool:
    key, safe = _library_key(lib, target)
    return (cache_root() / f"{safe}-{target}-{key}" / "lib.a").is_file()


def core_archive(target: str, lib: Library) -> Path:
    """Our Arduino core and replay libraries for `target` (seconds; cached like the library)."""
    t = TARGETS[target]
    sources = sorted(HOST_ARDUINO.rglob("*.cpp"))  # on Cortex-M4 newlib's semihosting gives main() its files
    key = _digest(compiler_version(t["cxx"]), " ".join(t["flags"] + CXX_FLAGS + DEFINES), _tree_digest(HOST_ARDUINO),
                  lib.name, lib.version)
    return _cached_archive("core", key, sources, HOST_ARDUINO, target, _includes(lib, target))


@dataclass
class SketchBuild:
    ok: bool
    log: str
    exe: Path | None = None
    errors: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # error lines in the .ino
    library_error: str | None = None  # the library or core failed: not the sketch's fault


_FUNC = re.compile(r"^(?!\s*(?:if|else|for|while|switch|return|do)\b)([A-Za-z_][\w:<>,\s\*&]*?[\s\*&])"
                   r"([A-Za-z_]\w*)\s*\(([^;{}()]*)\)\s*(?:const\s*)?\{", re.M)


def ino_to_cpp(ino: str, name: str) -> str:
    """What Arduino's build does to an .ino: #include <Arduino.h> and prototypes for its functions,
    placed before the first function definition, with #line directives keeping the sketch's line numbers."""
    depth, first, protos = 0, None, []
    code = blank_comments(ino)
    pos = 0
    for m in _FUNC.finditer(code):
        depth += code.count("{", pos, m.start()) - code.count("}", pos, m.start())
        pos = m.start()
        if depth != 0 or m.group(2) in ("setup", "loop") and False:
            continue
        ret = " ".join(m.group(1).split())
        if ret.startswith(("#", "struct ", "class ", "namespace", "enum ")) or "=" in m.group(3):
            continue
        if first is None:
            first = m.start()
        protos.append(f"{ret} {m.group(2)}({' '.join(m.group(3).split())});")
    line_of = ino.count("\n", 0, first) + 1 if first is not None else 1
    head, tail = (ino[:first], ino[first:]) if first is not None else (ino, "")
    return (f'#include <Arduino.h>\n#line 1 "{name}.ino"\n{head}' + "\n".join(protos)
            + f'\n#line {line_of} "{name}.ino"\n{tail}')


_STARTED: dict[tuple, Future] = {}


def _build_key(sketch_dir: Path, lib: Library, workdir: Path, target: str, extra_link) -> tuple:
    return str(Path(sketch_dir).resolve()), lib, str(Path(workdir).resolve()), target, tuple(extra_link)


def start_build(sketch_dir: Path, lib: Library, workdir: Path, target: str, extra_link: list[str] = ()) -> None:
    """Start a build in the background (the Cortex-M4 one beside the host's: the machine's other core); the
    `build_sketch` call with the same arguments returns its result."""
    key = _build_key(sketch_dir, lib, workdir, target, extra_link)
    pool = ThreadPoolExecutor(1)
    _STARTED[key] = pool.submit(build_sketch, sketch_dir, lib, workdir, target, extra_link, False)
    pool.shutdown(wait=False)  # its thread ends with the build


def settle_build(sketch_dir: Path, lib: Library, workdir: Path, target: str, extra_link: list[str] = ()) -> None:
    """A started build that will not be used: wait for it (nothing it started outlives the step) and drop it."""
    fut = _STARTED.pop(_build_key(sketch_dir, lib, workdir, target, extra_link), None)
    if fut is not None:
        fut.exception()


def build_sketch(sketch_dir: Path, lib: Library, workdir: Path, target: str = "host32",
                 extra_link: list[str] = (), started: bool = True) -> SketchBuild:
    """Compile the sketch (and any .cpp/.c beside it) against `lib`, link with the cached library and core."""
    if started and (fut := _STARTED.pop(_build_key(sketch_dir, lib, workdir, target, extra_link), None)):
        return fut.result()
    sketch_dir, workdir = Path(sketch_dir).resolve(), Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    name = sketch_dir.name
    try:
        libs = [core_archive(target, lib), library_archive(lib, target)]
    except BuildError as err:
        return SketchBuild(False, str(err), library_error=f"{lib.name} {lib.version} does not build here: "
                           + (str(err).strip().splitlines() or ["?"])[-1])
    t = TARGETS[target]
    cpp = workdir / f"{name}.ino.cpp"
    ino = (sketch_dir / f"{name}.ino").read_text(errors="replace")
    flags, includes = [*t["flags"], *CXX_FLAGS[:-1], *DEFINES], _includes(lib, target)
    base = [t["cxx"], *flags, *includes]
    readable = [sketch_dir, lib.path, HOST_ARDUINO, *(Path(a).parent for a in libs)]
    pre = precompiled(pch_root(target), sketch_dir, ino, base, compiler_version(t["cxx"]),
                      lambda cmd, work: run_sandboxed(cmd, SKETCH_TIMEOUT_S, work, readable[1:3]).returncode)
    if pre is None:
        cpp.write_text(ino_to_cpp(ino, name))
    else:  # the block's lines stay as blank lines, so the sketch's line numbers do not move
        text = ino_to_cpp("\n" * pre[1] + "\n".join(ino.split("\n")[pre[1]:]), name)
        cpp.write_text(text.replace("#include <Arduino.h>\n", f'#include "{pre[0] / PCH_HEADER}"\n', 1))
        readable.append(pre[0])
    sources = [cpp] + sorted(p for p in sketch_dir.iterdir() if p.suffix in (".cpp", ".c", ".cc"))
    exe = workdir / (f"{name}.elf" if target == "m4" else name)
    cmd = [t["cxx"], "-Winvalid-pch", *flags, f"-I{sketch_dir}", *includes, *(str(s) for s in sources),
           *(M4_LINK if target == "m4" else []), *extra_link,
           f"-Wl,--wrap={ALLOCATE_TENSORS}", *(str(a) for a in libs), "-lm", "-o", str(exe)]
    # the sketch is generated code: its compiler sees only the sources, the libraries and the cache
    proc = run_sandboxed(cmd, SKETCH_TIMEOUT_S, workdir, readable=readable)
    log = " ".join(cmd) + "\n" + proc.stdout + proc.stderr
    (workdir / "build.log").write_text(log)
    if proc.returncode == 0 and exe.is_file():
        return SketchBuild(True, log, exe)
    errors = [f"{Path(m['file']).name}:{m['line']}: error: {m['msg']}" for m in _DIAG.finditer(proc.stderr)]
    errors += [line for line in proc.stderr.splitlines() if "undefined reference" in line][:5]
    lines = sorted({int(m["line"]) for m in _DIAG.finditer(proc.stderr) if m["file"].endswith(f"{name}.ino")})
    if proc.timed_out:
        errors.append(f"the compiler ran over {SKETCH_TIMEOUT_S}s")
    return SketchBuild(False, log, errors=errors or proc.stderr.strip().splitlines()[-5:], lines=lines)
