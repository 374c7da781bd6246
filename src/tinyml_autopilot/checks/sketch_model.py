"""The model_symbols check: the sketch maps the model its folder holds, by the names that
folder's files declare, and that model is the one being checked against.

The model may come as a header declaring `extern const unsigned char NAME[];` with its array in
a .cc/.cpp file (TFLite Micro examples), as a header that defines the array itself (`xxd -i`
output), or pasted into the .ino. For the portable C runtime it is the generated model.h/model.c.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING

from ..loop import Finding
from .sketch_source import IDENT, SOURCE_SUFFIXES, call_args, strip_source

if TYPE_CHECKING:
    from .sketch_contract import Context, Result

_EXTERN = re.compile(rf"\bextern\s+[^;()]*?\b({IDENT})\s*(?:\[[^\]]*\])?\s*;")
_BYTE_ARRAY = re.compile(
    rf"\b(?:unsigned\s+char|u?int8_t|byte)\b[^;={{}}()]*?\b({IDENT})\s*\[[^\]]*\][^=;{{}}]*=\s*\{{([^}}]*)\}}")
_BYTE = re.compile(r"0[xX][0-9a-fA-F]+|\d+")
MIN_MODEL_BYTES = 64  # smaller byte tables are lookup tables, not flatbuffers


def _f(message: str, lines: list[int] | None = None) -> Finding:
    return Finding(check="model_symbols", message=message, lines=lines or [])


def _folder_texts(folder: Path) -> dict[str, str]:
    """Every C/C++ source and header of the sketch folder, comments removed."""
    return {p.name: strip_source(p.read_text(errors="replace"))[0] for p in sorted(Path(folder).iterdir())
            if p.suffix in SOURCE_SUFFIXES and p.is_file()}


def _model_arrays(texts: dict[str, str]) -> dict[str, tuple[str, bytes | None]]:
    """name -> (file, bytes) of the byte arrays big enough to be a model; bytes None if not parsable."""
    out: dict[str, tuple[str, bytes | None]] = {}
    for name, code in texts.items():
        for m in _BYTE_ARRAY.finditer(code):
            items = [x.strip() for x in m.group(2).split(",") if x.strip()]
            if len(items) < MIN_MODEL_BYTES:
                continue
            values = [int(x, 0) for x in items if _BYTE.fullmatch(x)]
            data = bytes(v & 0xFF for v in values) if len(values) == len(items) else None
            out[m.group(1)] = (name, data)
    return out


def _declarers(texts: dict[str, str]) -> dict[str, list[str]]:
    """symbol -> files declaring it extern."""
    out: dict[str, list[str]] = {}
    for name, code in texts.items():
        for sym in _EXTERN.findall(code):
            out.setdefault(sym, []).append(name)
    return out


def _model_argument(arg: str) -> str:
    """The array name inside a GetModel argument such as `(const void*)&g_model[0]`."""
    names = re.findall(IDENT, re.sub(r"\(\s*const\s+void\s*\*\s*\)|reinterpret_cast\s*<[^>]*>", " ", arg))
    names = [n for n in names if n not in ("const", "void", "unsigned", "char", "uint8_t", "int8_t")]
    return names[0] if names else arg


def check_model_symbols(ctx: Context) -> Result:
    if ctx.runtime != "tflm":
        return _portable(ctx)
    s = ctx.sketch
    texts = _folder_texts(s.folder)
    arrays, declared = _model_arrays(texts), _declarers(texts)
    calls = call_args(s.code, r"\bGetModel")
    if not arrays and not _extern_arrays(declared, texts):
        return [_f(f"no model data in the sketch folder: add {ctx.facts.model_header} and its "
                   f"{ctx.facts.model_header.rsplit('.', 1)[0]}.cc (the .tflite as a C array)")], ""
    found: list[Finding] = []
    included = {p.rsplit("/", 1)[-1] for _, p in s.includes()}
    known = sorted(set(arrays) | {n for n, _ in _extern_arrays(declared, texts)})
    for _pos, args in calls:
        if not args:
            continue
        name = _model_argument(args[0])
        lines = s.lines(rf"GetModel\s*\(\s*[^)]*\b{re.escape(name)}\b")
        if name not in arrays and name not in declared:
            found.append(_f(f"GetModel({args[0]}): no file of the sketch folder declares {name}; the model array "
                            f"is {', '.join(known) or 'missing'}", lines))
            continue
        found += _reachable(s, name, arrays, declared, included, lines)
        if name in arrays:
            found += _same_model(ctx, name, *arrays[name])
    found += _redefined(s, declared, arrays)
    names = ", ".join(known)
    return found, f"the sketch maps {names}, the model checked" if not found else ""


def _extern_arrays(declared: dict[str, list[str]], texts: dict[str, str]) -> list[tuple[str, str]]:
    """(symbol, header) of extern byte-array declarations."""
    out = []
    for sym, files in declared.items():
        for file in files:
            if re.search(rf"(?:unsigned\s+char|u?int8_t)[^;]*\b{re.escape(sym)}\s*\[", texts[file]):
                out.append((sym, file))
    return out


def _reachable(s, name: str, arrays: dict, declared: dict[str, list[str]], included: set[str],
               lines: list[int]) -> list[Finding]:
    """The sketch sees `name`: it includes a header declaring or defining it, or defines it itself."""
    own = {f.name for f in s.files if not f.name.endswith((".h", ".hpp"))}
    where = set(declared.get(name, [])) | ({arrays[name][0]} if name in arrays else set())
    if where & (own | included):
        return []
    headers = sorted(w for w in where if w.endswith((".h", ".hpp")))
    if headers:
        return [_f(f'{name} is declared in {headers[0]}, which the sketch never includes: #include "{headers[0]}"',
                   lines)]
    return [_f(f"{name} is defined in {sorted(where)[0]} but no header declares it: add a header with "
               f"`extern const unsigned char {name}[];` and include it", lines)]


def _same_model(ctx: Context, name: str, file: str, data: bytes | None) -> list[Finding]:
    if data is None:
        return []
    want = ctx.facts.tflite.read_bytes()
    if data == want:
        return []
    return [_f(f"{name} in {file} is not the model being checked: it holds {len(data)} bytes, "
               f"{ctx.facts.tflite.name} has {len(want)}; regenerate the array from that model "
               f"(e.g. xxd -i {ctx.facts.tflite.name})")]


def _redefined(s, declared: dict[str, list[str]], arrays: dict) -> list[Finding]:
    """A model array the data file defines must not be defined again in the sketch."""
    found = []
    for f in s.files:
        for m in _BYTE_ARRAY.finditer(f.code):
            name = m.group(1)
            other = arrays.get(name, (f.name, None))[0]
            if name in arrays and other != f.name:
                found.append(_f(f"{name} is already defined by {other}: do not define it again in the sketch",
                                s.lines(rf"\b{re.escape(name)}\s*\[")))
    return found


def _portable(ctx: Context) -> Result:
    s = ctx.sketch
    headers = {**s.model_files, **{f.name: f.text for f in s.files}}
    header = next((n for n, text in headers.items() if n.endswith(".h") and "_invoke" in text), None)
    if header is None:
        return [_f("no model header in the sketch folder (expected model.h and model.c from "
                   "`convert --emit c`)")], ""
    if not re.search(rf'#\s*include\s*"{re.escape(header)}"', s.strings):
        return [_f(f'the model header is never included: #include "{header}"')], ""
    text = headers[header]
    declared = set(re.findall(rf"\b({IDENT})\s*\(", text)) | set(re.findall(rf"#\s*define\s+({IDENT})", text))
    used = set(re.findall(rf"\b({IDENT}_(?:invoke|quantize_input|dequantize_output))\s*\(", s.code))
    used |= set(re.findall(r"\b(MODEL_[A-Z_]+)\b", s.code))
    found = [_f(f"{u} is not declared by {header}", s.lines(rf"\b{u}\b")) for u in sorted(used - declared)]
    found += _stale_portable(ctx, header)
    return found, f"symbols match {header}, generated from the model checked"


def _stale_portable(ctx: Context, header: str) -> list[Finding]:
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
