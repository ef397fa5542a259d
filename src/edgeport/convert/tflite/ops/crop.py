"""CenterCropPad with a constant target shape: one SLICE for the cropped axes (start (dim - size) // 2) and
one PAD with zeros for the padded ones (before (size - dim) // 2), as ONNX's reference."""

from __future__ import annotations

import numpy as np

from edgeport.convert.tflite.registry import lower

__all__ = ["center_crop_pad"]


def _check(node):
    if not node.inputs[1].is_const:
        return "nonconst_shape"
    if node.inputs[0].shape is None:
        return "dynamic_shape"
    return None


@lower("CenterCropPad", layout="fixed", emits=("SLICE", "PAD"), check=_check)
def center_crop_pad(ctx, node):
    x, y = node.inputs[0], node.outputs[0]
    r = x.rank
    sizes = [int(v) for v in node.inputs[1].const.reshape(-1)]
    axes = [a % r for a in node.attrs.get("axes", list(range(r)))]
    begin, crop, pads = [0] * r, list(x.shape), [[0, 0] for _ in range(r)]
    for a, sh in zip(axes, sizes):
        dim = x.shape[a]
        if sh < dim:
            begin[a], crop[a] = (dim - sh) // 2, sh
        elif sh > dim:
            pads[a] = [(sh - dim) // 2, sh - dim - (sh - dim) // 2]
    cur, yi = ctx.tensor(x), ctx.tensor(y)
    need_pad = any(p != [0, 0] for p in pads)
    if crop != list(x.shape) or not need_pad:
        dst = ctx.temp(crop, x.dtype, f"{node.name}_crop") if need_pad else yi
        ctx.op("SLICE", [cur, ctx.i32(begin), ctx.i32(crop)], [dst], ctx.opts("SliceOptions"))
        cur = dst
    if need_pad:
        ctx.op("PAD", [cur, ctx.i32(pads)], [yi], ctx.opts("PadOptions"))
