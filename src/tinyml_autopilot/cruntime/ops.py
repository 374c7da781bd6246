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
    if t.scale.size == 0:
        raise UnsupportedOpError("tensor", f"{t.name} is not quantized")
    return float(t.scale[0]), int(t.zero_point[0])


def _check_int8(c: Ctx, op: Operator, *idx: int) -> None:
    for i in idx:
        if c.t(i).dtype != "int8":
            raise UnsupportedOpError(op.opcode, f"{c.t(i).dtype} tensor {c.t(i).name}")


def _weights_bias(c: Ctx, op: Operator) -> tuple[str, str]:
    w = c.t(op.inputs[1])
    if not w.is_const or w.dtype != "int8" or np.any(w.zero_point != 0):
        raise UnsupportedOpError(op.opcode, "weights must be constant symmetric int8")
    wname = c.array("int8_t", w.data, "weights")
    bias = "NULL"
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        b = c.t(op.inputs[2])
        if b.dtype != "int32" or not b.is_const:
            raise UnsupportedOpError(op.opcode, f"{b.dtype} bias")
        bias = c.array("int32_t", b.data, "bias")
    return wname, bias


def _mult_arrays(c: Ctx, mults: list[int], shifts: list[int]) -> tuple[str, str]:
    return c.array("int32_t", mults, "mult"), c.array("int8_t", shifts, "shift")


def _fc(c: Ctx, op: Operator) -> str:
    x, w, y = c.t(op.inputs[0]), c.t(op.inputs[1]), c.t(op.outputs[0])
    _check_int8(c, op, x.index, y.index)
    (xs, xz), (ys, yz) = _qp(x), _qp(y)
    out_depth, in_depth = w.shape
    wname, bias = _weights_bias(c, op)
    per_channel = w.scale.size > 1
    if per_channel:
        mults, shifts = quant.per_channel_multipliers(xs, w.scale, ys, out_depth)
    else:
        m, s = quant.per_tensor_fc_multiplier(xs, float(w.scale[0]), ys)
        mults, shifts = [m], [s]
    mname, sname = _mult_arrays(c, mults, shifts)
    lo, hi = quant.activation_range(_act(op), ys, yz)
    rows = x.size // in_depth
    return (f"fc_s8({{in}}, {{out}}, {wname}, {bias}, {mname}, {sname}, {int(per_channel)}, "
            f"{rows}, {in_depth}, {out_depth}, {-xz}, {yz}, {lo}, {hi});")


def _nhwc(c: Ctx, op: Operator, i: int) -> tuple[int, int, int]:
    shape = c.t(i).shape
    if len(shape) != 4 or shape[0] != 1:
        raise UnsupportedOpError(op.opcode, f"needs a batch-1 NHWC tensor, got {list(shape)}")
    return shape[1], shape[2], shape[3]


def _conv_common(c: Ctx, op: Operator, kh: int, kw: int) -> tuple[list[int], str]:
    x, y = c.t(op.inputs[0]), c.t(op.outputs[0])
    _check_int8(c, op, x.index, y.index)
    (ih, iw, ic), (oh, ow, oc) = _nhwc(c, op, x.index), _nhwc(c, op, y.index)
    o = op.options
    sh, sw = int(o.get("StrideH", 1)), int(o.get("StrideW", 1))
    dh, dw = int(o.get("DilationHFactor", 1) or 1), int(o.get("DilationWFactor", 1) or 1)
    ph, pw = quant.same_padding(sh, dh, ih, kh, oh), quant.same_padding(sw, dw, iw, kw, ow)
    (xs, xz), (ys, yz) = _qp(x), _qp(y)
    lo, hi = quant.activation_range(_act(op), ys, yz)
    w = c.t(op.inputs[1])
    mults, shifts = quant.per_channel_multipliers(xs, w.scale, ys, oc)
    mname, sname = _mult_arrays(c, mults, shifts)
    return [ih, iw, ic, oh, ow, oc, kh, kw, sh, sw, dh, dw, ph, pw, -xz, yz, lo, hi], \
        f"{mname}, {sname}"


def _geom(c: Ctx, struct: str, fields: list[int]) -> str:
    return c.array(struct, fields, "geom", elem=2 * len(fields))


def _conv(c: Ctx, op: Operator) -> str:
    _, kh, kw, fc = c.t(op.inputs[1]).shape
    f, ms = _conv_common(c, op, kh, kw)
    wname, bias = _weights_bias(c, op)
    g = _geom(c, "conv_geom_t", f[:8] + [fc] + f[8:])
    return f"conv_s8({{in}}, {{out}}, {wname}, {bias}, {ms}, {g});"


def _dwconv(c: Ctx, op: Operator) -> str:
    _, kh, kw, _oc = c.t(op.inputs[1]).shape
    f, ms = _conv_common(c, op, kh, kw)
    wname, bias = _weights_bias(c, op)
    g = _geom(c, "dw_geom_t", f[:8] + [f[5] // f[2]] + f[8:])
    return f"dwconv_s8({{in}}, {{out}}, {wname}, {bias}, {ms}, {g});"


def _pool(c: Ctx, op: Operator) -> str:
    x, y = c.t(op.inputs[0]), c.t(op.outputs[0])
    _check_int8(c, op, x.index, y.index)
    (ih, iw, ch), (oh, ow, _) = _nhwc(c, op, x.index), _nhwc(c, op, y.index)
    o = op.options
    fh, fw = int(o["FilterHeight"]), int(o["FilterWidth"])
    sh, sw = int(o.get("StrideH", 1)), int(o.get("StrideW", 1))
    ph, pw = quant.same_padding(sh, 1, ih, fh, oh), quant.same_padding(sw, 1, iw, fw, ow)
    lo, hi = quant.activation_range(_act(op), *_qp(y))
    g = _geom(c, "pool_geom_t", [ih, iw, ch, oh, ow, fh, fw, sh, sw, ph, pw, lo, hi])
    return f"pool_s8({{in}}, {{out}}, {g}, {int(op.opcode == 'MAX_POOL_2D')});"


def _softmax(c: Ctx, op: Operator) -> str:
    x, y = c.t(op.inputs[0]), c.t(op.outputs[0])
    _check_int8(c, op, x.index, y.index)
    if _qp(y) != (1.0 / 256, -128):
        raise UnsupportedOpError(op.opcode, "int8 output must have scale 1/256, zero point -128")
    mult, shift, diff_min = quant.softmax_params(float(op.options.get("Beta", 1.0)), _qp(x)[0])
    depth = x.shape[-1]
    return (f"softmax_s8({{in}}, {{out}}, {x.size // depth}, {depth}, {mult}, {shift}, "
            f"{diff_min});")


def _requant(c: Ctx, op: Operator) -> str:
    x, y = c.t(op.inputs[0]), c.t(op.outputs[0])
    _check_int8(c, op, x.index, y.index)
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
    "SOFTMAX": ("softmax", _softmax),
    "QUANTIZE": ("requant", _requant),
}
