"""The checks of what the compiler would reject first: includes, code outside functions, and the
TFLite Micro API of the library's era (rules from boards/tflm_libraries.yaml)."""

from __future__ import annotations

import re
from pathlib import Path

from . import libraries as libs
from .cpp import line, text
from .types import Context, Result, finding

# Headers of the Arduino core and the C/C++ library: always there.
CORE_HEADERS = {"Arduino.h", "Wire.h", "SPI.h", "math.h", "stdint.h", "stdio.h", "stdlib.h", "string.h",
                "stddef.h", "float.h", "limits.h", "cmath", "cstdint", "cstdio", "cstring", "cstdlib",
                "algorithm", "array", "vector", "assert.h", "mbed.h", "ArduinoBLE.h", "PDM.h", "HardwareSerial.h"}
# names of the C library that Arduino.h does not bring on every core
_C_HEADERS = {"FLT_MAX": (["float.h", "cfloat"], "<float.h>"), "FLT_MIN": (["float.h", "cfloat"], "<float.h>")}
_TFLM_NAME = re.compile(r"tensorflow|tflite|tflm|tinyml", re.I)
# <TensorFlowLite.h> is also the top header of Harvard_TinyMLx, which keeps the ErrorReporter API.
_TINYMLX_HINT = ("; if the sketch is built with Harvard_TinyMLx (TFLite Micro 2.4), check it with "
                 "--board nano33ble_tinymlx")
_TFLM_USE = re.compile(r"\btflite\s*::|\bTfLite(Tensor|Status)\b")


# Include findings the compiler stops on at once (a missing file); the others are errors at a line.
_FATAL = ("reaches outside", "is not the header of", "not in the sketch folder", "does not exist in",
          "before the tensorflow", "is the library of", "does not build for")


def is_fatal(f) -> bool:
    return f.check == "includes" and any(p in f.message for p in _FATAL)


def _lines(ctx: Context, path: str) -> list[int]:
    return [i.line for i in ctx.sketch.includes() if i.path == path and i.file == ctx.sketch.main]


def check_includes(ctx: Context) -> Result:
    s, found = ctx.sketch, []
    folder_files = {p.name for p in s.folder.iterdir()} if s.folder.is_dir() else set()
    lib_headers = libs.library_headers(ctx.lib.name) if ctx.lib else frozenset()
    known_libs = {lib.header for lib in libs.libraries().values()} | set(libs.sensor_headers(ctx.board))
    for inc in s.includes():
        path, lines = inc.path, _lines(ctx, inc.path)
        if inc.conditional:
            continue  # one branch of an #if: the compiler picks one per board
        if inc.quoted and (path.startswith("/") or ".." in Path(path).parts):
            found.append(finding("includes", f'#include "{path}" reaches outside the sketch folder: keep every '
                                             "file the sketch includes inside its folder", lines))
        elif inc.quoted and path in folder_files:
            continue  # quoted includes look in the sketch folder first, then in the library paths
        elif path.startswith(("tensorflow/", "third_party/")) or path in known_libs or path in CORE_HEADERS \
                or path in lib_headers:
            continue
        elif _TFLM_NAME.search(path) and ctx.runtime == "tflm":
            top = ctx.lib.header if ctx.lib else "TensorFlowLite.h"
            found.append(finding("includes", f"<{path}> is not the header of any TFLite Micro library: include "
                                             f"<{top}> ({ctx.library})", lines))
        elif inc.quoted and _local_file(ctx, path):
            found.append(finding("includes", f'#include "{path}" names a file that is not in the sketch folder',
                                 lines))
        elif inc.quoted:
            ctx.notes.append(f'"{path}" is not in the sketch folder: the compiler looks for it in the installed '
                             "libraries")
    foreign, own = libs.foreign_sensor_headers(ctx.board), libs.sensor_headers(ctx.board)
    for inc in s.includes():
        if inc.path in foreign and not inc.conditional:
            have = ", ".join(f"{h} ({lib})" for h, lib in own.items()) or "no on-board sensor library"
            found.append(finding("includes", f"<{inc.path}> is the library of the {foreign[inc.path]}; "
                                             f"{ctx.board.name} has {have}", _lines(ctx, inc.path)))
    paths = [i.path for i in s.includes()]
    if ctx.runtime == "tflm":
        found += _tflm_includes(ctx, paths, lib_headers)
    elif any(p.startswith("tensorflow/") or p.endswith("TensorFlowLite.h") for p in paths):
        found.append(finding("includes", "the portable C runtime needs no TensorFlow Lite headers: include only "
                                         "the generated model.h"))
    for name, (headers, hint) in _C_HEADERS.items():
        if s.uses(name) and not set(headers) & s.included_names() and not _defined_here(ctx, name):
            found.append(finding("includes", f"{name} is used but {hint} is not included: #include <{headers[0]}>",
                                 s.lines(rf"\b{name}\b")))
    if re.search(r"\bBLE\s*\.", s.code) and "ArduinoBLE.h" not in s.included_names():
        found.append(finding("includes", "BLE is used but <ArduinoBLE.h> is not included"))
    return found, "every include exists for this board and library"


def _tflm_includes(ctx: Context, paths: list[str], lib_headers: frozenset[str]) -> list:
    s, found = ctx.sketch, []
    if ctx.board.is_avr:
        found.append(finding("includes", f"TensorFlow Lite Micro does not build for {ctx.board.name} (AVR): "
                                         "use the portable C runtime (model.h, model_invoke)"))
    if ctx.lib is None:
        return found
    era, names = ctx.lib.era, s.included_names()
    tf_paths = [p for p in paths if p.startswith(("tensorflow/", "third_party/"))]
    if tf_paths and ctx.lib.header not in names:
        found.append(finding("includes", f"include <{ctx.lib.header}> (the {ctx.library} library) before the "
                                         "tensorflow/lite/... headers: without it the library is not found",
                             _lines(ctx, tf_paths[0])))
    for path in dict.fromkeys(tf_paths):
        fix = era.missing_headers.get(path)
        if path.startswith("tensorflow/lite/experimental/micro/"):
            fix = f"these headers moved to tensorflow/lite/micro/ ({path.replace('experimental/', '', 1)})"
        if fix or (lib_headers and path not in lib_headers):
            found.append(finding("includes", f"{path} does not exist in {ctx.library} ({era.title}): "
                                             f"{fix or 'remove it'}", _lines(ctx, path)))
        elif not lib_headers and path not in libs.known_headers():
            ctx.notes.append(f"{path}: not a header the checks know; the compiler will tell")
    if not tf_paths and _TFLM_USE.search(s.code):
        found.append(finding("includes", f"tflite:: is used but no TFLite Micro header is included (<{ctx.lib.header}> "
                                         "declares nothing itself): include tensorflow/lite/micro/micro_interpreter.h, "
                                         "micro_mutable_op_resolver.h and tensorflow/lite/schema/schema_generated.h",
                             s.lines(_TFLM_USE)[:1]))
    for name, headers in era.needs_header.items():
        if tf_paths and not set(headers) & set(paths) and s.uses(name) and not _defined_here(ctx, name):
            found.append(finding("includes", f"{name} is used but {headers[0]} is not included ({ctx.library}, "
                                             f"{era.title}): #include \"{headers[0]}\"", s.lines(rf"\b{name}\b")))
    return found


def _local_file(ctx: Context, path: str) -> bool:
    """A file only the sketch folder can hold: the model data header or a sibling of its sources."""
    stem = path.rsplit(".", 1)[0].lower()
    return "model" in stem or path == ctx.facts.model_header or any(
        stem == f.name.rsplit(".", 1)[0].lower() for f in ctx.sketch.files)


def _defined_here(ctx: Context, name: str) -> bool:
    """Defined by the sketch itself, or only used behind `#ifdef NAME` / `defined(NAME)`."""
    guard = re.compile(rf"#\s*ifn?def\s+{name}\b|defined\s*\(?\s*{name}\b")
    return any(m == name for f in ctx.sketch.files for m, _ in f.macros) or \
        any(guard.search(f.code) for f in ctx.sketch.files)


def check_syntax(ctx: Context) -> Result:
    """What the Arduino build rejects before any type check: statements outside functions, and function
    templates in the .ino (the prototypes the builder generates come before the template line)."""
    s, found = ctx.sketch, []
    for f in s.files:
        for ln, code in f.stray:
            found.append(finding("syntax", f"statement outside any function at {f.name}:{ln} (`{code.strip()}`): "
                                           "move it into setup() or loop()", [ln] if f.name == s.main else []))
        if f.name.endswith(".ino") and f.templates:
            first = min(line(fn) for fn in f.funcs) if f.funcs else f.templates[0]
            for ln in f.templates:
                found.append(finding("syntax", f"function template in {f.name}:{ln}: the Arduino builder inserts "
                                               f"function prototypes at line {first} (the first function), without "
                                               "the template line; write a plain function or move it to a .h file",
                                     [min(first, ln), ln] if f.name == s.main else []))
    return found, "every statement is inside a function"


def check_api(ctx: Context) -> Result:
    if ctx.runtime != "tflm":
        if not re.search(r"\b\w+_invoke\s*\(", ctx.sketch.code):
            return [finding("api", "the model is never run: call model_invoke(input, output)")], ""
        return [], "portable C runtime API"
    s, found = ctx.sketch, []
    ctors = [c for c in s.calls if c.name == "MicroInterpreter" and c.kind in ("construct", "new", "call")]
    if not ctors:
        found.append(finding("api", "no tflite::MicroInterpreter is constructed"))
    if not s.calls_named("GetModel"):
        found.append(finding("api", "the model is never mapped with tflite::GetModel(...)"))
    if ctx.lib is None:
        return found, "TFLite Micro API"
    era = ctx.lib.era
    for name, fix in era.missing_names.items():
        if s.uses(name):
            hint = _TINYMLX_HINT if era.id == "current" and ctx.library == "Arduino_TensorFlowLite" else ""
            found.append(finding("api", f"{name} does not exist in {ctx.library} ({era.title}): {fix}{hint}",
                                 s.lines(rf"\b{name}\b")))
    for c in ctors:
        n = len(c.args)
        reporter = n >= 5 and "report" in text(c.args[4]).lower()
        allocator = n == 4 and era.error_reporter and text(c.args[2]) not in s.env.sizes  # (model, ops, allocator, er)
        if not (era.min_args <= n <= era.max_args or allocator) or (reporter and not era.error_reporter):
            found.append(finding("api", f"MicroInterpreter takes {era.min_args} arguments here {era.usage} in "
                                        f"{ctx.library} ({era.title}), not {n}", [c.line] if c.file == s.main else []))
    if re.search(r"\bops\s*::\s*micro\s*::\s*Register_", s.code) and not era.error_reporter:
        found.append(finding("api", "tflite::ops::micro::Register_* are gone: call resolver.AddFullyConnected() "
                                    "etc.", s.lines(r"\bops\s*::\s*micro\s*::\s*Register_")))
    if re.search(r"\bops\s*::\s*micro\s*::\s*AllOpsResolver", s.code):
        found.append(finding("api", "AllOpsResolver is tflite::AllOpsResolver (tensorflow/lite/micro/"
                                    "all_ops_resolver.h), not tflite::ops::micro::AllOpsResolver",
                             s.lines(r"\bops\s*::\s*micro\s*::")))
    if s.uses("AllOpsResolver"):
        ctx.notes.append("AllOpsResolver links every kernel: MicroMutableOpResolver with the model's ops "
                         "saves flash")
    return found, f"{era.title} of {ctx.library}"
