"""The .ino Task: the LLM (or the built-in template) writes the sketch from the spec and the
model's facts; static checks, the compiler and the simulator decide."""

from __future__ import annotations

import shutil
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from ...checks.sketch import libraries as api
from ...loop import CheckFailed, ExecutionFailed
from ...prompts import render
from ..convert_output import HEADER, SYMBOL, write_c_array
from .compile import c_float
from .inputs import Inputs
from .memory import FLASH_CONSTANTS_FROM
from .spec import AppSpec
from .verify import Evaluation, evaluate

TEMPLATES = Path(__file__).parent / "templates"


@cache
def _env() -> Environment:
    return Environment(loader=FileSystemLoader(str(TEMPLATES)), undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def template_values(spec: AppSpec, inp: Inputs) -> dict:
    lib = inp.board.tflm_library or "Chirale_TensorFlowLite"
    return {"spec": spec, "board": inp.board, "facts": inp.facts, "c_float": c_float,
            "library": lib, "library_header": api.TFLM_LIBRARIES.get(lib, {}).get("header", "TensorFlowLite.h"),
            "errorreporter": api.TFLM_LIBRARIES.get(lib, {}).get("api") == "errorreporter",
            "methods": [api.resolver_method(op) for op in inp.facts.ops],
            "arena": inp.facts.arena_with_margin or 16 * 1024, "headers": spec.headers,
            "FLASH_CONSTANTS_FROM": FLASH_CONSTANTS_FROM}


def render_sketch(spec: AppSpec, inp: Inputs) -> str:
    name = "tflm.ino.j2" if inp.runtime == "tflm" else "portable_c.ino.j2"
    return _env().get_template(name).render(**template_values(spec, inp))


def render_readme(spec: AppSpec, inp: Inputs, model_files: list[str]) -> str:
    sensor = next((s for s in inp.board.sensors if s.id == spec.sensor_id), None)
    runtime_name = ("TensorFlow Lite Micro (" + (inp.board.tflm_library or "") + ")" if inp.runtime == "tflm"
                    else "portable C runtime (model.h / model.c, no library needed)")
    libraries = [x for x in spec.libraries if x != "builtin"]
    wiring = ([(ch, sensor.channels[i % len(sensor.channels)]) for i, ch in enumerate(spec.channels)]
              if sensor is not None and sensor.kind == "analog" and spec.input_source == "sensor" else [])
    return _env().get_template("README.md.j2").render(
        spec=spec, board=inp.board, runtime=inp.runtime, runtime_name=runtime_name, sensor=sensor,
        model_files=model_files, libraries=libraries, wiring=wiring)


def write_model_files(inp: Inputs, folder: Path) -> list[str]:
    """The model next to the sketch: model_data.h/.cc for TFLM, model.h/.c for the portable C runtime."""
    folder.mkdir(parents=True, exist_ok=True)
    if inp.runtime == "portable-c":
        if inp.c_dir and (inp.c_dir / "model.h").is_file() and (inp.c_dir / "model.c").is_file():
            for name in ("model.h", "model.c"):
                shutil.copy2(inp.c_dir / name, folder / name)
        else:
            from ...cruntime import emit_c

            emit_c(inp.facts.tflite.read_bytes(), prefix="model").write(folder)
        return ["model.h", "model.c"]
    art = inp.convert_dir / "artifacts" if inp.convert_dir else None
    header = inp.facts.model_header
    source = header.rsplit(".", 1)[0] + ".cc"
    if art is not None and (art / header).is_file() and (art / source).is_file():
        shutil.copy2(art / header, folder / header)
        shutil.copy2(art / source, folder / source)
        return [header, source]
    inp.facts.model_header, inp.facts.model_symbol = HEADER, SYMBOL
    return [p.name for p in write_c_array(inp.facts.tflite, folder)]


def guidelines(inp: Inputs) -> str:
    if inp.runtime == "portable-c":
        return render("sketch_guidelines_portable_c.j2", board=inp.board)
    lib = inp.board.tflm_library or "Chirale_TensorFlowLite"
    name = ("sketch_guidelines_errorreporter.j2" if api.TFLM_LIBRARIES.get(lib, {}).get("api") == "errorreporter"
            else "sketch_guidelines_tflm.j2")
    return render(name, library=lib, header=api.TFLM_LIBRARIES.get(lib, {}).get("header", "TensorFlowLite.h"))


class SketchTask:
    name = "sketch"
    language = "cpp"

    def __init__(self, spec: AppSpec, inp: Inputs) -> None:
        self.spec, self.inp = spec, inp
        self.last: Evaluation | None = None

    def messages(self) -> list[dict[str, str]]:
        inp = self.inp
        prompt = render("sketch_generate.j2", spec=self.spec.model_dump_json(indent=2), board=inp.board,
                        facts=inp.facts, features=inp.features, runtime=inp.runtime,
                        methods=[api.resolver_method(op) for op in inp.facts.ops],
                        guidelines=guidelines(inp), arena=inp.facts.arena_with_margin)
        return [{"role": "system", "content": "You write Arduino sketches for TinyML models. Reply with the whole "
                                              ".ino in one fenced ```cpp block."},
                {"role": "user", "content": prompt}]

    def template(self) -> str:
        return render_sketch(self.spec, self.inp)

    def execute(self, code: str, workdir: Path) -> Evaluation:
        folder = workdir / self.spec.name
        write_model_files(self.inp, folder)
        (folder / f"{self.spec.name}.ino").write_text(code)
        ev = evaluate(folder, self.inp, workdir, self.inp.runtime)
        self.last = ev
        (workdir / "verdicts.json").write_text(__import__("json").dumps(ev.verdicts(), indent=2, default=str))
        if ev.report.findings:
            raise CheckFailed(ev.findings())  # on TFLite Micro boards with the run's verdict
        if ev.compile is not None and ev.compile.status == "failed":
            raise ExecutionFailed(ev.compile.message, ev.compile.lines, category="compile")
        return ev

    def check(self, outcome: Evaluation, workdir: Path) -> None:
        found = outcome.findings()
        if found:
            raise CheckFailed(found)
