"""One source file read with tree-sitter: its includes, declarations (type, scope, array size,
initializer), calls and constructions (callee, object, arguments), arrays and stray statements."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from tree_sitter import Node

from .cpp import last_name, line, parse, text, walk

BIG_LIST = 64  # initializer lists longer than this are data tables: read as text, not walked
_STATEMENTS = {"if_statement", "for_statement", "while_statement", "do_statement", "return_statement",
               "switch_statement", "expression_statement"}
_SCOPES = ("namespace_definition", "struct_specifier", "class_specifier", "union_specifier")


@dataclass
class Include:
    path: str
    quoted: bool
    file: str
    line: int
    conditional: bool = False  # in an #if/#else branch: one board's or library's alternative


@dataclass
class Decl:
    name: str
    qualified: str  # with its namespace/struct prefix: AppConfig::kTensorArenaSize
    type: str
    file: str
    line: int
    scope: str  # "" at file (or namespace) scope, else the enclosing function's name
    qualifiers: set[str] = field(default_factory=set)  # const constexpr static extern ...
    pointer: bool = False
    array: bool = False
    array_size: Node | None = None
    value: Node | None = None  # `= value` initializer (an initializer_list for tables)
    args: list[Node] | None = None  # constructor arguments: `T name(args)` / `T name{args}`
    node: Node | None = None

    @property
    def is_const(self) -> bool:
        return bool(self.qualifiers & {"const", "constexpr"})


@dataclass
class Call:
    name: str  # last identifier of the callee: AddFullyConnected, MicroInterpreter, GetModel
    callee: str  # as written: resolver.AddFullyConnected, tflite::GetModel
    obj: str | None  # the object called on, or the variable being constructed
    args: list[Node]
    kind: str  # call | construct | new
    file: str
    line: int
    scope: str

    @property
    def arg_texts(self) -> list[str]:
        return [text(a) for a in self.args]


@dataclass
class Unit:
    name: str
    text: str
    code: str  # comments blanked, string and char contents blanked; offsets and lines kept
    root: Node
    includes: list[Include] = field(default_factory=list)
    decls: list[Decl] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    stray: list[tuple[int, str]] = field(default_factory=list)  # (line, text) of statements outside functions
    templates: list[int] = field(default_factory=list)  # lines of function templates
    macros: list[tuple[str, str]] = field(default_factory=list)  # #define NAME body
    funcs: list[Node] = field(default_factory=list)


@lru_cache(maxsize=32)
def _parse_cached(source: bytes) -> Node:
    return parse(source)


def read_unit(name: str, source: str) -> Unit:
    data = source.encode()
    root = _parse_cached(data)
    unit = Unit(name, source, _blank(data, root), root)
    _visit(root, unit, [], "")
    return unit


def _blank(data: bytes, root: Node) -> str:
    out = bytearray(data)
    for n in walk(root, skip=("initializer_list",)):
        if n.type == "comment" or n.type in ("string_content", "escape_sequence", "raw_string_content"):
            lo, hi = n.start_byte, n.end_byte
        elif n.type == "char_literal":
            lo, hi = n.start_byte + 1, max(n.start_byte + 1, n.end_byte - 1)
        else:
            continue
        out[lo:hi] = bytes(b if b == 10 else 32 for b in out[lo:hi])
    return out.decode(errors="replace")


def _visit(node: Node, unit: Unit, prefix: list[str], scope: str) -> None:  # noqa: C901 - one branch per node kind
    for child in node.children:
        t = child.type
        if t == "preproc_include":
            path = child.child_by_field_name("path")
            if path is not None:
                p = text(path)
                unit.includes.append(Include(p.strip('"<>').strip(), p.startswith('"'), unit.name, line(child),
                                             _conditional(child)))
            continue
        if t == "preproc_def":
            value = child.child_by_field_name("value")
            if value is not None:
                unit.macros.append((text(child.child_by_field_name("name")), text(value).strip()))
            continue
        if t in _SCOPES:
            name = text(child.child_by_field_name("name"))
            body = child.child_by_field_name("body")
            if body is not None:
                _visit(body, unit, prefix + [name] if name else prefix, scope)
            continue
        if t == "function_definition":
            unit.funcs.append(child)
            fname = _function_name(child)
            body = child.child_by_field_name("body")
            if body is not None:
                _visit(body, unit, prefix, fname or scope or "?")
            continue
        if t == "template_declaration":
            if any(c.type == "function_definition" for c in child.named_children):
                unit.templates.append(line(child))
            _visit(child, unit, prefix, scope)
            continue
        if t in ("declaration", "field_declaration"):
            _declaration(child, unit, prefix, scope)
            _collect_calls(child, unit, scope)
            continue
        if t in _STATEMENTS and not scope and node.type in ("translation_unit", "declaration_list"):
            unit.stray.append((line(child), text(child).split("\n")[0][:80]))
        if t in ("call_expression", "new_expression"):
            _collect_calls(child, unit, scope)
            continue
        if t == "initializer_list" and child.named_child_count > BIG_LIST:
            continue
        _visit(child, unit, prefix, scope)


def _conditional(node: Node) -> bool:
    """Inside an #if/#ifdef/#else (an include guard does not count): built for some boards only."""
    n = node.parent
    while n is not None:
        if n.type in ("preproc_if", "preproc_else", "preproc_elif", "preproc_elifdef"):
            return True
        if n.type == "preproc_ifdef" and not _guard(n):
            return True
        n = n.parent
    return False


def _guard(n: Node) -> bool:
    """`#ifndef X_H` followed by `#define X_H`."""
    name = text(n.child_by_field_name("name"))
    first = next((c for c in n.named_children if c.type not in ("identifier", "comment")), None)
    return first is not None and first.type == "preproc_def" and text(first.child_by_field_name("name")) == name


def _function_name(fn: Node) -> str:
    d = fn.child_by_field_name("declarator")
    while d is not None and d.type != "function_declarator":
        d = d.child_by_field_name("declarator")
    return text(d.child_by_field_name("declarator")) if d is not None else ""


def _declaration(node: Node, unit: Unit, prefix: list[str], scope: str) -> None:
    quals = {text(c) for c in node.children if c.type in ("storage_class_specifier", "type_qualifier")}
    type_node = node.child_by_field_name("type")
    type_text = text(type_node)
    macro_attr = _attribute_macro(node)
    for d in node.children_by_field_name("declarator"):
        if macro_attr is not None and d.type == "init_declarator":
            unit.decls.append(Decl(text(macro_attr.child_by_field_name("declarator")), "::".join(
                prefix + [text(macro_attr.child_by_field_name("declarator"))]), type_text, unit.name, line(d), scope,
                set(quals), array=True, array_size=macro_attr.child_by_field_name("size"),
                value=d.child_by_field_name("value"), node=node))
            continue
        vexing = _vexing(d, scope) if d.type == "function_declarator" else None
        if d.type == "function_declarator" and vexing is None:
            continue  # a prototype
        decl = Decl("", "", type_text, unit.name, line(d), scope, set(quals), node=node)
        if node.type == "field_declaration":
            decl.value = node.child_by_field_name("default_value")
        cur: Node | None = d
        while cur is not None:
            if cur.type == "function_declarator" and vexing is not None:
                decl.args = list(vexing.named_children)
                _collect_calls(vexing, unit, scope, line(d) - 1)
            elif cur.type == "init_declarator":
                value = cur.child_by_field_name("value")
                if value is not None and value.type == "argument_list":
                    decl.args = list(value.named_children)
                elif value is not None and value.type == "initializer_list" and not _is_plain(type_text):
                    decl.value, decl.args = value, list(value.named_children)
                else:
                    decl.value = value
            elif cur.type in ("pointer_declarator", "reference_declarator"):
                decl.pointer = decl.pointer or cur.type == "pointer_declarator"
            elif cur.type == "array_declarator":
                decl.array, decl.array_size = True, cur.child_by_field_name("size")
            elif cur.type in ("identifier", "field_identifier", "qualified_identifier"):
                decl.name = text(cur).split("::")[-1]
                decl.qualified = "::".join(prefix + [text(cur)])
                break
            nxt = cur.child_by_field_name("declarator")
            if nxt is None and cur.type == "reference_declarator" and cur.named_child_count:
                nxt = cur.named_children[0]
            cur = nxt
        if decl.name:
            unit.decls.append(decl)
            if decl.args is not None and not decl.pointer:
                unit.calls.append(Call(_type_name(type_node), type_text, decl.name, decl.args, "construct",
                                       unit.name, line(d), scope))


def _attribute_macro(node: Node) -> Node | None:
    """`const unsigned char g_model[] DATA_ALIGN_ATTRIBUTE = {...}`: an attribute macro the parser cannot
    expand makes `g_model[]` an error node and the macro the declared name; the array declarator."""
    errors = [c for c in node.children if c.type == "ERROR"]
    for e in errors:
        arr = next((c for c in e.named_children if c.type == "array_declarator"), None)
        init = next((c for c in node.children_by_field_name("declarator") if c.type == "init_declarator"), None)
        name = text(init.child_by_field_name("declarator")) if init is not None else ""
        if arr is not None and name.isupper():
            return arr
    return None


def _vexing(d: Node, scope: str) -> Node | None:
    """`T name(a, f(b));` parses as a prototype when its arguments look like types; inside a function
    (or with no named parameter at all) it is a construction. Returns its arguments re-read as an
    expression, None for a real prototype."""
    params = d.child_by_field_name("parameters")
    items = params.named_children if params is not None else []
    if not items or any(p.type != "parameter_declaration" for p in items):
        return None
    named = any(n.type == "identifier" for p in items for n in walk(p))
    if named or (not scope and any(c.type == "primitive_type" for p in items for c in p.children)):
        return None
    from .cpp import parse_expression

    call = parse_expression("__ctor" + text(params))
    return call.child_by_field_name("arguments") if call is not None and call.type == "call_expression" else None


def _is_plain(type_text: str) -> bool:
    return type_text.split("::")[-1].strip() in {"int", "float", "double", "char", "bool", "long", "short",
                                                 "uint8_t", "int8_t", "uint16_t", "int16_t", "uint32_t",
                                                 "int32_t", "size_t", "unsigned", "byte", "auto"} \
        or type_text.endswith("_t")


def _type_name(type_node: Node | None) -> str:
    return last_name(type_node)


def _collect_calls(node: Node | None, unit: Unit, scope: str, shift: int = 0) -> None:
    if node is None:
        return
    for n in walk(node, skip=("initializer_list", "lambda_expression")):
        if n.type == "call_expression":
            fn = n.child_by_field_name("function")
            args = n.child_by_field_name("arguments")
            obj = text(fn.child_by_field_name("argument")) if fn is not None and fn.type == "field_expression" \
                else None
            unit.calls.append(Call(last_name(fn), text(fn), obj, list(args.named_children) if args else [], "call",
                                   unit.name, line(n) + shift, scope))
        elif n.type == "new_expression":
            args = n.child_by_field_name("arguments")
            owner = n.parent
            obj = text(owner.child_by_field_name("left") or owner.child_by_field_name("declarator")) \
                if owner is not None and owner.type in ("assignment_expression", "init_declarator") else None
            unit.calls.append(Call(last_name(n.child_by_field_name("type")), text(n.child_by_field_name("type")),
                                   obj, list(args.named_children) if args else [], "new", unit.name, line(n) + shift,
                                   scope))
