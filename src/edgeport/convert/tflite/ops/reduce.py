"""Reductions and normalizers over axes: Reduce* -> MEAN/SUM/REDUCE_MAX/..., Softmax, LogSoftmax, ArgMax/ArgMin."""

from __future__ import annotations

import numpy as np

from edgeport.convert.tflite.registry import lower

__all__ = ["REDUCE", "reduce", "softmax", "argmax"]

REDUCE = {"ReduceMean": "MEAN", "ReduceSum": "SUM", "ReduceMax": "REDUCE_MAX", "ReduceMin": "REDUCE_MIN",
          "ReduceProd": "REDUCE_PROD"}


def _axes(node):
    v = node.input(1)
    if v is not None:
        return None if not v.is_const else [int(a) for a in v.const.reshape(-1)]
    return node.attrs.get("axes")


def _reduce_layout(node):
    # keepdims keeps rank 4: axes are remapped. Without keepdims, an NHWC input is fine when the kept
    # axes come out in the same order (e.g. a mean over H, W -> [N, C]); the output is then logical.
    if node.attrs.get("keepdims", 1):
        return "any"
    x = node.inputs[0]
    axes = _axes(node)
    if x.rank is None or x.rank < 3 or axes is None:
        return "fixed"
    r = x.rank
    axes = {a % r for a in axes}
    last = (0, *range(2, r), 1)
    same = [a for a in range(r) if a not in axes] == [a for a in last if a not in axes]
    return "any_in" if same else "fixed"


def _check_reduce(node):
    if node.input(1) is not None and not node.input(1).is_const:
        return "nonconst_axes"
    return None


# composite reductions: (op before, reduction, op after)
COMPOSITE = {"ReduceL1": ("ABS", "SUM", None), "ReduceL2": ("SQUARE", "SUM", "SQRT"),
             "ReduceSumSquare": ("SQUARE", "SUM", None), "ReduceLogSum": (None, "SUM", "LOG"),
             "ReduceLogSumExp": ("EXP", "SUM", "LOG")}


@lower(*REDUCE, *COMPOSITE, layout=_reduce_layout, emits=tuple(REDUCE.values()) + ("ABS", "SQUARE", "SQRT", "EXP", "LOG"),
       check=_check_reduce)
def reduce(ctx, node):
    x = node.inputs[0]
    axes = _axes(node)
    if axes is None or len(axes) == 0:
        if node.attrs.get("noop_with_empty_axes", 0):
            y = ctx.tensor(node.outputs[0])
            ctx.op("RESHAPE", [ctx.tensor(x), ctx.i32(ctx.shape(y))], [y])
            return
        axes = list(range(x.rank))
    phys = sorted(ctx.axis(x, a) for a in axes)
    pre, red, post = COMPOSITE.get(node.op_type, (None, REDUCE.get(node.op_type), None))
    xi, yi = ctx.tensor(x), ctx.tensor(node.outputs[0])
    if pre:
        t = ctx.temp(ctx.shape(xi), x.dtype, f"{node.name}_pre")
        ctx.op(pre, [xi], [t])
        xi = t
    dst = ctx.temp(ctx.shape(yi), x.dtype, f"{node.name}_red") if post else yi
    ctx.op(red, [xi, ctx.i32(phys)], [dst], ctx.opts("ReducerOptions", keepDims=bool(node.attrs.get("keepdims", 1))))
    if post:
        ctx.op(post, [dst], [yi])


def _softmax_axis(ctx, node):
    x = node.inputs[0]
    if node.graph is not None and node.graph.opset < 13:
        # flatten semantics with only unit dims after the axis: the one non-unit dim is the axis
        axis = node.attrs.get("axis", 1) % x.rank
        rest = [i for i in range(axis, x.rank) if x.shape[i] != 1]
        return rest[0] if rest else x.rank - 1
    return node.attrs.get("axis", -1) % x.rank


def _flatten_semantics(node) -> bool:
    """Opset < 13 Softmax normalizes over all dims from ``axis`` on (coerced to 2-D)."""
    x = node.inputs[0]
    opset = node.graph.opset if node.graph is not None else 13
    axis = node.attrs.get("axis", 1) % x.rank
    return opset < 13 and axis != x.rank - 1 and sum(1 for d in x.shape[axis:] if d != 1) > 1


def _softmax_layout(node):
    # a softmax over all of C, H, W (axis <= 1) does not depend on their order: any layout works
    if _flatten_semantics(node) and node.attrs.get("axis", 1) % node.inputs[0].rank > 1:
        return "fixed"
    return "any"


@lower("Softmax", "LogSoftmax", layout=_softmax_layout, emits=("SOFTMAX", "LOG_SOFTMAX", "TRANSPOSE", "RESHAPE"))
def softmax(ctx, node):
    # TFLite normalizes the last (physical) axis: move the axis there when it is not
    x, y = node.inputs[0], node.outputs[0]
    if _flatten_semantics(node):
        axis = node.attrs.get("axis", 1) % x.rank
        rows = int(np.prod(x.shape[:axis]))
        flat = [rows, int(np.prod(x.shape)) // rows]
        t1 = ctx.temp(flat, np.float32, f"{node.name}_2d")
        t2 = ctx.temp(flat, np.float32, f"{node.name}_2d_out")
        ctx.op("RESHAPE", [ctx.tensor(x), ctx.i32(flat)], [t1])
        ctx.op("SOFTMAX" if node.op_type == "Softmax" else "LOG_SOFTMAX", [t1], [t2],
               ctx.opts("SoftmaxOptions", beta=1.0) if node.op_type == "Softmax" else ctx.opts("LogSoftmaxOptions"))
        ctx.op("RESHAPE", [t2, ctx.i32(ctx.shape(ctx.tensor(y)))], [ctx.tensor(y)])
        return
    axis = ctx.axis(x, _softmax_axis(ctx, node))
    r = x.rank
    name = "SOFTMAX" if node.op_type == "Softmax" else "LOG_SOFTMAX"
    opts = ctx.opts("SoftmaxOptions", beta=1.0) if name == "SOFTMAX" else ctx.opts("LogSoftmaxOptions")
    xi, yi = ctx.tensor(x), ctx.tensor(y)
    if axis == r - 1:
        ctx.op(name, [xi], [yi], opts)
        return
    perm = [i for i in range(r) if i != axis] + [axis]
    inv = list(np.argsort(perm))
    shp = ctx.shape(xi)
    t1 = ctx.temp([shp[p] for p in perm], np.float32, f"{node.name}_t")
    t2 = ctx.temp([shp[p] for p in perm], np.float32, f"{node.name}_s")
    ctx.op("TRANSPOSE", [xi, ctx.i32(perm)], [t1], ctx.opts("TransposeOptions"))
    ctx.op(name, [t1], [t2], opts)
    ctx.op("TRANSPOSE", [t2, ctx.i32(inv)], [yi], ctx.opts("TransposeOptions"))


@lower("ArgMax", "ArgMin", layout="fixed", emits=("ARG_MAX", "ARG_MIN", "RESHAPE", "REVERSE_V2", "SUB"))
def argmax(ctx, node):
    # select_last_index=1: the first extremum of x reversed along axis, counted from the end: (n - 1) - i
    x, y = node.inputs[0], node.outputs[0]
    axis = node.attrs.get("axis", 0) % x.rank
    name = "ARG_MAX" if node.op_type == "ArgMax" else "ARG_MIN"
    last = bool(node.attrs.get("select_last_index", 0))
    yi = ctx.tensor(y)
    out_shape = [d for i, d in enumerate(x.shape) if i != axis]
    keep = node.attrs.get("keepdims", 1)
    xi = ctx.tensor(x)
    if last:
        rev = ctx.temp(list(x.shape), x.dtype, f"{node.name}_reversed")
        ctx.op("REVERSE_V2", [xi, ctx.i32([axis])], [rev])
        xi = rev
    dst = ctx.temp(out_shape, y.dtype, f"{node.name}_arg") if keep or last else yi
    ctx.op(name, [xi, ctx.i32([axis])], [dst],
           ctx.opts("ArgMaxOptions" if name == "ARG_MAX" else "ArgMinOptions",
                    outputType=__import__("edgeport.convert.tflite.flatbuffer", fromlist=["tensor_type"]
                                          ).tensor_type(y.dtype)))
    if last:
        fwd = ctx.temp(out_shape, y.dtype, f"{node.name}_fromlast") if keep else yi
        ctx.op("SUB", [ctx.const(np.array(x.shape[axis] - 1, y.dtype)), dst], [fwd], ctx.opts("SubOptions"))
        dst = fwd
    if keep:
        ctx.op("RESHAPE", [dst, ctx.i32(ctx.shape(yi))], [yi])
