"""Shape and data movement: Reshape/Flatten/Squeeze/Unsqueeze -> RESHAPE, Transpose, Concat, Split, Slice,
Pad, Gather, GatherElements, Tile, Expand, DepthToSpace/SpaceToDepth, and the layout pass's LayoutTranspose."""

from __future__ import annotations

import numpy as np

from edgeport.convert.tflite.flatbuffer import schema
from edgeport.convert.tflite.registry import lower
from edgeport.ir import channels_last_perm
from edgeport.ir.passes.assign_layout import cheap_relayout

__all__ = ["reshape", "transpose", "layout_transpose", "concat", "split", "slice_", "pad", "gather_elements", "wrapped_indices"]

_IDENT = (0, 1, 2, 3)


def _perm(v):
    """Physical axis j holds logical axis perm[j]."""
    return channels_last_perm(v.rank) if v.layout == "NHWC" else tuple(range(v.rank))


def _const_input(node, i, attr=None):
    v = node.input(i)
    if v is not None:
        return None if not v.is_const else [int(x) for x in v.const.reshape(-1)]
    return node.attrs.get(attr) if attr else None


@lower("Reshape", "Flatten", "Squeeze", "Unsqueeze", layout="fixed", emits=("RESHAPE",))
def reshape(ctx, node):
    # output shape comes from shape inference: RESHAPE to it (physical: these outputs are logical)
    y = ctx.tensor(node.outputs[0])
    ctx.op("RESHAPE", [ctx.tensor(node.inputs[0]), ctx.i32(ctx.shape(y))], [y],
           ctx.opts("ReshapeOptions", newShape=[int(d) for d in ctx.shape(y)]))


@lower("Transpose", layout="free", emits=("TRANSPOSE",))
def transpose(ctx, node):
    # Transpose(x) perm: the layouts of x and y are folded into the permutation
    x, y = node.inputs[0], node.outputs[0]
    perm = node.attrs.get("perm") or list(reversed(range(x.rank)))
    pin, pout = _perm(x), _perm(y)
    inv_in = np.argsort(pin)
    q = [int(inv_in[perm[pout[j]]]) for j in range(y.rank)]
    yi = ctx.tensor(y)
    if q == list(range(y.rank)):
        ctx.op("RESHAPE", [ctx.tensor(x), ctx.i32(ctx.shape(yi))], [yi])
    else:
        ctx.op("TRANSPOSE", [ctx.tensor(x), ctx.i32(q)], [yi], ctx.opts("TransposeOptions"))


@lower("LayoutTranspose", layout="free", emits=("TRANSPOSE",), domains=("edgeport",))
def layout_transpose(ctx, node):
    to_last = channels_last_perm(node.inputs[0].rank)
    perm = to_last if node.attrs["to"] == "NHWC" else tuple(int(i) for i in np.argsort(to_last))
    if cheap_relayout(node.inputs[0]):
        y = ctx.tensor(node.outputs[0])
        ctx.op("RESHAPE", [ctx.tensor(node.inputs[0]), ctx.i32(ctx.shape(y))], [y])
        return
    ctx.op("TRANSPOSE", [ctx.tensor(node.inputs[0]), ctx.i32(perm)], [ctx.tensor(node.outputs[0])],
           ctx.opts("TransposeOptions"))


@lower("Concat", layout="any", emits=("CONCATENATION",))
def concat(ctx, node):
    y = node.outputs[0]
    ins = [v for v in node.inputs if v is not None and (v.shape is None or int(np.prod(v.shape)) > 0)]
    ctx.op("CONCATENATION", [ctx.operand(v, y) for v in ins], [ctx.tensor(y)],
           ctx.opts("ConcatenationOptions", axis=ctx.axis(y, node.attrs["axis"]),
                    fusedActivationFunction=ctx.activation(node)))


def _check_split(node):
    if node.input(1) is not None and not node.input(1).is_const:
        return "nonconst_split"
    return None


@lower("Split", layout="any", emits=("SPLIT_V",), check=_check_split)
def split(ctx, node):
    x = node.inputs[0]
    axis = node.attrs.get("axis", 0) % x.rank
    sizes = [int(o.shape[axis]) for o in node.outputs]
    outs = [ctx.tensor(o) for o in node.outputs]
    ctx.op("SPLIT_V", [ctx.tensor(x), ctx.i32(sizes), ctx.i32(ctx.axis(x, axis))], outs,
           ctx.opts("SplitVOptions", numSplits=len(outs)))


def _check_slice(node):
    for i in range(1, len(node.inputs)):
        if node.input(i) is not None and not node.input(i).is_const:
            return "nonconst_slice_params"
    return None


@lower("Slice", layout="any", emits=("STRIDED_SLICE",), check=_check_slice)
def slice_(ctx, node):
    x = node.inputs[0]
    r = x.rank
    starts = _const_input(node, 1, "starts")
    ends = _const_input(node, 2, "ends")
    axes = _const_input(node, 3, "axes") or list(range(len(starts)))
    steps = _const_input(node, 4) or [1] * len(starts)
    begin, end, stride, end_mask = [0] * r, list(x.shape), [1] * r, 0
    for s, e, a, st in zip(starts, ends, axes, steps):
        a %= r
        b, en, st2 = slice(s, e, st).indices(x.shape[a])
        begin[a], end[a], stride[a] = b, en, st2
    perm = _perm(x)
    pb = [begin[perm[j]] for j in range(r)]
    pe = [end[perm[j]] for j in range(r)]
    ps = [stride[perm[j]] for j in range(r)]
    for j in range(r):
        if ps[j] < 0 and pe[j] < 0:
            end_mask |= 1 << j
            pe[j] = 0
    ctx.op("STRIDED_SLICE", [ctx.tensor(x), ctx.i32(pb), ctx.i32(pe), ctx.i32(ps)], [ctx.tensor(node.outputs[0])],
           ctx.opts("StridedSliceOptions", endMask=end_mask))


def _check_pad(node):
    mode = node.attrs.get("mode", "constant")
    if mode not in ("constant", "reflect", "edge", "wrap"):
        return f"attr:mode={mode}"
    if node.input(1) is not None and not node.input(1).is_const:
        return "nonconst_pads"
    if node.input(2) is not None and not node.input(2).is_const:
        return "nonconst_value"
    if node.input(3) is not None and not node.input(3).is_const:
        return "nonconst_axes"
    return None


def _gather_pad(ctx, node, xi, yi, pairs, mode):
    # edge / wrap: one GATHER per padded axis with clamped (edge) or wrapped (wrap) source indices
    shape = list(ctx.shape(xi))
    axes = [j for j, (a, b) in enumerate(pairs) if a or b]
    cur = xi
    for k, j in enumerate(axes):
        a, b = pairs[j]
        src = np.arange(-a, shape[j] + b)
        src = np.clip(src, 0, shape[j] - 1) if mode == "edge" else np.mod(src, shape[j])
        shape[j] = len(src)
        dst = yi if k == len(axes) - 1 else ctx.temp(shape, node.inputs[0].dtype, f"{node.name}_pad{j}")
        ctx.op("GATHER", [cur, ctx.const(src.astype(np.int32), f"{node.name}_src{j}")], [dst],
               ctx.opts("GatherOptions", axis=j))
        cur = dst
    if not axes:
        ctx.op("RESHAPE", [xi, ctx.i32(shape)], [yi])


@lower("Pad", layout="any", emits=("PAD", "PADV2", "MIRROR_PAD", "GATHER"), check=_check_pad)
def pad(ctx, node):
    x = node.inputs[0]
    r = x.rank
    pads = _const_input(node, 1, "pads")
    axes = _const_input(node, 3)
    if axes is not None:  # opset 18: pads only for the listed axes
        full = [0] * (2 * r)
        for j, a in enumerate(axes):
            full[a % r], full[a % r + r] = pads[j], pads[j + len(axes)]
        pads = full
    pairs = [[pads[perm_i], pads[perm_i + r]] for perm_i in _perm(x)]
    value = node.input(2).const.reshape(-1)[0] if node.input(2) is not None else node.attrs.get("value", 0.0)
    xi, yi, pi = ctx.tensor(x), ctx.tensor(node.outputs[0]), ctx.i32(pairs)
    if node.attrs.get("mode", "constant") in ("edge", "wrap"):
        _gather_pad(ctx, node, xi, yi, pairs, node.attrs["mode"])
    elif node.attrs.get("mode", "constant") == "reflect":
        ctx.op("MIRROR_PAD", [xi, pi], [yi], ctx.opts("MirrorPadOptions", mode=schema.MirrorPadMode.REFLECT))
    elif value == 0:
        ctx.op("PAD", [xi, pi], [yi], ctx.opts("PadOptions"))
    else:
        ctx.op("PADV2", [xi, pi, ctx.const(np.array(value, x.dtype))], [yi], ctx.opts("PadV2Options"))


@lower("Gather", layout="fixed", emits=("GATHER",))
def gather(ctx, node):
    x, idx = node.inputs
    axis = node.attrs.get("axis", 0) % x.rank
    if idx.is_const:
        ind = idx.const.astype(np.int64)
        ind = np.where(ind < 0, ind + x.shape[axis], ind).astype(np.int32)
        ii = ctx.const(ind, idx.name)
    else:  # negative indices count from the end: idx + dim * (idx < 0)
        ii = ctx.tensor(idx)
        shp = ctx.shape(ii)
        neg, negc, off, fixed = (ctx.temp(shp, np.bool_ if k == "neg" else idx.dtype, f"{node.name}_{k}")
                                 for k in ("neg", "negc", "off", "fixed"))
        ctx.op("LESS", [ii, ctx.const(np.array(0, idx.dtype))], [neg])
        ctx.op("CAST", [neg], [negc])
        ctx.op("MUL", [negc, ctx.const(np.array(x.shape[axis], idx.dtype))], [off], ctx.opts("MulOptions"))
        ctx.op("ADD", [ii, off], [fixed], ctx.opts("AddOptions"))
        ii = fixed
    ctx.op("GATHER", [ctx.tensor(x), ii], [ctx.tensor(node.outputs[0])], ctx.opts("GatherOptions", axis=axis))


def wrapped_indices(ctx, node, idx, dims):
    """int32 indices with negative entries wrapped (``dims`` broadcasts against ``idx``'s last axis).

    Shared by GatherElements here and the GatherND/ScatterND family in scatter.py.
    """
    dims = np.asarray(dims, np.int64)
    if idx.is_const:
        c = np.mod(idx.const.astype(np.int64), dims).astype(np.int32)
        return ctx.const(c, f"{node.name}_coords")
    ii = ctx.tensor(idx)
    shp = ctx.shape(ii)
    if idx.dtype != np.int32:
        c32 = ctx.temp(shp, np.int32, f"{node.name}_idx32")
        ctx.op("CAST", [ii], [c32])
        ii = c32
    w = ctx.temp(shp, np.int32, f"{node.name}_coords")
    ctx.op("FLOOR_MOD", [ii, ctx.const(dims.astype(np.int32), f"{node.name}_dims")], [w])
    return w


@lower("GatherElements", layout="fixed", emits=("GATHER_ND", "CAST", "FLOOR_MOD", "RESHAPE", "CONCATENATION"))
def gather_elements(ctx, node):
    # GatherElements(data, indices) axis: out[i..] = data[i.. with i[axis] = indices[i..]]. GATHER_ND with full
    # coordinates: constant grids for the other axes, the (wrapped) indices for ``axis``.
    x, idx, y = node.inputs[0], node.inputs[1], node.outputs[0]
    r = x.rank
    axis = node.attrs.get("axis", 0) % r
    shp = list(idx.shape)
    grids = np.stack(np.meshgrid(*[np.arange(d) for d in shp], indexing="ij"), -1).astype(np.int32)
    if idx.is_const:
        coords = grids.copy()
        coords[..., axis] = np.mod(idx.const.astype(np.int64), x.shape[axis]).astype(np.int32)
        ci = ctx.const(coords, f"{node.name}_coords")
    else:
        wrapped = wrapped_indices(ctx, node, idx, [x.shape[axis]])  # -1 -> dim - 1
        col = ctx.temp(shp + [1], np.int32, f"{node.name}_col")
        ctx.op("RESHAPE", [wrapped, ctx.i32(shp + [1])], [col])
        parts = ([ctx.const(np.ascontiguousarray(grids[..., :axis]), f"{node.name}_lead")] if axis > 0 else []) + [col]
        if axis < r - 1:
            parts.append(ctx.const(np.ascontiguousarray(grids[..., axis + 1:]), f"{node.name}_trail"))
        ci = ctx.temp(shp + [r], np.int32, f"{node.name}_coords")
        ctx.op("CONCATENATION", parts, [ci], ctx.opts("ConcatenationOptions", axis=r))
    ctx.op("GATHER_ND", [ctx.tensor(x), ci], [ctx.tensor(y)])


@lower("Tile", layout="fixed", emits=("TILE",),
       check=lambda n: None if n.inputs[1].is_const else "nonconst_repeats")
def tile(ctx, node):
    ctx.op("TILE", [ctx.tensor(node.inputs[0]), ctx.i32(node.inputs[1].const)], [ctx.tensor(node.outputs[0])])


@lower("Expand", layout="fixed", emits=("BROADCAST_TO",))
def expand(ctx, node):
    y = ctx.tensor(node.outputs[0])
    ctx.op("BROADCAST_TO", [ctx.tensor(node.inputs[0]), ctx.i32(ctx.shape(y))], [y])


def _check_d2s(node):
    return None


@lower("DepthToSpace", "SpaceToDepth", layout="nhwc", emits=("DEPTH_TO_SPACE", "SPACE_TO_DEPTH"),
       check=_check_d2s)
def depth_to_space(ctx, node):
    # DepthToSpace mode CRD = DCR after a fixed channel permutation (a GATHER on the channel axis)
    name = "DEPTH_TO_SPACE" if node.op_type == "DepthToSpace" else "SPACE_TO_DEPTH"
    xi = ctx.tensor(node.inputs[0])
    if node.op_type == "DepthToSpace" and node.attrs.get("mode", "DCR") == "CRD":
        b = node.attrs["blocksize"]
        c = node.inputs[0].shape[1]
        cp = c // (b * b)
        perm = np.array([(p % cp) * b * b + p // cp for p in range(c)], np.int32)
        g = ctx.temp(ctx.shape(xi), node.inputs[0].dtype, f"{node.name}_dcr")
        ctx.op("GATHER", [xi, ctx.const(perm)], [g], ctx.opts("GatherOptions", axis=3))
        xi = g
    opts = ctx.opts(name.title().replace("_", "") + "Options", blockSize=node.attrs["blocksize"])
    yi = ctx.tensor(node.outputs[0])
    if node.op_type == "SpaceToDepth" and node.attrs.get("mode", "DCR") == "CRD":
        b = node.attrs["blocksize"]
        c = node.inputs[0].shape[1]
        perm = np.array([(q % (b * b)) * c + q // (b * b) for q in range(c * b * b)], np.int32)
        t = ctx.temp(ctx.shape(yi), node.inputs[0].dtype, f"{node.name}_dcr")
        ctx.op(name, [xi], [t], opts)
        ctx.op("GATHER", [t, ctx.const(perm)], [yi], ctx.opts("GatherOptions", axis=3))
        return
    ctx.op(name, [xi], [yi], opts)


@lower("ChannelShuffle", layout="any", emits=("RESHAPE", "TRANSPOSE"), domains=("edgeport",))
def channel_shuffle(ctx, node):
    # edgeport.ChannelShuffle(x[N,C,H,W]) groups=g, left by ir.passes.fuse_channel_shuffle when it could not
    # fold it into a Conv. RESHAPE [N, HW, g, C/g] -> 4-D TRANSPOSE -> RESHAPE: unlike a GATHER on the channel
    # axis (which XNNPACK does not take, doubling a ShuffleNet's CPU latency), it stays in the delegate.
    x, y = node.inputs[0], node.outputs[0]
    g = node.attrs["groups"]
    n, c, h, w = x.shape
    xi, yi = ctx.tensor(x), ctx.tensor(y)
    if x.layout == "NHWC":
        split, perm, dst = [n, h * w, g, c // g], [0, 1, 3, 2], [n, h * w, c // g, g]
    else:
        split, perm, dst = [n, g, c // g, h * w], [0, 2, 1, 3], [n, c // g, g, h * w]
    a = ctx.temp(split, x.dtype, f"{node.name}_split")
    b = ctx.temp(dst, x.dtype, f"{node.name}_swapped")
    ctx.op("RESHAPE", [xi, ctx.i32(split)], [a])
    ctx.op("TRANSPOSE", [a, ctx.i32(perm)], [b], ctx.opts("TransposeOptions"))
    ctx.op("RESHAPE", [b, ctx.i32(ctx.shape(yi))], [yi])


@lower("Shape", layout="fixed", emits=("SHAPE",),
       check=lambda n: "attr:start_end" if "start" in n.attrs or "end" in n.attrs else None)
def shape(ctx, node):
    # only reached when the input shape is not static (static ones are folded to constants)
    from edgeport.convert.tflite.flatbuffer import tensor_type

    y = node.outputs[0]
    ctx.op("SHAPE", [ctx.tensor(node.inputs[0])], [ctx.tensor(y)], ctx.opts("ShapeOptions", outType=tensor_type(y.dtype)))


@lower("Range", layout="fixed", emits=("RANGE",))
def range_(ctx, node):
    ctx.op("RANGE", [ctx.tensor(v) for v in node.inputs], [ctx.tensor(node.outputs[0])], ctx.opts("RangeOptions"))
