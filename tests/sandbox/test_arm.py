"""build_and_run_cortex_m4 against arm-none-eabi-gcc + QEMU mps2-an386 (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinyml_autopilot.sandbox.arm import arm_tools_missing, build_and_run_cortex_m4


@pytest.fixture(autouse=True)
def _need_tools() -> None:
    if missing := arm_tools_missing():
        pytest.skip(f"not installed: {', '.join(missing)}")


def test_hello_with_float_and_exit_code(tmp_path: Path) -> None:
    src = tmp_path / "main.c"
    src.write_text('#include <stdio.h>\n#include "extra.h"\n'
                   "int main(void) { volatile float f = 1.25f;\n"
                   '  printf("hello m4 %d\\n", (int)(f * 8.0f) + EXTRA);\n  return 0; }\n')
    inc = tmp_path / "inc"
    inc.mkdir()
    (inc / "extra.h").write_text("#define EXTRA 32\n")
    res = build_and_run_cortex_m4([src], [inc], tmp_path / "w", timeout=30)
    assert res.ok, res.log + res.output
    assert res.exit_code == 0 and "hello m4 42" in res.output
    assert res.text and res.text > 0 and res.data is not None and res.bss is not None


def test_nonzero_exit_code_propagates(tmp_path: Path) -> None:
    src = tmp_path / "main.c"
    src.write_text("int main(void) { return 3; }\n")
    res = build_and_run_cortex_m4([src], [], tmp_path / "w", timeout=30)
    assert not res.ok and res.exit_code == 3


def test_fault_exits_instead_of_hanging(tmp_path: Path) -> None:
    src = tmp_path / "main.c"
    src.write_text("int main(void) { volatile unsigned *p = (unsigned *)0x70000000u;\n"
                   "  *p = 1; return (int)*p; }\n")
    res = build_and_run_cortex_m4([src], [], tmp_path / "w", timeout=30)
    assert not res.ok and not res.timed_out and res.exit_code == 1


def test_compile_error_stops_before_qemu(tmp_path: Path) -> None:
    src = tmp_path / "main.c"
    src.write_text("int main(void) { return nope; }\n")
    res = build_and_run_cortex_m4([src], [], tmp_path / "w", timeout=30)
    assert not res.ok and res.stage == "compile" and "nope" in res.log


def test_infinite_loop_times_out(tmp_path: Path) -> None:
    src = tmp_path / "main.c"
    src.write_text("int main(void) { for (;;) { } }\n")
    res = build_and_run_cortex_m4([src], [], tmp_path / "w", timeout=2)
    assert res.timed_out and not res.ok
