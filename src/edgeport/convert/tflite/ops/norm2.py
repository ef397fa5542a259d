"""More normalizations as MEAN / SUB / MUL / RSQRT chains: MeanVarianceNormalization and GroupNormalization
(scale/bias per channel, opset 21; opset 18's deprecated per-group form is refused). Variance is mean((x - mean)^2), not
E[x^2] - E[x]^2, which cancels for large means."""

from __future__ import annotations

import numpy as np

from edgeport.convert.tflite.ops.trig import Emitter
from edgeport.convert.tflite.registry import lower

__all__ = ["mvn", "group_norm"]


def _float_only(node):
    x = node.inputs[0]
    return None if x.dtype is None or x.dtype == np.float32 else f"dtype:{x.dtype}"


def _center_scale(e, x, axes, shape_kept):
    """(x - mean) and 1 / sqrt(var) pieces over ``axes`` (keepdims)."""
    ctx = e.ctx
    mean = ctx.temp(shape_kept, np.float32, f"{e.node.name}_mean")
    ctx.op("MEAN", [x, ctx.i32(axes)], [mean], ctx.opts("ReducerOptions", keepDims=True))
    d = e("SUB", x, mean)
    var = ctx.temp(shape_kept, np.float32, f"{e.node.name}_var")
    ctx.op("MEAN", [e("MUL", d, d), ctx.i32(axes)], [var], ctx.opts("ReducerOptions", keepDims=True))
    return d, var


@lower("MeanVarianceNormalization", layout="fixed", emits=("MEAN", "SUB", "MUL", "SQRT", "ADD", "DIV"),
       check=_float_only)
def mvn(ctx, node):
    # ONNX's function: (x - mean) / (sqrt(var) + 1e-9)
    x, y = node.inputs[0], node.outputs[0]
    axes = [a % x.rank for a in node.attrs.get("axes", [0, 2, 3])]
    e = Emitter(ctx, node, list(x.shape))
    kept = [1 if i in axes else d for i, d in enumerate(x.shape)]
    d, var = _center_scale(e, ctx.tensor(x), axes, kept)
    std = ctx.temp(kept, np.float32, f"{node.name}_std")
    ctx.op("SQRT", [var], [std])
    den = ctx.temp(kept, np.float32, f"{node.name}_den")
    ctx.op("ADD", [std, e.c(1e-9)], [den], ctx.opts("AddOptions"))
    e("DIV", d, den, out=ctx.tensor(y))


def _check_gn(node):
    r = _float_only(node)
    if r:
        return r
    g = node.attrs.get("num_groups")
    x = node.inputs[0]
    if x.shape is None or x.rank < 2 or not g or x.shape[1] % g:
        return "shape:channels_not_divisible"
    if node.inputs[1].shape is None or int(np.prod(node.inputs[1].shape)) != x.shape[1]:
        return "attr:scale_per_group"  # opset 18's deprecated form (ONNX's own checker rejects it)
    return None


@lower("GroupNormalization", layout="fixed", emits=("RESHAPE", "MEAN", "SUB", "MUL", "ADD", "RSQRT"),
       check=_check_gn)
def group_norm(ctx, node):
    x, scale, bias = node.inputs[:3]
    y = node.outputs[0]
    g = node.attrs["num_groups"]
    n, c = x.shape[:2]
    rest = int(np.prod(x.shape[2:], dtype=np.int64))
    gshape = [n, g, (c // g) * rest]
    e = Emitter(ctx, node, gshape)
    xg = e("RESHAPE", ctx.tensor(x), ctx.i32(gshape))
    d, var = _center_scale(e, xg, [2], [n, g, 1])
    r = ctx.temp([n, g, 1], np.float32, f"{node.name}_rstd")
    ve = ctx.temp([n, g, 1], np.float32, f"{node.name}_var_eps")
    ctx.op("ADD", [var, e.c(float(node.attrs.get("epsilon", 1e-5)))], [ve], ctx.opts("AddOptions"))
    ctx.op("RSQRT", [ve], [r])
    norm = e("MUL", d, r)
    full = list(x.shape)
    e.shape = full
    xs = e("RESHAPE", norm, ctx.i32(full))
    cshape = [c] + [1] * (x.rank - 2)
    e.shape = cshape
    s, b = (e("RESHAPE", ctx.tensor(v), ctx.i32(cshape)) for v in (scale, bias))
    e.shape = full
    e("ADD", e("MUL", xs, s), b, out=ctx.tensor(y))
