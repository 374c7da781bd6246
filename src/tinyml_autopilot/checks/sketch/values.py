"""Value checks of a sketch: quantization constants, the label table and the feature scaling."""

from __future__ import annotations

import math
import re

from ...loop import Finding
from .tensors import input_handed_on, tensor_names, tensor_type_findings
from .types import Context, Result

IDENT = r"[A-Za-z_]\w*"

REL_TOL = 1e-3  # constants printed with ~4 significant digits still pass
_NOT_QUANT = re.compile(r"feat|std|mean|offset|norm|raw|sensor|adc|min|max|range|acc|gyro|mag|volt|"
                        r"__sizeof_|threshold|temp|sigma|mu\b", re.I)


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=1e-9)


def check_quantization(ctx: Context) -> Result:
    s, f = ctx.sketch, ctx.facts
    found = tensor_type_findings(ctx)
    if f.input_dtype != "int8":
        return found, f"model input is {f.input_dtype}: nothing to quantize; tensor types match the model"
    code = s.code
    found += _constants(ctx)
    # the input tensor's own params: reading only the output's does not quantize the input
    names = [re.escape(n) for n, w in tensor_names(s).items() if w == "input"] + ["input"]
    tensor = "|".join(names + [r"input\s*\(\s*\w*\s*\)"])
    runtime_params = all(re.search(rf"(?:\b{tensor})\s*->\s*params\s*\.\s*{field}", code)
                         for field in ("scale", "zero_point"))
    helpers = bool(re.search(rf"\b{IDENT}_quantize_input\s*\(", code))
    named = [n for n, v in s.consts.items() if "scale" in n.lower() and not _NOT_QUANT.search(n)
             and (_QUANT_HINT.search(n.lower()) or close(v, f.input_scale))]
    literal = any(close(v, f.input_scale) or close(v, 1 / f.input_scale)
                  for v in _float_literals(code) if f.input_scale)
    if not (runtime_params or helpers or named or literal or input_handed_on(s)):
        found.append(Finding("quantization", f"the input is never quantized: q = round(x / {f.input_scale:.9g}) "
                                             f"+ ({f.input_zero_point}), clamped to [-128, 127]"))
    how = "read from the tensors" if runtime_params else "runtime helpers" if helpers else "constants"
    return found, f"int8 quantization matches the model ({how})"


def _float_literals(code: str) -> list[float]:
    return [float(x) for x in re.findall(r"(?<![\w.])(\d+\.\d*(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+)", code)]


_ZERO_POINT = re.compile(r"zero_?point|(^|_)zp|zp$")
# Names that say which tensor or that they quantize; a bare `kScale` may be anything (g, volts, ...).
_QUANT_HINT = re.compile(r"input|output|^k?in(_|$|s|z|q)|_in$|out|quant|tensor|^k?q|^y")


def _constants(ctx: Context) -> list[Finding]:
    s, f, found = ctx.sketch, ctx.facts, []
    arrays = set(s.numeric_arrays())
    for name, value in s.consts.items():
        low = name.lower()
        if name in arrays or _NOT_QUANT.search(name) or name.startswith(("MODEL_", "__")):
            continue
        is_zp = bool(_ZERO_POINT.search(low))
        if not (is_zp or "scale" in low):
            continue
        out = "out" in low or low.startswith("y")
        want = (f.output_zero_point if is_zp else f.output_scale) if out else \
            (f.input_zero_point if is_zp else f.input_scale)
        if is_zp:
            ok = value == int(value) and int(value) == want
        else:
            ok = close(value, want) or bool(want) and close(value, 1 / want)  # an inverse scale is fine too
        if ok:
            continue
        kind, tensor = ("zero point" if is_zp else "scale"), ("output" if out else "input")
        if not is_zp and not _QUANT_HINT.search(low):
            if not any(close(value, v) for v in (f.input_scale, f.output_scale) if v) and not any(
                    close(value, 1 / v) for v in (f.input_scale, f.output_scale) if v):
                ctx.notes.append(f"{name} = {value:g} is neither the model's input scale ({f.input_scale:.9g}) "
                                 f"nor its output scale ({f.output_scale:.9g}); if it quantizes a tensor, it is wrong")
            continue
        found.append(Finding("quantization", f"{name} = {value:g} but the model's {tensor} {kind} is "
                                             f"{want:.9g}", s.lines(rf"\b{name}\b\s*(=|[^\n]*$)", re.M)[:1]))
    return found


_LABEL_NAME = re.compile(r"label|class|gesture|categor|name|command|word|kws", re.I)


def check_label_count(ctx: Context) -> Result:
    s, f = ctx.sketch, ctx.facts
    tables = {n: v for n, v in s.string_arrays().items() if len(v) > 1}
    named = {n: v for n, v in tables.items() if _LABEL_NAME.search(n)}
    # a table not named like labels is one only if it names one of the model's classes (not BLE UUIDs...)
    tables = named or {n: v for n, v in tables.items() if set(v) & set(f.labels)}
    if not tables:
        return None
    name, labels = max(tables.items(), key=lambda kv: _overlap(kv[1], f.labels))
    lines = s.lines(rf"\b{re.escape(name)}\s*\[")
    declared = s.array_sizes().get(name)
    if declared is not None and int(declared) != f.output_size:
        return [Finding("label_count", f"{name} is declared with {int(declared)} entries but the model outputs "
                                       f"{f.output_size} classes ({', '.join(f.labels)})", lines)], ""
    if len(labels) != f.output_size:
        return [Finding("label_count", f"{name} has {len(labels)} labels but the model outputs {f.output_size} "
                                       f"classes ({', '.join(f.labels)})", lines)], ""
    if sorted(labels) == sorted(f.labels) and labels != f.labels:
        return [Finding("label_count", f"{name} lists the labels in a different order than the model's "
                                       f"output: {', '.join(f.labels)}", lines)], ""
    if not set(labels) & set(f.labels):
        ctx.notes.append(f"{name} names {', '.join(labels)}; the model's classes are {', '.join(f.labels)}")
    return [], f"{len(labels)} labels for {f.output_size} outputs"


def _overlap(a: list[str], b: list[str]) -> int:
    return len(set(a) & set(b)) * 10 - abs(len(a) - len(b))


_OFFSET_NAME = re.compile(r"mean|offset|min|center|bias|mu\b|avg", re.I)
_SCALE_NAME = re.compile(r"std|scale|range|sigma|max|div|norm", re.I)


def check_scaling(ctx: Context) -> Result:
    feats = ctx.features
    sc = feats.scaling
    if sc.method == "none":
        return None
    s, n = ctx.sketch, feats.values_per_sample
    arrays = {k: v for k, v in s.numeric_arrays().items() if len(v) == n}
    scalars = {k: v for k, v in s.consts.items() if not k.startswith(("__", "MODEL_"))}
    need_offset = any(abs(o) > 1e-12 for o in sc.offset)
    need_scale = any(not close(x, 1.0) for x in sc.scale)
    inverse = [1 / x for x in sc.scale]
    maxes = [o + x for o, x in zip(sc.offset, sc.scale, strict=True)]
    offset_ok = not need_offset or _has(arrays, scalars, [sc.offset])
    scale_ok = not need_scale or _has(arrays, scalars, [sc.scale, inverse, maxes])
    if not (offset_ok and scale_ok) and _inline(s, sc.offset, sc.scale, scalars):
        return [], f"{sc.method} scaling constants match the feature spec ({n} channels, written inline)"
    found = []
    if not offset_ok:
        found.append(_mismatch(s, "offset", sc.offset, arrays, _OFFSET_NAME))
    if not scale_ok:
        found.append(_mismatch(s, "scale", sc.scale, arrays, _SCALE_NAME))
    return found, f"{sc.method} scaling constants match the feature spec ({n} values)"


def _inline(s, offsets: list[float], scales: list[float], scalars: dict[str, float]) -> bool:
    """Each channel scaled by its own statement: `(sepal_len - 5.843f) / 0.828f` holds that channel's
    offset and scale (or 1/scale), as literals or named scalars. Array tables are left out: they
    are compared position by position."""
    statements = []
    for stmt in re.split(r"[;{}]", s.code_without_tables()):
        named = [scalars[w] for w in set(re.findall(IDENT, stmt)) if w in scalars]
        statements.append(_numbers(stmt) + named)

    def channel(off: float, scale: float) -> bool:
        return any((abs(off) < 1e-12 or any(close(v, off) for v in values)) and
                   (close(scale, 1.0) or any(close(v, scale) or close(v, 1 / scale) for v in values))
                   for values in statements)

    return all(channel(o, x) for o, x in zip(offsets, scales, strict=True))


_NUMBER = re.compile(r"(?<![\w.\[])(\d+\.\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|\d+(?:[eE][+-]?\d+)?)"
                     r"[fFlL]?(?![\w.\]])")


def _numbers(code: str) -> list[float]:
    """Every decimal literal in `code` (hex, identifiers and array indices aside)."""
    return [float(x) for x in _NUMBER.findall(code)]


def _has(arrays: dict[str, list[float]], scalars: dict[str, float], wanted: list[list[float]]) -> bool:
    for want in wanted:
        if any(all(close(a, b) for a, b in zip(v, want, strict=True)) for v in arrays.values()):
            return True
        if len(set(round(w, 9) for w in want)) == 1 and any(close(v, want[0]) for v in scalars.values()):
            return True
    return False


def _mismatch(s, what: str, want: list[float], arrays: dict[str, list[float]], names: re.Pattern) -> Finding:
    fmt = ", ".join(f"{w:.6g}" for w in want)
    guess = next((k for k in arrays if names.search(k)), None)
    if guess:
        got = ", ".join(f"{v:.6g}" for v in arrays[guess])
        return Finding("feature_scaling", f"{guess} = {{{got}}} but the feature spec's {what} is {{{fmt}}} "
                                          "(x_model = (x_raw - offset) / scale)", s.lines(rf"\b{guess}\s*\["))
    return Finding("feature_scaling", f"the feature spec's {what} {{{fmt}}} is not in the sketch: scale each raw "
                                      "value as x_model = (x_raw - offset) / scale before quantizing")
