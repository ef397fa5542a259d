"""MaxUnpool: SCATTER_ND of the values at their flat MaxPool indices into a zero tensor; AffineGrid (2-D/3-D,
constant size): a constant base grid [1, D*H*W, r+1] BATCH_MATMUL'ed with theta (adjY) per batch."""

from __future__ import annotations

import numpy as np

from edgeport.convert.tflite.registry import lower

__all__ = ["max_unpool", "affine_grid"]


def _check_unpool(node):
    y, x = node.outputs[0], node.inputs[0]
    if y.shape is None or x.shape is None:
        return "dynamic_shape"
    r = len(node.attrs.get("kernel_shape", []))
    pads = node.attrs.get("pads", [0] * 2 * r)
    inferred = [(x.shape[i + 2] - 1) * node.attrs.get("strides", [1] * r)[i] - pads[i] - pads[i + r]
                + node.attrs["kernel_shape"][i] for i in range(r)]
    if any(o < i for o, i in zip(y.shape[2:], inferred)):
        return "attr:output_shape_smaller"
    if node.inputs[0].dtype is not None and node.inputs[0].dtype != np.float32:
        return f"dtype:{node.inputs[0].dtype}"
    return None


@lower("MaxUnpool", layout="fixed", emits=("CAST", "RESHAPE", "SCATTER_ND"), check=_check_unpool)
def max_unpool(ctx, node):
    # indices are flat over the whole output (N, C included), as MaxPool's second output
    # with output_shape, the indices address the inferred shape, which is then zero-padded at the ends (as
    # ONNX's reference and backend test)
    x, idx, y = node.inputs[0], node.inputs[1], node.outputs[0]
    m = int(np.prod(x.shape))
    k = list(node.attrs["kernel_shape"])
    r = len(k)
    s = list(node.attrs.get("strides", [1] * r))
    p = list(node.attrs.get("pads", [0] * 2 * r))
    inferred = list(x.shape[:2]) + [(x.shape[i + 2] - 1) * s[i] - (p[i] + p[i + r]) + k[i] for i in range(r)]
    total = int(np.prod(inferred))
    if idx.is_const:
        coords = ctx.const(idx.const.reshape(m, 1).astype(np.int32), f"{node.name}_coords")
    else:
        i32 = ctx.temp(list(idx.shape), np.int32, f"{node.name}_idx32")
        ctx.op("CAST", [ctx.tensor(idx)], [i32])
        coords = ctx.temp([m, 1], np.int32, f"{node.name}_coords")
        ctx.op("RESHAPE", [i32, ctx.i32([m, 1])], [coords])
    flat_x = ctx.temp([m], np.float32, f"{node.name}_values")
    ctx.op("RESHAPE", [ctx.tensor(x), ctx.i32([m])], [flat_x])
    flat_y = ctx.temp([total], np.float32, f"{node.name}_flat")
    ctx.op("SCATTER_ND", [coords, flat_x, ctx.i32([total])], [flat_y])
    yi = ctx.tensor(y)
    if inferred == list(y.shape):
        ctx.op("RESHAPE", [flat_y, ctx.i32(inferred)], [yi])
        return
    shaped = ctx.temp(inferred, np.float32, f"{node.name}_unpooled")
    ctx.op("RESHAPE", [flat_y, ctx.i32(inferred)], [shaped])
    ctx.op("PAD", [shaped, ctx.i32([[0, o - i] for i, o in zip(inferred, y.shape)])], [yi], ctx.opts("PadOptions"))


def _check_affine(node):
    if not node.inputs[1].is_const:
        return "nonconst_size"
    if node.inputs[0].dtype is not None and node.inputs[0].dtype != np.float32:
        return f"dtype:{node.inputs[0].dtype}"
    return None


def base_grid(spatial, align_corners):
    """[prod(spatial), r + 1] rows (x, y[, z], 1), x fastest, as ONNX's AffineGrid."""
    axes = []
    for n in spatial:
        i = np.arange(n, dtype=np.float64)
        axes.append(np.linspace(-1.0, 1.0, n) if align_corners else (2 * i + 1) / n - 1)  # n = 1: [-1], as ONNX
    mesh = np.meshgrid(*axes, indexing="ij")  # (d,) h, w
    cols = [g.reshape(-1) for g in reversed(mesh)] + [np.ones(int(np.prod(spatial)))]
    return np.stack(cols, -1).astype(np.float32)


@lower("AffineGrid", layout="fixed", emits=("BATCH_MATMUL", "RESHAPE"), check=_check_affine)
def affine_grid(ctx, node):
    theta, y = node.inputs[0], node.outputs[0]
    size = [int(v) for v in node.inputs[1].const.reshape(-1)]
    n, spatial = size[0], size[2:]
    r = len(spatial)
    base = base_grid(spatial, node.attrs.get("align_corners", 0))
    hw = base.shape[0]
    mm = ctx.temp([n, hw, r], np.float32, f"{node.name}_grid")
    ctx.op("BATCH_MATMUL", [ctx.const(base[None], f"{node.name}_base"), ctx.tensor(theta)], [mm],
           ctx.opts("BatchMatMulOptions", adjX=False, adjY=True))
    ctx.op("RESHAPE", [mm, ctx.i32(list(y.shape))], [ctx.tensor(y)])
