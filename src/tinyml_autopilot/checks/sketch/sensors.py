"""The sensor_api check: calls into the board's sensor libraries as their headers declare them
(data in boards/sensor_api.yaml): the global object, public methods, int& arguments."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

from .cpp import last_name, text
from .types import Context, Result, finding


@dataclass(frozen=True)
class SensorApi:
    library: str
    header: str
    part: str
    object: str
    cls: str
    constructor: str
    methods: frozenset[str]
    private: frozenset[str]
    int_refs: frozenset[str]
    usage: str


@cache
def sensor_apis() -> dict[str, SensorApi]:
    data = yaml.safe_load(resources.files("tinyml_autopilot.boards").joinpath("sensor_api.yaml").read_text())
    return {x["header"]: SensorApi(x["library"], x["header"], x["part"], x["object"], x["class"], x["constructor"],
                                   frozenset(x["methods"]), frozenset(x.get("private") or []),
                                   frozenset(x.get("int_refs") or []), x["usage"]) for x in data["libraries"]}


def check_sensor_api(ctx: Context) -> Result:
    s = ctx.sketch
    apis = [a for h, a in sensor_apis().items() if h in s.included_names()]
    if not apis:
        return None
    found = []
    for api in apis:
        objects = {api.object}
        for d in s.decls:
            kind = last_name(d.node.child_by_field_name("type")) if d.node is not None else ""
            lines = [d.line] if d.file == s.main else []
            if kind == api.cls and not d.pointer and "extern" not in d.qualifiers:
                objects.add(d.name)
                if d.args is None or len(d.args) != 2:
                    found.append(finding("sensor_api", f"{api.cls} has no default constructor (it takes "
                                         f"{api.constructor}): use the global {api.object} that <{api.header}> "
                                         f"declares: {api.usage}", lines))
            elif api.part in kind and kind != api.cls:
                found.append(finding("sensor_api", f"{kind} is not a type of <{api.header}> ({api.library}): use "
                                     f"its global {api.object}: {api.usage}", lines))
        for c in s.calls:
            obj = (c.obj or "").strip()
            if c.kind != "call" or obj not in objects:
                continue
            lines = [c.line] if c.file == s.main else []
            if c.name in api.private:
                found.append(finding("sensor_api", f"{obj}.{c.name}() is private in {api.library}: begin() sets the "
                                     f"sensor up; {api.usage}", lines))
            elif c.name not in api.methods:
                found.append(finding("sensor_api", f"{obj} has no method {c.name}() in {api.library}: its methods "
                                     f"are {', '.join(sorted(api.methods))}", lines))
            elif c.name in api.int_refs:
                bad = [text(a) for a in c.args if not _is_int(ctx, text(a), c.scope)]
                if bad:
                    found.append(finding("sensor_api", f"{obj}.{c.name}() takes int& arguments but gets "
                                         f"{', '.join(bad)}: declare them as int ({api.usage})", lines))
    return found, "sensor library calls match their headers"


def _is_int(ctx: Context, name: str, scope: str) -> bool:
    decls = [d for d in ctx.sketch.decls if d.name == name and d.scope in (scope, "")]
    decls.sort(key=lambda d: d.scope == scope)
    return bool(decls) and " ".join(decls[-1].type.split()) == "int" and not decls[-1].pointer \
        and not decls[-1].array
