"""The Cortex-M4 run: the sketch that passed its host run, cross-built with arm-none-eabi-g++ against the real
TFLite Micro library and run under QEMU mps2-an386, predicts what the host run predicted."""

from __future__ import annotations

import pytest

from stages import tflm_sketches as ts
from stages.test_host_run import host_verdict, inputs
from tinyml_autopilot.sandbox.arm import arm_tools_missing
from tinyml_autopilot.sandbox.hostbuild import tools_missing
from tinyml_autopilot.stages.sketch.host_run import HostRun
from tinyml_autopilot.stages.sketch.m4_run import run_on_m4


def test_an_esp32_sketch_gets_no_cortex_m4_stand_in(tmp_path):
    folder = ts.write_sketch(tmp_path / "src", "probe", ts.sketch_text("current"))
    v = run_on_m4(folder, inputs("esp32"), tmp_path / "work", HostRun())
    assert v.status == "not run" and v.reason == "no stand-in"
    assert "Xtensa" in v.message and "no Cortex-M" in v.message


def test_without_a_passed_host_run_the_m4_run_is_not_run(tmp_path):
    folder = ts.write_sketch(tmp_path / "src", "probe", ts.sketch_text("errorreporter"))
    v = run_on_m4(folder, inputs(), tmp_path / "work", HostRun())
    assert v.status == "not run" and v.message == "not run: the host run did not pass"


# Both API eras; the sketch stage's own tests run Chirale_TensorFlowLite sketches for nano33ble.
M4_CASES = [("Harvard_TinyMLx", "errorreporter", "nano33ble_tinymlx"),
            ("Chirale_TensorFlowLite", "current", "nano33ble")]


@pytest.mark.slow
@pytest.mark.parametrize(("library", "era", "board"), M4_CASES)
def test_a_correct_sketch_on_cortex_m4_predicts_what_the_host_run_predicted(tmp_path, library, era, board):
    ts.needs_library(library)
    if missing := tools_missing("m4") + arm_tools_missing():
        pytest.skip(f"{', '.join(missing)} not installed: no Cortex-M4 builds")
    text = ts.sketch_text(era, library=library if era == "current" else None)
    host = host_verdict(tmp_path, text, board=board)
    assert host.run.status == "passed", host.run.message
    v = run_on_m4(tmp_path / "src" / "probe", inputs(board), tmp_path / "work", host)
    assert v.status == "passed", v.message
    assert v.target == "m4" and v.library.startswith(library + " ") and v.predictions == v.agree == v.readings == 200
    assert "equal the host run's on 200/200" in v.message
    # the real TFLM build: tens of kB of flash; the arena as a 32-bit interpreter reports it
    assert 20_000 < v.flash_bytes < 1_000_000 and 0 < v.ram_bytes < v.flash_bytes
    assert 0 < v.arena_used_bytes <= host.run.arena_used_bytes + 64
    assert 1_000 < v.instructions_per_inference < 10_000_000  # a 4-12-3 int8 MLP
    assert (tmp_path / "work" / "m4_run.log").is_file()


@pytest.mark.slow
def test_a_sketch_that_faults_only_on_cortex_m4_gets_the_crash_verdict_naming_the_hard_fault(tmp_path):
    """Doubles stored through a pointer into a byte buffer at an odd offset: x86 tolerates it, the M4's STRD
    faults; the start-up code's fault handler names the fault over semihosting."""
    ts.needs_library("Harvard_TinyMLx")
    if missing := tools_missing("m4") + arm_tools_missing():
        pytest.skip(f"{', '.join(missing)} not installed: no Cortex-M4 builds")
    host = host_verdict(tmp_path, ts.sketch_text("errorreporter", "misaligned double"))
    assert host.run.status == "passed", host.run.message
    v = run_on_m4(tmp_path / "src" / "probe", inputs(), tmp_path / "work", host)
    assert v.status == "failed" and v.reason == "crash", v.message
    assert v.message.startswith("Cortex-M4 (QEMU) run: the sketch crashed: hard fault (UsageFault: unaligned "
                                "access) at pc 0x") and " in loop()" in v.message, v.message
    assert "CRASH HardFault (UsageFault: unaligned access) pc=0x" in (tmp_path / "work" / "m4_run.log").read_text()
