"""Quantization parameters computed exactly as TFLite Micro computes them at Prepare time.

Every rounding mode and float/double step mirrors tensorflow/lite/kernels/internal/
quantization_util.cc and kernel_util.cc, so the generated C matches TFLM bit for bit.
"""

from __future__ import annotations

import math

import numpy as np

ACT_NONE, ACT_RELU, ACT_RELU_N1_TO_1, ACT_RELU6 = 0, 1, 2, 3
SUPPORTED_ACTIVATIONS = {ACT_NONE: "NONE", ACT_RELU: "RELU", ACT_RELU_N1_TO_1: "RELU_N1_TO_1",
                         ACT_RELU6: "RELU6"}


def tflite_round(x: float) -> float:
    """std::round: halfway cases away from zero."""
    return math.copysign(math.floor(abs(x) + 0.5), x)


def quantize_multiplier(real: float) -> tuple[int, int]:
    """QuantizeMultiplier (double rounding build): returns (int32 multiplier, shift)."""
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    q_fixed = int(tflite_round(q * (1 << 31)))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        shift, q_fixed = 0, 0
    return q_fixed, shift


def per_channel_multipliers(input_scale: float, filter_scales: np.ndarray, output_scale: float,
                            channels: int) -> tuple[list[int], list[int]]:
    """PopulateConvolutionQuantizationParams / per-channel FULLY_CONNECTED."""
    scales = filter_scales if filter_scales.size > 1 else np.repeat(filter_scales, channels)
    mults, shifts = [], []
    for s in scales:
        m, sh = quantize_multiplier(float(np.float32(input_scale)) * float(np.float32(s))
                                    / float(np.float32(output_scale)))
        mults.append(m)
        shifts.append(sh)
    return mults, shifts


def per_tensor_fc_multiplier(input_scale: float, filter_scale: float,
                             output_scale: float) -> tuple[int, int]:
    """GetQuantizedConvolutionMultipler: the scale product is taken in float, then double."""
    product = float(np.float32(input_scale) * np.float32(filter_scale))
    return quantize_multiplier(product / float(np.float32(output_scale)))


def _quantize_f(scale: float, zero_point: int, f: float) -> int:
    tmp = float(np.float32(f) / np.float32(scale))
    return zero_point + int(tflite_round(tmp))


def activation_range(act: int, scale: float, zero_point: int) -> tuple[int, int]:
    """CalculateActivationRangeQuantized for int8 outputs."""
    lo, hi = -128, 127
    if act == ACT_RELU:
        lo = max(lo, _quantize_f(scale, zero_point, 0.0))
    elif act == ACT_RELU6:
        lo = max(lo, _quantize_f(scale, zero_point, 0.0))
        hi = min(hi, _quantize_f(scale, zero_point, 6.0))
    elif act == ACT_RELU_N1_TO_1:
        lo = max(lo, _quantize_f(scale, zero_point, -1.0))
        hi = min(hi, _quantize_f(scale, zero_point, 1.0))
    return lo, hi


def softmax_params(beta: float, input_scale: float) -> tuple[int, int, int]:
    """PreprocessSoftmaxScaling + CalculateInputRadius for int8 input (5 integer bits)."""
    integer_bits = 5
    real = min(float(np.float32(beta)) * float(np.float32(input_scale))
               * (1 << (31 - integer_bits)), (1 << 31) - 1.0)
    mult, shift = quantize_multiplier(real)
    if shift < 0:
        raise ValueError("softmax input scale too small for int8 softmax")
    radius = ((1 << integer_bits) - 1) * (1 << (31 - integer_bits)) / (1 << shift)
    diff_min = -math.floor(radius)
    return mult, shift, int(diff_min)


def requantize_multiplier(input_scale: float, output_scale: float) -> tuple[int, int]:
    """QUANTIZE int8 -> int8 (quantize_common.cc): effective scale in double."""
    return quantize_multiplier(float(np.float32(input_scale)) / float(np.float32(output_scale)))


def same_padding(stride: int, dilation: int, in_size: int, filt: int, out_size: int) -> int:
    """ComputePadding from tensorflow/lite/kernels/padding.h."""
    effective = (filt - 1) * dilation + 1
    pad = ((out_size - 1) * stride + effective - in_size) // 2
    return max(pad, 0)


def mean_multiplier(input_scale: float, output_scale: float, n: int) -> tuple[int, int]:
    """The MEAN rescale with 1/n folded in (reduce.h QuantizedMeanOrSumExtraArgs)."""
    mult, shift = requantize_multiplier(input_scale, output_scale)
    fold = min(n.bit_length() - 1, 32, 31 + shift)
    return (mult << fold) // n, shift - fold
