"""Every supported op, as a tiny Keras model converted to full int8, compiled to C with host gcc
and compared byte for byte with TFLite Micro on quantized and random int8 inputs."""

from __future__ import annotations

import subprocess
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tinyml_autopilot.cruntime import emit_c
from tinyml_autopilot.cruntime.harness import HOST_CFLAGS, arm_main_source, build_host, parse_outputs, run_host
from tinyml_autopilot.cruntime.parser import parse_tflite
from tinyml_autopilot.cruntime.reference_models import quantize_inputs, to_int8_tflite
from tinyml_autopilot.cruntime.tflm import tflm_run
from tinyml_autopilot.sandbox.arm import arm_tools_missing, build_and_run_cortex_m4

keras = pytest.importorskip("keras")
L = keras.layers


def _seq(shape: tuple[int, ...], *layers: object, batch: int | None = None) -> Callable[[], object]:
    return lambda: keras.Sequential([keras.Input(shape, batch_size=batch), *layers])


# name -> (model factory, expected TFLite ops among the emitted ones[, conversion options])
# `weight_sd` scales the random weights; `per_channel=False` quantizes weights per tensor;
# `min_distinct` is how many different output bytes the reference must show (16 unless told).
CASES: dict[str, tuple] = {
    "fc": (_seq((10,), L.Dense(6)), {"FULLY_CONNECTED"}),
    "fc_relu": (_seq((10,), L.Dense(7, activation="relu")), {"FULLY_CONNECTED"}),
    "fc_relu6": (_seq((12,), L.Dense(5, activation="relu6")), {"FULLY_CONNECTED"}),
    "fc_per_tensor": (_seq((10,), L.Dense(8, activation="relu"), L.Dense(4)), {"FULLY_CONNECTED"},
                      {"per_channel": False}),
    "fc_batch3": (_seq((10,), L.Dense(6, activation="relu"), L.Dense(3), L.Softmax(), batch=3),
                  {"FULLY_CONNECTED", "SOFTMAX"}),
    "fc_keep_num_dims": (_seq((5, 8), L.Dense(6, activation="relu"), L.Dense(4), L.Flatten(), L.Dense(3),
                              batch=1), {"FULLY_CONNECTED"}),
    "conv_same_relu": (_seq((6, 7, 3), L.Conv2D(4, 3, padding="same", activation="relu")),
                       {"CONV_2D"}),
    "conv_valid_stride2": (_seq((9, 8, 2), L.Conv2D(5, (3, 2), strides=2)), {"CONV_2D"}),
    "conv_even_kernel_same_odd_input": (_seq((7, 5, 3), L.Conv2D(4, (4, 2), padding="same"),
                                             L.Conv2D(3, 4, strides=(2, 3), padding="same")), {"CONV_2D"}),
    "conv_1x1_relu6": (_seq((5, 6, 4), L.Conv2D(3, 1, activation="relu6")), {"CONV_2D"}),
    "conv_per_tensor": (_seq((6, 6, 3), L.Conv2D(4, 3, activation="relu"), L.Flatten(), L.Dense(3)),
                        {"CONV_2D"}, {"per_channel": False}),
    # With a fixed batch the converter keeps a dilated convolution as one CONV_2D.
    "conv_dilated": (_seq((12, 11, 2), L.Conv2D(4, 3, dilation_rate=2, padding="same"), batch=1),
                     {"CONV_2D"}),
    "dwconv_same_relu6": (_seq((7, 7, 3), L.DepthwiseConv2D(3, padding="same",
                                                            activation="relu6")),
                          {"DEPTHWISE_CONV_2D"}),
    "dwconv_mult2_stride2": (_seq((8, 9, 2), L.DepthwiseConv2D(3, strides=2, depth_multiplier=2)),
                             {"DEPTHWISE_CONV_2D"}),
    "dwconv_dilated_valid": (_seq((12, 13, 3), L.DepthwiseConv2D(3, dilation_rate=(2, 3)), batch=1),
                             {"DEPTHWISE_CONV_2D"}),
    "avgpool_same": (_seq((7, 9, 3), L.AveragePooling2D(3, strides=2, padding="same")),
                     {"AVERAGE_POOL_2D"}),
    "maxpool_valid": (_seq((8, 6, 4), L.MaxPooling2D(2)), {"MAX_POOL_2D"}),
    "maxpool_same": (_seq((5, 5, 2), L.MaxPooling2D(2, padding="same")), {"MAX_POOL_2D"}),
    "reshape_fc": (_seq((4, 3, 2), L.Reshape((24,)), L.Dense(4)), {"FULLY_CONNECTED"}),
    "softmax": (_seq((9,), L.Dense(5), L.Softmax()), {"SOFTMAX"}),
    # Large logits: outputs saturate to 0/1 (ties give 1/2, 1/3...), the point is the shift path;
    # at weight_sd 3000 the input multiplier is clamped to 2**31 - 1 with a left shift of 31.
    "softmax_large_logits": (_seq((8,), L.Dense(10), L.Softmax()), {"SOFTMAX"},
                             {"weight_sd": 30.0, "min_distinct": 4}),
    "softmax_clamped_multiplier": (_seq((8,), L.Dense(10), L.Softmax()), {"SOFTMAX"},
                                   {"weight_sd": 3000.0, "min_distinct": 3}),
    "softmax_many_classes": (_seq((8,), L.Dense(100), L.Softmax()), {"SOFTMAX"}),
    "conv_grouped": (_seq((6, 6, 4), L.Conv2D(6, 3, groups=2, padding="same")), {"CONV_2D"}),
    "conv1d_pool": (_seq((20, 3), L.Conv1D(4, 3, padding="same", activation="relu"),
                         L.MaxPooling1D(2), L.Conv1D(4, 3), L.AveragePooling1D(2)),
                    {"CONV_2D", "EXPAND_DIMS", "MAX_POOL_2D", "AVERAGE_POOL_2D"}),
    "gap1d": (_seq((24, 5), L.Conv1D(6, 3, activation="relu"), L.GlobalAveragePooling1D(), L.Dense(4)),
              {"MEAN"}),
    "gap2d_relu6": (_seq((5, 7, 3), L.Conv2D(8, 3, padding="same", activation="relu6"),
                         L.GlobalAveragePooling2D()), {"MEAN"}),
    # 128 values per channel: the 1/n fold reaches a 7-bit shift
    "gap1d_long": (_seq((128, 2), L.Conv1D(3, 1), L.GlobalAveragePooling1D(), L.Softmax()), {"MEAN", "SOFTMAX"}),
    "gap1d_keepdims": (_seq((9, 4), L.Conv1D(5, 2), L.GlobalAveragePooling1D(keepdims=True), L.Flatten(),
                            L.Dense(3)), {"MEAN"}),
}


# Also run on a Cortex-M4 in QEMU, where the dot products take the SIMD32 path (SMLAD): odd
# channel counts, groups, dilation, strides, padded borders, batches, the softmax's fixed point.
M4_CASES = {"conv_same_relu", "conv_valid_stride2", "conv_even_kernel_same_odd_input", "conv_grouped",
            "conv_dilated", "conv1d_pool", "dwconv_mult2_stride2", "fc_relu", "fc_batch3",
            "softmax_clamped_multiplier"}
N_M4_VECTORS = 24


def _randomize(model: object, rng: np.random.Generator, sd: float = 0.5) -> None:
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            layer.set_weights([rng.normal(0, sd, w.shape).astype(np.float32) for w in weights])


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict:
    name = request.param
    factory, expected, *extra = CASES[name]
    options = dict(extra[0]) if extra else {}
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    model = factory()
    _randomize(model, rng, options.pop("weight_sd", 0.5))
    min_distinct = options.pop("min_distinct", 16)
    batch = model.input_shape[0] or 1
    x = rng.normal(0, 1, (300 * batch, *model.input_shape[1:])).astype(np.float32)
    tflite = to_int8_tflite(model, x, **options)
    return {"name": name, "tflite": tflite, "x": x, "batch": batch, "expected": expected, "rng": rng,
            "min_distinct": min_distinct, "dir": tmp_path_factory.mktemp(name)}


def test_op_matches_tflm_bit_exact(case: dict) -> None:
    cm = emit_c(case["tflite"])
    assert case["expected"] <= set(cm.ops), cm.ops
    assert cm.input_shape[0] == case["batch"]
    if "dilated" in case["name"]:  # the kernel's own dilation path, not space-to-batch ops
        convs = [op.options for op in parse_tflite(case["tflite"]).operators if "CONV" in op.opcode]
        assert convs and all(o["DilationHFactor"] > 1 for o in convs), convs
    if "clamped" in case["name"]:  # multiplier 2**31 - 1, left shift 31, only the maximum counts
        assert ", 2147483647, 31, 0);" in cm.source
    exe = build_host(cm, case["dir"])
    q = quantize_inputs(case["x"], cm.input_scale, cm.input_zero_point).reshape(300, -1)
    noise = case["rng"].integers(-128, 128, (100, q.shape[1])).astype(np.int8)
    inputs = np.concatenate([q, noise])
    ours = run_host(exe, inputs, int(np.prod(cm.output_shape)))
    ref = tflm_run(case["tflite"], inputs.reshape(len(inputs), *cm.input_shape))
    ref = ref.reshape(len(inputs), -1)
    assert len(np.unique(ref)) >= case["min_distinct"], "outputs barely vary: the comparison proves little"
    diff = np.argwhere(ours != ref)
    assert diff.size == 0, f"{len(diff)} bytes differ, first at {diff[:3].tolist()}"
    if case["name"] in M4_CASES and not arm_tools_missing():
        _m4_matches(cm, inputs[::len(inputs) // N_M4_VECTORS][:N_M4_VECTORS],
                    ref[::len(inputs) // N_M4_VECTORS][:N_M4_VECTORS], case["dir"] / "m4")


def _m4_matches(cm, vectors: np.ndarray, expected: np.ndarray, work: Path) -> None:
    cm.write(work)
    (work / "main.c").write_text(arm_main_source(cm.prefix, vectors))
    res = build_and_run_cortex_m4([work / "model.c", work / "main.c"], [work], work / "build", timeout=60,
                                  cflags=["-std=c99", "-Wall", "-Wextra", "-Werror"])
    assert res.ok, f"{res.stage}: {res.log[-2000:]}\n{res.output[-1000:]}"
    outs, _ = parse_outputs(res.output)
    assert [outs.get(i) for i in range(len(vectors))] == expected.tolist(), "Cortex-M4 outputs differ from TFLM"


FLOAT_MAIN = """#include <stdio.h>
#include "model.h"
int main(void) {
  float x[MODEL_INPUT_SIZE], y[MODEL_OUTPUT_SIZE];
  int8_t q[MODEL_INPUT_SIZE], o[MODEL_OUTPUT_SIZE];
  int i;
  while (fread(x, sizeof(float), MODEL_INPUT_SIZE, stdin) == MODEL_INPUT_SIZE) {
    for (i = 0; i < MODEL_INPUT_SIZE; ++i) q[i] = model_quantize_input(x[i]);
    if (model_invoke(q, o) != 0) return 2;
    for (i = 0; i < MODEL_OUTPUT_SIZE; ++i) y[i] = model_dequantize_output(o[i]);
    fwrite(y, sizeof(float), MODEL_OUTPUT_SIZE, stdout);
  }
  return 0;
}
"""


def test_float_edges_quantize_dequantize(tmp_path: Path) -> None:
    """A float-in/float-out model: the QUANTIZE/DEQUANTIZE edges become the C helpers."""
    rng = np.random.default_rng(7)
    model = keras.Sequential([keras.Input((8,)), L.Dense(6, activation="relu"), L.Dense(3)])
    _randomize(model, rng)
    x = rng.normal(0, 2, (400, 8)).astype(np.float32)
    tflite = to_int8_tflite(model, x, int8_io=False)
    cm = emit_c(tflite)
    assert "QUANTIZE" not in cm.ops and "DEQUANTIZE" not in cm.ops
    cm.write(tmp_path)
    (tmp_path / "main.c").write_text(FLOAT_MAIN)
    exe = tmp_path / "runner"
    subprocess.run(["gcc", *HOST_CFLAGS, "-I", str(tmp_path), str(tmp_path / "model.c"),
                    str(tmp_path / "main.c"), "-o", str(exe)], check=True)
    # Saturation beyond int8 (TFLM itself is undefined for |x/scale| >= 2**31, so stay below).
    x[:5] = [[0.0] * 8, [1e4] * 8, [-1e4] * 8, [1e-9] * 8, [float(cm.input_scale) / 2] * 8]
    out = subprocess.run([str(exe)], input=x.tobytes(), capture_output=True, check=True).stdout
    ours = np.frombuffer(out, np.float32).reshape(len(x), 3)
    ref = tflm_run(tflite, x.reshape(len(x), 1, 8)).reshape(len(x), 3)
    assert np.array_equal(ours.view(np.int32), ref.astype(np.float32).view(np.int32))


def test_header_api_and_cpp_linkage(tmp_path: Path) -> None:
    model = keras.Sequential([keras.Input((4,)), L.Dense(3), L.Softmax()])
    _randomize(model, np.random.default_rng(3))
    cm = emit_c(to_int8_tflite(model, np.random.default_rng(3).normal(size=(50, 4))), "kws")
    paths = cm.write(tmp_path)
    assert [p.name for p in paths] == ["kws.h", "kws.c"]
    for macro in ("KWS_INPUT_SIZE 4", "KWS_OUTPUT_SIZE 3", "KWS_INPUT_SCALE",
                  "KWS_INPUT_ZERO_POINT", "KWS_OUTPUT_SCALE", "KWS_OUTPUT_ZERO_POINT (-128)",
                  "KWS_ARENA_BYTES", 'extern "C"'):
        assert macro in cm.header
    for fn in ("int kws_invoke(const int8_t *input, int8_t *output);",
               "int8_t kws_quantize_input(float x);", "float kws_dequantize_output(int8_t q);"):
        assert fn in cm.header
    assert "malloc" not in cm.source
    (tmp_path / "main.cpp").write_text(
        '#include "kws.h"\nint main() { int8_t i[KWS_INPUT_SIZE] = {0}; int8_t o[3];\n'
        "  return kws_invoke(i, o) == 0 && kws_dequantize_output(o[0]) >= 0.0f ? 0 : 1; }\n")
    subprocess.run(["gcc", *HOST_CFLAGS, "-c", str(tmp_path / "kws.c"), "-o",
                    str(tmp_path / "kws.o")], check=True)
    subprocess.run(["g++", "-Wall", "-Wextra", "-Werror", "-I", str(tmp_path),
                    str(tmp_path / "main.cpp"), str(tmp_path / "kws.o"), "-o",
                    str(tmp_path / "app")], check=True)
    assert subprocess.run([str(tmp_path / "app")]).returncode == 0


def _insert_requantize(tflite: bytes) -> bytes:
    """Put an int8 -> int8 QUANTIZE (new scale and zero point) between the first two ops; the
    converter emits one where consumers need other quantization parameters."""
    import copy

    import flatbuffers
    schema = pytest.importorskip("ai_edge_litert.schema_py_generated")
    model = schema.ModelT.InitFromPackedBuf(bytearray(tflite), 0)
    graph = model.subgraphs[0]
    mid = graph.operators[0].outputs[0]
    tensor = copy.deepcopy(graph.tensors[mid])
    tensor.name = b"requantized"
    tensor.quantization.scale = [float(tensor.quantization.scale[0]) * 1.37]
    tensor.quantization.zeroPoint = [5]
    graph.tensors.append(tensor)
    code = schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.QUANTIZE
    code.version = 1
    model.operatorCodes.append(code)
    op = schema.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = len(model.operatorCodes) - 1, [mid], [len(graph.tensors) - 1]
    graph.operators[1].inputs[0] = len(graph.tensors) - 1
    graph.operators.insert(1, op)
    builder = flatbuffers.Builder(0)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def test_requantize_inside_the_model_matches_tflm(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    model = keras.Sequential([keras.Input((8,)), L.Dense(6), L.Dense(4)])
    _randomize(model, rng)
    tflite = _insert_requantize(to_int8_tflite(model, rng.normal(size=(100, 8)).astype(np.float32)))
    cm = emit_c(tflite)
    assert cm.ops == ["FULLY_CONNECTED", "QUANTIZE", "FULLY_CONNECTED"]
    q = rng.integers(-128, 128, (400, 8)).astype(np.int8)
    ours = run_host(build_host(cm, tmp_path), q, 4)
    ref = tflm_run(tflite, q.reshape(400, 1, 8)).reshape(400, -1)
    assert len(np.unique(ref)) >= 16 and np.array_equal(ours, ref)


def _mean_output_like_input(tflite: bytes) -> bytes:
    """Give MEAN's output the input's scale and zero point (the rescale then is 1/n alone)."""
    import flatbuffers
    schema = pytest.importorskip("ai_edge_litert.schema_py_generated")
    model = schema.ModelT.InitFromPackedBuf(bytearray(tflite), 0)
    graph = model.subgraphs[0]
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in model.operatorCodes]
    op = next(o for o in graph.operators if codes[o.opcodeIndex] == schema.BuiltinOperator.MEAN)
    src, dst = graph.tensors[op.inputs[0]].quantization, graph.tensors[op.outputs[0]].quantization
    dst.scale, dst.zeroPoint = list(src.scale), list(src.zeroPoint)
    builder = flatbuffers.Builder(0)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def test_mean_with_shared_quantization_rounds_like_tflm(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    model = keras.Sequential([keras.Input((13, 4), batch_size=1), L.Conv1D(6, 3), L.GlobalAveragePooling1D()])
    _randomize(model, rng)
    tflite = _mean_output_like_input(to_int8_tflite(model, rng.normal(size=(100, 13, 4)).astype(np.float32)))
    cm = emit_c(tflite)
    assert "MEAN" in cm.ops and ", 11, 6, " in cm.source  # 11 steps, 6 channels
    q = rng.integers(-128, 128, (400, 13 * 4)).astype(np.int8)
    ours = run_host(build_host(cm, tmp_path), q, 6)
    ref = tflm_run(tflite, q.reshape(400, 1, 13, 4)).reshape(400, -1)
    assert len(np.unique(ref)) >= 16 and np.array_equal(ours, ref)
