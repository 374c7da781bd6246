"""How the sketch touches the model's input and output tensors: which union member it reads or
writes (data.f, data.int8, data.uint8, typed_*_tensor<T>) and which types it tests (t->type == ...),
against the tensor types of the model, float32 or quantized alike."""

from __future__ import annotations

from dataclasses import dataclass

from tree_sitter import Node

from .cpp import last_name, line, squash, text, walk
from .reader import Sketch
from .types import Context, finding

MEMBER = {"float32": "f", "int8": "int8", "uint8": "uint8", "int16": "i16", "int32": "i32"}
CTYPE = {"f": "float", "int8": "int8_t", "uint8": "uint8_t", "i16": "int16_t", "i32": "int32_t"}
ENUM = {"float32": "kTfLiteFloat32", "int8": "kTfLiteInt8", "uint8": "kTfLiteUInt8", "int16": "kTfLiteInt16",
        "int32": "kTfLiteInt32"}
_TYPED = {"float": "f", "int8_t": "int8", "uint8_t": "uint8", "int16_t": "i16", "int32_t": "i32"}


@dataclass
class Use:
    tensor: str  # input | output
    member: str  # f, int8, uint8 ...
    written: str  # the expression as written
    line: int
    file: str
    handed: bool = False  # the buffer is handed on (a call argument, a pointer kept): a provider fills it
    as_int8: bool = False  # the bytes are taken as int8_t (`int8_t s = out->data.uint8[i]`): same bits


def _context(n: Node) -> tuple[bool, bool]:
    p = n.parent
    if p is not None and p.type == "subscript_expression":
        p = p.parent
    if p is None:
        return False, False
    if p.type == "cast_expression":
        return False, squash(text(p.child_by_field_name("type"))) == "int8_t"
    handed = p.type == "argument_list" or p.type == "init_declarator" or (
        p.type == "assignment_expression" and p.child_by_field_name("right") == n)
    as_int8 = p.type == "init_declarator" and p.parent is not None and \
        squash(text(p.parent.child_by_field_name("type"))) == "int8_t"
    return handed and not as_int8, as_int8


def _which(node: Node | None, names: dict[str, str]) -> str | None:
    """input/output when the node is the model's input or output tensor."""
    if node is None:
        return None
    if node.type == "call_expression":
        name = last_name(node.child_by_field_name("function"))
        return name if name in ("input", "output") else None
    if node.type in ("identifier", "field_expression") and text(node) in names:
        return names[text(node)]
    if node.type == "parenthesized_expression" and node.named_child_count:
        return _which(node.named_children[0], names)
    return None


def tensor_names(s: Sketch, file: str | None = None) -> dict[str, str]:
    """Variables holding the input/output tensor: `input = interpreter->input(0)` and the like (in one
    file when given: another file's `input` is another variable)."""
    names: dict[str, str] = {}
    for d in s.decls:
        if file is not None and d.file != file:
            continue
        w = _which(d.value, {})
        if w and d.pointer and "TfLiteTensor" in d.type or w and "auto" in d.type:
            names[d.name] = w
    for f in s.files:
        if file is not None and f.name != file:
            continue
        for n in walk(f.root, skip=("initializer_list",)):
            if n.type == "assignment_expression":
                w = _which(n.child_by_field_name("right"), {})
                if w:
                    names[text(n.child_by_field_name("left"))] = w
    return names


def uses(s: Sketch) -> tuple[list[Use], list[Use]]:
    """(member accesses, type tests) of the model's tensors."""
    access, tests = [], []
    for f in s.files:
        names = tensor_names(s, f.name)
        for n in walk(f.root, skip=("initializer_list",)):
            if n.type == "field_expression":
                inner = n.child_by_field_name("argument")
                field = text(n.child_by_field_name("field"))
                if inner is not None and inner.type == "field_expression" and \
                        text(inner.child_by_field_name("field")) == "data" and field in CTYPE:
                    w = _which(inner.child_by_field_name("argument"), names)
                    if w:
                        access.append(Use(w, field, text(n), line(n), f.name, *_context(n)))
            elif n.type in ("template_method", "template_function") and \
                    (name := last_name(n)) in ("typed_input_tensor", "typed_output_tensor"):
                arg = n.child_by_field_name("arguments")
                member = _TYPED.get(text(arg).strip("<> "), "")
                if member:
                    access.append(Use(name.split("_")[1], member, f"{name}<{CTYPE[member]}>", line(n), f.name))
            elif n.type == "binary_expression" and text(n.child_by_field_name("operator")) in ("==", "!="):
                left, right = n.child_by_field_name("left"), n.child_by_field_name("right")
                for a, b in ((left, right), (right, left)):
                    if a is not None and a.type == "field_expression" and text(a.child_by_field_name("field")) \
                            == "type" and text(b).startswith("kTfLite"):
                        w = _which(a.child_by_field_name("argument"), names)
                        if w:
                            tests.append(Use(w, text(b), text(n), line(n), f.name))
    return access, tests


def input_handed_on(s: Sketch) -> bool:
    """The input buffer is given to a provider (camera, audio features) that writes quantized values."""
    if any(u.tensor == "input" and u.handed and u.member != "f" for u in uses(s)[0]):
        return True
    for f in s.files:
        names = tensor_names(s, f.name)
        for n in walk(f.root, skip=("initializer_list",)):
            if n.type == "identifier" and names.get(text(n)) == "input" and n.parent is not None \
                    and n.parent.type == "argument_list":
                return True
    return False


def tensor_type_findings(ctx: Context) -> list:
    s, f, found = ctx.sketch, ctx.facts, []
    access, tests = uses(s)
    for tensor, dtype in (("input", f.input_dtype), ("output", f.output_dtype)):
        want = MEMBER.get(dtype)
        if want is None:
            continue
        mine = [u for u in access if u.tensor == tensor and not (u.as_int8 and dtype == "int8")]
        if not any(u.member == want for u in mine):
            for member in dict.fromkeys(u.member for u in mine):
                u = next(x for x in mine if x.member == member)
                found.append(finding("quantization", _wrong_member(tensor, dtype, u, want),
                                     [x.line for x in mine if x.member == member and x.file == s.main]))
        checked = [u for u in tests if u.tensor == tensor]
        if checked and not any(u.member == ENUM[dtype] for u in checked):
            u = checked[0]
            found.append(finding("quantization", f"`{u.written}` tests the {tensor} tensor for {u.member}, but this "
                                                 f"model's {tensor} is {dtype} ({ENUM[dtype]}): the test can never "
                                                 f"pass as written; test for {ENUM[dtype]}",
                                 [x.line for x in checked if x.file == s.main]))
    return found


def _wrong_member(tensor: str, dtype: str, u: Use, want: str) -> str:
    how = f"{tensor}(0)->data.{u.member} / typed_{tensor}_tensor<{CTYPE[u.member]}>" \
        if "typed_" in u.written or "(" in u.written else f"{u.written}"
    if dtype in ("int8", "uint8") and u.member == "f":
        what = "quantize into" if tensor == "input" else "read"
        return (f"the {dtype} {tensor} tensor is used as float ({how}): {what} data.{want} with the model's "
                "scale and zero point")
    if dtype == "int8" and u.member == "uint8":
        return (f"the model's tensors are int8 (TFLite Micro no longer supports uint8): use data.int8 instead of "
                f"{u.written}")
    return (f"{u.written} treats the {dtype} {tensor} tensor as {CTYPE[u.member]}: this model's {tensor} is "
            f"{dtype}, {'read' if tensor == 'output' else 'write'} data.{want} ({CTYPE[want]})")
