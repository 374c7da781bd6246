"""The sketch stage on the real outputs of the earlier stages: the bundled demo gestures (windowed
time series) through data -> train -> convert -> sketch offline, for the Uno and the Nano 33 BLE."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinyml_autopilot.data import demo_dataset
from tinyml_autopilot.runs import read_output
from tinyml_autopilot.sandbox.arduino import avr_toolchain_available, tool_available

CLI = str(Path(sys.executable).parent / "tinyml-autopilot")
needs_avr = pytest.mark.skipif(not (avr_toolchain_available() and tool_available("simavr")),
                               reason="arduino-builder/AVR core or simavr missing")
pytestmark = pytest.mark.slow
STATIC = ("includes", "api", "model_symbols", "ops_registered", "resolver_count", "arena_size", "quantization",
          "label_count", "feature_scaling", "budget")


def stage(*args: str, out: Path) -> dict:
    proc = subprocess.run([CLI, *args, "--llm", "offline", "--yes", "--json", "--out", str(out)],
                          capture_output=True, text=True, timeout=300, cwd=out)
    assert proc.stdout.strip(), proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def chain(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("chain")
    out = root / "runs"
    out.mkdir()
    data = stage("data", "--data", str(demo_dataset(root / "demo")), "--label", "file name", "--window", "40",
                 "--rate", "50", out=out)
    assert data["status"] == "ok", data
    train = stage("train", "--data", data["run_dir"], "--board", "uno", out=out)
    assert train["status"] == "ok", train
    convert = stage("convert", "--data", train["run_dir"], "--board", "uno", "--emit", "c", out=out)
    assert convert["status"] == "ok", convert
    result = {"data": data, "convert": convert, "out": out}
    for board in ("uno", "nano33ble"):
        result[board] = stage("sketch", "--data", convert["run_dir"], "--board", board, out=out)
    return result


def sketch_folder(result: dict) -> Path:
    return Path(read_output(Path(result["run_dir"]), stages=("sketch",))["sketch_dir"])


def verdicts(result: dict) -> dict:
    return json.loads((Path(result["run_dir"]) / "verdicts.json").read_text())


@needs_avr
def test_uno_sketch_compiles_fits_and_agrees_with_the_host_model_on_every_test_window(chain):
    uno = chain["uno"]
    assert uno["status"] == "ok", uno
    assert uno["compiled"] is True
    assert 0 < uno["flash_used"] <= uno["flash_budget"] == 32256
    assert 0 < uno["ram_used"] <= 0.9 * uno["ram_budget"]
    # measured in simavr (painted stack): globals + deepest stack leave room on the 2 KB part
    assert uno["ram_used"] < uno["ram_peak"] <= uno["ram_budget"] - 64
    processed = Path(chain["data"]["run_dir"]) / "processed"
    with np.load(processed / "test.npz") as npz:
        n = min(len(npz["y"]), 20)
    sim = verdicts(uno)["simulation"]
    assert sim["status"] == "passed" and sim["vectors"] == n and sim["agree"] == n
    assert uno["simulation_agreement"] == f"{n}/{n}"


def test_uno_sketch_windows_and_scales_as_the_feature_spec_says(chain):
    spec = json.loads((Path(chain["data"]["run_dir"]) / "processed" / "feature_spec.json").read_text())
    folder = sketch_folder(chain["uno"])
    ino = (folder / f"{folder.name}.ino").read_text()
    assert f"constexpr int kWindow = {spec['window']};" in ino
    assert f"constexpr int kChannels = {len(spec['channels'])};" in ino
    # on a 2 KB part the window is kept quantized (int8), never as floats
    assert "static int8_t model_input[MODEL_INPUT_SIZE];" in ino
    assert not re.search(r"\bfloat\s+\w+\s*\[[^\]]*kWindow", ino)
    for key, name in (("offset", "kFeatureOffset"), ("scale", "kFeatureScale")):
        body = re.search(rf"{name}\[kChannels\] = \{{([^}}]*)\}}", ino).group(1)
        values = [float(v.strip().rstrip("f")) for v in body.split(",")]
        np.testing.assert_allclose(values, spec["scaling"][key], rtol=1e-6)
    app = json.loads((Path(chain["uno"]["run_dir"]) / "spec.json").read_text())
    assert app["channels"] == spec["channels"] and app["window"] == spec["window"]


@needs_avr
def test_check_mode_catches_a_channel_order_bug_on_the_real_model(chain, tmp_path):
    folder = shutil.copytree(sketch_folder(chain["uno"]), tmp_path / "swapped")
    (folder / "swapped.ino").write_text((folder / f"{sketch_folder(chain['uno']).name}.ino").read_text().replace(
        "(raw[c] - kFeatureOffset[c]) / kFeatureScale[c]",
        "(raw[(c + 1) % kChannels] - kFeatureOffset[c]) / kFeatureScale[c]"))
    for old in folder.glob("*.ino"):
        if old.name != "swapped.ino":
            old.unlink()
    proc = subprocess.run([CLI, "sketch", "--data", chain["convert"]["run_dir"], "--board", "uno", "--check",
                           str(folder), "--json", "--out", str(tmp_path / "runs")],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert proc.returncode == 1 and result["status"] == "failed"
    assert result["verdicts"]["compile"] == "passed" and result["verdicts"]["simulation"] == "failed"
    assert any("differ from the host model" in f for f in result["findings"])


def test_nano33ble_sketch_passes_every_static_check_and_is_plainly_not_compiled(chain):
    nano = chain["nano33ble"]
    if tool_available("arduino-cli"):
        pytest.skip("arduino-cli is installed here: the sketch would be compiled")
    assert nano["status"] == "ok", nano
    v = verdicts(nano)
    assert v["runtime"] == "tflm" and v["library"] == "Chirale_TensorFlowLite"
    assert {k: v["checks"][k]["status"] for k in STATIC} == {k: "passed" for k in STATIC}
    assert v["compile"]["status"] == "not compiled" and "not compiled" in v["compile"]["message"]
    assert v["simulation"]["status"] == "not simulated"
    assert nano["compiled"] is False and nano["flash_used"] is None and nano["simulation_agreement"] is None
    folder = sketch_folder(nano)
    assert {"model_data.h", "model_data.cc", "README.md", f"{folder.name}.ino"} <= {p.name for p in folder.iterdir()}


@needs_avr
def test_overlapping_training_windows_give_a_sliding_window_on_the_uno(chain, tmp_path):
    spec = json.loads((Path(chain["data"]["run_dir"]) / "processed" / "feature_spec.json").read_text())
    spec["stride"] = 10
    (tmp_path / "feature_spec.json").write_text(json.dumps(spec))
    result = stage("sketch", "--data", chain["convert"]["run_dir"], "--board", "uno", "--spec",
                   str(tmp_path / "feature_spec.json"), out=chain["out"])
    assert result["status"] == "ok" and result["simulation_agreement"] == chain["uno"]["simulation_agreement"]
    folder = sketch_folder(result)
    ino = (folder / f"{folder.name}.ino").read_text()
    assert "constexpr int kHop = 10;" in ino
    assert "memmove(model_input, model_input + kHop * kChannels, (kWindow - kHop) * kChannels);" in ino
    assert "filled = kWindow - kHop;" in ino
