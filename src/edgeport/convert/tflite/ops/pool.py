"""Pooling and LRN: MaxPool / AveragePool -> MAX_POOL_2D / AVERAGE_POOL_2D (PAD/PADV2 for explicit pads),
GlobalAveragePool -> MEAN, GlobalMaxPool -> REDUCE_MAX, LRN -> LOCAL_RESPONSE_NORMALIZATION."""

from __future__ import annotations

import numpy as np

from edgeport.convert.tflite.ops.conv import SAME, VALID, _pads, pad_input, spatial_padding
from edgeport.convert.tflite.registry import lower

__all__ = ["max_pool", "average_pool", "global_pool", "lrn"]

_NEG = float(np.finfo(np.float32).min)


def _geometry(node):
    x = node.inputs[0]
    k = list(node.attrs["kernel_shape"])
    s = list(node.attrs.get("strides", [1] * len(k)))
    h, w = x.shape[2], x.shape[3]
    pads = _pads(node, (h, w), k, s, [1, 1])
    if node.attrs.get("ceil_mode", 0):
        # extend the bottom/right pads so that VALID pooling yields the ceil-mode output size
        out = node.outputs[0].shape
        for i, dim in enumerate((h, w)):
            need = (out[2 + i] - 1) * s[i] + k[i] - (dim + pads[i] + pads[i + 2])
            if need > 0:
                pads[i + 2] += need
    return k, s, (h, w), pads


def _check_pool(node):
    x = node.inputs[0]
    if x.rank != 4:
        return f"rank:{x.rank}"
    if len(node.outputs) > 1 and (node.outputs[1].users or node.outputs[1] in node.graph.outputs):
        return "output:indices"
    if node.op_type != "MaxPool" and any(d != 1 for d in node.attrs.get("dilations", [1, 1])):
        return "attr:dilations"
    return None


def _window_counts(hw, k, s, pads, out_hw):
    """Per output position, how many real (unpadded) inputs its window covers."""
    t, l, b, r = pads
    m = np.pad(np.ones(hw, np.float64), ((t, b), (l, r)))
    c = np.pad(m.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    ys = np.arange(out_hw[0])[:, None] * s[0]
    xs = np.arange(out_hw[1])[None, :] * s[1]
    return c[ys + k[0], xs + k[1]] - c[ys, xs + k[1]] - c[ys + k[0], xs] + c[ys, xs]


def _pool(ctx, node, builtin, pad_value):
    k, s, hw, pads = _geometry(node)
    padding, explicit = spatial_padding(hw, k, s, [1, 1], pads)
    if builtin == "AVERAGE_POOL_2D" and node.attrs.get("count_include_pad", 0) and padding == SAME and any(pads):
        explicit = pads  # TFLite's SAME average leaves the padding out of the count
    xi = ctx.tensor(node.inputs[0])
    yi = ctx.tensor(node.outputs[0])
    rescale = None
    if explicit:
        xi = pad_input(ctx, xi, explicit, pad_value)
        padding = VALID
        if builtin == "AVERAGE_POOL_2D" and not node.attrs.get("count_include_pad", 0):
            out_hw = node.outputs[0].shape[2:]
            rescale = (k[0] * k[1]) / _window_counts(hw, k, s, explicit, out_hw)
    opts = ctx.opts("Pool2DOptions", padding=padding, strideH=s[0], strideW=s[1], filterHeight=k[0],
                    filterWidth=k[1], fusedActivationFunction=ctx.activation(node) if rescale is None else 0)
    if rescale is None:
        ctx.op(builtin, [xi], [yi], opts)
        return
    # zero padding counted by AVERAGE_POOL_2D: rescale each position by k*k / (real inputs in its window)
    tmp = ctx.temp(ctx.shape(yi), np.float32, f"{ctx.node.name}_sum")
    ctx.op(builtin, [xi], [tmp], opts)
    ctx.op("MUL", [tmp, ctx.const(rescale.reshape(1, *rescale.shape, 1).astype(np.float32))], [yi],
           ctx.opts("MulOptions", fusedActivationFunction=ctx.activation(node)))


def _dilated_max_pool(ctx, node):
    # MAX_POOL_2D has no dilation: the max over the k*k window taps, each a STRIDED_SLICE of the padded input
    x = node.inputs[0]
    k = list(node.attrs["kernel_shape"])
    s = list(node.attrs.get("strides", [1] * len(k)))
    d = list(node.attrs["dilations"])
    h, w = x.shape[2], x.shape[3]
    keff = [(k[i] - 1) * d[i] + 1 for i in range(2)]
    pads = _pads(node, (h, w), keff, s, [1, 1])
    yi = ctx.tensor(node.outputs[0])
    n, oh, ow, c = ctx.shape(yi)
    # bottom/right pads so that every tap's slice fits (ceil_mode outputs reach past the explicit pads)
    need = [(oh - 1) * s[0] + keff[0], (ow - 1) * s[1] + keff[1]]
    bottom = max(pads[2], need[0] - h - pads[0])
    right = max(pads[3], need[1] - w - pads[1])
    xi = ctx.tensor(x)
    if any((pads[0], pads[1], bottom, right)):
        xi = pad_input(ctx, xi, [pads[0], pads[1], bottom, right], _NEG)
    acc = None
    taps = [(i, j) for i in range(k[0]) for j in range(k[1])]
    for t, (i, j) in enumerate(taps):
        tap = ctx.temp([n, oh, ow, c], np.float32, f"{node.name}_tap{t}")
        b0, b1 = i * d[0], j * d[1]
        ctx.op("STRIDED_SLICE", [xi, ctx.i32([0, b0, b1, 0]), ctx.i32([n, b0 + (oh - 1) * s[0] + 1,
                                                                     b1 + (ow - 1) * s[1] + 1, c]),
                                 ctx.i32([1, s[0], s[1], 1])], [tap], ctx.opts("StridedSliceOptions"))
        if acc is None:
            acc = tap
            continue
        dst = yi if t == len(taps) - 1 else ctx.temp([n, oh, ow, c], np.float32, f"{node.name}_max{t}")
        ctx.op("MAXIMUM", [acc, tap], [dst])
        acc = dst
    if len(taps) == 1:
        ctx.op("RESHAPE", [acc, ctx.i32([n, oh, ow, c])], [yi])


@lower("MaxPool", layout="nhwc", emits=("MAX_POOL_2D", "PADV2", "STRIDED_SLICE", "MAXIMUM"), check=_check_pool)
def max_pool(ctx, node):
    # MaxPool(X) kernel_shape, strides, pads, auto_pad, ceil_mode, dilations
    if any(d != 1 for d in node.attrs.get("dilations", [1, 1])):
        _dilated_max_pool(ctx, node)
        return
    _pool(ctx, node, "MAX_POOL_2D", _NEG)


@lower("AveragePool", layout="nhwc", emits=("AVERAGE_POOL_2D", "PAD"), check=_check_pool)
def average_pool(ctx, node):
    # AveragePool(X) kernel_shape, strides, pads, count_include_pad (1: zero PAD then VALID)
    _pool(ctx, node, "AVERAGE_POOL_2D", None)


def _check_global(node):
    return None if node.inputs[0].rank == 4 else f"rank:{node.inputs[0].rank}"


@lower("GlobalAveragePool", "GlobalMaxPool", layout="nhwc", emits=("MEAN", "REDUCE_MAX"), check=_check_global)
def global_pool(ctx, node):
    # GlobalAveragePool(X[N,C,H,W]) -> [N,C,1,1]: a mean over H, W (axes 1, 2 in NHWC)
    builtin = "MEAN" if node.op_type == "GlobalAveragePool" else "REDUCE_MAX"
    ctx.op(builtin, [ctx.tensor(node.inputs[0]), ctx.i32([1, 2])], [ctx.tensor(node.outputs[0])],
           ctx.opts("ReducerOptions", keepDims=True))


@lower("LRN", layout="nhwc", emits=("LOCAL_RESPONSE_NORMALIZATION",),
       check=lambda n: None if n.attrs["size"] % 2 == 1 else "attr:even_size")
def lrn(ctx, node):
    # LRN(X) size, alpha, beta, bias: x / (bias + alpha/size * sum_{window} x^2)^beta over channels
    size = node.attrs["size"]
    opts = ctx.opts("LocalResponseNormalizationOptions", radius=(size - 1) // 2,
                    bias=float(node.attrs.get("bias", 1.0)), alpha=float(node.attrs.get("alpha", 1e-4)) / size,
                    beta=float(node.attrs.get("beta", 0.75)))
    ctx.op("LOCAL_RESPONSE_NORMALIZATION", [ctx.tensor(node.inputs[0])], [ctx.tensor(node.outputs[0])], opts)
