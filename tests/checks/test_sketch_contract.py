"""The static sketch linter on hand-written sketches: each known failure mode is caught by its check."""

from __future__ import annotations

from pathlib import Path

import pytest
from stages.sketch_fixtures import fixture_model as fm

from tinyml_autopilot.boards import get_board
from tinyml_autopilot.checks.sketch import lint_folder, load_facts, load_feature_spec
from tinyml_autopilot.checks.sketch.reader import evaluate_text as evaluate
from tinyml_autopilot.checks.sketch.units import read_unit


@pytest.fixture(scope="module")
def facts():
    run = fm.convert_run()
    f = load_facts(run / "artifacts" / "model.tflite", run / "artifacts" / "model_card.json")
    return f, load_feature_spec(run / "processed" / "feature_spec.json", f)


def lint(tmp_path: Path, facts, text: str, board: str = "nano33ble"):
    f, feats = facts
    return lint_folder(fm.sketch_folder(tmp_path, "app", text), f, get_board(board), feats)


def checks_failed(report) -> set[str]:
    return {f.check for f in report.findings}


def test_hand_written_sketch_passes_every_check(tmp_path, facts):
    report = lint(tmp_path, facts, fm.render("good_tflm.ino"))
    assert report.findings == []
    assert report.library == "Chirale_TensorFlowLite"
    assert report.verdicts["arena_size"]["message"] == "arena 10240 bytes >= measured 1536"
    assert report.verdicts["quantization"]["status"] == "passed"


def test_hard_coded_constants_are_compared_with_the_card(tmp_path, facts):
    good = fm.render("good_tflm.ino")
    text = good.replace("input->params.scale", "kInScale").replace("input->params.zero_point", "kInZp")
    text = text.replace("#define NUM_FEATURES 4", "#define NUM_FEATURES 4\nconst float kInScale = {{IN_SCALE}};\n"
                        "const int kInZp = {{IN_ZP}};")
    assert lint(tmp_path / "ok", facts, fm.render_text(text)).findings == []
    wrong = fm.render_text(text.replace("const int kInZp = {{IN_ZP}};", "const int kInZp = 0;"))
    report = lint(tmp_path / "bad", facts, wrong)
    assert checks_failed(report) == {"quantization"}
    assert "kInZp = 0 but the model's input zero point is" in report.findings[0].message
    assert report.findings[0].lines == [10]


@pytest.mark.parametrize(("mutation", "check", "words"), [
    (("  resolver.AddSoftmax();\n", ""), "ops_registered", "SOFTMAX"),
    (("MicroMutableOpResolver<2>", "MicroMutableOpResolver<1>"), "resolver_count", "holds 1 ops but 2"),
    (("10 * 1024;", "1024 / 2;"), "arena_size", "512 bytes but the model needs 1536"),
    (("input->data.int8[i] = (int8_t)", "input->data.uint8[i] = (uint8_t)"), "quantization", "uint8"),
    (('{"idle", "walk", "run"}', '{"idle", "walk"}'), "label_count", "2 labels but the model outputs 3"),
    (("{100.0f, 50.0f, 4.0f, 2.0f}", "{10.0f, 5.0f, 4.0f, 2.0f}"), "feature_scaling", "kStd"),
    (("GetModel(g_model_data)", "GetModel(g_model)"), "model_symbols", "g_model"),
    (("#include <Chirale_TensorFlowLite.h>", "#include <Chirale_TensorFlowLite.h>\n#include <Arduino_HTS221.h>"),
     "includes", None),
    (('#include "tensorflow/lite/micro/micro_interpreter.h"',
      '#include "tensorflow/lite/experimental/micro/micro_interpreter.h"'), "includes",
     "moved to tensorflow/lite/micro/"),
])
def test_each_failure_mode_is_caught_by_its_check(tmp_path, facts, mutation, check, words):
    text = fm.render("good_tflm.ino").replace(*mutation)
    board = "nano33ble_rev2" if check == "includes" else "nano33ble"
    report = lint(tmp_path, facts, text, board)
    assert checks_failed(report) == {check}, report.findings
    if words:
        assert any(words in f.message for f in report.findings)


def test_error_reporter_api_is_wrong_for_chirale_and_right_for_tinymlx(tmp_path, facts):
    text = fm.render("errorreporter_tflm.ino")
    report = lint(tmp_path / "a", facts, text, "nano33ble")
    assert "api" in checks_failed(report)
    assert any("without ErrorReporter" in f.message for f in report.findings)
    old = lint(tmp_path / "b", facts, text, "nano33ble_tinymlx")
    assert old.findings == [], old.findings
    assert old.library == "Harvard_TinyMLx"
    current = lint(tmp_path / "c", facts, fm.render("good_tflm.ino").replace(
        "Chirale_TensorFlowLite.h", "TensorFlowLite.h"), "nano33ble_tinymlx")
    assert any("5 arguments" in f.message for f in current.findings)


def test_wrong_rev_imu_library_is_named(tmp_path, facts):
    text = fm.render("good_tflm.ino").replace("#include \"model_data.h\"",
                                              "#include \"model_data.h\"\n#include <Arduino_LSM9DS1.h>")
    report = lint(tmp_path, facts, text, "nano33ble_rev2")
    assert checks_failed(report) == {"includes"}
    assert "LSM9DS1 on Arduino Nano 33 BLE Sense (Rev1)" in report.findings[0].message
    assert "Arduino_BMI270_BMM150.h" in report.findings[0].message


def test_comments_and_strings_do_not_count(tmp_path, facts):
    text = fm.render("good_tflm.ino").replace("  resolver.AddSoftmax();\n",
                                              '  // resolver.AddSoftmax();\n  Serial.println("AddSoftmax()");\n')
    assert checks_failed(lint(tmp_path, facts, text)) == {"ops_registered"}


def test_constant_expressions_are_evaluated_safely():
    consts = {"KB": 1024, "N": 3}
    assert evaluate("10 * KB", consts) == 10240
    assert evaluate("(N + 1) * 2u", consts) == 8
    assert evaluate("7 / 2", consts) == 3
    assert evaluate("1.5e-3f", consts) == pytest.approx(0.0015)
    assert evaluate("static_cast<int>(N) << 2", consts) == 12
    assert evaluate("__import__('os')", consts) is None
    assert evaluate("UNKNOWN * 2", consts) is None
    assert evaluate("1 << 64", consts) == 2 ** 64 and evaluate("1 << 65", consts) is None
    unit = read_unit("a.ino", 'int a = 1; // b = 2\nchar *s = "x // y"; /* c */')
    assert "b = 2" not in unit.code and "x // y" not in unit.code and '"x // y"' in unit.text


def test_huge_constant_expressions_give_up_quickly():
    import time

    start = time.process_time()  # CPU seconds: the wall clock would count the other tests on the same cores
    assert evaluate("(1<<900000000)*(1<<900000000)", {}) is None
    assert evaluate("(1<<60)*(1<<60)*(1<<60)", {}) is None
    assert evaluate("8 >> -1", {}) is None
    assert time.process_time() - start < 1


def test_portable_c_sketch_on_uno(tmp_path, facts):
    from tinyml_autopilot.cruntime import emit_c

    f, feats = facts
    folder = fm.sketch_folder(tmp_path, "app", fm.render("good_portable.ino"), model=False)
    emit_c(f.tflite.read_bytes(), prefix="model").write(folder)
    report = lint_folder(folder, f, get_board("uno"), feats)
    assert report.runtime == "portable-c"
    assert report.findings == []
    bad = fm.sketch_folder(tmp_path / "bad", "app", fm.render("good_portable.ino").replace(
        "model_invoke(", "tflm_invoke("), model=False)
    emit_c(f.tflite.read_bytes(), prefix="model").write(bad)
    assert "model_symbols" in checks_failed(lint_folder(bad, f, get_board("uno"), feats))


# Sketches written the way people write them (TFLite Micro / Chirale / TinyMLx examples), with the
# board each targets. Correct ones must give no finding, and every check must have looked at them.
HAND_WRITTEN = [("good_tflm.ino", "nano33ble"), ("chirale_xxd.ino", "nano33ble"),
                ("examples_inline.ino", "nano33ble"), ("multifile.ino", "esp32"),
                ("tinymlx_addbuiltin.ino", "nano33ble_tinymlx"), ("errorreporter_tflm.ino", "nano33ble_tinymlx")]
LOOKED_AT = {"includes", "syntax", "api", "model_symbols", "ops_registered", "resolver_count", "arena_size",
             "quantization", "label_count", "feature_scaling", "budget"}


@pytest.mark.parametrize(("fixture", "board"), HAND_WRITTEN)
def test_correct_hand_written_sketches_get_no_findings(tmp_path, facts, fixture, board):
    f, feats = facts
    report = lint_folder(fm.hand_written(tmp_path, fixture), f, get_board(board), feats)
    assert report.findings == []
    assert {k for k, v in report.verdicts.items() if v["status"] == "passed"} == LOOKED_AT


@pytest.mark.parametrize(("fixture", "mutation", "check", "words"), [
    ("chirale_xxd.ino", ("input->data.int8[i] = (int8_t)q;", "interpreter->input(0)->data.f[i] = scaled;"),
     "quantization", "used as float"),
    ("chirale_xxd.ino", ("input->data.int8[i] = (int8_t)q;", "interpreter->typed_input_tensor<float>(0)[i] = scaled;"),
     "quantization", "typed_input_tensor<float>"),
    ("chirale_xxd.ino", ("uint8_t tensor_arena[kTensorArenaSize]", "uint8_t tensor_arena[1024]"), "arena_size",
     "has 1024 bytes but the interpreter is told 8192"),
    ("chirale_xxd.ino", ('"walk", "run"}', '"walk", "run", "other"}'), "label_count", "4 labels"),
    ("chirale_xxd.ino", ("{100.0, 50.0, 4.0, 2.0}", "{50.0, 100.0, 4.0, 2.0}"), "feature_scaling", "STD ="),
    ("examples_inline.ino", ("(a2 - 20.0f) * 0.25f", "(a2 - 20.0f) * 0.5f"), "feature_scaling", "scale {100"),
    ("examples_inline.ino", ("kInputZeroPoint = {{IN_ZP}}", "kInputZeroPoint = 99"), "quantization",
     "kInputZeroPoint = 99 but the model's input zero point is"),
    ("examples_inline.ino", ("kInputScale = {{IN_SCALE}}f", "kInputScale = 0.0039215f"), "quantization",
     "kInputScale = 0.0039215"),
    ("examples_inline.ino", ('#include "activity_model_data.h"\n', ""), "model_symbols",
     'never includes: #include "activity_model_data.h"'),
    ("examples_inline.ino", ("GetModel(g_activity_model)", "GetModel(g_model)"), "model_symbols",
     "no file of the sketch folder declares g_model; the model array is g_activity_model"),
    ("examples_inline.ino", ("kTensorArenaSize = 4 * 1024", "kTensorArenaSize = 1024"), "arena_size",
     "1024 bytes but the model needs 1536"),
    ("chirale_xxd.ino", ("roundf(scaled / input->params.scale) + input->params.zero_point", "roundf(scaled)"),
     "quantization", "the input is never quantized"),  # the output's params are still read
    ("tinymlx_addbuiltin.ino", ("MicroMutableOpResolver<2>", "MicroMutableOpResolver<1>"), "resolver_count",
     "holds 1 ops but 2 are added"),
    ("tinymlx_addbuiltin.ino", ("  micro_op_resolver.AddBuiltin(tflite::BuiltinOperator_SOFTMAX,\n", "  ("),
     "ops_registered", "SOFTMAX"),
])
def test_hand_written_failure_is_named(tmp_path, facts, fixture, mutation, check, words):
    f, feats = facts
    raw = (fm.FIXTURES / fixture).read_text()
    assert mutation[0] in raw
    board = "nano33ble_tinymlx" if fixture.startswith("tinymlx") else "nano33ble"
    report = lint_folder(fm.hand_written(tmp_path, fixture, fm.render_text(raw.replace(*mutation))), f,
                         get_board(board), feats)
    assert checks_failed(report) == {check}, report.findings
    assert any(words in x.message for x in report.findings), report.findings


def test_tinymlx_sketch_against_a_current_library_names_each_old_call(tmp_path, facts):
    f, feats = facts
    report = lint_folder(fm.hand_written(tmp_path, "tinymlx_addbuiltin.ino"), f, get_board("nano33ble"), feats)
    text = " ".join(x.message for x in report.findings)
    assert checks_failed(report) == {"api", "includes"}
    for words in ("without ErrorReporter", "--board nano33ble_tinymlx", "takes 4 arguments here", "AddBuiltin",
                  "micro_error_reporter.h does not exist", "version.h does not exist"):
        assert words in text
    ctor = next(x for x in report.findings if "takes 4 arguments" in x.message)
    assert ctor.lines == [44]  # the construction, not the pointer declaration


def test_a_model_array_of_another_model_is_named(tmp_path, facts):
    f, feats = facts
    folder = fm.hand_written(tmp_path, "chirale_xxd.ino")
    stale = bytearray(f.tflite.read_bytes())
    stale[-1] ^= 0xFF
    (folder / "model.h").write_text(fm.xxd_array("model_tflite", bytes(stale)))
    report = lint_folder(folder, f, get_board("nano33ble"), feats)
    assert checks_failed(report) == {"model_symbols"}
    assert "model_tflite in model.h is not the model being checked" in report.findings[0].message


def test_a_generated_model_h_of_another_model_is_named(tmp_path, facts):
    from tinyml_autopilot.cruntime import emit_c

    f, feats = facts
    folder = fm.sketch_folder(tmp_path, "app", fm.render("good_portable.ino"), model=False)
    emit_c(f.tflite.read_bytes(), prefix="model").write(folder)
    header = (folder / "model.h").read_text()
    (folder / "model.h").write_text(header.replace(f"MODEL_INPUT_ZERO_POINT ({f.input_zero_point})",
                                                   "MODEL_INPUT_ZERO_POINT (-3)"))
    report = lint_folder(folder, f, get_board("uno"), feats)
    assert checks_failed(report) == {"model_symbols"}
    assert "model.h was generated from another model: MODEL_INPUT_ZERO_POINT -3" in report.findings[0].message


def test_a_scale_constant_that_is_not_quantization_is_only_a_note(tmp_path, facts):
    f, feats = facts
    text = fm.render("chirale_xxd.ino").replace("#define N_CLASSES 3", "#define N_CLASSES 3\n"
                                                "const float kScale = 9.8f;")
    report = lint_folder(fm.hand_written(tmp_path, "chirale_xxd.ino", text), f, get_board("nano33ble"), feats)
    assert report.findings == []
    assert any(n.startswith("kScale = 9.8 is neither the model's input scale") for n in report.notes)


def test_string_tables_that_are_not_labels_are_left_alone(tmp_path, facts):
    f, feats = facts
    text = fm.render("chirale_xxd.ino").replace('const char* LABELS[] = {"idle", "walk", "run"};',
                                                'const char* kUuids[] = {"19b10000-e8f2", "19b10001-e8f2"};')
    text = text.replace("Serial.print(LABELS[best]);", "Serial.print(best);")
    report = lint_folder(fm.hand_written(tmp_path, "chirale_xxd.ino", text), f, get_board("nano33ble"), feats)
    assert report.findings == [] and report.verdicts["label_count"]["status"] == "skipped"


def test_resolver_method_names_follow_tflite_micro():
    from tinyml_autopilot.checks.sketch.libraries import resolver_method

    names = {op: resolver_method(op) for op in ("FULLY_CONNECTED", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "PADV2",
                                                "CUMSUM", "SELECT_V2", "SPACE_TO_BATCH_ND", "BATCH_MATMUL")}
    assert names == {"FULLY_CONNECTED": "AddFullyConnected", "DEPTHWISE_CONV_2D": "AddDepthwiseConv2D",
                     "MAX_POOL_2D": "AddMaxPool2D", "PADV2": "AddPadV2", "CUMSUM": "AddCumSum",
                     "SELECT_V2": "AddSelectV2", "SPACE_TO_BATCH_ND": "AddSpaceToBatchNd",
                     "BATCH_MATMUL": "AddBatchMatMul"}
