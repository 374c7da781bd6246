"""Run a TFLite Micro sketch on recorded readings: built on the host against the user's TFLM library
(sandbox/hostbuild.py), run in the sandbox with a time limit, its printed predictions mapped back to
class indices and compared with the host model on the same readings."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ...checks.sketch import FeatureFacts, ModelFacts
from .readings import Preprocess, Readings, model_inputs, sensor_rows

RUN_TIMEOUT_S = 60
RUN_MEMORY_MB = 1024
SENSOR_HEADERS = {"Arduino_APDS9960.h": "colour", "Arduino_LSM9DS1.h": "imu", "Arduino_BMI270_BMM150.h": "imu",
                  "Arduino_LSM6DSOX.h": "imu", "Arduino_HTS221.h": "temperature", "Arduino_HS300x.h": "temperature",
                  "Arduino_LPS22HB.h": "pressure", "PDM.h": "audio"}
_EVENT = re.compile(r"^READ (\S+) (\d+) (\d+)$", re.M)
_SCORE = r"[:=\s]\s*\(?(-?\d+(?:\.\d+)?(?:[eE]-?\d+)?)"


@dataclass
class RunVerdict:
    status: str  # passed | failed | not run
    message: str
    reason: str = ""  # named cause: timeout, crash, no prediction, waits for Serial, ...
    target: str = "host32"
    readings: int = 0
    predictions: int = 0
    agree: int = 0
    mismatches: list[dict[str, int]] = field(default_factory=list)
    library: str = ""
    duration_s: float | None = None
    arena_used_bytes: int | None = None
    flash_bytes: int | None = None  # Cortex-M4 build (arm-none-eabi-size): text + data
    ram_bytes: int | None = None  # data + bss
    instructions_per_inference: int | None = None  # median over the run's Invoke() calls (QEMU -icount)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "", [])}


def sensor_kind(ino: str) -> str:
    """The sensor the sketch reads, from its includes; "serial" when it reads none of ours."""
    for header, kind in SENSOR_HEADERS.items():
        if re.search(rf"#\s*include\s*[<\"]{re.escape(header)}[>\"]", ino):
            return kind
    return "analog" if re.search(r"\banalogRead\s*\(", ino) else "serial"


def write_inputs(workdir: Path, readings: Readings, kind: str, features: FeatureFacts) -> tuple[Path, str]:
    rec = workdir / "recording.txt"
    if kind == "serial":
        rec.write_text("")
        serial_in = workdir / "serial_in.txt"
        lines = [",".join(f"{v:.9g}" for v in row) for row in readings.raw.reshape(-1, features.values_per_sample)]
        serial_in.write_text("\n".join(lines) + "\n")
        return rec, str(serial_in)
    rec.write_text("\n".join(sensor_rows(readings.raw, kind, features.channels)) + "\n")
    return rec, "-"


def run_program(exe: Path, workdir: Path, readings: Readings, kind: str, features: FeatureFacts,
                timeout_s: float | None = None):
    """Run the built sketch in the sandbox; returns (ExecResult, serial output, events). It runs in a folder
    of its own beside the build's, so the program and its build stay read-only to it."""
    from ...sandbox.python import run_command

    workdir = Path(workdir) / "host_run"
    workdir.mkdir(parents=True, exist_ok=True)
    rec, serial_in = write_inputs(workdir, readings, kind, features)
    out, events = workdir / "serial_out.txt", workdir / "events.txt"
    res = run_command([str(exe), str(out), str(events), str(rec), serial_in], workdir,
                      timeout_s=timeout_s or RUN_TIMEOUT_S, memory_mb=RUN_MEMORY_MB, readable=[exe.parent])
    text = out.read_bytes().decode("utf-8", "replace") if out.is_file() else ""
    ev = events.read_text(errors="replace") if events.is_file() else ""
    return res, text, ev


def label_index(line: str, labels: list[str]) -> int | None:
    """The class a printed line names: one label (any case, emoji around it), else the label with the
    highest printed score when it lists them all, else a lone class index after 'class'/'index'/'pred'."""
    low = line.lower()
    hits = [i for i, lab in enumerate(labels) if re.search(rf"(?<![a-z0-9_]){re.escape(lab.lower())}(?![a-z0-9_])",
                                                               low)]
    if len(hits) == 1:
        return hits[0]
    if len(hits) == len(labels) > 1:
        scores = [re.search(rf"{re.escape(lab.lower())}\W{{0,3}}{_SCORE}", low) for lab in labels]
        if all(scores):
            vals = [float(m.group(1)) for m in scores]  # type: ignore[union-attr]
            return int(np.argmax(vals))
        return None
    m = re.search(r"\b(?:pred\w*|class|index|label)\b\D{0,12}?(-?\d+)\b", low)
    if m and 0 <= int(m.group(1)) < len(labels):
        return int(m.group(1))
    return None


def predictions_by_reading(text: str, events: str, labels: list[str]) -> list[tuple[int, int]]:
    """(reading index, class) per printed prediction: each line belongs to the last reading taken before it."""
    reads = [(int(m.group(2)), int(m.group(3))) for m in _EVENT.finditer(events)]
    data = text.encode("utf-8", "replace")
    out: list[tuple[int, int]] = []
    for i, (idx, start) in enumerate(reads):
        end = reads[i + 1][1] if i + 1 < len(reads) else len(data)
        found = [c for line in data[start:end].decode("utf-8", "replace").splitlines()
                 if (c := label_index(line, labels)) is not None]
        if found:
            out.append((idx, found[-1]))
    return out


def host_model(facts: ModelFacts, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(argmax, raw outputs) of the .tflite in LiteRT on model inputs `x` (float), quantized as the board does."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interp = Interpreter(model_path=str(facts.tflite),
                         experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interp.allocate_tensors()
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    rows = np.asarray(x, np.float32).reshape(len(x), -1)
    if inp["dtype"] == np.int8:
        r = rows / np.float32(facts.input_scale)
        rows = np.clip(np.sign(r) * np.floor(np.abs(r) + 0.5) + facts.input_zero_point, -128, 127).astype(np.int8)
    outs = []
    for row in rows:
        interp.set_tensor(inp["index"], row.astype(inp["dtype"]).reshape(inp["shape"]))
        interp.invoke()
        outs.append(interp.get_tensor(out["index"]).reshape(-1).copy())
    outs_arr = np.asarray(outs)
    return outs_arr.argmax(axis=1), outs_arr


def named_failure(res, text: str, events: str) -> tuple[str, str] | None:
    """(reason, message) for a run that did not end by using up the readings."""
    tail = text[-300:].strip()
    said = f" (last output: {tail!r})" if tail else " (it printed nothing)"
    if "CRASH" in events or (res.returncode is not None and res.returncode in (-11, 139, -6, 134, -7, 135)):
        sig = re.search(r"CRASH ([^\n]+)", events)
        what = sig.group(1) if sig else "signal"
        if "unaligned" in what:
            return "crash", (f"the sketch crashed: {what}{said}: a multi-byte value (float, double, struct) read "
                             "or written through a pointer cast from a byte buffer at an odd offset; the host "
                             "tolerates it, Cortex-M faults: memcpy the bytes into a variable instead")
        return "crash", (f"the sketch crashed ({what}){said}: an out-of-bounds tensor access or a null "
                         "interpreter/tensor pointer")
    if "ALLOCATE_FAILED" in events:  # from the AllocateTensors wrapper: whatever the sketch did next
        if re.search(r"didn't find op|not registered|unsupported op|failed to get registration", text, re.I):
            return "op not registered", f"an op the model uses is not registered with the op resolver{said}"
        return "AllocateTensors failed", f"AllocateTensors() failed: the tensor arena is too small for the model{said}"
    if res.timed_out:
        return "timeout", (f"the sketch ran {res.duration_s:.0f}s without finishing{said}: an infinite loop "
                           "(a halt in setup() or a busy wait)")
    if "WAIT_SERIAL" in events:
        return "waits for Serial", f"the sketch waits forever for Serial input that never comes{said}"
    if "HALT_BEFORE_READING" in events:
        if re.search(r"didn't find op|not registered|unsupported op|failed to get registration", text, re.I):
            return "op not registered", f"an op the model uses is not registered with the op resolver{said}"
        if "ALLOCATE_FAILED" in events or re.search(r"allocatetensors|allocate.*fail|arena", text, re.I):
            return "AllocateTensors failed", (f"AllocateTensors() failed: the tensor arena is too small for the "
                                              f"model{said}")
        return "halted", f"the sketch stopped in setup() before reading the sensor{said}"
    if "HALT_AFTER_READING" in events:
        return "halted", f"the sketch stopped after reading the sensor{said}"
    if "OUTPUT_LIMIT" in events:
        return "output flood", f"the sketch printed more than 4 MB{said}"
    if "NO_RECORDING" in events:
        return "no recording", "the sketch reads a sensor the readings do not cover"
    if not res.ok and "END" not in events:
        return "exit", f"the program exited with code {res.returncode}{said}"
    return None


def compare_run(res, text: str, events: str, readings: Readings, facts: ModelFacts, features: FeatureFacts,
                pre: Preprocess, target: str, per_channel_fc: bool = False) -> RunVerdict:
    n = len(readings.raw)
    base = {"target": target, "readings": n, "duration_s": res.duration_s}
    arena = re.search(r"ARENA_USED (\d+)", events)
    if arena:
        base["arena_used_bytes"] = int(arena.group(1))
    failure = named_failure(res, text, events)
    got = predictions_by_reading(text, events, facts.labels)
    if failure and not got:
        return RunVerdict("failed", failure[1], reason=failure[0], **base)
    if not got:
        why = ("no line names a label (" + ", ".join(facts.labels) + "), a score per label or a class index")
        return RunVerdict("failed", f"no prediction could be read from the sketch's output: {why} "
                          f"(output tail: {text[-300:]!r})", reason="no prediction printed", **base)
    expected, raw_out = host_model(facts, model_inputs(readings.raw, features, pre))
    bad = [{"reading": i, "expected": int(expected[i]), "got": c} for i, c in got if i < n and int(expected[i]) != c]
    v = RunVerdict("passed", "", predictions=len(got), agree=len(got) - len(bad), mismatches=bad[:50], **base)
    if bad:
        shown = ", ".join(f"#{b['reading']}: host {facts.labels[b['expected']]} vs sketch "
                          f"{facts.labels[b['got']] if 0 <= b['got'] < len(facts.labels) else b['got']}"
                          for b in bad[:6])
        v.status, v.reason = "failed", "predictions differ"
        v.message = (f"the sketch's predictions differ from the host model's on {len(bad)} of {len(got)} readings "
                     f"({shown}): check how readings become inputs (scaling, normalisation, channel order), the "
                     "input/output tensor types, the zero point and the label order")
        if per_channel_fc:
            v.message += ("; the model has per-channel FULLY_CONNECTED weights, which these TFLite Micro "
                          "libraries compute with the first scale only: convert with per-tensor FC weights")
        return v
    if failure and failure[0] not in ("timeout",):
        v.status, v.reason, v.message = "failed", failure[0], failure[1]
        return v
    v.message = (f"{target} run: predictions equal the host model's on {len(got)}/{len(got)} readings "
                 f"({readings.source})")
    if len(got) < n:
        v.message += f"; {n - len(got)} readings gave no printed prediction"
    return v
