"""Read an Arduino sketch the way the contract checks need it, without a C++ parser.

Comments are blanked and string contents hidden (offsets and line numbers kept), named
constants (`#define`, `const`, `constexpr`) are evaluated with a small safe evaluator, and
arrays, string tables and calls are found with regexes over the cleaned text.
"""

from __future__ import annotations

import ast
import operator
import re
from dataclasses import dataclass, field
from pathlib import Path

SOURCE_SUFFIXES = (".ino", ".cpp", ".cc", ".c", ".h", ".hpp")
IDENT = r"[A-Za-z_]\w*"
_DEFINE = re.compile(rf"^[ \t]*#[ \t]*define[ \t]+({IDENT})[ \t]+([^\n]+)$", re.M)
_CONST = re.compile(
    rf"\b(?:static\s+|inline\s+)*(?:constexpr|const)\s+(?:static\s+)?[\w:]+(?:\s+[\w:]+)*\s+({IDENT})"
    r"\s*=\s*([^;{}]+);")
_ARRAY = re.compile(
    rf"({IDENT})\s*\[([^\]\[]*)\]\s*(?:PROGMEM\s*)?(?:__attribute__\s*\(\(.*?\)\)\s*)?=\s*\{{([^{{}}]*)\}}", re.S)
_ARRAY_DECL = re.compile(rf"\b({IDENT})\s*\[([^\]\[;]*)\]\s*(?:__attribute__\s*\(\(.*?\)\)\s*)?[;=]")
_INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*([<"])([^>"]+)[>"]', re.M)
_NUMBER_SUFFIX = re.compile(r"(?<![\w.])((?:0[xX][0-9a-fA-F]+)|(?:\d+\.?\d*(?:[eE][+-]?\d+)?)"
                            r"|(?:\.\d+(?:[eE][+-]?\d+)?))(?:[uU]?[lL]{0,2}|[fF])(?!\w)")
_CAST = re.compile(r"\(\s*(?:unsigned\s+|signed\s+|const\s+)*(?:int|float|double|long|short|char|size_t|u?int\d+_t)"
                   r"\s*\)|static_cast\s*<[^>]*>")
MAX_SHIFT = 64
MAX_VALUE = 2 ** 64  # beyond any C integer type: give up rather than grow huge integers
_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Mod: operator.mod,
        ast.LShift: operator.lshift, ast.RShift: operator.rshift, ast.BitOr: operator.or_,
        ast.BitAnd: operator.and_}


@dataclass
class SourceFile:
    name: str
    text: str  # as written
    code: str  # comments blanked, string contents replaced by spaces
    strings: str  # comments blanked, strings kept

    def line_of(self, pos: int) -> int:
        return self.text.count("\n", 0, pos) + 1


@dataclass
class Sketch:
    """The hand-written files of a sketch folder (generated model data files left out)."""

    folder: Path
    main: str  # name of the .ino file the line numbers refer to
    files: list[SourceFile]
    model_files: dict[str, str] = field(default_factory=dict)  # name -> text of model data headers
    consts: dict[str, float] = field(default_factory=dict)

    def iter_code(self):
        for f in self.files:
            yield f, f.code

    @property
    def code(self) -> str:
        return "\n".join(f.code for f in self.files)

    @property
    def strings(self) -> str:
        return "\n".join(f.strings for f in self.files)

    def lines(self, pattern: re.Pattern | str, flags: int = 0) -> list[int]:
        """Line numbers in the main .ino where `pattern` matches the cleaned code."""
        rx = re.compile(pattern, flags) if isinstance(pattern, str) else pattern
        main = next(f for f in self.files if f.name == self.main)
        return sorted({main.line_of(m.start()) for m in rx.finditer(main.code)})

    def includes(self) -> list[tuple[str, str]]:
        """(delimiter, path) of every #include in the hand-written files."""
        return [(m.group(1), m.group(2).strip()) for f in self.files for m in _INCLUDE.finditer(f.strings)]

    def eval(self, expr: str) -> float | None:
        return evaluate(expr, self.consts)

    def numeric_arrays(self) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {}
        for _, code in self.iter_code():
            for m in _ARRAY.finditer(code):
                items = [x.strip() for x in m.group(3).split(",") if x.strip()]
                values = [self.eval(x) for x in items]
                if items and all(v is not None for v in values):
                    out[m.group(1)] = [float(v) for v in values]  # type: ignore[arg-type]
        return out

    def string_arrays(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for f in self.files:
            for m in _ARRAY.finditer(f.strings):
                body = m.group(3).strip().rstrip(",")
                items = re.findall(r'"((?:[^"\\]|\\.)*)"', body)
                if items and re.fullmatch(r'(\s*"(?:[^"\\]|\\.)*"\s*,?)+', body):
                    out[m.group(1)] = items
        return out

    def code_without_tables(self) -> str:
        """The cleaned code with the initializer lists of arrays blanked."""
        return _ARRAY.sub(lambda m: m.group(0)[:m.start(3) - m.start()] + " " * len(m.group(3)) + "}", self.code)

    def array_sizes(self) -> dict[str, float | None]:
        """Declared sizes of arrays without an initializer list (e.g. the tensor arena)."""
        out: dict[str, float | None] = {}
        for _, code in self.iter_code():
            for m in _ARRAY_DECL.finditer(code):
                out[m.group(1)] = self.eval(m.group(2)) if m.group(2).strip() else None
        return out


def strip_source(text: str) -> tuple[str, str]:
    """(code, strings): comments blanked in both; string and char contents blanked in `code`."""
    code, keep = list(text), list(text)
    i, n = 0, len(text)
    while i < n:
        two = text[i:i + 2]
        if two in ("//", "/*"):
            end = text.find("\n", i) if two == "//" else text.find("*/", i + 2)
            end = n if end < 0 else (end if two == "//" else end + 2)
            for j in range(i, end):
                if text[j] != "\n":
                    code[j] = keep[j] = " "
            i = end
        elif text[i] in "\"'":
            quote, j = text[i], i + 1
            while j < n and text[j] != quote and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            for k in range(i + 1, min(j, n)):
                code[k] = " "
            i = j + 1
        else:
            i += 1
    return "".join(code), "".join(keep)


def evaluate(expr: str, consts: dict[str, float]) -> float | None:
    """Value of a simple C constant expression (numbers, + - * / % << >>, names); None if not simple."""
    expr = _CAST.sub(" ", expr)
    expr = _NUMBER_SUFFIX.sub(lambda m: m.group(1), expr).strip()
    expr = re.sub(r"\bsizeof\s*\(\s*(\w+)\s*\)", r"__sizeof_\1", expr)
    if not expr or re.search(r"[^\w\s.+\-*/%()<>|&]", expr):
        return None
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        return None
    try:
        return _eval_node(tree.body, consts)
    except (KeyError, ValueError, TypeError, ZeroDivisionError, OverflowError):
        return None


def _eval_node(node: ast.AST, consts: dict[str, float]) -> float:
    value = _eval_raw(node, consts)
    if abs(value) > MAX_VALUE:
        raise ValueError("out of range of C integer types")
    return value


def _eval_raw(node: ast.AST, consts: dict[str, float]) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.Name):
        return consts[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _eval_node(node.operand, consts)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp):
        left, right = _eval_node(node.left, consts), _eval_node(node.right, consts)
        if isinstance(node.op, ast.Div | ast.FloorDiv):
            if isinstance(left, int) and isinstance(right, int):
                return int(left / right)  # C integer division truncates
            return left / right
        if isinstance(node.op, ast.LShift | ast.RShift) and not 0 <= right <= MAX_SHIFT:
            raise ValueError("shift count out of range")
        if type(node.op) in _OPS:
            return _OPS[type(node.op)](left, right)
    raise ValueError("not a simple constant expression")


def collect_constants(files: list[SourceFile], extra: dict[str, float] | None = None) -> dict[str, float]:
    """Evaluate every named constant, repeating until no more resolve (any declaration order)."""
    pending: dict[str, str] = {}
    for f in files:
        for m in _DEFINE.finditer(f.code):
            pending[m.group(1)] = m.group(2).strip()
        for m in _CONST.finditer(f.code):
            pending[m.group(1)] = m.group(2).strip()
    consts: dict[str, float] = dict(extra or {})
    for _ in range(8):
        progressed = False
        for name, expr in list(pending.items()):
            value = evaluate(expr, consts)
            if value is not None:
                consts[name] = value
                pending.pop(name)
                progressed = True
        if not progressed:
            break
    return consts


_BIG_BYTES = re.compile(r"(?:unsigned\s+char|u?int8_t)\s+\w+\s*\[[^\]]*\][^=;{}]*=\s*\{([^}]{1000,})\}")


def blank_byte_tables(code: str) -> str:
    """`code` with the bodies of big byte arrays (a model pasted as C) blanked, offsets kept."""
    return _BIG_BYTES.sub(lambda m: m.group(0).replace(m.group(1), re.sub(r"\S", " ", m.group(1))), code)


def is_model_data(name: str, text: str) -> bool:
    """Generated model files: only big byte arrays (TFLM), or the portable C runtime's output.
    A file that also holds code (functions, classes) is part of the sketch."""
    if "generated by tinyml-autopilot (cruntime)" in text[:400]:
        return True
    if text.count("0x") <= 200:
        return False
    rest = _BIG_BYTES.sub(" ", strip_source(text)[0])
    return rest != strip_source(text)[0] and "{" not in rest


def read_sketch(folder: Path) -> Sketch:
    folder = Path(folder)
    inos = sorted(folder.glob("*.ino"))
    if not inos:
        from ..errors import UserError

        raise UserError(f"{folder} holds no .ino file: pass the sketch folder")
    main = next((p for p in inos if p.stem == folder.name), inos[0])
    files, model_files = [], {}
    for path in [main] + sorted(p for p in folder.iterdir() if p.suffix in SOURCE_SUFFIXES and p != main):
        text = path.read_text(errors="replace")
        if path != main and is_model_data(path.name, text):  # a model pasted into the .ino is still the sketch
            model_files[path.name] = text
            continue
        code, strings = strip_source(text)
        files.append(SourceFile(path.name, text, blank_byte_tables(code), blank_byte_tables(strings)))
    sketch = Sketch(folder=folder, main=main.name, files=files, model_files=model_files)
    sketch.consts = collect_constants(files, _model_macros(model_files))
    for name, size in sketch.array_sizes().items():
        if size is not None:
            sketch.consts.setdefault(f"__sizeof_{name}", size)
    return sketch


def _model_macros(model_files: dict[str, str]) -> dict[str, float]:
    """The numeric macros of generated headers (MODEL_INPUT_SIZE ...), so sketches may use them."""
    found: dict[str, float] = {}
    for text in model_files.values():
        for m in _DEFINE.finditer(strip_source(text)[0]):
            value = evaluate(m.group(2), found)
            if value is not None:
                found[m.group(1)] = value
    return found


def split_args(text: str) -> list[str]:
    """Top-level comma-separated arguments of a call's argument text."""
    args, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            args.append(text[start:i].strip())
            start = i + 1
    tail = text[start:].strip()
    return args + ([tail] if tail else [])


def call_args(code: str, name_pattern: str) -> list[tuple[int, list[str]]]:
    """(offset, arguments) of each call/construction matching `name_pattern` followed by '('."""
    out = []
    for m in re.finditer(name_pattern + r"\s*\(", code):
        depth, i = 1, m.end()
        while i < len(code) and depth:
            depth += {"(": 1, ")": -1}.get(code[i], 0)
            i += 1
        out.append((m.start(), split_args(code[m.end():i - 1])))
    return out
