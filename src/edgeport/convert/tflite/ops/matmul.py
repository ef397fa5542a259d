"""Gemm and MatMul -> FULLY_CONNECTED (constant 2-D weights) or BATCH_MATMUL."""

from __future__ import annotations

import numpy as np

from edgeport.convert.tflite.registry import lower

__all__ = ["gemm", "matmul"]


def _check_gemm(node):
    c = node.input(2)
    if c is not None and not c.is_const:
        return "nonconst_C"
    return None


def _fc(ctx, node, x_idx, w_oi, bias, out_idx, keep_dims=False):
    b = ctx.const(bias.astype(np.float32), f"{node.name}_bias") if bias is not None else -1
    ctx.op("FULLY_CONNECTED", [x_idx, ctx.const(w_oi, f"{node.name}_weights", dtype=np.float32), b],
           [out_idx], ctx.opts("FullyConnectedOptions", fusedActivationFunction=ctx.activation(node),
                               keepNumDims=keep_dims))


@lower("Gemm", layout="fixed", emits=("FULLY_CONNECTED", "BATCH_MATMUL", "MUL", "ADD"), check=_check_gemm)
def gemm(ctx, node):
    # Gemm(A[M,K], B[K,N] or [N,K] with transB, C?) alpha, beta: alpha*A'B' + beta*C
    a, b, c = node.inputs[0], node.inputs[1], node.input(2)
    alpha, beta = float(node.attrs.get("alpha", 1.0)), float(node.attrs.get("beta", 1.0))
    y = node.outputs[0]
    yi = ctx.tensor(y)
    n_out = y.shape[1]
    cc = None if c is None else c.const.astype(np.float32) * beta
    ai = ctx.tensor(a)
    if node.attrs.get("transA", 0):
        at = ctx.temp([a.shape[1], a.shape[0]], np.float32, f"{node.name}_At")
        ctx.op("TRANSPOSE", [ai, ctx.i32([1, 0])], [at], ctx.opts("TransposeOptions"))
        ai = at
    if b.is_const:
        w = b.const.astype(np.float32, copy=False)
        w = w * alpha if alpha != 1 else w
        w = w if node.attrs.get("transB", 0) else w.T
        if cc is None or cc.size == n_out or cc.size == 1:
            bias = None if cc is None else np.broadcast_to(cc.reshape(-1), (n_out,)).copy()
            _fc(ctx, node, ai, w, bias, yi)
            return
        tmp = ctx.temp(ctx.shape(yi), np.float32, f"{node.name}_ab")
        _fc(ctx, node, ai, w, None, tmp)
        ctx.op("ADD", [tmp, ctx.const(cc)], [yi], ctx.opts("AddOptions"))
        return
    tmp = ctx.temp(ctx.shape(yi), np.float32, f"{node.name}_ab") if (alpha != 1 or cc is not None) else yi
    ctx.op("BATCH_MATMUL", [ai, ctx.tensor(b)], [tmp],
           ctx.opts("BatchMatMulOptions", adjY=bool(node.attrs.get("transB", 0))))
    cur = tmp
    if alpha != 1:
        nxt = ctx.temp(ctx.shape(yi), np.float32, f"{node.name}_alpha") if cc is not None else yi
        ctx.op("MUL", [cur, ctx.const(np.float32(alpha))], [nxt], ctx.opts("MulOptions"))
        cur = nxt
    if cc is not None:
        ctx.op("ADD", [cur, ctx.const(cc)], [yi], ctx.opts("AddOptions", fusedActivationFunction=ctx.activation(node)))


@lower("MatMul", layout="fixed", emits=("FULLY_CONNECTED", "BATCH_MATMUL"))
def matmul(ctx, node):
    # MatMul(A[..., M, K], B[..., K, N]) numpy semantics
    a, b = node.inputs
    y = node.outputs[0]
    yi = ctx.tensor(y)
    if b.is_const and b.const.ndim == 2 and a.rank >= 2:
        _fc(ctx, node, ctx.tensor(a), b.const.T, None, yi, keep_dims=True)
        return
    ai, bi = ctx.tensor(a), ctx.tensor(b)
    if a.rank == 1 or b.rank == 1:  # numpy rules: promote to 2-D, multiply, drop the added dim
        if a.rank == 1:
            a2 = ctx.temp([1, a.shape[0]], a.dtype, f"{node.name}_a2d")
            ctx.op("RESHAPE", [ai, ctx.i32([1, a.shape[0]])], [a2])
            ai = a2
        if b.rank == 1:
            b2 = ctx.temp([b.shape[0], 1], b.dtype, f"{node.name}_b2d")
            ctx.op("RESHAPE", [bi, ctx.i32([b.shape[0], 1])], [b2])
            bi = b2
        sa, sb = ctx.shape(ai), ctx.shape(bi)
        batch = list(np.broadcast_shapes(tuple(sa[:-2]), tuple(sb[:-2])))
        full = ctx.temp(batch + [sa[-2], sb[-1]], y.dtype, f"{node.name}_full")
        ctx.op("BATCH_MATMUL", [ai, bi], [full], ctx.opts("BatchMatMulOptions"))
        ctx.op("RESHAPE", [full, ctx.i32(ctx.shape(yi))], [yi])
        return
    ctx.op("BATCH_MATMUL", [ai, bi], [yi], ctx.opts("BatchMatMulOptions"))
