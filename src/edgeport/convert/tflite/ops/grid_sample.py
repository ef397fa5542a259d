"""GridSample (4-D; linear or nearest; zeros, border or reflection padding) as gathers.

X [N, C, H, W] is transposed to [N, H, W, C] once; for each of the (up to) four neighbours of each
sampling point, a GATHER_ND of [n, y, x] picks a C-vector, weighted (and zeroed outside the image
for ``padding_mode="zeros"``); the weighted sum is transposed back to [N, C, Ho, Wo]. Coordinates
follow the ONNX reference: unnormalized with or without align_corners, rounded half to even for
nearest (TFLite ROUND), clamped (border) or folded back (reflection) when outside the image.
"""

from __future__ import annotations

import numpy as np

from edgeport.convert.tflite.registry import lower

__all__ = ["grid_sample"]


def _check(node):
    if node.inputs[0].rank != 4:
        return f"rank:{node.inputs[0].rank}"
    mode = node.attrs.get("mode", "linear")
    if mode not in ("linear", "bilinear", "nearest"):
        return f"attr:mode={mode}"
    if node.attrs.get("padding_mode", "zeros") not in ("zeros", "border", "reflection"):
        return f"attr:padding_mode={node.attrs.get('padding_mode')}"
    return None


class _E:
    def __init__(self, ctx, node, shape):
        self.ctx, self.node, self.shape, self.k = ctx, node, list(shape), 0

    def __call__(self, name, ins, opts=None, dtype=np.float32, shape=None, **fields):
        self.k += 1
        out = self.ctx.temp(self.shape if shape is None else shape, dtype, f"{self.node.name}_g{self.k}")
        self.ctx.op(name, ins, [out], self.ctx.opts(opts, **fields) if opts else None)
        return out

    def c(self, value, dtype=np.float32):
        return self.ctx.const(np.array(value, dtype))


@lower("GridSample", layout="fixed", check=_check,
       emits=("TRANSPOSE", "STRIDED_SLICE", "MUL", "ADD", "SUB", "ROUND", "FLOOR", "FLOOR_MOD", "ABS", "MAXIMUM",
              "MINIMUM", "CAST", "GREATER_EQUAL", "LESS_EQUAL", "LOGICAL_AND", "CONCATENATION", "GATHER_ND"))
def grid_sample(ctx, node):
    # GridSample(X[N,C,H,W], grid[N,Ho,Wo,2] as (x, y) in [-1, 1]) mode, padding_mode, align_corners
    x, grid, y = node.inputs[0], node.inputs[1], node.outputs[0]
    n, c, h, w = x.shape
    ho, wo = grid.shape[1:3]
    pt = [n, ho, wo, 1]
    e = _E(ctx, node, pt)
    align = bool(node.attrs.get("align_corners", 0))
    pad = node.attrs.get("padding_mode", "zeros")
    nearest = node.attrs.get("mode", "linear") == "nearest"
    xs = e("TRANSPOSE", [ctx.tensor(x), ctx.i32([0, 2, 3, 1])], "TransposeOptions", shape=[n, h, w, c])
    gi = ctx.tensor(grid)

    def coord(k, d):
        g = e("STRIDED_SLICE", [gi, ctx.i32([0, 0, 0, k]), ctx.i32([n, ho, wo, k + 1]), ctx.i32([1, 1, 1, 1])],
              "StridedSliceOptions")
        scale, shift = ((d - 1) / 2, (d - 1) / 2) if align else (d / 2, (d - 1) / 2)
        v = e("ADD", [e("MUL", [g, e.c(scale)], "MulOptions"), e.c(shift)], "AddOptions")
        if nearest:
            v = e("ROUND", [v])
        lo, hi = (0.0, d - 1.0) if align else (-0.5, d - 0.5)
        if pad == "border":
            v = e("MINIMUM", [e("MAXIMUM", [v, e.c(0.0)]), e.c(d - 1.0)])
        elif pad == "reflection" and hi > lo:  # fold into [lo, hi] with period 2 (hi - lo)
            t = e("MUL", [e("SUB", [v, e.c(lo)], "SubOptions"), e.c(1.0 / (hi - lo))], "MulOptions")
            u = e("FLOOR_MOD", [t, e.c(2.0)])
            f = e("SUB", [e.c(1.0), e("ABS", [e("SUB", [e.c(1.0), u], "SubOptions")])], "SubOptions")
            v = e("ADD", [e("MUL", [f, e.c(hi - lo)], "MulOptions"), e.c(lo)], "AddOptions")
            if nearest:  # an integer reflects to an integer; undo the rounding error of the fold (0.9999999)
                v = e("ROUND", [v])
        elif pad == "reflection":
            v = e("MUL", [v, e.c(0.0)], "MulOptions")
        return v

    def taps(v, d):
        """[(integer coordinate, weight)] of the neighbours along one axis."""
        if nearest:
            return [(v, None)]
        v0 = e("FLOOR", [v])
        w1 = e("SUB", [v, v0], "SubOptions")
        w0 = e("SUB", [e.c(1.0), w1], "SubOptions")
        return [(v0, w0), (e("ADD", [v0, e.c(1.0)], "AddOptions"), w1)]

    def index(v, d):
        """(clamped int32 index, 0/1 float validity or None) of an integer-valued coordinate."""
        valid = None
        if pad == "zeros":
            inside = e("LOGICAL_AND", [e("GREATER_EQUAL", [v, e.c(0.0)], dtype=np.bool_),
                                       e("LESS_EQUAL", [v, e.c(d - 1.0)], dtype=np.bool_)], dtype=np.bool_)
            valid = e("CAST", [inside])
        clamped = e("MINIMUM", [e("MAXIMUM", [v, e.c(0.0)]), e.c(d - 1.0)])
        return e("CAST", [clamped], dtype=np.int32), valid

    batch = ctx.const(np.broadcast_to(np.arange(n, dtype=np.int32).reshape(n, 1, 1, 1), pt).copy(),
                      f"{node.name}_batch")
    acc = None
    ty, tx = taps(coord(1, h), h), taps(coord(0, w), w)
    for vy, wy in ty:
        iy, valid_y = index(vy, h)
        for vx, wx in tx:
            ix, valid_x = index(vx, w)
            coords = e("CONCATENATION", [batch, iy, ix], "ConcatenationOptions", dtype=np.int32, shape=[n, ho, wo, 3],
                       axis=3)
            val = e("GATHER_ND", [xs, coords], shape=[n, ho, wo, c])
            factors = [f for f in (wy, wx, valid_y, valid_x) if f is not None]
            if factors:
                wgt = factors[0]
                for f in factors[1:]:
                    wgt = e("MUL", [wgt, f], "MulOptions")
                val = e("MUL", [val, wgt], "MulOptions", shape=[n, ho, wo, c])
            acc = val if acc is None else e("ADD", [acc, val], "AddOptions", shape=[n, ho, wo, c])
    ctx.op("TRANSPOSE", [acc, ctx.i32([0, 3, 1, 2])], [ctx.tensor(y)], ctx.opts("TransposeOptions"))
