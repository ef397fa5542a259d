"""LSTM, GRU and RNN, unrolled over the (static) sequence length: FULLY_CONNECTED, LOGISTIC, TANH, MUL, ADD.

Forward, reverse and bidirectional; layout 0 ([L, B, I]) and 1 ([B, L, I]); initial states, peepholes
(LSTM), linear_before_reset (GRU); weights constant or graph inputs. Refused: non-default activations,
clip, input_forget, and a sequence_lens that is not a constant equal to the sequence length.
"""

from __future__ import annotations

import numpy as np

from edgeport.convert.tflite.registry import lower

__all__ = ["recurrent"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
_DEFAULT_ACTS = {"LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"], "RNN": ["Tanh"]}


def _check(node):
    a = node.attrs
    acts = a.get("activations")
    if acts is not None:
        acts = [s.decode() if isinstance(s, bytes) else s for s in acts]
        default = _DEFAULT_ACTS[node.op_type]
        if acts not in (default, default * 2):
            return "attr:activations"
    if a.get("clip") is not None:
        return "attr:clip"
    if a.get("input_forget", 0):
        return "attr:input_forget"
    seq = node.input(4)
    if seq is not None:
        x = node.inputs[0]
        length = x.shape[1] if a.get("layout", 0) else x.shape[0]
        if not seq.is_const or not np.all(seq.const == length):
            return "input:sequence_lens"
    return None


class _Emit:
    def __init__(self, ctx, node):
        self.ctx, self.node, self.k = ctx, node, 0

    def __call__(self, name, ins, shape, opts=None, **fields):
        self.k += 1
        out = self.ctx.temp(list(shape), np.float32, f"{self.node.name}_r{self.k}")
        self.ctx.op(name, ins, [out], self.ctx.opts(opts, **fields) if opts else None)
        return out

    def part(self, v, d, lo, hi):
        """v[d, lo:hi] as a tensor ([hi-lo, cols] or [hi-lo]), constant-folded when v is a constant."""
        ctx = self.ctx
        if v.is_const:
            return ctx.const(np.ascontiguousarray(v.const[d, lo:hi].astype(np.float32)))
        shp = list(v.shape)
        begin, end = [d, lo] + [0] * (len(shp) - 2), [d + 1, hi] + shp[2:]
        s = self("STRIDED_SLICE", [ctx.tensor(v), ctx.i32(begin), ctx.i32(end), ctx.i32([1] * len(shp))],
                 [1, hi - lo] + shp[2:], "StridedSliceOptions")
        return self("RESHAPE", [s, ctx.i32([hi - lo] + shp[2:])], [hi - lo] + shp[2:])

    def fc(self, x, w, b, shape):
        return self("FULLY_CONNECTED", [x, w, -1 if b is None else b], shape, "FullyConnectedOptions")


@lower("LSTM", "GRU", "RNN", layout="fixed", check=_check,
       emits=("FULLY_CONNECTED", "LOGISTIC", "TANH", "MUL", "ADD", "SUB", "SPLIT", "RESHAPE", "TRANSPOSE",
              "STRIDED_SLICE", "CONCATENATION"))
def recurrent(ctx, node):
    # LSTM/GRU/RNN(X, W[D,G*H,I], R[D,G*H,H], B[D,2*G*H]?, sequence_lens?, initial_h?, (initial_c?, P?) (LSTM))
    e = _Emit(ctx, node)
    op, a = node.op_type, node.attrs
    g, hsz = _GATES[op], a["hidden_size"]
    x, w, r, bias = node.inputs[0], node.inputs[1], node.inputs[2], node.input(3)
    layout = a.get("layout", 0)
    xi = ctx.tensor(x)
    if layout:
        bsz, length, isz = x.shape
        xi = e("TRANSPOSE", [xi, ctx.i32([1, 0, 2])], [length, bsz, isz], "TransposeOptions")
    else:
        length, bsz, isz = x.shape
    pieces = _split(ctx, e, xi, 0, length, [1, bsz, isz]) if length > 1 else [xi]
    steps = [e("RESHAPE", [s, ctx.i32([bsz, isz])], [bsz, isz]) for s in pieces]
    direction = a.get("direction", "forward")
    direction = direction.decode() if isinstance(direction, bytes) else direction
    dirs = {"forward": [0], "reverse": [1], "bidirectional": [0, 1]}[direction]
    h0, c0, peep = node.input(5), node.input(6) if op == "LSTM" else None, node.input(7) if op == "LSTM" else None
    ys, hs, cs = [], [], []
    bh = [bsz, hsz]
    for d, rev in enumerate(dirs):
        wd, rd = e.part(w, d, 0, g * hsz), e.part(r, d, 0, g * hsz)
        wb = rb = None
        if bias is not None:
            wb, rb = e.part(bias, d, 0, g * hsz), e.part(bias, d, g * hsz, 2 * g * hsz)
        b_all = None  # LSTM / RNN: both biases go on the input FULLY_CONNECTED (summed once)
        if bias is not None and op != "GRU":
            b_all = (ctx.const((bias.const[d, :g * hsz] + bias.const[d, g * hsz:]).astype(np.float32))
                     if bias.is_const else e("ADD", [wb, rb], [g * hsz], "AddOptions"))
        h = _initial(ctx, e, h0, d, layout, bh)
        c = _initial(ctx, e, c0, d, layout, bh) if op == "LSTM" else None
        outs = [None] * length
        for t in (range(length - 1, -1, -1) if rev else range(length)):
            if op == "GRU":
                h = _gru_step(ctx, e, steps[t], h, wd, rd, wb, rb, r, d, bias, bh, a.get("linear_before_reset", 0))
            else:
                gates = e("ADD", [e.fc(steps[t], wd, b_all, [bsz, g * hsz]), e.fc(h, rd, None, [bsz, g * hsz])],
                          [bsz, g * hsz], "AddOptions")
                if op == "RNN":
                    h = e("TANH", [gates], bh)
                else:
                    h, c = _lstm_step(ctx, e, gates, c, peep, d, bh)
            outs[t] = h
        ys.append(outs)
        hs.append(h)
        cs.append(c)
    _outputs(ctx, e, node, ys, hs, cs, layout, length, bsz, hsz)


def _split(ctx, e, idx, axis, n, piece):
    parts = [ctx.temp(piece, np.float32, f"{e.node.name}_split{i}") for i in range(n)]
    ctx.op("SPLIT", [ctx.i32(axis), idx], parts, ctx.opts("SplitOptions", numSplits=n))
    return parts


def _initial(ctx, e, v, d, layout, bh):
    if v is None:
        return ctx.const(np.zeros(bh, np.float32))
    if v.is_const:
        arr = v.const.astype(np.float32)
        return ctx.const(np.ascontiguousarray(arr[:, d] if layout else arr[d]))
    shp = list(v.shape)
    begin, end = ([0, d, 0], [shp[0], d + 1, shp[2]]) if layout else ([d, 0, 0], [d + 1, shp[1], shp[2]])
    s = e("STRIDED_SLICE", [ctx.tensor(v), ctx.i32(begin), ctx.i32(end), ctx.i32([1, 1, 1])],
          [shp[0], 1, shp[2]] if layout else [1, shp[1], shp[2]], "StridedSliceOptions")
    return e("RESHAPE", [s, ctx.i32(bh)], bh)


def _lstm_step(ctx, e, gates, c, peep, d, bh):
    hsz = bh[1]
    i, o, f, cc = _split(ctx, e, gates, 1, 4, bh)
    if peep is not None:
        pi, po, pf = (e.part(peep, d, k * hsz, (k + 1) * hsz) for k in range(3))
        i = e("ADD", [i, e("MUL", [pi, c], bh, "MulOptions")], bh, "AddOptions")
        f = e("ADD", [f, e("MUL", [pf, c], bh, "MulOptions")], bh, "AddOptions")
    i, f, cc = e("LOGISTIC", [i], bh), e("LOGISTIC", [f], bh), e("TANH", [cc], bh)
    c = e("ADD", [e("MUL", [f, c], bh, "MulOptions"), e("MUL", [i, cc], bh, "MulOptions")], bh, "AddOptions")
    if peep is not None:
        o = e("ADD", [o, e("MUL", [po, c], bh, "MulOptions")], bh, "AddOptions")
    h = e("MUL", [e("LOGISTIC", [o], bh), e("TANH", [c], bh)], bh, "MulOptions")
    return h, c


def _gru_step(ctx, e, xt, h, wd, rd, wb, rb, r, d, bias, bh, linear_before_reset):
    bsz, hsz = bh
    xw = e.fc(xt, wd, wb, [bsz, 3 * hsz])
    xz, xr, xh = _split(ctx, e, xw, 1, 3, bh)
    rzr = e.part(r, d, 0, 2 * hsz)
    rh = e.part(r, d, 2 * hsz, 3 * hsz)
    rb_zr = None if bias is None else e.part(bias, d, 3 * hsz, 5 * hsz)
    rb_h = None if bias is None else e.part(bias, d, 5 * hsz, 6 * hsz)
    hz, hr = _split(ctx, e, e.fc(h, rzr, rb_zr, [bsz, 2 * hsz]), 1, 2, bh)
    z = e("LOGISTIC", [e("ADD", [xz, hz], bh, "AddOptions")], bh)
    rr = e("LOGISTIC", [e("ADD", [xr, hr], bh, "AddOptions")], bh)
    if linear_before_reset:
        hh = e("MUL", [rr, e.fc(h, rh, rb_h, bh)], bh, "MulOptions")
    else:
        hh = e.fc(e("MUL", [rr, h], bh, "MulOptions"), rh, rb_h, bh)
    n = e("TANH", [e("ADD", [xh, hh], bh, "AddOptions")], bh)
    # (1 - z) * n + z * h = n + z * (h - n)
    return e("ADD", [n, e("MUL", [z, e("SUB", [h, n], bh, "SubOptions")], bh, "MulOptions")], bh, "AddOptions")


def _outputs(ctx, e, node, ys, hs, cs, layout, length, bsz, hsz):
    used = lambda i: len(node.outputs) > i and (node.outputs[i].users or node.outputs[i] in node.graph.outputs)  # noqa
    nd = len(ys)
    if used(0):
        per_dir = []
        for outs in ys:
            rs = [e("RESHAPE", [h, ctx.i32([1, 1, bsz, hsz])], [1, 1, bsz, hsz]) for h in outs]
            per_dir.append(rs[0] if length == 1 else
                           e("CONCATENATION", rs, [length, 1, bsz, hsz], "ConcatenationOptions", axis=0))
        y = per_dir[0] if nd == 1 else e("CONCATENATION", per_dir, [length, nd, bsz, hsz], "ConcatenationOptions",
                                         axis=1)
        yi = ctx.tensor(node.outputs[0])
        if layout:
            ctx.op("TRANSPOSE", [y, ctx.i32([2, 0, 1, 3])], [yi], ctx.opts("TransposeOptions"))
        else:
            ctx.op("RESHAPE", [y, ctx.i32([length, nd, bsz, hsz])], [yi])
    for k, states in ((1, hs), (2, cs)):
        if not used(k):
            continue
        shp = [bsz, 1, hsz] if layout else [1, bsz, hsz]
        rs = [e("RESHAPE", [s, ctx.i32(shp)], shp) for s in states]
        out = ctx.tensor(node.outputs[k])
        if nd == 1:
            ctx.op("RESHAPE", [rs[0], ctx.i32(ctx.shape(out))], [out])
        else:
            ctx.op("CONCATENATION", rs, [out], ctx.opts("ConcatenationOptions", axis=1 if layout else 0))
