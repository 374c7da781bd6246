"""compile_sketch / simulate_avr against the real Debian toolchain (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinyml_autopilot.sandbox.arduino import (
    compile_sketch,
    missing_tools,
    run_process,
    simulate_avr,
    tool_available,
)

HELLO = """#include <avr/sleep.h>
void setup() {
  Serial.begin(115200);
  Serial.println(F("hello from the uno"));
  Serial.println(6 * 7);
  Serial.flush();
  cli();
  sleep_enable();
  sleep_cpu();
}
void loop() {}
"""


def _sketch(root: Path, name: str, body: str) -> Path:
    d = root / name
    d.mkdir(parents=True)
    (d / f"{name}.ino").write_text(body)
    return d


def _need_avr() -> None:
    if not (tool_available("arduino-cli") or tool_available("arduino-builder")):
        pytest.skip("not installed: arduino-cli or arduino-builder")


def test_compile_and_simulate_hello(tmp_path: Path) -> None:
    _need_avr()
    res = compile_sketch(_sketch(tmp_path, "Hello", HELLO), "arduino:avr:uno", tmp_path / "b")
    assert res.ok, res.errors
    assert res.tool in ("arduino-cli", "arduino-builder")
    assert res.flash_bytes and res.flash_max == 32256
    assert res.ram_bytes and res.ram_max == 2048
    assert res.elf and res.elf.exists()
    if missing := missing_tools("simavr"):
        pytest.skip(f"not installed: {missing[0]}")
    sim = simulate_avr(res.elf, timeout=30)
    assert sim.ok and not sim.timed_out
    assert "hello from the uno" in sim.output and "42" in sim.output
    assert "\x1b[" not in sim.output


def test_compile_error_is_reported(tmp_path: Path) -> None:
    _need_avr()
    bad = "void setup() { undefined_thing(1); }\nvoid loop() {}\n"
    res = compile_sketch(_sketch(tmp_path, "Broken", bad), "arduino:avr:uno", tmp_path / "b")
    assert not res.ok and res.elf is None
    assert any("undefined_thing" in line for line in res.errors), res.errors


def _files_holding(root: Path, value: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and value.encode() in p.read_bytes()]


def test_included_secrets_never_reach_the_build_or_its_log(tmp_path: Path, monkeypatch) -> None:
    _need_avr()
    from tinyml_autopilot import secrets

    env_key, config_key = "sk-envkey-0123456789abcdef", "sk-configkey-9876543210"
    monkeypatch.setenv("OPENAI_API_KEY", env_key)
    secrets.register(config_key)
    dotenv = tmp_path / "home" / ".env"
    dotenv.parent.mkdir()
    dotenv.write_text(f"OPENAI_API_KEY={env_key}\nANTHROPIC_API_KEY={config_key}\n")
    body = f'#include "{dotenv}"\nvoid setup() {{}}\nvoid loop() {{}}\n'
    res = compile_sketch(_sketch(tmp_path / "run", "Leak", body), "arduino:avr:uno", tmp_path / "run" / "b")
    assert not res.ok and "No such file or directory" in res.log  # the compiler cannot see it
    text = res.log + "\n".join(res.errors)
    assert env_key not in text and config_key not in text
    assert _files_holding(tmp_path / "run", env_key) == [] and _files_holding(tmp_path / "run", config_key) == []


def test_tools_run_without_credentials_in_their_environment(monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-envkey-0123456789abcdef")
    monkeypatch.setenv("TINYML_TEST_PLAIN", "visible")
    proc = run_process(["sh", "-c", "echo key=$OPENAI_API_KEY plain=$TINYML_TEST_PLAIN"], 10)
    assert proc.stdout.strip() == "key= plain=visible"


def test_sketch_too_big_fails(tmp_path: Path) -> None:
    _need_avr()
    big = ("const char blob[30000] PROGMEM = {1};\nconst char blob2[4000] PROGMEM = {2};\n"
           "void setup() { Serial.begin(9600); Serial.print(pgm_read_byte(blob + millis()));"
           " Serial.print(pgm_read_byte(blob2 + millis())); }\nvoid loop() {}\n")
    res = compile_sketch(_sketch(tmp_path, "Big", big), "arduino:avr:uno", tmp_path / "b")
    assert not res.ok
    assert res.errors


def test_unknown_board_without_arduino_cli_is_not_a_pass(tmp_path: Path) -> None:
    if tool_available("arduino-cli"):
        pytest.skip("arduino-cli is installed; this covers the fallback path")
    res = compile_sketch(_sketch(tmp_path, "Hello", HELLO), "esp32:esp32:esp32", tmp_path / "b")
    assert not res.ok and res.tool == "none"
    assert "no compiler for board esp32:esp32:esp32 is installed" in res.log


def test_simulation_timeout_kills_the_process(tmp_path: Path) -> None:
    _need_avr()
    if missing := missing_tools("simavr"):
        pytest.skip(f"not installed: {missing[0]}")
    forever = "void setup() { Serial.begin(9600); }\nvoid loop() { Serial.println(1); }\n"
    res = compile_sketch(_sketch(tmp_path, "Forever", forever), "arduino:avr:uno",
                         tmp_path / "b")
    assert res.ok, res.errors
    sim = simulate_avr(res.elf, timeout=2)
    assert sim.timed_out and not sim.ok
    assert "1" in sim.output


def test_run_process_timeout_kills_group() -> None:
    proc = run_process(["sh", "-c", "sleep 30 & sleep 30"], timeout=1)
    assert proc.timed_out and proc.duration_s < 10


def test_arduino_cli_json_sizes_are_read() -> None:
    """The JSON shape arduino-cli prints with --format json (no arduino-cli needed)."""
    from tinyml_autopilot.sandbox.arduino import CompileResult, _cli_sizes

    res = CompileResult(ok=True, tool="arduino-cli", log="")
    _cli_sizes(res, {"success": True, "builder_result": {"executable_sections_size": [
        {"name": "text", "size": 5110, "max_size": 32256},
        {"name": "data", "size": 214, "max_size": 2048}]}})
    assert (res.flash_bytes, res.flash_max, res.ram_bytes, res.ram_max) == (5110, 32256, 214,
                                                                             2048)


def _fake_arduino_cli(tmp_path: Path, monkeypatch, reply: dict) -> None:
    """arduino-cli is not installed here: a stand-in on PATH prints what arduino-cli 1.x prints."""
    import json
    import os

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "reply.json").write_text(json.dumps(reply))
    script = bin_dir / "arduino-cli"
    script.write_text(f"#!/bin/sh\ncat {bin_dir / 'reply.json'}\nexit 1\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")


def test_arduino_cli_without_the_boards_core_is_not_the_sketchs_fault(tmp_path: Path, monkeypatch) -> None:
    _fake_arduino_cli(tmp_path, monkeypatch, {
        "compiler_out": "", "compiler_err": "", "builder_result": None, "success": False,
        "error": "Platform 'arduino:mbed_nano' not found: platform not installed\n"
                 "Try running `arduino-cli core install arduino:mbed_nano`"})
    res = compile_sketch(_sketch(tmp_path, "Hello", HELLO), "arduino:mbed_nano:nano33ble", tmp_path / "b")
    assert not res.ok and res.tool == "arduino-cli"
    assert res.missing == ("arduino-cli has no core arduino:mbed_nano installed: run "
                           "`arduino-cli core install arduino:mbed_nano`")
    assert any("platform not installed" in e for e in res.errors)


def test_a_missing_board_library_is_named_with_its_install_command(tmp_path: Path, monkeypatch) -> None:
    from tinyml_autopilot.boards import get_board
    from tinyml_autopilot.stages.sketch.compile import compile_for

    sketch = _sketch(tmp_path, "Imu", "#include <Arduino_BMI270_BMM150.h>\nvoid setup() {}\nvoid loop() {}\n")
    _fake_arduino_cli(tmp_path, monkeypatch, {
        "compiler_out": "", "success": False, "builder_result": {"build_path": str(tmp_path / "b")},
        "compiler_err": f"{sketch}/Imu.ino:1:10: fatal error: Arduino_BMI270_BMM150.h: No such file or directory\n"
                        "compilation terminated.\n"})
    verdict = compile_for(sketch, get_board("nano33ble_rev2"), tmp_path / "b")
    assert verdict.status == "not compiled"
    assert verdict.message == ('not compiled: library Arduino_BMI270_BMM150 is not installed: run '
                               '`arduino-cli lib install "Arduino_BMI270_BMM150"`')
    other = _sketch(tmp_path, "Typo", "#include <Arduino_BMI270.h>\nvoid setup() {}\nvoid loop() {}\n")
    _fake_arduino_cli(tmp_path / "t", monkeypatch, {
        "compiler_out": "", "success": False, "compiler_err": f"{other}/Typo.ino:1:10: fatal error: "
                                                              "Arduino_BMI270.h: No such file or directory\n"})
    assert compile_for(other, get_board("nano33ble_rev2"), tmp_path / "b2").status == "failed"  # the sketch's bug


def test_a_sketch_cannot_include_host_files(tmp_path: Path, monkeypatch) -> None:
    """A generated sketch #including /etc/shadow or a file in the home folder: nothing of them in the log."""
    _need_avr()
    import shutil
    import tempfile

    home = Path(tempfile.mkdtemp(dir="/var/tmp", prefix="tinyml-home-"))
    try:
        (home / "notes.h").write_text("int home_marker_4711 = 1;\nhome secret words here\n")
        monkeypatch.setenv("HOME", str(home))
        for target in ("/etc/shadow", str(home / "notes.h")):
            body = f'#include "{target}"\nvoid setup() {{}}\nvoid loop() {{}}\n'
            name = "Inc" + str(len(target))
            res = compile_sketch(_sketch(tmp_path, name, body), "arduino:avr:uno", tmp_path / f"b{name}")
            text = res.log + "\n".join(res.errors)
            assert "root:" not in text and "home secret" not in text and "home_marker" not in text, text
            assert _files_holding(tmp_path, "home secret") == [] and _files_holding(tmp_path, "root:") == []
    finally:
        shutil.rmtree(home)
