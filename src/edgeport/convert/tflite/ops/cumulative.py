"""CumProd unrolled along a short static axis: SPLIT_V into slices, a chain of MULs, CONCATENATION.
(exp(cumsum(log x)) would be wrong for zeros and negatives, so it is not used.)"""

from __future__ import annotations

import numpy as np

from edgeport.convert.tflite.registry import lower

__all__ = ["cumprod", "MAX_CUMPROD_LEN"]

MAX_CUMPROD_LEN = 64  # MULs emitted per output slice chain; longer axes are refused


def _check_cumprod(node):
    x = node.inputs[0]
    if not node.inputs[1].is_const:
        return "nonconst_axis"
    name = None if x.dtype is None else np.dtype(x.dtype).name
    if name not in ("float32", "float64", "int32", "int64"):  # float64 runs as float32, like MUL
        return f"dtype:{name}"
    if x.shape is None or x.shape[int(node.inputs[1].const.reshape(-1)[0]) % x.rank] > MAX_CUMPROD_LEN:
        return f"axis_longer_than_{MAX_CUMPROD_LEN}"
    return None


@lower("CumProd", layout="fixed", emits=("SPLIT_V", "MUL", "CONCATENATION"), check=_check_cumprod)
def cumprod(ctx, node):
    x, y = node.inputs[0], node.outputs[0]
    axis = int(node.inputs[1].const.reshape(-1)[0]) % x.rank
    n = x.shape[axis]
    yi = ctx.tensor(y)
    sl = list(x.shape)
    sl[axis] = 1
    if n == 1 and not node.attrs.get("exclusive", 0):
        ctx.op("RESHAPE", [ctx.tensor(x), ctx.i32(list(x.shape))], [yi])
        return
    parts = [ctx.temp(sl, x.dtype, f"{node.name}_in{k}") for k in range(n)]
    ctx.op("SPLIT_V", [ctx.tensor(x), ctx.i32([1] * n), ctx.i32(axis)], parts, ctx.opts("SplitVOptions", numSplits=n))
    order = list(range(n))[::-1] if node.attrs.get("reverse", 0) else list(range(n))
    out = {}
    acc = None
    for j, k in enumerate(order):
        if node.attrs.get("exclusive", 0):
            out[k] = acc if acc is not None else ctx.const(np.ones(sl, x.dtype), f"{node.name}_ones")
        if acc is None:
            acc = parts[k]
        elif j < n - 1 or not node.attrs.get("exclusive", 0):
            nxt = ctx.temp(sl, x.dtype, f"{node.name}_p{k}")
            ctx.op("MUL", [acc, parts[k]], [nxt], ctx.opts("MulOptions"))
            acc = nxt
        if not node.attrs.get("exclusive", 0):
            out[k] = acc
    ctx.op("CONCATENATION", [out[k] for k in range(n)], [yi], ctx.opts("ConcatenationOptions", axis=axis))
