"""Index-driven data movement: GatherND -> GATHER_ND (batch_dims: batch coordinates prepended); ScatterND /
ScatterElements (and opset-9 Scatter) -> SCATTER_ND into zeros plus a SCATTER_ND'ed mask and SELECT_V2 to
keep ``data`` where nothing was written (reduction "add": data + the scatter, since SCATTER_ND sums
duplicates). Reductions mul/max/min are refused (no TFLite scatter with those)."""

from __future__ import annotations

import numpy as np

from edgeport.convert.tflite.ops.tensor import wrapped_indices
from edgeport.convert.tflite.registry import lower

__all__ = ["gather_nd", "scatter_nd"]


def _check_gather_nd(node):
    return None


@lower("GatherND", layout="fixed", emits=("GATHER_ND", "FLOOR_MOD", "CAST", "CONCATENATION"), check=_check_gather_nd)
def gather_nd(ctx, node):
    # batch_dims b: the coordinates of the b leading (batch) axes are prepended as a constant grid
    x, idx = node.inputs[:2]
    b = node.attrs.get("batch_dims", 0)
    k = idx.shape[-1]
    ci = wrapped_indices(ctx, node, idx, x.shape[b:b + k])
    if b:
        lead = list(idx.shape[:-1])
        grid = np.stack(np.meshgrid(*[np.arange(d) for d in lead], indexing="ij"), -1)[..., :b].astype(np.int32)
        full = ctx.temp(lead + [b + k], np.int32, f"{node.name}_batch_coords")
        ctx.op("CONCATENATION", [ctx.const(np.ascontiguousarray(grid), f"{node.name}_batch"), ci], [full],
               ctx.opts("ConcatenationOptions", axis=len(lead)))
        ci = full
    ctx.op("GATHER_ND", [ctx.tensor(x), ci], [ctx.tensor(node.outputs[0])])


def _check_scatter(node):
    red = node.attrs.get("reduction", "none")
    if red not in ("none", "add"):
        return f"attr:reduction={red}"
    t = node.inputs[0].dtype
    name = None if t is None else np.dtype(t).name
    if name not in ("float32", "int32", "int64", "bool", "int8", "uint8"):
        return f"dtype:{name}"
    if red == "add" and name not in ("float32", "int32", "int64"):
        return f"dtype:{name}_reduction_add"
    return None


@lower("ScatterND", "ScatterElements", "Scatter", layout="fixed", check=_check_scatter,
       emits=("SCATTER_ND", "GREATER", "SELECT_V2", "ADD", "FLOOR_MOD", "CAST", "CONCATENATION", "RESHAPE"))
def scatter_nd(ctx, node):
    x, idx, upd = node.inputs[:3]
    y = node.outputs[0]
    shape = list(x.shape)
    if node.op_type == "ScatterND":
        ci = wrapped_indices(ctx, node, idx, shape[:idx.shape[-1]])
        ishape = list(idx.shape)
    else:  # elements: full coordinates, constant grids for the other axes
        r = x.rank
        axis = node.attrs.get("axis", 0) % r
        ishape = list(idx.shape) + [r]
        grids = np.stack(np.meshgrid(*[np.arange(d) for d in idx.shape], indexing="ij"), -1).astype(np.int32)
        dims = np.array(shape, np.int64)
        if idx.is_const:
            grids[..., axis] = np.mod(idx.const.astype(np.int64), dims[axis])
            ci = ctx.const(grids, f"{node.name}_coords")
        else:
            w = wrapped_indices(ctx, node, idx, dims[axis])
            col = ctx.temp(list(idx.shape) + [1], np.int32, f"{node.name}_col")
            ctx.op("RESHAPE", [w, ctx.i32(list(idx.shape) + [1])], [col])
            parts = ([ctx.const(np.ascontiguousarray(grids[..., :axis]), f"{node.name}_lead")] if axis else [])
            parts.append(col)
            if axis < r - 1:
                parts.append(ctx.const(np.ascontiguousarray(grids[..., axis + 1:]), f"{node.name}_trail"))
            ci = ctx.temp(ishape, np.int32, f"{node.name}_coords")
            ctx.op("CONCATENATION", parts, [ci], ctx.opts("ConcatenationOptions", axis=r))
    sh = ctx.i32(shape)
    xi, ui, yi = ctx.tensor(x), ctx.tensor(upd), ctx.tensor(y)
    scat = ctx.temp(shape, x.dtype, f"{node.name}_scattered")
    ctx.op("SCATTER_ND", [ci, ui, sh], [scat])
    if node.attrs.get("reduction", "none") == "add":
        ctx.op("ADD", [xi, scat], [yi], ctx.opts("AddOptions"))
        return
    ones = ctx.const(np.ones(ishape[:-1] + shape[ishape[-1]:], np.int32), f"{node.name}_ones")
    hits = ctx.temp(shape, np.int32, f"{node.name}_hits")
    mask = ctx.temp(shape, np.bool_, f"{node.name}_mask")
    ctx.op("SCATTER_ND", [ci, ones, sh], [hits])
    ctx.op("GREATER", [hits, ctx.const(np.array(0, np.int32))], [mask])
    ctx.op("SELECT_V2", [mask, scat, xi], [yi])
