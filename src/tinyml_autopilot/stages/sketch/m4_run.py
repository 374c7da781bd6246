"""The Cortex-M4 run for TFLite Micro boards: the sketch that passed its host run, cross-built with
arm-none-eabi-g++ against the same library, core and replay libraries, run under QEMU mps2-an386 (semihosting
gives it its files) on the same readings. Its predictions must equal the host run's; the verdict reports the
build's flash and RAM, the arena used and the instructions per inference (QEMU -icount shift=0)."""

from __future__ import annotations

import re
import statistics
from pathlib import Path

from ...secrets import redact
from .host_run import HostRun, per_channel_fc
from .inputs import Inputs
from .readings import load_preprocess
from .run_tflm import RUN_MEMORY_MB, RunVerdict, compare_run, predictions_by_reading, write_inputs

QEMU = ["qemu-system-arm", "-machine", "mps2-an386", "-cpu", "cortex-m4", "-nographic", "-monitor", "none",
        "-serial", "none", "-semihosting-config", "enable=on,target=native", "-icount", "shift=0",
        "-accel", "tcg,tb-size=64"]
M4_TIMEOUT_S = 120
# arm_support/startup.c's fault handler prints this line on the semihosting console, then exits
_FAULT = re.compile(r"^CRASH (\w+) \(([^)\n]*)\) pc=0x([0-9a-f]{8})(.*)$", re.M)


def no_stand_in(cpu: str) -> str | None:
    """Why a Cortex-M4 run says nothing about a board with this CPU, or None when it is a stand-in."""
    if "cortex-m" not in cpu.lower():
        return f"not run: the board's {cpu or 'CPU'} is no Cortex-M, so a Cortex-M4 build is no stand-in for it"
    return None


def _not_run(message: str, reason: str, library: str = "") -> RunVerdict:
    return RunVerdict("not run", message, reason=reason, target="m4", library=library)


def run_on_m4(sketch_dir: Path, inp: Inputs, workdir: Path, host: HostRun) -> RunVerdict:
    from ...sandbox.arm import arm_size, arm_tools_missing
    from ...sandbox.hostbuild import build_sketch, tools_missing
    from ...sandbox.python import run_command

    if why := no_stand_in(inp.board.cpu):
        return _not_run(why, "no stand-in")
    if host.run is None or host.run.status != "passed" or host.readings is None or host.lib is None:
        return _not_run("not run: the host run did not pass", "host run")
    lib = host.lib
    if missing := sorted(set(tools_missing("m4") + arm_tools_missing())):
        return _not_run(f"not run: {', '.join(missing)} not installed (apt-get install gcc-arm-none-eabi "
                        "libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib qemu-system-arm)", "no compiler")
    workdir = Path(workdir).resolve()
    build = build_sketch(sketch_dir, lib, workdir / "m4_build", target="m4")
    (workdir / "m4_build" / "build.log").write_text(redact(build.log))
    if build.library_error:
        return _not_run(f"not run: {build.library_error} (Cortex-M4)", "library build", lib.name)
    if not build.ok:
        return RunVerdict("failed", "the sketch did not build for Cortex-M4 (arm-none-eabi-g++):\n"
                          + "\n".join(build.errors[:15]), reason="build failed", target="m4", library=lib.name)
    rundir = workdir / "m4_run"
    rundir.mkdir(parents=True, exist_ok=True)
    rec, serial_in = write_inputs(rundir, host.readings, host.kind, inp.features)
    args = f"serial_out.txt events.txt {rec.name} {Path(serial_in).name if serial_in != '-' else '-'}"
    res = run_command([*QEMU, "-kernel", str(build.exe), "-append", args], rundir, timeout_s=M4_TIMEOUT_S,
                      memory_mb=RUN_MEMORY_MB, readable=[build.exe.parent])
    text = (rundir / "serial_out.txt").read_bytes().decode("utf-8", "replace") \
        if (rundir / "serial_out.txt").is_file() else ""
    events = (rundir / "events.txt").read_text(errors="replace") if (rundir / "events.txt").is_file() else ""
    if (fault := _FAULT.search(res.stdout + res.stderr)) and "END" not in events:
        events += f"\nCRASH {fault_line(fault, build.exe)}\n"
    (workdir / "m4_run.log").write_text(redact(text + "\n--- events ---\n" + events + "\n--- qemu ---\n"
                                               + res.stdout + res.stderr))
    v = compare_run(res, text, events, host.readings, inp.facts, inp.features, load_preprocess(inp.spec_path), "m4",
                    per_channel_fc(inp.facts.tflite))
    v.library = f"{lib.name} {lib.version}"
    sizes = arm_size(build.exe)
    if sizes:
        v.flash_bytes, v.ram_bytes = sizes[0] + sizes[1], sizes[1] + sizes[2]
    counts = [int(n) for n in re.findall(r"^INVOKE_INSTRUCTIONS (\d+)$", events, re.M)]
    if counts:
        v.instructions_per_inference = int(statistics.median(counts))
    if v.status != "passed":
        v.message = f"Cortex-M4 (QEMU) run: {v.message}"
        return v
    got, on_host = dict(predictions_by_reading(text, events, inp.facts.labels)), dict(host.predictions)
    differ = sorted(i for i in got.keys() | on_host.keys() if got.get(i) != on_host.get(i))
    if differ:
        v.status, v.reason = "failed", "differs from the host run"
        v.message = (f"the Cortex-M4 run's predictions differ from the host run's on {len(differ)} readings "
                     f"(#{', #'.join(str(i) for i in differ[:8])}): undefined behaviour in the sketch (an "
                     "uninitialised value, an out-of-bounds read) or a float expression that rounds differently")
        return v
    v.message = (f"Cortex-M4 (QEMU mps2-an386) run: predictions equal the host run's on {len(got)}/{len(got)} "
                 f"readings; " + ", ".join(_figures(v)))
    return v


def fault_line(fault: re.Match, elf: Path) -> str:
    """'hard fault (UsageFault: unaligned access) at pc 0x... in loop()': the function from the ELF's symbols."""
    from ...sandbox.arduino import run_process

    pc = int(fault.group(3), 16)
    proc = run_process(["arm-none-eabi-addr2line", "-f", "-C", "-e", str(elf), hex(pc)], 30)
    func = proc.stdout.splitlines()[0].strip() if proc.returncode == 0 and proc.stdout.strip() else "??"
    where = f" in {func}" + ("()" if "(" not in func else "") if func != "??" else ""
    name = "hard fault" if fault.group(1) == "HardFault" else fault.group(1)
    return f"{name} ({fault.group(2)}) at pc {pc:#x}{where}{fault.group(4).rstrip()}"


def _figures(v: RunVerdict) -> list[str]:
    out = []
    if v.flash_bytes is not None:
        out.append(f"flash {v.flash_bytes:,} B and RAM {v.ram_bytes:,} B (arm-none-eabi-size: sketch, "
                   f"{v.library}, core)")
    if v.arena_used_bytes is not None:
        out.append(f"arena used {v.arena_used_bytes:,} B")
    if v.instructions_per_inference is not None:
        out.append(f"{v.instructions_per_inference:,} instructions per inference")
    return out
