"""The sketch checks on the C++ parser: working code the regex reader refused now passes, what the compiler
rejects is named, and each rule of a TFLite Micro era is tried on both eras."""

from __future__ import annotations

import dataclasses

import pytest
from stages.sketch_fixtures import fixture_model as fm

from tinyml_autopilot.boards import get_board
from tinyml_autopilot.checks.sketch import lint_folder, load_facts, load_feature_spec
from tinyml_autopilot.checks.sketch.libraries import eras, libraries

OLD, NEW = "nano33ble_tinymlx", "nano33ble"  # Harvard_TinyMLx (TFLM 2.4) / Chirale_TensorFlowLite (current)
BASE = {OLD: "errorreporter_tflm.ino", NEW: "good_tflm.ino"}


@pytest.fixture(scope="module")
def facts():
    run = fm.convert_run()
    f = load_facts(run / "artifacts" / "model.tflite", run / "artifacts" / "model_card.json")
    return f, load_feature_spec(run / "processed" / "feature_spec.json", f)


def lint(tmp_path, facts, board: str, *subs: tuple[str, str], name: str = "app"):
    f, feats = facts
    text = fm.render(BASE[board])
    for old, new in subs:
        assert old in text, old
        text = text.replace(old, new, 1)
    return lint_folder(fm.sketch_folder(tmp_path, name, text), f, get_board(board), feats)


def messages(report) -> str:
    return " | ".join(f"[{x.check}] {x.message}" for x in report.findings)


@pytest.mark.parametrize(("board", "subs"), [
    (OLD, [("#include <TensorFlowLite.h>", '#include "TensorFlowLite.h"')]),  # quoted: falls back to the libraries
    (OLD, [("model = tflite::GetModel(g_model_data);",
            "const unsigned char* model_bytes = g_model_data;\n  model = tflite::GetModel(model_bytes);")]),
    (OLD, [("void loop() {", "void spare() {\n  static tflite::MicroMutableOpResolver<2> micro_op_resolver;\n"
            "  micro_op_resolver.AddFullyConnected();\n  micro_op_resolver.AddSoftmax();\n}\n\nvoid loop() {")]),
    (OLD, [("constexpr int kTensorArenaSize = 4 * 1024;\nuint8_t tensor_arena[kTensorArenaSize];",
            "uint8_t tensor_arena[AppConfig::kTensorArenaSize];"),
           ("namespace {", "constexpr int kb(int n) { return n * 1024; }\nstruct Sizes { static const int kArena = "
                           "4; };\nnamespace AppConfig { constexpr int kTensorArenaSize = kb(Sizes::kArena); }\n"
                           "namespace {"),
           ("tensor_arena, kTensorArenaSize, error_reporter", "tensor_arena, AppConfig::kTensorArenaSize, "
                                                             "error_reporter")]),
    (OLD, [("kTensorArenaSize, error_reporter);", "kTensorArenaSize, error_reporter, nullptr);")]),  # Profiler*
    (OLD, [("#include \"model_data.h\"", "#include \"model_data.h\"\n#include <Arduino_APDS9960.h>")]),  # Rev1 Sense
    (NEW, [("static tflite::MicroInterpreter static_interpreter(model, resolver, tensor_arena, kTensorArenaSize);",
            "static tflite::MicroInterpreter static_interpreter(model, resolver, tensor_arena, kTensorArenaSize,\n"
            "                                                   nullptr, nullptr);")]),
])
def test_working_code_the_regex_reader_refused_passes(tmp_path, facts, board, subs):
    report = lint(tmp_path, facts, board, *subs)
    assert report.findings == [], messages(report)


@pytest.mark.parametrize(("board", "subs", "check", "words"), [
    (OLD, [("#include \"model_data.h\"\n", "extern const unsigned char g_model[];\n"),
           ("GetModel(g_model_data)", "GetModel(g_model)")], "model_symbols",
     "g_model is declared by the sketch itself but defined nowhere (a link error): include model_data.h"),
    (OLD, [("namespace {", "Serial.begin(9600);\nnamespace {")], "syntax", "statement outside any function"),
    (OLD, [("tensor_arena, kTensorArenaSize, error_reporter", "kTensorArenaSize, tensor_arena, error_reporter")],
     "arena_size", "the buffer and size arguments are swapped"),
    (OLD, [("const tflite::Model* model = nullptr;", "const tflite::Model* g_model_data = nullptr;"),
           ("model = tflite::GetModel(g_model_data);", "g_model_data = tflite::GetModel(g_model_data);")],
     "model_symbols", "clashes with the model array g_model_data"),
    (OLD, [("  Serial.begin(9600);\n", "  Serial.begin(9600);\n  int r, g, b;\n  APDS.readColor(r, g, b);\n"),
           ("#include \"model_data.h\"", "#include \"model_data.h\"\n#include <Arduino_APDS9960.h>\nAPDS9960 apds;")],
     "sensor_api", "APDS9960 has no default constructor"),
    (OLD, [("void setup() {", "template <typename T>\nT twice(T x) { return 2 * x; }\n\nvoid setup() {")], "syntax",
     "function template"),
])
def test_what_the_compiler_rejects_is_named(tmp_path, facts, board, subs, check, words):
    report = lint(tmp_path, facts, board, *subs)
    assert {x.check for x in report.findings} == {check}, messages(report)
    assert words in report.findings[0].message, messages(report)


def test_sensor_calls_are_checked_against_the_library_header(tmp_path, facts):
    report = lint(tmp_path, facts, OLD, ("#include \"model_data.h\"", "#include \"model_data.h\"\n"
                                                                       "#include <Arduino_APDS9960.h>"),
                  ("  Serial.begin(9600);\n", "  Serial.begin(9600);\n  uint16_t r, g, b;\n  APDS.enableColor();\n"
                                              "  APDS.readColor(r, g, b);\n  APDS.setGestureLED(1);\n"))
    text = messages(report)
    for words in ("APDS.enableColor() is private", "APDS.readColor() takes int& arguments but gets r, g, b",
                  "APDS has no method setGestureLED()"):
        assert words in text


def test_board_revisions_carry_their_own_sensors(tmp_path, facts):
    kit, plain = get_board(OLD), get_board("nano33ble_plain")
    assert {s.part for s in kit.sensors} == {"LSM9DS1", "APDS9960", "HTS221", "LPS22HB", "MP34DT05"}
    assert [s.part for s in plain.sensors] == ["LSM9DS1"]
    f, feats = facts
    text = fm.render(BASE[NEW]).replace('#include "model_data.h"',
                                        '#include "model_data.h"\n#include <Arduino_HTS221.h>')
    report = lint_folder(fm.sketch_folder(tmp_path, "app", text), f, plain, feats)
    assert [x.check for x in report.findings] == ["includes"]
    assert "HTS221 on Arduino Nano 33 BLE Sense (Rev1)" in report.findings[0].message


# Each rule of boards/tflm_libraries.yaml, tried where it applies and on the other era.
ERA_RULES = [
    # (rule, the era it fires on, substitutions for the TFLM 2.4 base, for the current base, words)
    ("ErrorReporter", "current", [], [("void setup() {", "tflite::MicroErrorReporter reporter;\nvoid setup() {")],
     "MicroErrorReporter does not exist"),
    ("MicroPrintf", "tflm24", [("    return;\n", "    MicroPrintf(\"bad\");\n    return;\n")],
     [("AllocateTensors failed\"); while (1); }", "AllocateTensors failed\"); MicroPrintf(\"x\"); while (1); }")],
     "MicroPrintf does not exist"),
    ("TFLITE_SCHEMA_VERSION needs version.h", "tflm24", [('#include "tensorflow/lite/version.h"\n', "")],
     [("  model = tflite::GetModel(g_model_data);\n", "  model = tflite::GetModel(g_model_data);\n"
                                                      "  if (model->version() != TFLITE_SCHEMA_VERSION) return;\n")],
     "TFLITE_SCHEMA_VERSION is used but tensorflow/lite/version.h is not included"),
    ("version.h exists", "current", [], [("#include \"model_data.h\"\n", "#include \"model_data.h\"\n"
                                                                          "#include \"tensorflow/lite/version.h\"\n")],
     "tensorflow/lite/version.h does not exist in Chirale_TensorFlowLite"),
    ("micro_log.h exists", "tflm24", [('#include "tensorflow/lite/version.h"\n', '#include "tensorflow/lite/version.h"'
                                       '\n#include "tensorflow/lite/micro/micro_log.h"\n')],
     [("#include \"model_data.h\"\n", "#include \"model_data.h\"\n#include \"tensorflow/lite/micro/micro_log.h\"\n")],
     "micro_log.h does not exist in Harvard_TinyMLx"),
    ("interpreter takes an ErrorReporter", "current", [],
     [("tensor_arena, kTensorArenaSize);", "tensor_arena, kTensorArenaSize, error_reporter);")],
     "MicroInterpreter takes 4 arguments here"),
    ("interpreter needs an ErrorReporter", "tflm24", [("kTensorArenaSize, error_reporter);", "kTensorArenaSize);")],
     [], "MicroInterpreter takes 5 arguments here"),
]


@pytest.mark.parametrize(("rule", "era", "old", "new", "words"), ERA_RULES, ids=[r[0] for r in ERA_RULES])
def test_each_library_era_rule_on_both_eras(tmp_path, facts, rule, era, old, new, words):
    assert {libraries()["Harvard_TinyMLx"].era.id, libraries()["Chirale_TensorFlowLite"].era.id} == set(eras())
    fired = {}
    for board, subs, era_id in ((OLD, old, "tflm24"), (NEW, new, "current")):
        report = lint(tmp_path / era_id, facts, board, *subs)
        fired[era_id] = any(words in x.message for x in report.findings)
        if era_id != era:
            assert report.findings == [], messages(report)
    assert fired[era] and not fired["current" if era == "tflm24" else "tflm24"]


def test_float_models_are_checked_like_int8_ones(tmp_path, facts):
    f, feats = facts
    floaty = dataclasses.replace(f, input_dtype="float32", output_dtype="float32")
    text = fm.render(BASE[NEW])
    text = text.replace("input->data.int8[i] = (int8_t)constrain(q, -128, 127);", "input->data.f[i] = x;")
    good = lint_folder(fm.sketch_folder(tmp_path, "good", text.replace("output->data.int8", "output->data.f")),
                       floaty, get_board(NEW), feats)
    assert not [x for x in good.findings if x.check == "quantization"], messages(good)
    bad = text.replace("interpreter->Invoke();", "if (output->type != kTfLiteUInt8) return;\n  interpreter->Invoke();")
    bad = bad.replace("output->data.int8", "output->data.uint8")
    report = lint_folder(fm.sketch_folder(tmp_path, "bad", bad), floaty, get_board(NEW), feats)
    text = messages(report)
    assert "output->data.uint8 treats the float32 output tensor as uint8_t" in text
    assert "`output->type != kTfLiteUInt8` tests the output tensor for kTfLiteUInt8" in text
    assert "can never pass" in text


def test_the_arena_is_measured_once_per_model(tmp_path, monkeypatch, facts):
    import subprocess

    from tinyml_autopilot.checks.sketch import facts as facts_module

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(facts_module, "_ARENAS", {})
    model = facts[0].tflite
    first = facts_module.measure_arena(model)
    assert first and first > 0
    assert len(list((tmp_path / "cache" / "tinyml-autopilot" / "arena").glob("*.json"))) == 1

    def no_probe(*args, **kwargs):
        raise AssertionError("the probe ran again")

    monkeypatch.setattr(subprocess, "run", no_probe)
    monkeypatch.setattr(facts_module, "_ARENAS", {})  # a new process: the file cache answers
    assert facts_module.measure_arena(model) == first
