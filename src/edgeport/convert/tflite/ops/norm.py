"""Normalization and composite activations: LayerNormalization, RMSNormalization, LpNormalization
(decomposed), Gelu -> GELU, Pow, TopK."""

from __future__ import annotations

import numpy as np

from edgeport.convert.tflite.registry import lower

__all__ = ["layer_norm", "gelu", "power", "topk", "rms_norm", "lp_norm"]


def _check_ln(node):
    x = node.inputs[0]
    if node.input(1) is None or not node.input(1).is_const or (node.input(2) is not None and not node.input(2).is_const):
        return "nonconst_scale_bias"
    if x.dtype is not None and x.dtype != np.float32:
        return f"dtype:{x.dtype}"
    return None


@lower("LayerNormalization", layout="fixed", emits=("MEAN", "SUB", "MUL", "ADD", "RSQRT"), check=_check_ln)
def layer_norm(ctx, node):
    # LayerNormalization(X, Scale, B?) axis=-1, epsilon: (x - mean) / sqrt(var + eps) * scale + b
    x, y = node.inputs[0], node.outputs[0]
    axis = node.attrs.get("axis", -1) % x.rank
    axes = list(range(axis, x.rank))
    shp = list(x.shape)
    red = [1 if i >= axis else d for i, d in enumerate(shp)]
    name = node.name
    xi = ctx.tensor(x)
    used = lambda i: len(node.outputs) > i and (node.outputs[i].users or node.outputs[i] in node.graph.outputs)  # noqa
    mean = ctx.tensor(node.outputs[1]) if used(1) else ctx.temp(red, np.float32, f"{name}_mean")
    ctx.op("MEAN", [xi, ctx.i32(axes)], [mean], ctx.opts("ReducerOptions", keepDims=True))
    d = ctx.temp(shp, np.float32, f"{name}_centered")
    ctx.op("SUB", [xi, mean], [d], ctx.opts("SubOptions"))
    sq = ctx.temp(shp, np.float32, f"{name}_sq")
    ctx.op("MUL", [d, d], [sq], ctx.opts("MulOptions"))
    var = ctx.temp(red, np.float32, f"{name}_var")
    ctx.op("MEAN", [sq, ctx.i32(axes)], [var], ctx.opts("ReducerOptions", keepDims=True))
    ve = ctx.temp(red, np.float32, f"{name}_var_eps")
    ctx.op("ADD", [var, ctx.const(np.float32(node.attrs.get("epsilon", 1e-5)))], [ve], ctx.opts("AddOptions"))
    r = ctx.tensor(node.outputs[2]) if used(2) else ctx.temp(red, np.float32, f"{name}_rstd")
    ctx.op("RSQRT", [ve], [r])
    norm = ctx.temp(shp, np.float32, f"{name}_norm")
    ctx.op("MUL", [d, r], [norm], ctx.opts("MulOptions"))
    scale = node.inputs[1].const.astype(np.float32)
    b = node.input(2)
    yi = ctx.tensor(y)
    scaled = ctx.temp(shp, np.float32, f"{name}_scaled") if b is not None else yi
    ctx.op("MUL", [norm, ctx.const(scale, f"{name}_scale")], [scaled], ctx.opts("MulOptions"))
    if b is not None:
        ctx.op("ADD", [scaled, ctx.const(b.const.astype(np.float32), f"{name}_bias")], [yi], ctx.opts("AddOptions"))


@lower("Gelu", layout="any", emits=("GELU",), domains=("", "ai.onnx", "com.microsoft"))
def gelu(ctx, node):
    # Gelu(X) approximate="none"|"tanh" (opset 20, or edgeport's fuse of the Erf pattern)
    ctx.op("GELU", [ctx.tensor(node.inputs[0])], [ctx.tensor(node.outputs[0])],
           ctx.opts("GeluOptions", approximate=node.attrs.get("approximate", "none") == "tanh"))


@lower("Pow", layout="any", emits=("MUL", "SQRT", "POW"),
       check=lambda n: "dtype:int64" if n.inputs[0].dtype == np.int64 else None)
def power(ctx, node):
    # Pow(X, Y): square -> MUL(x, x), 0.5 -> SQRT, else POW (Y cast to X's type: TFLite wants one type)
    x, e, y = node.inputs[0], node.inputs[1], node.outputs[0]
    xi, yi = ctx.tensor(x), ctx.tensor(y)
    if not e.is_const and e.dtype != x.dtype:
        ei = ctx.temp(ctx.shape(ctx.tensor(e)), x.dtype, f"{node.name}_exp_cast")
        ctx.op("CAST", [ctx.tensor(e)], [ei])
        ctx.op("POW", [xi, ei], [yi])
        return
    if e.is_const and e.const.size == 1:
        p = float(e.const.reshape(-1)[0])
        if p == 2.0:
            ctx.op("MUL", [xi, xi], [yi], ctx.opts("MulOptions"))
            return
        if p == 0.5:
            ctx.op("SQRT", [xi], [yi])
            return
        if p == 1.0:
            ctx.op("RESHAPE", [xi, ctx.i32(ctx.shape(yi))], [yi])
            return
    ctx.op("POW", [xi, ctx.operand(e, y) if not e.is_const else ctx.const(e.const.astype(x.dtype))], [yi])


def _check_topk(node):
    x = node.inputs[0]
    if node.attrs.get("axis", -1) % x.rank != x.rank - 1:
        return "attr:axis_not_last"
    if not node.inputs[1].is_const:
        return "nonconst_k"
    return None


@lower("TopK", layout="fixed", emits=("TOPK_V2", "CAST"), check=_check_topk)
def topk(ctx, node):
    x, k = node.inputs[0], node.inputs[1]
    vals, idx = node.outputs
    vi = ctx.tensor(vals)
    ii = ctx.tensor(idx)
    i32 = ctx.temp(ctx.shape(ii), np.int32, f"{node.name}_idx32") if idx.dtype != np.int32 else ii
    xi = ctx.tensor(x)
    smallest = not node.attrs.get("largest", 1)
    if smallest:  # the k smallest of x are the k largest of -x
        neg = ctx.temp(ctx.shape(xi), x.dtype, f"{node.name}_neg")
        ctx.op("NEG", [xi], [neg])
        xi, top = neg, ctx.temp(ctx.shape(vi), x.dtype, f"{node.name}_negtop")
    else:
        top = vi
    ctx.op("TOPK_V2", [xi, ctx.i32(k.const.reshape(-1)[:1].reshape(()))], [top, i32])
    if smallest:
        ctx.op("NEG", [top], [vi])
    if i32 != ii:
        ctx.op("CAST", [i32], [ii])


def _check_rms(node):
    x = node.inputs[0]
    if x.dtype is not None and x.dtype != np.float32:
        return f"dtype:{x.dtype}"
    return None


@lower("RMSNormalization", layout="fixed", emits=("MUL", "MEAN", "ADD", "RSQRT"), check=_check_rms)
def rms_norm(ctx, node):
    # RMSNormalization(X, Scale) axis=-1, epsilon (opset 23): x / sqrt(mean(x^2 over axis..) + eps) * scale
    x, scale, y = node.inputs[0], node.inputs[1], node.outputs[0]
    axis = node.attrs.get("axis", -1) % x.rank
    shp = list(x.shape)
    red = [1 if i >= axis else d for i, d in enumerate(shp)]
    name = node.name
    xi = ctx.tensor(x)
    sq, ms, mse, r, norm = (ctx.temp(s, np.float32, f"{name}_{k}") for s, k in
                            ((shp, "sq"), (red, "ms"), (red, "ms_eps"), (red, "rrms"), (shp, "norm")))
    ctx.op("MUL", [xi, xi], [sq], ctx.opts("MulOptions"))
    ctx.op("MEAN", [sq, ctx.i32(list(range(axis, x.rank)))], [ms], ctx.opts("ReducerOptions", keepDims=True))
    ctx.op("ADD", [ms, ctx.const(np.float32(node.attrs.get("epsilon", 1e-5)))], [mse], ctx.opts("AddOptions"))
    ctx.op("RSQRT", [mse], [r])
    ctx.op("MUL", [xi, r], [norm], ctx.opts("MulOptions"))
    si = ctx.const(scale.const.astype(np.float32), f"{name}_scale") if scale.is_const else ctx.tensor(scale)
    ctx.op("MUL", [norm, si], [ctx.tensor(y)], ctx.opts("MulOptions"))


@lower("LpNormalization", layout="fixed", emits=("ABS", "MUL", "SUM", "SQRT", "MAXIMUM", "DIV"),
       check=lambda n: None if n.attrs.get("p", 2) in (1, 2) else f"attr:p={n.attrs.get('p')}")
def lp_norm(ctx, node):
    # LpNormalization(x) axis=-1, p=1|2: x / ||x||_p along axis (a zero vector stays zero)
    x, y = node.inputs[0], node.outputs[0]
    axis = node.attrs.get("axis", -1) % x.rank
    shp = list(x.shape)
    red = [1 if i == axis else d for i, d in enumerate(shp)]
    xi = ctx.tensor(x)
    t = ctx.temp(shp, np.float32, f"{node.name}_pow")
    if node.attrs.get("p", 2) == 1:
        ctx.op("ABS", [xi], [t])
    else:
        ctx.op("MUL", [xi, xi], [t], ctx.opts("MulOptions"))
    s, nrm, safe = (ctx.temp(red, np.float32, f"{node.name}_{k}") for k in ("sum", "norm", "safe"))
    ctx.op("SUM", [t, ctx.i32([axis])], [s], ctx.opts("ReducerOptions", keepDims=True))
    if node.attrs.get("p", 2) == 2:
        ctx.op("SQRT", [s], [nrm])
    else:
        nrm = s
    ctx.op("MAXIMUM", [nrm, ctx.const(np.float32(np.finfo(np.float32).tiny))], [safe])
    ctx.op("DIV", [xi, safe], [ctx.tensor(y)], ctx.opts("DivOptions"))
