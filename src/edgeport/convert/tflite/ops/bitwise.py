"""Bitwise ops on integer tensors: BitwiseXor -> BITWISE_XOR, BitwiseNot = XOR with all ones, BitwiseAnd /
BitwiseOr from ``a + b = (a ^ b) + 2 (a & b)`` in int32 (per 16-bit half for int32 inputs), BitShift ->
RIGHT_SHIFT (there is no LEFT_SHIFT builtin: x * 2^s as two wrapping int32 MULs). 8/16-bit inputs are
computed in int32 (CAST), so no unquantized 8/16-bit arithmetic reaches TFLite; CAST back wraps modulo 2^n
like ONNX's result. int64 / unsigned 16-64-bit inputs are refused (no BITWISE_XOR kernel)."""

from __future__ import annotations

import numpy as np

from edgeport.convert.tflite.ops.trig import Emitter
from edgeport.convert.tflite.registry import lower

__all__ = ["bitwise", "bit_shift", "BITWISE_OPS"]

BITWISE_OPS = ("BitwiseXor", "BitwiseNot", "BitwiseAnd", "BitwiseOr")
_XOR_TYPES = ("int8", "uint8", "int16", "int32")


def _check(node):
    t = node.inputs[0].dtype
    name = None if t is None else np.dtype(t).name
    return None if name in _XOR_TYPES else f"dtype:{name}"


def _operand(ctx, v, y):
    """``v`` broadcast to the output shape (BITWISE_XOR / the int kernels want equal shapes)."""
    i = ctx.tensor(v)
    shp = list(ctx.shape(ctx.tensor(y)))
    if list(ctx.shape(i)) == shp:
        return i
    t = ctx.temp(shp, v.dtype, f"{v.name}_bcast")
    ctx.op("BROADCAST_TO", [i, ctx.i32(shp)], [t])
    return t


def _cast(e, i, dtype):
    return e("CAST", i, dtype=dtype)


@lower(*BITWISE_OPS, layout="any", check=_check,
       emits=("BITWISE_XOR", "CAST", "ADD", "SUB", "MUL", "RIGHT_SHIFT", "FLOOR_MOD"))
def bitwise(ctx, node):
    y = node.outputs[0]
    yi = ctx.tensor(y)
    dt = np.dtype(node.inputs[0].dtype)
    e = Emitter(ctx, node, ctx.shape(yi), dt)
    if node.op_type == "BitwiseNot":
        e("BITWISE_XOR", _operand(ctx, node.inputs[0], y), e.c(-1 if dt.kind == "i" else np.iinfo(dt).max),
          out=yi)
        return
    a, b = (_operand(ctx, v, y) for v in node.inputs[:2])
    if node.op_type == "BitwiseXor":
        e("BITWISE_XOR", a, b, out=yi)
        return
    i32 = np.int32
    e.dtype = i32
    x = e("BITWISE_XOR", a, b, dtype=dt)
    if dt != np.int32:  # a + b = (a ^ b) + 2 (a & b) holds for the sign/zero-extended int32 values
        a, b, x = (_cast(e, v, i32) for v in (a, b, x))
        and_ = _half_and(e, a, b, x)
    else:  # the same per 16-bit half (no int64 FLOOR_DIV / RIGHT_SHIFT in TFLite)
        m16, s16 = ctx.const(np.array(65536, i32)), ctx.const(np.array(16, i32))
        lo = [e("FLOOR_MOD", v, m16) for v in (a, b, x)]
        hi = [e("RIGHT_SHIFT", v, s16) for v in (a, b, x)]
        and_ = e("ADD", e("MUL", _half_and(e, *hi), m16), _half_and(e, *lo))  # fits int32 exactly
    res = and_ if node.op_type == "BitwiseAnd" else e("BITWISE_XOR", x, and_)  # a | b = a ^ b ^ (a & b)
    if dt == np.int32:
        e("RESHAPE", res, ctx.i32(e.shape), out=yi)
    else:
        e("CAST", res, out=yi)


def _half_and(e, a, b, x):
    """(a + b - (a ^ b)) >> 1 on int32 values small enough not to overflow."""
    return e("RIGHT_SHIFT", e("SUB", e("ADD", a, b), x), e.ctx.const(np.array(1, np.int32)))


@lower("BitShift", layout="any", check=_check, emits=("RIGHT_SHIFT", "MUL", "POW", "CAST", "SELECT_V2"))
def bit_shift(ctx, node):
    # ONNX: shifts outside [0, bits) give 0 (LEFT, unsigned RIGHT) or the sign (-1 / 0, signed RIGHT)
    y = node.outputs[0]
    yi = ctx.tensor(y)
    dt = np.dtype(node.inputs[0].dtype)
    bits = dt.itemsize * 8
    e = Emitter(ctx, node, ctx.shape(yi), np.int32)
    i32 = np.int32
    x = _operand(ctx, node.inputs[0], y)
    s = _operand(ctx, node.inputs[1], y)
    if dt != np.int32:
        x, s = _cast(e, x, i32), _cast(e, s, i32)
    zero, full = ctx.const(np.array(0, i32)), ctx.const(np.array(bits, i32))
    oor = e("LOGICAL_OR", e("LESS", s, zero, dtype=np.bool_), e("GREATER_EQUAL", s, full, dtype=np.bool_),
            dtype=np.bool_)
    out = yi if dt == np.int32 else None
    if node.attrs.get("direction") == "RIGHT":
        # shifting the (sign- or zero-extended) int32 by 31 yields exactly ONNX's out-of-range result
        r = e("RIGHT_SHIFT", x, e("SELECT_V2", oor, ctx.const(np.array(31, i32)), s), out=out)
    else:
        sv = e("SELECT_V2", oor, zero, s)
        half = e("FLOOR_DIV", sv, ctx.const(np.array(2, i32)))
        two = ctx.const(np.array(2, i32))
        p1, p2 = e("POW", two, half), e("POW", two, e("SUB", sv, half))
        r = e("SELECT_V2", oor, zero, e("MUL", e("MUL", x, p1), p2), out=out)
    if dt != np.int32:
        e("CAST", r, out=yi)
