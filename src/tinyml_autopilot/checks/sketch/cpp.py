"""C++ through tree-sitter: parse a file, walk its nodes, evaluate constant expressions.

Constants are evaluated the way the compiler would for the cases sketches use: literals with
suffixes, #define, const/constexpr variables in namespaces and structs (reachable by their
qualified names), enumerators, casts, sizeof of arrays and types, and one-line constexpr functions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache

import tree_sitter_cpp
from tree_sitter import Language, Node, Parser

MAX_VALUE = 2 ** 64  # beyond any C integer type: give up rather than grow huge integers
MAX_SHIFT = 64
TYPE_SIZES = {"char": 1, "signed char": 1, "unsigned char": 1, "int8_t": 1, "uint8_t": 1, "byte": 1, "bool": 1,
              "short": 2, "int16_t": 2, "uint16_t": 2, "int": 4, "unsigned": 4, "unsigned int": 4, "int32_t": 4,
              "uint32_t": 4, "float": 4, "long": 4, "unsigned long": 4, "size_t": 4, "double": 8, "int64_t": 8,
              "uint64_t": 8}
INT_TYPES = {t for t in TYPE_SIZES if t not in ("float", "double")}


@cache
def _parser() -> Parser:
    return Parser(Language(tree_sitter_cpp.language()))


def parse(source: bytes) -> Node:
    return _parser().parse(source).root_node


def text(node: Node | None) -> str:
    return node.text.decode(errors="replace") if node is not None and node.text is not None else ""


def line(node: Node) -> int:
    return node.start_point[0] + 1


def walk(node: Node, skip: tuple[str, ...] = ()) -> Iterator[Node]:
    """Every node below `node` in source order; the subtrees of `skip` types are not entered."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        if n.type not in skip:
            stack.extend(reversed(n.children))


def last_name(node: Node | None) -> str:
    """`tflite::MicroInterpreter` -> MicroInterpreter; `a.b->c` -> c; templates drop their arguments."""
    while node is not None:
        if node.type in ("qualified_identifier", "template_function", "template_type", "template_method"):
            node = node.child_by_field_name("name")
        elif node.type == "field_expression":
            node = node.child_by_field_name("field")
        elif node.type in ("destructor_name", "operator_name"):
            return text(node)
        else:
            return text(node)
    return ""


def squash(s: str) -> str:
    return "".join(s.split())


def number(literal: str) -> float | int | None:
    t = literal.replace("'", "").lower()
    try:
        if t.startswith(("0x", "0b")):
            return int(t.rstrip("ul"), 0)
        t = t.rstrip("ul") if not any(c in t for c in ".e") else t
        t = t.rstrip("fl") if any(c in t for c in ".e") else t
        if any(c in t for c in ".e"):
            return float(t)
        return int(t, 8) if len(t) > 1 and t.startswith("0") else int(t)
    except ValueError:
        return None


@dataclass
class Env:
    values: dict[str, float] = field(default_factory=dict)  # plain and qualified names
    funcs: dict[str, tuple[list[str], Node]] = field(default_factory=dict)  # constexpr f(params) -> return expr
    sizes: dict[str, float] = field(default_factory=dict)  # sizeof(name) in bytes

    def lookup(self, name: str) -> float:
        name = squash(name).lstrip(":")
        return self.values[name]


class NotConstant(Exception):
    pass


def evaluate(node: Node | None, env: Env) -> float | None:
    """The value of a constant expression node, None when it is not one the reader can tell."""
    if node is None:
        return None
    try:
        value = _eval(node, env, 0)
    except (NotConstant, KeyError, ValueError, TypeError, ZeroDivisionError, OverflowError, RecursionError):
        return None
    return value


def _check(value: float) -> float:
    if abs(value) > MAX_VALUE:
        raise NotConstant("out of range of C integer types")
    return value


def _eval(node: Node, env: Env, depth: int) -> float:  # noqa: C901 - one case per expression kind
    if depth > 40:
        raise NotConstant("too deep")
    t, d = node.type, depth + 1
    if t == "number_literal":
        v = number(text(node))
        if v is None:
            raise NotConstant(text(node))
        return v
    if t == "char_literal":
        body = text(node)[1:-1]
        if len(body) == 1:
            return ord(body)
        raise NotConstant(body)
    if t in ("true", "false"):
        return int(t == "true")
    if t in ("identifier", "qualified_identifier", "type_identifier", "field_identifier"):
        return env.lookup(text(node))
    if t == "type_descriptor" and node.named_child_count == 1:
        return _eval(node.named_children[0], env, d)
    if t == "parenthesized_expression":
        return _eval(node.named_children[0], env, d)
    if t == "unary_expression":
        v = _eval(node.child_by_field_name("argument"), env, d)
        op = text(node.child_by_field_name("operator"))
        return {"-": -v, "+": v, "~": ~int(v), "!": int(not v)}[op]
    if t == "binary_expression":
        return _binary(node, env, d)
    if t == "conditional_expression":
        cond = _eval(node.child_by_field_name("condition"), env, d)
        return _eval(node.child_by_field_name("consequence" if cond else "alternative"), env, d)
    if t == "cast_expression":
        v = _eval(node.child_by_field_name("value"), env, d)
        return int(v) if squash(text(node.child_by_field_name("type"))) in {squash(x) for x in INT_TYPES} else v
    if t == "sizeof_expression":
        return _sizeof(node, env)
    if t == "call_expression":
        return _call(node, env, d)
    raise NotConstant(t)


def _binary(node: Node, env: Env, d: int) -> float:
    a = _eval(node.child_by_field_name("left"), env, d)
    b = _eval(node.child_by_field_name("right"), env, d)
    op = text(node.child_by_field_name("operator"))
    if op == "/":
        return int(a / b) if isinstance(a, int) and isinstance(b, int) else a / b
    if op == "%":
        return int(a) - int(b) * int(a / b)  # C truncation
    if op in ("<<", ">>"):
        if not 0 <= b <= MAX_SHIFT:
            raise NotConstant("shift count out of range")
        return _check(int(a) << int(b) if op == "<<" else int(a) >> int(b))
    ops = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "|": lambda: int(a) | int(b),
           "&": lambda: int(a) & int(b), "^": lambda: int(a) ^ int(b), "<": lambda: int(a < b),
           ">": lambda: int(a > b), "<=": lambda: int(a <= b), ">=": lambda: int(a >= b),
           "==": lambda: int(a == b), "!=": lambda: int(a != b), "&&": lambda: int(bool(a and b)),
           "||": lambda: int(bool(a or b))}
    if op not in ops:
        raise NotConstant(op)
    return _check(ops[op]())


def _sizeof(node: Node, env: Env) -> float:
    target = node.child_by_field_name("value") or node.child_by_field_name("type")
    if target is not None and target.type == "parenthesized_expression":
        target = target.named_children[0]
    name = squash(text(target))
    if name in env.sizes:
        return env.sizes[name]
    for t, size in TYPE_SIZES.items():
        if name == squash(t):
            return size
    raise NotConstant(f"sizeof({name})")


def _call(node: Node, env: Env, d: int) -> float:
    fn, args = node.child_by_field_name("function"), node.child_by_field_name("arguments")
    values = [_eval(a, env, d) for a in args.named_children] if args is not None else []
    if fn is not None and fn.type == "template_function" and last_name(fn) in ("static_cast", "int", "float"):
        targs = fn.child_by_field_name("arguments")
        is_int = squash(text(targs).strip("<>")) in {squash(x) for x in INT_TYPES}
        return int(values[0]) if is_int else values[0]
    name = squash(text(fn)).lstrip(":")
    if name in env.funcs:
        params, body = env.funcs[name]
        if len(params) != len(values):
            raise NotConstant("arity")
        inner = Env({**env.values, **dict(zip(params, values, strict=True))}, env.funcs, env.sizes)
        return _eval(body, inner, d)
    if name in ("min", "std::min", "max", "std::max") and len(values) == 2:
        return min(values) if name.endswith("min") else max(values)
    raise NotConstant(name)


def parse_expression(source: str) -> Node | None:
    """A stand-alone expression (a #define body) as a node."""
    root = parse(f"auto __v = ({source});".encode())
    for n in walk(root):
        if n.type == "init_declarator":
            value = n.child_by_field_name("value")
            if value is not None and not value.has_error:
                return value.named_children[0] if value.type == "parenthesized_expression" else value
    return None
