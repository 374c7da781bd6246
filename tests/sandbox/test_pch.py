"""The precompiled include block of host builds: built the second time a block is seen, used from then on,
with the sketch's line numbers, and not used where the sketch folder would shadow one of its headers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from stages import tflm_sketches as ts

from tinyml_autopilot.sandbox import hostbuild
from tinyml_autopilot.sandbox.pch import HEADER, include_block

SKETCH = """/* A sketch whose include block is cheap to precompile:
   TinyMLx's TensorFlowLite.h holds no declarations. */
#include <TensorFlowLite.h>  // the library
#include <Wire.h>
#include "local.h"

void setup() { Serial.begin(9600); }
void loop() { Serial.println(LOCAL); }
"""


def test_the_block_is_the_leading_includes_up_to_a_header_of_the_sketch_folder(tmp_path):
    (tmp_path / "model.h").write_text("")
    text = "// top\n\n#include <A.h> // why\n/* x */ #include \"b/c.h\"\n#include \"model.h\"\n#include <D.h>\n"
    assert include_block(text, tmp_path) == (['#include <A.h>', '#include "b/c.h"'], 4)
    assert include_block("#include <A.h>\n#define N 3\n#include <B.h>\n", tmp_path) == (["#include <A.h>"], 1)
    assert include_block('#include "../secret.h"\n', tmp_path) == ([], 0)
    assert include_block("#include </etc/passwd>\n", tmp_path) == ([], 0)
    assert include_block("int x;\n#include <A.h>\n", tmp_path) == ([], 0)


def _sketch(root: Path, text: str) -> Path:
    folder = root / "probe"
    folder.mkdir(parents=True)
    (folder / "probe.ino").write_text(text)
    (folder / "local.h").write_text('#define LOCAL "ok"\n')
    return folder


@pytest.mark.slow
def test_a_block_seen_twice_is_precompiled_and_keeps_the_sketch_line_numbers(tmp_path, monkeypatch):
    lib = ts.needs_library("Harvard_TinyMLx")
    monkeypatch.setattr(hostbuild, "pch_root", lambda target: tmp_path / "pch" / target)
    broken = SKETCH.replace("Serial.println(LOCAL);", "Serial.println(LOCAL);\n  undeclared_name = 1;")
    line = next(i for i, t in enumerate(broken.splitlines(), 1) if "undeclared_name" in t)
    folder = _sketch(tmp_path / "src", broken)
    builds = [hostbuild.build_sketch(folder, lib, tmp_path / f"w{i}") for i in range(3)]
    heads = [(tmp_path / f"w{i}" / "probe.ino.cpp").read_text().splitlines()[0] for i in range(3)]
    assert heads[0] == "#include <Arduino.h>"  # first sight: compiled as it is
    assert heads[1].endswith(f'/{HEADER}"') and heads[2] == heads[1]
    gch = Path(heads[1].split('"')[1] + ".gch")
    assert gch.is_file() and gch.stat().st_size > 100_000
    block = gch.with_suffix("").read_text()
    assert block == "#include <Arduino.h>\n#include <TensorFlowLite.h>\n#include <Wire.h>\n"
    for b in builds:
        assert not b.ok and b.lines == [line], b.log
        assert f"probe.ino:{line}: error: " in b.errors[0] and "undeclared_name" in b.errors[0]
    good = hostbuild.build_sketch(_sketch(tmp_path / "good", SKETCH), lib, tmp_path / "wg")
    assert good.ok, good.log
    assert (tmp_path / "wg" / "probe.ino.cpp").read_text().startswith(heads[1])


@pytest.mark.slow
def test_a_shadowing_file_or_a_changed_header_keeps_the_sketch_from_a_stale_block(tmp_path, monkeypatch):
    lib = ts.needs_library("Harvard_TinyMLx")
    monkeypatch.setattr(hostbuild, "pch_root", lambda target: tmp_path / "pch" / target)
    folder = _sketch(tmp_path / "src", SKETCH)
    for i in range(2):
        assert hostbuild.build_sketch(folder, lib, tmp_path / f"w{i}").ok
    [deps] = (tmp_path / "pch" / "host32").glob("*/deps.json")
    stamps = json.loads(deps.read_text())
    wire = next(p for p in stamps if p.endswith("/core/Wire.h"))
    # <stdint.h>, which Arduino.h includes, is searched in the sketch folder first: this one would be used
    (folder / "stdint.h").write_text("#error the sketch's own stdint.h\n")
    shadowed = hostbuild.build_sketch(folder, lib, tmp_path / "w2")
    assert (tmp_path / "w2" / "probe.ino.cpp").read_text().startswith("#include <Arduino.h>\n")
    assert not shadowed.ok and "the sketch's own stdint.h" in shadowed.log
    (folder / "stdint.h").unlink()
    stamps[wire] = [0, 0]  # as if our core's Wire.h had changed since the block was built
    deps.write_text(json.dumps(stamps))
    rebuilt = hostbuild.build_sketch(folder, lib, tmp_path / "w3")
    assert rebuilt.ok and (tmp_path / "w3" / "probe.ino.cpp").read_text().startswith(f'#include "{deps.parent}/')
    assert json.loads(deps.read_text())[wire] != [0, 0]
