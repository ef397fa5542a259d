"""LpPool (2-D): |x|^p, a DEPTHWISE_CONV_2D with an all-ones kernel (window sums; strides, dilations and
pads as a convolution's, padded values count as 0 like ONNX), then ^(1/p). p = 1 / 2 use ABS / MUL / SQRT."""

from __future__ import annotations

import numpy as np

from edgeport.convert.tflite.ops.conv import _pads, pad_input, spatial_padding
from edgeport.convert.tflite.ops.trig import Emitter
from edgeport.convert.tflite.registry import lower

__all__ = ["lp_pool"]


def _check(node):
    x = node.inputs[0]
    if x.rank != 4:
        return f"rank:{x.rank - 2}d_pool"
    if node.attrs.get("ceil_mode", 0):
        return "attr:ceil_mode"
    if x.dtype is not None and x.dtype != np.float32:
        return f"dtype:{x.dtype}"
    return None


@lower("LpPool", layout="nhwc", emits=("ABS", "MUL", "POW", "DEPTHWISE_CONV_2D", "PAD", "SQRT"), check=_check)
def lp_pool(ctx, node):
    x, y = node.inputs[0], node.outputs[0]
    p = float(node.attrs.get("p", 2))
    k = list(node.attrs["kernel_shape"])
    s = list(node.attrs.get("strides", [1, 1]))
    d = list(node.attrs.get("dilations", [1, 1]))
    n, c, h, w = x.shape
    xi, yi = ctx.tensor(x), ctx.tensor(y)
    e = Emitter(ctx, node, ctx.shape(xi))
    if p == 1.0:
        t = e("ABS", xi)
    elif p == 2.0:
        t = e("MUL", xi, xi)
    else:
        t = e("POW", e("ABS", xi), float(p))
    pads = _pads(node, (h, w), k, s, d)
    padding, explicit = spatial_padding((h, w), k, s, d, pads)
    if explicit:
        t = pad_input(ctx, t, explicit)
    ones = ctx.const(np.ones((1, k[0], k[1], c), np.float32), f"{node.name}_ones")
    opts = ctx.opts("DepthwiseConv2DOptions", padding=padding, strideH=s[0], strideW=s[1], depthMultiplier=1,
                    dilationHFactor=d[0], dilationWFactor=d[1])
    e.shape = list(ctx.shape(yi))
    summed = e.ctx.temp(e.shape, np.float32, f"{node.name}_sum")
    ctx.op("DEPTHWISE_CONV_2D", [t, ones, ctx.const(np.zeros(c, np.float32), f"{node.name}_zero")], [summed], opts,
           version=2)
    if p == 1.0:
        ctx.op("RESHAPE", [summed, ctx.i32(e.shape)], [yi])
    elif p == 2.0:
        e("SQRT", summed, out=yi)
    else:
        e("POW", summed, float(1.0 / p), out=yi)
