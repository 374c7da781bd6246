"""Build C sources for a Cortex-M4F (arm-none-eabi-gcc) and run them in QEMU mps2-an386.

Output goes through semihosting (newlib rdimon): printf reaches QEMU's stdout and the
program's exit code becomes QEMU's exit code. The start-up code and linker script are
package data in `arm_support/`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tinyml_autopilot.sandbox.arduino import run_process, tool_available

SUPPORT = Path(__file__).parent / "arm_support"
CPU_FLAGS = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]
QEMU_ARGS = ["-machine", "mps2-an386", "-cpu", "cortex-m4", "-nographic", "-monitor", "none",
             "-serial", "none", "-semihosting-config", "enable=on,target=native"]
_SIZE = re.compile(r"^\s*(\d+)\s+(\d+)\s+(\d+)\s+\d+\s+[0-9a-f]+\s+", re.M)


@dataclass
class ArmResult:
    ok: bool
    exit_code: int | None
    output: str
    text: int | None = None
    data: int | None = None
    bss: int | None = None
    elf: Path | None = None
    log: str = ""
    timed_out: bool = False
    stage: str = "run"  # where it stopped: "tools" | "compile" | "run"


def arm_tools_missing() -> list[str]:
    """Names of the executables this module needs that are not on PATH."""
    return [t for t in ("arm-none-eabi-gcc", "arm-none-eabi-size", "qemu-system-arm")
            if not tool_available(t)]


def arm_size(elf: Path) -> tuple[int, int, int] | None:
    """(text, data, bss) from arm-none-eabi-size, or None."""
    proc = run_process(["arm-none-eabi-size", str(elf)], 30)
    m = _SIZE.search(proc.stdout)
    return (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None


def compile_cortex_m4(sources: list[Path], include_dirs: list[Path], elf: Path,
                      cflags: list[str] = (), timeout: float = 120) -> tuple[bool, str]:
    cmd = ["arm-none-eabi-gcc", *CPU_FLAGS, "-O2", "-ffunction-sections", "-fdata-sections",
           "--specs=rdimon.specs", "-T", str(SUPPORT / "board.ld"), "-Wl,--gc-sections",
           *cflags]
    cmd += [f"-I{Path(d).resolve()}" for d in include_dirs]
    cmd += [str(SUPPORT / "startup.c"), *(str(Path(s).resolve()) for s in sources)]
    cmd += ["-o", str(elf), "-lm"]
    proc = run_process(cmd, timeout)
    ok = proc.returncode == 0 and not proc.timed_out and elf.exists()
    return ok, " ".join(cmd) + "\n" + proc.stdout + proc.stderr


def run_qemu_m4(elf: Path, timeout: float = 60) -> tuple[int | None, str, bool]:
    proc = run_process(["qemu-system-arm", *QEMU_ARGS, "-kernel", str(elf)], timeout)
    return proc.returncode, proc.stdout + proc.stderr, proc.timed_out


def build_and_run_cortex_m4(sources: list[Path], include_dirs: list[Path], workdir: Path,
                            timeout: float = 60, cflags: list[str] = ()) -> ArmResult:
    """Compile `sources` with the bundled start-up code, run under QEMU, report sizes."""
    missing = arm_tools_missing()
    if missing:
        return ArmResult(False, None, "", log=f"not installed: {', '.join(missing)}",
                         stage="tools")
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    elf = workdir / "app.elf"
    ok, log = compile_cortex_m4(sources, include_dirs, elf, cflags)
    if not ok:
        return ArmResult(False, None, "", log=log, stage="compile")
    sizes = arm_size(elf) or (None, None, None)
    code, out, timed_out = run_qemu_m4(elf, timeout)
    return ArmResult(ok=code == 0 and not timed_out, exit_code=code, output=out,
                     text=sizes[0], data=sizes[1], bss=sizes[2], elf=elf, log=log,
                     timed_out=timed_out)
