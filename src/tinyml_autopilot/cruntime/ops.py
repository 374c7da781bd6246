"""Lowering of each supported TFLite op to one C kernel call plus its constant arrays."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tinyml_autopilot.cruntime import quant
from tinyml_autopilot.cruntime.errors import UnsupportedOpError
from tinyml_autopilot.cruntime.parser import Graph, Operator, Tensor


@dataclass
class ConstArray:
    name: str
    ctype: str  # int8_t | int32_t | <struct type>
    values: list[int]
    nbytes: int


def same_quant(a: Tensor, b: Tensor) -> bool:
    return np.array_equal(a.scale, b.scale) and np.array_equal(a.zero_point, b.zero_point)


class Ctx:
    def __init__(self, g: Graph, prefix: str) -> None:
        self.g, self.prefix, self.arrays = g, prefix, []
        self.tag = "op"  # set per op by the driver, names the op's constant arrays
        self.opcode = "op"

    def t(self, i: int) -> Tensor:
        return self.g.tensors[i]

    def array(self, ctype: str, values: list[int] | np.ndarray, role: str, elem: int = 0) -> str:
        name = f"{self.prefix}_{self.tag}_{role}"
        vals = [int(v) for v in np.asarray(values).reshape(-1)]
        nbytes = elem if elem else len(vals) * (4 if ctype == "int32_t" else 1)
        self.arrays.append(ConstArray(name, ctype, vals, nbytes))
        return name


def _act(op: Operator) -> int:
    act = int(op.options.get("FusedActivationFunction", 0))
    if act not in quant.SUPPORTED_ACTIVATIONS:
        raise UnsupportedOpError(op.opcode, f"fused activation {act}")
    return act


def _qp(t: Tensor) -> tuple[float, int]:
    if t.scale.size == 0 or t.zero_point.size == 0:
        raise UnsupportedOpError("model", f"tensor {t.name} has no quantization parameters "
                                          "(convert with full int8 quantization)")
    return float(t.scale[0]), int(t.zero_point[0])


def _check_int8(c: Ctx, op: Operator, *idx: int) -> None:
    for i in idx:
        if c.t(i).dtype != "int8":
            raise UnsupportedOpError(op.opcode, f"{c.t(i).dtype} tensor {c.t(i).name}")


def _weights_acc0(c: Ctx, op: Operator, channels: int, in_off: int, axis: int) -> tuple[str, str]:
    """Constant arrays of the weights and of each output channel's starting accumulator: its bias
    plus the input offset times the sum of its weights (`axis` is the output-channel axis), so
    the kernels multiply raw inputs. Weight scales must be per tensor or per channel."""
    w = c.t(op.inputs[1])
    if not w.is_const or w.dtype != "int8" or np.any(w.zero_point != 0):
        raise UnsupportedOpError(op.opcode, "weights must be constant symmetric int8")
    if w.scale.size not in (1, channels):
        raise UnsupportedOpError(op.opcode, f"{w.scale.size} weight scales for {channels} output "
                                            "channels")
    wname = c.array("int8_t", w.data, "weights")
    data = np.asarray(w.data, np.int64)
    acc0 = in_off * np.moveaxis(data, axis, 0).reshape(channels, -1).sum(axis=1)
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        b = c.t(op.inputs[2])
        if b.dtype != "int32" or not b.is_const:
            raise UnsupportedOpError(op.opcode, f"{b.dtype} bias")
        if b.size != channels:
            raise UnsupportedOpError(op.opcode, f"{b.size} bias values for {channels} channels")
        acc0 = acc0 + np.asarray(b.data, np.int64).reshape(-1)
    acc0 = (acc0 + 2**31) % 2**32 - 2**31  # the int32 sum TFLM's accumulator would wrap to
    return wname, c.array("int32_t", acc0, "acc0")


def _mult_arrays(c: Ctx, mults: list[int], shifts: list[int]) -> tuple[str, str]:
    return c.array("int32_t", mults, "mult"), c.array("int8_t", shifts, "shift")


def _fc(c: Ctx, op: Operator) -> str:
    x, w, y = c.t(op.inputs[0]), c.t(op.inputs[1]), c.t(op.outputs[0])
    _check_int8(c, op, x.index, y.index)
    (xs, xz), (ys, yz) = _qp(x), _qp(y)
    if len(w.shape) != 2 or not w.is_const:
        raise UnsupportedOpError(op.opcode, f"weights must be a constant 2-D tensor, got {list(w.shape)}")
    out_depth, in_depth = w.shape
    if in_depth <= 0 or x.size % in_depth:
        raise UnsupportedOpError(op.opcode, f"input of {x.size} values is not rows of {in_depth}")
    wname, acc0 = _weights_acc0(c, op, out_depth, -xz, 0)
    per_channel = w.scale.size > 1
    if per_channel:
        mults, shifts = quant.per_channel_multipliers(xs, w.scale, ys, out_depth)
    else:
        m, s = quant.per_tensor_fc_multiplier(xs, float(w.scale[0]), ys)
        mults, shifts = [m], [s]
    mname, sname = _mult_arrays(c, mults, shifts)
    lo, hi = quant.activation_range(_act(op), ys, yz)
    rows = x.size // in_depth
    if y.size != rows * out_depth:
        raise UnsupportedOpError(op.opcode, f"output of {y.size} values for {rows} rows of {out_depth}")
    return (f"fc_s8({{in}}, {{out}}, {wname}, {acc0}, {mname}, {sname}, {int(per_channel)}, "
            f"{rows}, {in_depth}, {out_depth}, {yz}, {lo}, {hi});")


def _nhwc(c: Ctx, op: Operator, i: int) -> tuple[int, int, int]:
    shape = c.t(i).shape
    if len(shape) != 4 or shape[0] != 1:
        raise UnsupportedOpError(op.opcode, f"needs a batch-1 NHWC tensor, got {list(shape)}")
    return shape[1], shape[2], shape[3]


def _check_out_size(op: Operator, ins: tuple[int, int], outs: tuple[int, int], eff: tuple[int, int],
                    strides: tuple[int, int]) -> None:
    """Output height/width must be what TFLite computes from the padding mode (SAME=0, VALID=1)."""
    valid = int(op.options.get("Padding", 0)) == 1
    want = tuple(-(-(i - e + 1) // s) if valid else -(-i // s)
                 for i, e, s in zip(ins, eff, strides, strict=True)) if min(strides) > 0 else None
    if want != tuple(outs):
        raise UnsupportedOpError(op.opcode, f"output {list(outs)} does not follow from input {list(ins)}, "
                                            f"window {list(eff)} and strides {list(strides)}")


def _conv_common(c: Ctx, op: Operator, kh: int, kw: int) -> tuple[list[int], str]:
    x, y = c.t(op.inputs[0]), c.t(op.outputs[0])
    _check_int8(c, op, x.index, y.index)
    (ih, iw, ic), (oh, ow, oc) = _nhwc(c, op, x.index), _nhwc(c, op, y.index)
    o = op.options
    sh, sw = int(o.get("StrideH", 1)), int(o.get("StrideW", 1))
    dh, dw = int(o.get("DilationHFactor", 1) or 1), int(o.get("DilationWFactor", 1) or 1)
    _check_out_size(op, (ih, iw), (oh, ow), ((kh - 1) * dh + 1, (kw - 1) * dw + 1), (sh, sw))
    ph, pw = quant.same_padding(sh, dh, ih, kh, oh), quant.same_padding(sw, dw, iw, kw, ow)
    (xs, xz), (ys, yz) = _qp(x), _qp(y)
    lo, hi = quant.activation_range(_act(op), ys, yz)
    w = c.t(op.inputs[1])
    mults, shifts = quant.per_channel_multipliers(xs, w.scale, ys, oc)
    mname, sname = _mult_arrays(c, mults, shifts)
    return [ih, iw, ic, oh, ow, oc, kh, kw, sh, sw, dh, dw, ph, pw, -xz, yz, lo, hi], \
        f"{mname}, {sname}"


def _geom(c: Ctx, struct: str, fields: list[int]) -> str:
    """A geometry struct of int16 fields (small on 8-bit cores, read with one memcpy_P)."""
    if any(not -32768 <= v <= 32767 for v in fields):
        raise UnsupportedOpError(c.opcode, f"a size or offset of {max(map(abs, fields))} does not "
                                           "fit the kernels' 16-bit geometry")
    return c.array(struct, fields, "geom", elem=2 * len(fields))


def _filter_shape(c: Ctx, op: Operator) -> tuple[int, int, int, int]:
    shape = c.t(op.inputs[1]).shape
    if len(shape) != 4 or min(shape) <= 0:
        raise UnsupportedOpError(op.opcode, f"filter shape {list(shape)}")
    return shape


def _conv(c: Ctx, op: Operator) -> str:
    oc, kh, kw, fc = _filter_shape(c, op)
    f, ms = _conv_common(c, op, kh, kw)
    in_c, out_c = f[2], f[5]
    if oc != out_c or in_c % fc or out_c % (in_c // fc):
        raise UnsupportedOpError(op.opcode, f"filter {[oc, kh, kw, fc]} does not match {in_c} "
                                            f"input and {out_c} output channels")
    wname, acc0 = _weights_acc0(c, op, out_c, f[14], 0)
    g = _geom(c, "conv_geom_t", f[:8] + [fc] + f[8:])
    return f"conv_s8({{in}}, {{out}}, {wname}, {acc0}, {ms}, {g});"


def _dwconv(c: Ctx, op: Operator) -> str:
    _, kh, kw, oc = _filter_shape(c, op)
    f, ms = _conv_common(c, op, kh, kw)
    if oc != f[5] or f[5] % f[2]:
        raise UnsupportedOpError(op.opcode, f"{oc} filter channels for {f[2]} input and {f[5]} "
                                            "output channels")
    wname, acc0 = _weights_acc0(c, op, oc, f[14], 3)
    g = _geom(c, "dw_geom_t", f[:8] + [f[5] // f[2]] + f[8:])
    return f"dwconv_s8({{in}}, {{out}}, {wname}, {acc0}, {ms}, {g});"


def _pool(c: Ctx, op: Operator) -> str:
    x, y = c.t(op.inputs[0]), c.t(op.outputs[0])
    _check_int8(c, op, x.index, y.index)
    (ih, iw, ch), (oh, ow, och) = _nhwc(c, op, x.index), _nhwc(c, op, y.index)
    if och != ch:
        raise UnsupportedOpError(op.opcode, f"{ch} input channels but {och} output channels")
    o = op.options
    fh, fw = int(o.get("FilterHeight", 0)), int(o.get("FilterWidth", 0))
    if fh <= 0 or fw <= 0:
        raise UnsupportedOpError(op.opcode, f"filter size {fh}x{fw}")
    sh, sw = int(o.get("StrideH", 1)), int(o.get("StrideW", 1))
    _check_out_size(op, (ih, iw), (oh, ow), (fh, fw), (sh, sw))
    ph, pw = quant.same_padding(sh, 1, ih, fh, oh), quant.same_padding(sw, 1, iw, fw, ow)
    lo, hi = quant.activation_range(_act(op), *_qp(y))
    g = _geom(c, "pool_geom_t", [ih, iw, ch, oh, ow, fh, fw, sh, sw, ph, pw, lo, hi])
    return f"pool_s8({{in}}, {{out}}, {g}, {int(op.opcode == 'MAX_POOL_2D')});"


def _softmax(c: Ctx, op: Operator) -> str:
    x, y = c.t(op.inputs[0]), c.t(op.outputs[0])
    _check_int8(c, op, x.index, y.index)
    _same_size(op, x, y)
    if _qp(y) != (1.0 / 256, -128):
        raise UnsupportedOpError(op.opcode, "int8 output must have scale 1/256, zero point -128")
    try:
        mult, shift, diff_min = quant.softmax_params(float(op.options.get("Beta", 1.0)), _qp(x)[0])
    except ValueError as err:
        raise UnsupportedOpError(op.opcode, str(err)) from err
    depth = x.shape[-1] if x.shape else 0
    if depth <= 0:
        raise UnsupportedOpError(op.opcode, f"input shape {list(x.shape)} has no class axis")
    return (f"softmax_s8({{in}}, {{out}}, {x.size // depth}, {depth}, {mult}, {shift}, "
            f"{diff_min});")


def _mean(c: Ctx, op: Operator) -> str:
    """Global average pooling: every axis but the channels is reduced (or is 1)."""
    x, y = c.t(op.inputs[0]), c.t(op.outputs[0])
    _check_int8(c, op, x.index, y.index)
    axes_t = c.t(op.inputs[1])
    if not axes_t.is_const or not x.shape:
        raise UnsupportedOpError(op.opcode, "needs constant axes")
    rank = len(x.shape)
    axes = {int(a) % rank for a in np.asarray(axes_t.data).reshape(-1)}
    kept = [d for i, d in enumerate(x.shape[:-1]) if i not in axes]
    if rank - 1 in axes or any(d != 1 for d in kept):
        raise UnsupportedOpError(op.opcode, f"axes {sorted(axes)} of {list(x.shape)}: only the mean over "
                                            "all axes but the channels (global average pooling) runs")
    ch = x.shape[-1]
    n = x.size // ch
    if y.size != ch or n <= 0:
        raise UnsupportedOpError(op.opcode, f"output {list(y.shape)} for {ch} channels")
    (xs, xz), (ys, yz) = _qp(x), _qp(y)
    mult, shift = quant.mean_multiplier(xs, ys, n)
    return f"mean_s8({{in}}, {{out}}, {n}, {ch}, {mult}, {shift}, {xz}, {yz});"


def _same_size(op: Operator, x: Tensor, y: Tensor) -> None:
    if x.size != y.size:
        raise UnsupportedOpError(op.opcode, f"input {list(x.shape)} and output {list(y.shape)} differ in size")


def _requant(c: Ctx, op: Operator) -> str:
    x, y = c.t(op.inputs[0]), c.t(op.outputs[0])
    _check_int8(c, op, x.index, y.index)
    _same_size(op, x, y)
    (xs, xz), (ys, yz) = _qp(x), _qp(y)
    m, s = quant.requantize_multiplier(xs, ys)
    return f"requant_s8({{in}}, {{out}}, {x.size}, {m}, {s}, {xz}, {yz});"


def lower_copy(c: Ctx, op: Operator) -> str:
    x, y = c.t(op.inputs[0]), c.t(op.outputs[0])
    _check_int8(c, op, x.index, y.index)
    if not same_quant(x, y):
        return _requant(c, op)
    return f"copy_s8({{in}}, {{out}}, {x.size});"


LOWERINGS: dict[str, tuple[str, Callable[[Ctx, Operator], str]]] = {
    "FULLY_CONNECTED": ("fc", _fc),
    "CONV_2D": ("conv", _conv),
    "DEPTHWISE_CONV_2D": ("dwconv", _dwconv),
    "AVERAGE_POOL_2D": ("pool", _pool),
    "MAX_POOL_2D": ("pool", _pool),
    "MEAN": ("mean", _mean),
    "SOFTMAX": ("softmax", _softmax),
    "QUANTIZE": ("requant", _requant),
}
