"""Attention (opset 23+) decomposed: BATCH_MATMUL, SOFTMAX, masks as additive biases.

Covered: 3-D ([B, L, H*D], with q_num_heads / kv_num_heads) and 4-D ([B, H, L, D]) inputs, scale,
is_causal (bottom-right aligned after a past cache), boolean or additive attn_mask (shorter than the
key length: padded as masked), sliding windows, past_key / past_value with present_* outputs,
grouped-query heads (K/V heads repeated), softcap, and the qk_matmul_output modes 0-3. A query row
whose mask hides every key gives zeros, as in the ONNX reference. Not covered (refused): nonpad_kv_seqlen.
"""

from __future__ import annotations

import numpy as np

from edgeport.convert.tflite.registry import lower

__all__ = ["attention"]

_NEG_INF = np.float32(-np.inf)


def _used(node, i) -> bool:
    return len(node.outputs) > i and bool(node.outputs[i].users or node.outputs[i] in node.graph.outputs)


def _check_attention(node):
    if node.input(6) is not None:
        return "input:nonpad_kv_seqlen"
    q, k = node.inputs[0], node.inputs[1]
    if q.rank not in (3, 4):
        return f"rank:{q.rank}"
    if q.rank == 3 and ("q_num_heads" not in node.attrs or "kv_num_heads" not in node.attrs):
        return "attr:num_heads_missing"
    hq = node.attrs.get("q_num_heads") if q.rank == 3 else q.shape[1]
    hk = node.attrs.get("kv_num_heads") if q.rank == 3 else k.shape[1]
    if hq % hk:
        return "attr:heads_not_divisible"
    return None


class _Emit:
    """Small helper: new temporaries named after the node."""

    def __init__(self, ctx, node):
        self.ctx, self.node, self.k = ctx, node, 0

    def tmp(self, shape, dtype=np.float32):
        self.k += 1
        return self.ctx.temp(list(shape), dtype, f"{self.node.name}_a{self.k}")

    def op(self, name, ins, shape, opts=None, dtype=np.float32, out=None):
        out = self.tmp(shape, dtype) if out is None else out
        self.ctx.op(name, ins, [out], self.ctx.opts(opts[0], **opts[1]) if opts else None)
        return out


def _to_heads(e, idx, shape, heads):
    """[B, L, H*D] -> [B, H, L, D]."""
    b, l, hd = shape
    r = e.op("RESHAPE", [idx, e.ctx.i32([b, l, heads, hd // heads])], [b, l, heads, hd // heads])
    return e.op("TRANSPOSE", [r, e.ctx.i32([0, 2, 1, 3])], [b, heads, l, hd // heads], ("TransposeOptions", {}))


@lower("Attention", layout="fixed", check=_check_attention,
       emits=("BATCH_MATMUL", "SOFTMAX", "MUL", "ADD", "TANH", "RESHAPE", "TRANSPOSE", "CONCATENATION", "GATHER",
              "SELECT_V2", "PADV2", "REDUCE_MAX", "EQUAL"))
def attention(ctx, node):
    # Attention(Q, K, V, attn_mask?, past_key?, past_value?) -> Y, present_key?, present_value?, qk_matmul_output?
    e = _Emit(ctx, node)
    a = node.attrs
    q, k, v = node.inputs[:3]
    mask, past_k, past_v = node.input(3), node.input(4), node.input(5)
    qi, ki, vi = ctx.tensor(q), ctx.tensor(k), ctx.tensor(v)
    three_d = q.rank == 3
    if three_d:
        hq, hk = a["q_num_heads"], a["kv_num_heads"]
        qi, ki, vi = (_to_heads(e, i, t.shape, h) for i, t, h in ((qi, q, hq), (ki, k, hk), (vi, v, hk)))
    qs, ks, vs = ctx.shape(qi), ctx.shape(ki), ctx.shape(vi)
    bsz, hq, lq, dq = qs
    hk = ks[1]
    # the KV cache: present = concat(past, new) on the sequence axis
    for pos, past, cur in ((1, past_k, "k"), (2, past_v, "v")):
        idx, shp = (ki, ks) if cur == "k" else (vi, vs)
        if past is not None:
            full = list(shp)
            full[2] += past.shape[2]
            dst = ctx.tensor(node.outputs[pos]) if _used(node, pos) else e.tmp(full)
            ctx.op("CONCATENATION", [ctx.tensor(past), idx], [dst], ctx.opts("ConcatenationOptions", axis=2))
            idx, shp = dst, tuple(full)
        elif _used(node, pos):
            ctx.op("RESHAPE", [idx, ctx.i32(shp)], [ctx.tensor(node.outputs[pos])])
        if cur == "k":
            ki, ks = idx, shp
        else:
            vi, vs = idx, shp
    lk = ks[2]
    past_len = past_k.shape[2] if past_k is not None else 0
    # scale: sqrt(scale) on both Q and K, as the ONNX function body does
    scale = a.get("scale")
    s = np.float32(np.sqrt(np.float32(1.0 / np.sqrt(dq)) if scale is None else np.float32(scale)))
    qi = e.op("MUL", [qi, ctx.const(s)], qs, ("MulOptions", {}))
    ki = e.op("MUL", [ki, ctx.const(s)], ks, ("MulOptions", {}))
    if hq != hk:  # grouped-query attention: each KV head serves hq / hk query heads, interleaved h0 h0 h1 h1
        rep = ctx.const(np.repeat(np.arange(hk), hq // hk).astype(np.int32), f"{node.name}_kv_heads")
        ki = e.op("GATHER", [ki, rep], [bsz, hq, lk, ks[3]], ("GatherOptions", {"axis": 1}))
        vi = e.op("GATHER", [vi, rep], [bsz, hq, lk, vs[3]], ("GatherOptions", {"axis": 1}))
    sshape = [bsz, hq, lq, lk]
    scores = e.op("BATCH_MATMUL", [qi, ki], sshape, ("BatchMatMulOptions", {"adjY": True}))
    softcap = float(a.get("softcap", 0.0) or 0.0)
    if softcap > 0:
        t = e.op("MUL", [scores, ctx.const(np.float32(1.0 / softcap))], sshape, ("MulOptions", {}))
        t = e.op("TANH", [t], sshape)
        scores = e.op("MUL", [t, ctx.const(np.float32(softcap))], sshape, ("MulOptions", {}))
    mode = int(a.get("qk_matmul_output_mode", 0))
    if _used(node, 3) and mode in (0, 1):
        ctx.op("RESHAPE", [scores, ctx.i32(sshape)], [ctx.tensor(node.outputs[3])])
    # the additive bias: attn_mask (bool -> 0 / -inf) plus the causal frontier j <= i + past_len
    bias, bshape, guard = None, None, False
    if mask is not None:
        mi, mshape = ctx.tensor(mask), list(mask.shape)
        is_bool = mask.dtype == np.bool_
        if mshape[-1] < lk:
            pads = [[0, 0]] * (len(mshape) - 1) + [[0, lk - mshape[-1]]]
            fill = np.array(False) if is_bool else _NEG_INF
            mshape[-1] = lk
            mi = e.op("PADV2", [mi, ctx.i32(pads), ctx.const(fill)], mshape, ("PadV2Options", {}),
                      dtype=np.bool_ if is_bool else np.float32)
        if is_bool:
            mi = e.op("SELECT_V2", [mi, ctx.const(np.float32(0)), ctx.const(_NEG_INF)], mshape)
        bias, bshape, guard = mi, mshape, True
    # constant frontiers: causal (j <= i + past_len) and the sliding window (opset 24), both offset by the cache
    diff = np.arange(lq)[:, None] + past_len - np.arange(lk)[None, :]
    allowed = np.ones((lq, lk), bool)
    if a.get("is_causal", 0):
        allowed &= diff >= 0
    left, right = a.get("left_window_size", -1), a.get("right_window_size", -1)
    if left >= 0:
        allowed &= diff <= left
    if right >= 0:
        allowed &= -diff <= right
    if not allowed.all():
        causal = ctx.const(np.where(allowed, np.float32(0), _NEG_INF), f"{node.name}_causal")
        if bias is None:
            bias, bshape = causal, [lq, lk]
            guard = not allowed.any(axis=1).all()
        else:
            bshape = list(np.broadcast_shapes(tuple(bshape), (lq, lk)))
            bias = e.op("ADD", [bias, causal], bshape, ("AddOptions", {}))
    if bias is not None:
        scores = e.op("ADD", [scores, bias], sshape, ("AddOptions", {}))
    if _used(node, 3) and mode == 2:
        ctx.op("RESHAPE", [scores, ctx.i32(sshape)], [ctx.tensor(node.outputs[3])])
    probs = e.op("SOFTMAX", [scores], sshape, ("SoftmaxOptions", {"beta": 1.0}))
    if guard:  # rows the mask hides entirely: softmax gives nan there, the reference gives 0
        rshape = bshape[:-1] + [1]
        rmax = e.op("REDUCE_MAX", [bias, ctx.i32([len(bshape) - 1])], rshape, ("ReducerOptions", {"keepDims": True}))
        hidden = e.op("EQUAL", [rmax, ctx.const(_NEG_INF)], rshape, dtype=np.bool_)
        probs = e.op("SELECT_V2", [hidden, ctx.const(np.float32(0)), probs], sshape)
    if _used(node, 3) and mode == 3:
        ctx.op("RESHAPE", [probs, ctx.i32(sshape)], [ctx.tensor(node.outputs[3])])
    yi = ctx.tensor(node.outputs[0])
    if not three_d:
        ctx.op("BATCH_MATMUL", [probs, vi], [yi], ctx.opts("BatchMatMulOptions"))
        return
    y4 = e.op("BATCH_MATMUL", [probs, vi], [bsz, hq, lq, vs[3]], ("BatchMatMulOptions", {}))
    yt = e.op("TRANSPOSE", [y4, ctx.i32([0, 2, 1, 3])], [bsz, lq, hq, vs[3]], ("TransposeOptions", {}))
    ctx.op("RESHAPE", [yt, ctx.i32(ctx.shape(yi))], [yi])
