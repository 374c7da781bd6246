"""A correct TFLite Micro sketch for the fixture model (4 analog channels, standard scaling, int8) in both
API eras, and the mistakes LLM-written sketches make, as substitutions on it."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from functools import cache
from pathlib import Path

import pytest

from stages.sketch_fixtures import fixture_model as fm
from tinyml_autopilot.sandbox.hostbuild import tools_missing
from tinyml_autopilot.sandbox.libraries import find, not_found_message
from tinyml_autopilot.stages.convert_output import write_c_array

ERA = {
    "current": {"include": "#include <Chirale_TensorFlowLite.h>\n",
                "interpreter": "static tflite::MicroInterpreter interp(model, resolver, arena, kArena);"},
    "errorreporter": {"include": "#include <TensorFlowLite.h>\n"
                                 "#include \"tensorflow/lite/micro/micro_error_reporter.h\"\n",
                      "interpreter": "static tflite::MicroErrorReporter reporter;\n"
                                     "  static tflite::MicroInterpreter interp(model, resolver, arena, kArena, "
                                     "&reporter);"},
}
HEADER = {"Chirale_TensorFlowLite": "#include <Chirale_TensorFlowLite.h>\n",
          "Arduino_TensorFlowLite": "#include <TensorFlowLite.h>\n"}

SKETCH = """// Classifies 4 analog channels with the fixture model.
{include}#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"
#include "tensorflow/lite/schema/schema_generated.h"
#include "model_data.h"

constexpr int kArena = 4096;
alignas(16) static uint8_t arena[kArena];
static const char *kLabels[3] = {"idle", "walk", "run"};
static const float kMean[4] = {512.0f, 300.0f, 20.0f, 5.0f};
static const float kStd[4] = {100.0f, 50.0f, 4.0f, 2.0f};
static tflite::MicroInterpreter *interpreter = nullptr;

void setup() {
  Serial.begin(115200);
  while (!Serial) {}
  const tflite::Model *model = tflite::GetModel(g_model_data);
  static tflite::MicroMutableOpResolver<2> resolver;
  resolver.AddFullyConnected();
  resolver.AddSoftmax();
  {interpreter}
  interpreter = &interp;
  if (interpreter->AllocateTensors() != kTfLiteOk) {
    Serial.println("AllocateTensors failed");
    while (true) delay(1000);
  }
}

void loop() {
  TfLiteTensor *input = interpreter->input(0);
  float raw[4];
  for (int i = 0; i < 4; i++) raw[i] = analogRead(A0 + i);
  for (int i = 0; i < 4; i++) {
    float x = (raw[i] - kMean[i]) / kStd[i];
    int q = (int)lroundf(x / input->params.scale) + input->params.zero_point;
    input->data.int8[i] = (int8_t)constrain(q, -128, 127);
  }
  if (interpreter->Invoke() != kTfLiteOk) return;
  TfLiteTensor *output = interpreter->output(0);
  int best = 0;
  for (int i = 1; i < 3; i++) {
    if (output->data.int8[i] > output->data.int8[best]) best = i;
  }
  Serial.print("Prediction: ");
  Serial.println(kLabels[best]);
  delay(100);
}
"""

# mistake -> (text of the correct sketch, replacement)
MISTAKES = {
    "scaling not applied": ("float x = (raw[i] - kMean[i]) / kStd[i];", "float x = raw[i];"),
    "half the input filled": ("for (int i = 0; i < 4; i++) {\n    float x",
                              "for (int i = 0; i < 2; i++) {\n    float x"),
    "floats written into int8": ("input->data.int8[i] = (int8_t)constrain(q, -128, 127);", "input->data.f[i] = x;"),
    "output read as the wrong type": ("output->data.int8[i] > output->data.int8[best]",
                                      "output->data.uint8[i] > output->data.uint8[best]"),
    "halt on a type test": ("    while (true) delay(1000);\n  }\n}\n",  # after AllocateTensors, as sketches do
                            "    while (true) delay(1000);\n  }\n"
                            "  if (interpreter->output(0)->type != kTfLiteUInt8) {\n"
                            "    Serial.println(\"output is not uint8\");\n    while (true) delay(100);\n  }\n}\n"),
    "wrong zero point": ("+ input->params.zero_point;", "+ 0;"),
    "label order swapped": ('{"idle", "walk", "run"}', '{"walk", "idle", "run"}'),
    "arena too small": ("constexpr int kArena = 4096;", "constexpr int kArena = 256;"),
    "op not registered": ("  resolver.AddSoftmax();\n", ""),
    "channel order swapped": ("raw[i] = analogRead(A0 + i);", "raw[i] = analogRead(A0 + (i + 1) % 4);"),
    "divided by 255": ("float x = (raw[i] - kMean[i]) / kStd[i];", "float x = raw[i] / 255.0f;"),
    "infinite loop": ("  Serial.begin(115200);\n", "  Serial.begin(115200);\n  while (true) {}\n"),
    "crash": ("  TfLiteTensor *input = interpreter->input(0);\n",
              "  TfLiteTensor *input = interpreter->input(0);\n  volatile int8_t *bad = nullptr;\n  bad[0] = 1;\n"),
    "waits for Serial": ("  while (!Serial) {}\n", "  while (!Serial.available()) {}\n"),
    # fine on x86, a hard fault on Cortex-M4: LDRD/STRD (and VLDR, LDM) need aligned addresses
    "misaligned double": ("  float raw[4];\n  for (int i = 0; i < 4; i++) raw[i] = analogRead(A0 + i);\n",
                          "  static uint8_t frame[1 + 4 * sizeof(double)];  // a tag byte, then the readings\n"
                          "  frame[0] = 0xA5;\n  double *raw = (double *)(frame + 1);\n"
                          "  for (int i = 0; i < 4; i++) raw[i] = analogRead(A0 + i);\n"),
}


def sketch_text(era: str = "errorreporter", mistake: str | None = None, library: str | None = None) -> str:
    parts = ERA[era] if library not in HEADER else {"include": HEADER[library],
                                                     "interpreter": ERA["current"]["interpreter"]}
    text = SKETCH.replace("{include}", parts["include"]).replace("{interpreter}", parts["interpreter"])
    if mistake is not None:
        old, new = MISTAKES[mistake]
        assert old in text, mistake
        text = text.replace(old, new)
    return text


def write_sketch(root: Path, name: str, text: str, run: Path | None = None) -> Path:
    folder = fm.sketch_folder(root, name, text)
    write_model(folder, run or fm.convert_run())
    return folder


def library_setting() -> str | None:
    return os.environ.get("TINYML_LIBRARIES")


def needs_library(name: str):
    """The library, or a skip that says why (CI points TINYML_LIBRARIES at the vendored copies)."""
    if missing := tools_missing("host32"):
        pytest.skip(f"{', '.join(missing)} not installed: no host builds")
    lib = find(name, library_setting())
    if lib is None:
        pytest.skip(f"{name} is not installed here ({not_found_message(name, library_setting())})")
    return lib


@cache
def per_channel_run() -> Path:
    """The fixture's convert run with the model converted as TensorFlow does by default: per-channel
    FULLY_CONNECTED weights, which the TFLM libraries compute with the first scale only."""
    import tensorflow as tf

    root = Path(tempfile.mkdtemp(prefix="sketch-per-channel-"))
    shutil.copytree(fm.convert_run(), root, dirs_exist_ok=True)
    x, y = fm._dataset(1200, 0)
    tf.keras.utils.set_random_seed(0)
    model = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(12, activation="relu"),
                                 tf.keras.layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=30, batch_size=32, verbose=0)
    art = root / "artifacts"
    (art / "model.tflite").write_bytes(fm.int8_tflite(model, x, 200, per_tensor=False))
    write_c_array(art / "model.tflite", art)
    card = json.loads((art / "model_card.json").read_text())
    card.update(fm._card(art / "model.tflite"))
    (art / "model_card.json").write_text(json.dumps(card))
    return root


def write_model(folder: Path, run: Path) -> None:
    for f in ("model_data.h", "model_data.cc"):
        (folder / f).write_text((run / "artifacts" / f).read_text())


# mistake -> the run verdict that names it
VERDICTS = {
    "scaling not applied": "predictions differ", "half the input filled": "predictions differ",
    "floats written into int8": "predictions differ", "output read as the wrong type": "predictions differ",
    "halt on a type test": "halted", "wrong zero point": "predictions differ",
    "label order swapped": "predictions differ", "arena too small": "AllocateTensors failed",
    "op not registered": "op not registered", "channel order swapped": "predictions differ",
    "divided by 255": "predictions differ", "infinite loop": "timeout", "crash": "crash",
    "waits for Serial": "waits for Serial"}
