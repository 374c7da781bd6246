"""The model_symbols check: the sketch maps the model its folder holds, by the names that
folder's files declare, and that model is the one being checked against.

The model may come as a header declaring `extern const unsigned char NAME[];` with its array in
a .cc/.cpp file (TFLite Micro examples), as a header that defines the array itself (`xxd -i`
output), or pasted into the .ino. For the portable C runtime it is the generated model.h/model.c.
"""

from __future__ import annotations

import math
import re

from .cpp import text, walk
from .reader import ByteArray, Sketch
from .types import Context, Result, finding
from .units import Call, Decl

IDENT = r"[A-Za-z_]\w*"
_NOT_NAMES = {"const", "void", "unsigned", "char", "uint8_t", "int8_t", "reinterpret_cast", "static_cast"}


def _f(message: str, lines: list[int] | None = None):
    return finding("model_symbols", message, lines)


def _argument_name(call: Call) -> str | None:
    """The array name inside a GetModel argument such as `(const void*)&g_model[0]`."""
    if not call.args:
        return None
    for n in walk(call.args[0]):
        if n.type == "identifier" and text(n) not in _NOT_NAMES:
            return text(n)
    return None


def _byte_externs(s: Sketch) -> dict[str, list[Decl]]:
    out: dict[str, list[Decl]] = {}
    for d in s.all_decls():
        if "extern" in d.qualifiers and (d.array or d.pointer) and re.search(r"char|u?int8_t|byte", d.type):
            out.setdefault(d.name, []).append(d)
    return out


def _line(s: Sketch, file: str, ln: int) -> list[int]:
    return [ln] if file == s.main else []


def check_model_symbols(ctx: Context) -> Result:
    if ctx.runtime != "tflm":
        return _portable(ctx)
    s = ctx.sketch
    arrays = {a.name: a for a in s.byte_arrays()}
    externs = _byte_externs(s)
    if not arrays and not externs:
        return [_f(f"no model data in the sketch folder: add {ctx.facts.model_header} and its "
                   f"{ctx.facts.model_header.rsplit('.', 1)[0]}.cc (the .tflite as a C array)")], ""
    found = _own_externs(s, arrays, externs) + _clashes(s, arrays, externs)
    stale, mapped = [], False
    known = ", ".join(sorted(set(arrays) | set(externs))) or "missing"
    for call in s.calls_named("GetModel"):
        name = _argument_name(call)
        if name is None:
            continue
        lines = _line(s, call.file, call.line)
        local = _local(s, name, call)
        if local is not None and "Model" in local.type and local.pointer:
            found.append(_f(f"GetModel({name}) is given the tflite::Model pointer {name} itself, which hides the "
                            f"model array: name the pointer differently and pass the array ({known})", lines))
            continue
        name = _through_pointer(s, name, call, arrays, externs)
        if name not in arrays and name not in externs:
            found.append(_f(f"GetModel({call.arg_texts[0]}): no file of the sketch folder declares {name}; "
                            f"the model array is {known}", lines))
            continue
        found += _reachable(s, name, arrays, externs, lines)
        if name in arrays:
            other = _same_model(ctx, arrays[name])
            stale += other
            mapped = mapped or not other and arrays[name].data is not None
    if mapped and stale:  # several models (multi-tenant): one of them is the model checked
        ctx.notes += [f.message for f in stale]
    else:
        found += stale
    found += _redefined(s, arrays)
    return found, f"the sketch maps {known}, the model checked" if not found else ""


def _local(s: Sketch, name: str, call: Call) -> Decl | None:
    """The declaration `name` refers to where `call` is (the innermost: a local hides a global)."""
    cands = [d for d in s.decls if d.name == name and (d.scope == call.scope or not d.scope)]
    cands.sort(key=lambda d: (d.scope == call.scope and d.file == call.file and d.line <= call.line, d.line))
    return cands[-1] if cands and not (cands[-1].array and cands[-1].value is not None) else None


def _through_pointer(s: Sketch, name: str, call: Call, arrays: dict, externs: dict) -> str:
    """`const unsigned char *model_data = model;` then GetModel(model_data): the array it points to."""
    if name in arrays or name in externs:
        return name
    decl = _local(s, name, call)
    if decl is not None and decl.pointer and decl.value is not None:
        for n in walk(decl.value):
            if n.type == "identifier" and (text(n) in arrays or text(n) in externs):
                return text(n)
    return name


def _own_externs(s: Sketch, arrays: dict[str, ByteArray], externs: dict[str, list[Decl]]) -> list:
    """An `extern const unsigned char g_model[];` of the sketch's own that nothing defines: a link error."""
    found, hand = [], {f.name for f in s.files}
    for name, decls in externs.items():
        if name in arrays:
            continue
        own = [d for d in decls if d.file in hand and not d.file.endswith((".h", ".hpp"))]
        if own and len(own) == len(decls):
            model = ", ".join(sorted(arrays)) or "the model array"
            where = {a.file for a in arrays.values()} | {d.file for n in arrays for d in externs.get(n, [])}
            header = next(iter(sorted(w for w in where if w.endswith((".h", ".hpp")))), "the model header")
            found.append(_f(f"{name} is declared by the sketch itself but defined nowhere (a link error): "
                            f"include {header} and use `{model}`", _line(s, own[0].file, own[0].line)))
    return found


def _clashes(s: Sketch, arrays: dict[str, ByteArray], externs: dict[str, list[Decl]]) -> list:
    """A file-scope name of the sketch that an included model header already declares as the array."""
    found, included = [], s.included_names()
    for d in s.decls:
        a = arrays.get(d.name)
        seen = {x.file for x in externs.get(d.name, []) if x is not d} | ({a.file} if a else set())
        if a is None or d.scope or a.file == d.file or not seen & included or (d.array and "extern" in d.qualifiers):
            continue
        if d.array and d.value is not None and d.value.type == "initializer_list":
            continue  # a second definition of the array: _redefined says so
        found.append(_f(f"`{d.type} {'*' if d.pointer else ''}{d.name}` clashes with the model array {d.name} "
                        f"that {a.file} defines: name it differently (e.g. tfl_{d.name}) and pass {d.name} to "
                        "tflite::GetModel", _line(s, d.file, d.line)))
    return found


def _reachable(s: Sketch, name: str, arrays: dict[str, ByteArray], externs: dict[str, list[Decl]],
               lines: list[int]) -> list:
    """The sketch sees `name`: it includes a header declaring or defining it, or defines it itself."""
    own = {f.name for f in s.files if not f.name.endswith((".h", ".hpp"))}
    where = {d.file for d in externs.get(name, [])} | ({arrays[name].file} if name in arrays else set())
    if where & (own | s.included_names()):
        return []
    headers = sorted(w for w in where if w.endswith((".h", ".hpp")))
    if headers:
        return [_f(f'{name} is declared in {headers[0]}, which the sketch never includes: #include "{headers[0]}"',
                   lines)]
    return [_f(f"{name} is defined in {sorted(where)[0]} but no header declares it: add a header with "
               f"`extern const unsigned char {name}[];` and include it", lines)]


def _same_model(ctx: Context, array: ByteArray) -> list:
    if array.data is None:
        return []
    want = ctx.facts.tflite.read_bytes()
    if array.data == want:
        return []
    return [_f(f"{array.name} in {array.file} is not the model being checked: it holds {len(array.data)} bytes, "
               f"{ctx.facts.tflite.name} has {len(want)}; regenerate the array from that model "
               f"(e.g. xxd -i {ctx.facts.tflite.name})")]


def _redefined(s: Sketch, arrays: dict[str, ByteArray]) -> list:
    """A model array the data file defines must not be defined again in the sketch."""
    found = []
    for d in s.decls:
        a = arrays.get(d.name)
        if a is not None and a.file != d.file and a.file in s.included_names() and d.array and d.value is not None \
                and d.value.type == "initializer_list":
            found.append(_f(f"{d.name} is already defined by {a.file}: do not define it again in the sketch",
                            _line(s, d.file, d.line)))
    return found


def _portable(ctx: Context) -> Result:
    s = ctx.sketch
    headers = {**s.model_files, **{f.name: f.text for f in s.files}}
    header = next((n for n, body in headers.items() if n.endswith(".h") and "_invoke" in body), None)
    if header is None:
        return [_f("no model header in the sketch folder (expected model.h and model.c from "
                   "`convert --emit c`)")], ""
    if not any(i.quoted and i.path == header for i in s.includes()):
        return [_f(f'the model header is never included: #include "{header}"')], ""
    body = headers[header]
    declared = set(re.findall(rf"\b({IDENT})\s*\(", body)) | set(re.findall(rf"#\s*define\s+({IDENT})", body))
    used = set(re.findall(rf"\b({IDENT}_(?:invoke|quantize_input|dequantize_output))\s*\(", s.code))
    used |= set(re.findall(r"\b(MODEL_[A-Z_]+)\b", s.code))
    found = [_f(f"{u} is not declared by {header}", s.lines(rf"\b{u}\b")) for u in sorted(used - declared)]
    found += _stale_portable(ctx, header)
    return found, f"symbols match {header}, generated from the model checked"


def _stale_portable(ctx: Context, header: str) -> list:
    """model.h generated from another model: its sizes and quantization differ from the model's."""
    f, consts = ctx.facts, ctx.sketch.consts
    want = {"MODEL_INPUT_SIZE": f.input_size, "MODEL_OUTPUT_SIZE": f.output_size,
            "MODEL_INPUT_SCALE": f.input_scale, "MODEL_INPUT_ZERO_POINT": f.input_zero_point,
            "MODEL_OUTPUT_SCALE": f.output_scale, "MODEL_OUTPUT_ZERO_POINT": f.output_zero_point}
    wrong = [f"{k} {consts[k]:g} (the model's is {v:g})" for k, v in want.items()
             if k in consts and not math.isclose(consts[k], v, rel_tol=1e-6, abs_tol=1e-12)]
    if not wrong:
        return []
    return [_f(f"{header} was generated from another model: {'; '.join(wrong)}; regenerate model.h/model.c "
               "with `tinyml-autopilot convert --emit c` from the model being checked")]
