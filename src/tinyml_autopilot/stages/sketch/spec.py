"""The application spec: what the sketch reads, how it scales it, what it does with a prediction.

The LLM fills it from the inputs and the board entry (a json Task); deterministic checks compare
it with the model and the feature spec. `default_spec` is the offline answer and the base that a
`--spec-file` overrides.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator

from ...errors import UserError
from ...loop import CheckFailed, ExecutionFailed, Finding
from ...prompts import render
from .inputs import Inputs

IMU_CALLS = {"ax": ("readAcceleration", 0), "ay": ("readAcceleration", 1), "az": ("readAcceleration", 2),
             "gx": ("readGyroscope", 0), "gy": ("readGyroscope", 1), "gz": ("readGyroscope", 2),
             "mx": ("readMagneticField", 0), "my": ("readMagneticField", 1), "mz": ("readMagneticField", 2)}


class ScalingSpec(BaseModel):
    method: Literal["standard", "minmax", "none"]
    offset: list[float] = []
    scale: list[float] = []


class AppSpec(BaseModel):
    name: str = Field(description="sketch name: a C identifier, also the folder name")
    description: str
    board: str
    runtime: Literal["tflm", "portable-c"]
    input_source: Literal["sensor", "serial"]
    sensor_id: str | None = None
    headers: list[str] = Field(default_factory=list, description="extra #include <...> for sensors/outputs")
    libraries: list[str] = Field(default_factory=list, description="Arduino libraries to install")
    setup_code: str = Field("", description="C++ statements run once in setup() (sensor begin)")
    read_code: str = Field(description="body of bool acquire_sample(float *raw): fill raw[0..channels-1]")
    channels: list[str]
    sample_rate_hz: float | None = None
    window: int = Field(ge=1)
    stride: int | None = Field(None, ge=1, description="samples between inferences (sliding window); default: window")
    scaling: ScalingSpec
    threshold: float = Field(0.5, ge=0, le=1)
    output: Literal["serial", "led", "ble"] = "serial"
    alert_label: str
    labels: list[str]

    @field_validator("name")
    @classmethod
    def _identifier(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", v):
            raise ValueError("must be a C identifier (letters, digits, _)")
        return v


def sketch_name(text: str | None) -> str:
    words = re.findall(r"[A-Za-z0-9]+", text or "tinyml app")
    name = "_".join(w.lower() for w in words)[:40] or "tinyml_app"
    return name if name[0].isalpha() else f"app_{name}"


def default_spec(inp: Inputs) -> AppSpec:
    """The deterministic spec: used offline, and as the base that --spec-file overrides."""
    board, feats = inp.board, inp.features
    sensor = next((s for s in board.sensors if s.id == inp.sensor), None)
    source = "sensor" if sensor is not None else "serial"
    setup, read, headers, libraries = _acquisition(inp, sensor)
    if inp.output == "ble":
        headers.append("ArduinoBLE.h")
        libraries.append("ArduinoBLE")
    if inp.runtime == "tflm" and board.tflm_library:
        libraries.insert(0, board.tflm_library)
    rate = feats.sample_rate_hz or (50.0 if feats.window > 1 else None)
    return AppSpec(
        name=sketch_name(inp.name), description=inp.description or f"classify {', '.join(inp.facts.labels)}",
        board=board.id, runtime=inp.runtime, input_source=source, sensor_id=sensor.id if sensor else None,
        headers=headers, libraries=libraries, setup_code=setup, read_code=read, channels=feats.channels,
        sample_rate_hz=rate, window=feats.window, stride=feats.hop,
        scaling=ScalingSpec(method=feats.scaling.method, offset=feats.scaling.offset, scale=feats.scaling.scale),
        output=inp.output, alert_label=inp.facts.labels[-1], labels=inp.facts.labels)


def _pacing(rate: float | None) -> tuple[str, str]:
    """(wait, advance): skip until a sample period has passed; advance the clock once a sample was read.

    Advancing by whole periods keeps the average rate at `rate` (no drift from loop overhead)."""
    if not rate:
        return "", ""
    period = int(1_000_000 / rate)
    wait = "static unsigned long next_us = 0;\nif ((long)(micros() - next_us) < 0) return false;\n"
    advance = (f"next_us += {period}UL;\n"
               f"if ((long)(micros() - next_us) > {period}L) next_us = micros();  // fell behind: restart\n")
    return wait, advance


def _acquisition(inp: Inputs, sensor) -> tuple[str, str, list[str], list[str]]:
    n = inp.features.values_per_sample
    if sensor is None:
        # Skip separators and line ends first, so a trailing newline is not taken for a sample.
        read = ("while (Serial.available() > 0 && !isdigit(Serial.peek()) && Serial.peek() != '-' &&\n"
                "       Serial.peek() != '.') Serial.read();\n"
                f"if (Serial.available() <= 0) return false;\nfor (int i = 0; i < {n}; i++) "
                "raw[i] = Serial.parseFloat();\nreturn true;")
        return "", read, [], []
    rate = inp.features.sample_rate_hz or (50.0 if inp.features.window > 1 else 10.0)
    if sensor.kind == "imu" and all(c in IMU_CALLS for c in inp.features.channels):
        calls = sorted({IMU_CALLS[c][0] for c in inp.features.channels})
        lines = ["float v[9];"] + [f"{call}(v[{3 * i}], v[{3 * i + 1}], v[{3 * i + 2}]);"
                                   for i, call in enumerate(calls)]
        lines = [lines[0]] + [f"IMU.{line}" for line in lines[1:]]
        ready = " || ".join(f"!IMU.{c[4].lower()}{c[5:]}Available()" for c in calls)
        body = [f"if ({ready}) return false;"] + lines + [
            f"raw[{i}] = v[{3 * calls.index(IMU_CALLS[c][0]) + IMU_CALLS[c][1]}];"
            for i, c in enumerate(inp.features.channels)] + ["return true;"]
        setup = 'if (!IMU.begin()) {\n  Serial.println("IMU init failed");\n  while (true) delay(1000);\n}'
        wait, advance = _pacing(rate)
        return setup, wait + "\n".join(body[:-1]) + "\n" + advance + body[-1], [sensor.header], [sensor.library]
    if sensor.kind == "analog":
        pins = sensor.channels
        wait, advance = _pacing(rate)
        body = "\n".join(f"raw[{i}] = analogRead({pins[i % len(pins)]});" for i in range(n))
        return "", wait + body + "\n" + advance + "return true;", [], []
    raise UserError(f"sensor '{sensor.id}' ({sensor.kind}) has no built-in reading code: write it in a spec file "
                    "(read_code) and pass --spec-file, or use --sensor serial")


def merge_spec_file(base: AppSpec, path: Path) -> AppSpec:
    if not path.is_file():
        raise UserError(f"spec file {path} not found: check --spec-file")
    try:
        override = json.loads(path.read_text())
    except ValueError as err:
        raise UserError(f"spec file {path} is not JSON: {err}") from err
    try:
        return AppSpec(**{**base.model_dump(), **override})
    except ValidationError as err:
        raise UserError(f"spec file {path}: " + "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())) from err


def spec_findings(spec: AppSpec, inp: Inputs) -> list[Finding]:
    """Where the spec disagrees with the model, the feature spec or the board."""
    found: list[Finding] = []
    f, feats, board = inp.facts, inp.features, inp.board

    def add(message: str) -> None:
        found.append(Finding("spec", message))

    if spec.labels != f.labels:
        add(f"labels must be the model's, in output order: {f.labels}")
    if spec.window * len(spec.channels) != f.input_size:
        add(f"window ({spec.window}) x channels ({len(spec.channels)}) must equal the model input size {f.input_size}")
    if spec.stride is not None and spec.stride > spec.window:
        add(f"stride ({spec.stride}) must be between 1 and the window ({spec.window}) samples")
    if spec.channels != feats.channels:
        add(f"channels must be the feature spec's, in order: {feats.channels}")
    if spec.scaling.method != feats.scaling.method or not _same(spec.scaling.offset, feats.scaling.offset) \
            or not _same(spec.scaling.scale, feats.scaling.scale):
        add(f"scaling must equal the feature spec: method {feats.scaling.method}, offset {feats.scaling.offset}, "
            f"scale {feats.scaling.scale}")
    if spec.output not in board.outputs:
        add(f"{board.name} has no '{spec.output}' output (it has {', '.join(board.outputs)})")
    if spec.alert_label not in spec.labels:
        add(f"alert_label must be one of {spec.labels}")
    if spec.input_source == "sensor" and spec.sensor_id not in {s.id for s in board.sensors}:
        add(f"sensor_id must be one of {[s.id for s in board.sensors]} on {board.name}")
    if "raw[" not in spec.read_code or "return" not in spec.read_code:
        add("read_code must fill raw[0..N-1] and return true when a sample is ready (false otherwise)")
    known = {s.header for s in board.sensors} | {"ArduinoBLE.h", "Wire.h", "SPI.h", "Arduino.h"}
    add_headers = [h for h in spec.headers if h not in known]
    if add_headers:
        add(f"headers {add_headers} are not libraries of {board.name}: use {sorted(known)}")
    if spec.board != board.id or spec.runtime != inp.runtime:
        add(f"board must be '{board.id}' and runtime '{inp.runtime}'")
    return found


def _same(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all(abs(x - y) <= 1e-6 * max(1.0, abs(y)) for x, y in zip(a, b, strict=True))


class SpecTask:
    """The LLM completes the application spec as JSON; the checks above decide."""

    name = "spec"
    language = "json"

    def __init__(self, inp: Inputs) -> None:
        self.inp = inp
        self.base = default_spec(inp)

    def messages(self) -> list[dict[str, str]]:
        inp = self.inp
        prompt = render("sketch_spec.j2", board=inp.board, facts=inp.facts, features=inp.features,
                        base=self.base.model_dump_json(indent=2), schema=json.dumps(AppSpec.model_json_schema()),
                        app_name=inp.name, description=inp.description, sensor=inp.sensor, output=inp.output)
        return [{"role": "system", "content": "You configure Arduino TinyML applications. Reply with JSON only, "
                                              "in one fenced ```json block."},
                {"role": "user", "content": prompt}]

    def template(self) -> str:
        return self.base.model_dump_json(indent=2)

    def execute(self, code: str, workdir: Path) -> AppSpec:
        try:
            data: Any = json.loads(code)
        except ValueError as err:
            raise ExecutionFailed(f"not valid JSON: {err}") from err
        try:
            spec = AppSpec(**{**self.base.model_dump(), **data}) if isinstance(data, dict) else AppSpec(**data)
        except (ValidationError, TypeError) as err:
            raise ExecutionFailed(f"the spec does not validate: {err}") from err
        (workdir / "spec.json").write_text(spec.model_dump_json(indent=2))
        return spec

    def check(self, outcome: AppSpec, workdir: Path) -> None:
        found = spec_findings(outcome, self.inp)
        if found:
            raise CheckFailed(found)
