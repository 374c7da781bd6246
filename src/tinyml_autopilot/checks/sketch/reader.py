"""Read an Arduino sketch folder the way the contract checks need it, on a C++ parser.

Every C/C++ file is parsed with tree-sitter (units.py); the sketch then knows its includes,
declarations with types and scopes, calls with their arguments per object, and the values of its
named constants across namespaces, structs and constexpr functions (cpp.py). Generated model
data files are kept apart: their byte arrays are read, their bytes never walked node by node.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from tree_sitter import Node

from ...errors import UserError
from .cpp import TYPE_SIZES, Env, evaluate, parse_expression, squash, text
from .units import BIG_LIST, Call, Decl, Include, Unit, read_unit

SOURCE_SUFFIXES = (".ino", ".cpp", ".cc", ".c", ".h", ".hpp")
MIN_MODEL_BYTES = 64  # smaller byte tables are lookup tables, not flatbuffers
_BYTE_TYPES = ("unsigned char", "uint8_t", "int8_t", "char", "byte", "signed char")


@dataclass
class ByteArray:
    name: str
    file: str
    line: int
    data: bytes | None  # None when an item is not a plain number
    items: int


FLOAT_TABLE_MAX = 4096  # longest float table read as numbers


@dataclass
class Sketch:
    """The hand-written files of a sketch folder; generated model data files read apart."""

    folder: Path
    main: str  # the .ino the line numbers refer to
    files: list[Unit]
    model_units: list[Unit] = field(default_factory=list)
    env: Env = field(default_factory=Env)
    consts: dict[str, float] = field(default_factory=dict)  # plain names (qualified ones live in env)

    @property
    def model_files(self) -> dict[str, str]:
        return {u.name: u.text for u in self.model_units}

    @property
    def code(self) -> str:
        return "\n".join(f.code for f in self.files)

    @property
    def decls(self) -> list[Decl]:
        return [d for f in self.files for d in f.decls]

    @property
    def calls(self) -> list[Call]:
        return [c for f in self.files for c in f.calls]

    def all_decls(self) -> list[Decl]:
        return [d for f in self.files + self.model_units for d in f.decls]

    def includes(self) -> list[Include]:
        return [i for f in self.files for i in f.includes]

    def included_names(self) -> set[str]:
        return {i.path.rsplit("/", 1)[-1] for i in self.includes()}

    def calls_named(self, *names: str) -> list[Call]:
        return [c for c in self.calls if c.name in names]

    def uses(self, *names: str) -> bool:
        """Whether any identifier of the hand-written code is one of `names`."""
        return any(re.search(rf"\b{re.escape(n)}\b", self.code) for n in names)

    def lines(self, pattern: re.Pattern | str, flags: int = 0) -> list[int]:
        """Line numbers in the main .ino where `pattern` matches the code (comments, strings blanked)."""
        rx = re.compile(pattern, flags) if isinstance(pattern, str) else pattern
        main = next(f for f in self.files if f.name == self.main)
        return sorted({main.code.count("\n", 0, m.start()) + 1 for m in rx.finditer(main.code)})

    def eval(self, expr: Node | str | None) -> float | None:
        node = parse_expression(expr) if isinstance(expr, str) else expr
        return evaluate(node, self.env)

    def byte_arrays(self) -> list[ByteArray]:
        """Byte arrays with an initializer big enough to be a model, in every file of the folder."""
        out = []
        for f in self.files + self.model_units:
            for d in f.decls:
                v = d.value
                if d.array and v is not None and v.type == "initializer_list" and _is_byte(d.type) \
                        and v.named_child_count >= MIN_MODEL_BYTES:
                    out.append(ByteArray(d.name, f.name, d.line, _bytes_of(v), v.named_child_count))
        return out

    def numeric_arrays(self) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {}
        for d in self.decls:
            v = d.value
            # float tables (scaling constants of wide inputs) are read whole; byte tables are model data
            limit = FLOAT_TABLE_MAX if d.type.split()[-1] in ("float", "double") else BIG_LIST
            if d.array and v is not None and v.type == "initializer_list" and 0 < v.named_child_count <= limit:
                values = [self.eval(x) for x in v.named_children]
                if all(x is not None for x in values):
                    out[d.name] = [float(x) for x in values]  # type: ignore[arg-type]
        return out

    def string_arrays(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for d in self.decls:
            v = d.value
            if d.array and v is not None and v.type == "initializer_list" and v.named_child_count:
                items = v.named_children
                if all(x.type == "string_literal" for x in items):
                    out[d.name] = [text(x)[1:-1] for x in items]
        return out

    def array_sizes(self) -> dict[str, float | None]:
        """Declared element counts of arrays (None when not a constant the reader can tell)."""
        return {d.name: (self.eval(d.array_size) if d.array_size is not None else None)
                for d in self.decls if d.array}

    def code_without_tables(self) -> str:
        """The code with the initializer lists of arrays blanked."""
        out = []
        for f in self.files:
            code = bytearray(f.code.encode())
            for d in f.decls:
                if d.array and d.value is not None and d.value.type == "initializer_list":
                    lo, hi = d.value.start_byte + 1, d.value.end_byte - 1
                    code[lo:hi] = bytes(b if b == 10 else 32 for b in code[lo:hi])
            out.append(code.decode(errors="replace"))
        return "\n".join(out)


def _is_byte(type_text: str) -> bool:
    return " ".join(type_text.split()) in _BYTE_TYPES


def _bytes_of(node: Node) -> bytes | None:
    """The bytes of a numeric initializer list, from its text (a model has too many nodes to walk)."""
    body = text(node).strip()[1:-1]
    try:
        return bytes(int(x.strip().rstrip("uU"), 0) & 0xFF for x in body.split(",") if x.strip())
    except ValueError:
        return None


def evaluate_text(expr: str, values: dict[str, float]) -> float | None:
    """The value of a C constant expression given as text, names taken from `values`."""
    return evaluate(parse_expression(expr), Env(dict(values)))


def is_model_data(unit: Unit) -> bool:
    """Generated model files: a big byte array and no code (functions, classes), or the portable C
    runtime's output. A file that also holds code is part of the sketch."""
    if "generated by tinyml-autopilot (cruntime)" in unit.text[:400]:
        return True
    big = any(d.array and d.value is not None and d.value.type == "initializer_list"
              and d.value.named_child_count > 200 for d in unit.decls)
    code = any(n.type in ("function_definition", "class_specifier") for n in unit.root.children)
    return big and not code


def read_sketch(folder: Path) -> Sketch:
    folder = Path(folder)
    inos = sorted(folder.glob("*.ino"))
    if not inos:
        raise UserError(f"{folder} holds no .ino file: pass the sketch folder")
    main = next((p for p in inos if p.stem == folder.name), inos[0])
    files, model_units = [], []
    for path in [main] + sorted(p for p in folder.iterdir() if p.suffix in SOURCE_SUFFIXES and p != main):
        unit = read_unit(path.name, path.read_text(errors="replace"))
        if path != main and is_model_data(unit):  # a model pasted into the .ino is still the sketch
            model_units.append(unit)
        else:
            files.append(unit)
    sketch = Sketch(folder=folder, main=main.name, files=files, model_units=model_units)
    sketch.env, sketch.consts = collect_constants(files, model_units)
    return sketch


def collect_constants(files: list[Unit], model_units: list[Unit]) -> tuple[Env, dict[str, float]]:
    """Evaluate every named constant, repeating until no more resolve (any declaration order)."""
    env = Env()
    pending: list[tuple[str, str, Node]] = []  # (plain name, qualified name, value node)
    for u in model_units + files:
        for name, body in u.macros:
            node = parse_expression(body)
            if node is not None:
                pending.append((name, name, node))
        for d in u.decls:
            if d.is_const and d.value is not None and not d.array and d.value.type != "initializer_list":
                pending.append((d.name, d.qualified, d.value))
            if d.array and d.array_size is not None:
                pending.append((f"__count_{d.name}", f"__count_{d.name}", d.array_size))
        for fn in u.funcs:
            _constexpr_function(fn, env)
    plain: dict[str, float] = {}
    sizes: dict[str, str] = {d.name: d.type for u in files + model_units for d in u.decls if d.array}
    for _ in range(8):
        progressed = False
        for item in list(pending):
            name, qualified, node = item
            value = evaluate(node, env)
            if value is None:
                continue
            pending.remove(item)
            progressed = True
            if name.startswith("__count_"):
                array = name[len("__count_"):]
                elem = TYPE_SIZES.get(" ".join(sizes.get(array, "").replace("const", "").split()), None)
                if elem:
                    env.sizes[array] = value * elem
                continue
            plain[name] = value
            parts = qualified.split("::")
            for i in range(len(parts)):
                env.values["::".join(parts[i:])] = value
        if not progressed:
            break
    return env, plain


def _constexpr_function(fn: Node, env: Env) -> None:
    """`constexpr int f(int a) { return a * 4; }`: kept as (params, return expression)."""
    if not any(text(c) == "constexpr" for c in fn.children if c.type in ("type_qualifier", "storage_class_specifier")):
        return
    body = fn.child_by_field_name("body")
    stmts = [c for c in body.named_children if c.type != "comment"] if body is not None else []
    if len(stmts) != 1 or stmts[0].type != "return_statement" or not stmts[0].named_child_count:
        return
    d = fn.child_by_field_name("declarator")
    while d is not None and d.type != "function_declarator":
        d = d.child_by_field_name("declarator")
    if d is None:
        return
    params = d.child_by_field_name("parameters")
    names = [text(p.child_by_field_name("declarator")) for p in (params.named_children if params else [])
             if p.type == "parameter_declaration"]
    env.funcs[squash(text(d.child_by_field_name("declarator")))] = (names, stmts[0].named_children[0])
