"""Einsum with one or two operands: letters only in one operand (and not the output) are SUMmed away first;
one operand is then a TRANSPOSE; two operands become TRANSPOSE to [batch, free, contracted] / [batch,
contracted, free] + RESHAPE + BATCH_MATMUL + RESHAPE + TRANSPOSE to the output order. Repeated letters in
one operand (diagonals), broadcast batch letters and three or more operands are refused with a reason."""

from __future__ import annotations

import numpy as np

from edgeport.convert.tflite.registry import lower

__all__ = ["einsum", "parse_equation"]


def parse_equation(eq: str, ranks: list[int]) -> tuple[list[str], str]:
    """Operand letter strings and the output string, ellipses expanded to upper-case letters."""
    eq = eq.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ranks):
        raise ValueError("operand count")
    n_ell = max([r - len(t.replace("...", "")) for t, r in zip(terms, ranks) if "..." in t] or [0])
    ell = "".join(chr(ord("A") + i) for i in range(n_ell))
    out_terms = []
    for t, r in zip(terms, ranks):
        k = r - len(t.replace("...", ""))
        out_terms.append(t.replace("...", ell[n_ell - k:]) if "..." in t else t)
    if arrow:
        out = rhs.replace("...", ell)
    else:  # implicit: ellipsis letters, then letters seen once, alphabetically
        counts = {}
        for t in out_terms:
            for c in t:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c.islower()))
    return out_terms, out


def _check_einsum(node):
    ins = [v for v in node.inputs if v is not None]
    if len(ins) not in (1, 2):
        return f"operands:{len(ins)}"
    if any(v.shape is None for v in ins):
        return "dynamic_shape"
    if node.outputs[0].dtype is None or node.outputs[0].dtype not in (np.float32, np.float64):
        return f"dtype:{node.outputs[0].dtype}"
    try:
        terms, out = parse_equation(node.attrs["equation"], [len(v.shape) for v in ins])
    except ValueError:
        return "equation"
    for t in terms + [out]:
        if len(set(t)) != len(t):
            return "equation:repeated_letter"
    if len(terms) == 2:
        dims = {}
        for t, v in zip(terms, ins):
            for c, d in zip(t, v.shape):
                if dims.setdefault(c, d) != d:
                    return "equation:broadcast_dims"
    return None


def _transpose(ctx, node, idx, shape, perm, tag):
    if list(perm) == list(range(len(perm))):
        return idx, list(shape)
    new = [shape[p] for p in perm]
    t = ctx.temp(new, np.float32, f"{node.name}_{tag}")
    ctx.op("TRANSPOSE", [idx, ctx.i32(perm)], [t], ctx.opts("TransposeOptions"))
    return t, new


def _reshape(ctx, node, idx, shape, tag, out=None):
    t = out if out is not None else ctx.temp(shape, np.float32, f"{node.name}_{tag}")
    ctx.op("RESHAPE", [idx, ctx.i32(shape)], [t])
    return t


def _sum_away(ctx, node, idx, term, shape, keep, tag):
    """SUM over the letters of ``term`` not in ``keep``."""
    axes = [i for i, c in enumerate(term) if c not in keep]
    if not axes:
        return idx, term, list(shape)
    new_term = "".join(c for c in term if c in keep)
    new_shape = [d for c, d in zip(term, shape) if c in keep]
    t = ctx.temp(new_shape, np.float32, f"{node.name}_{tag}_sum")
    ctx.op("SUM", [idx, ctx.i32(axes)], [t], ctx.opts("ReducerOptions", keepDims=False))
    return t, new_term, new_shape


@lower("Einsum", layout="fixed", emits=("SUM", "TRANSPOSE", "RESHAPE", "BATCH_MATMUL"), check=_check_einsum)
def einsum(ctx, node):
    ins = [v for v in node.inputs if v is not None]
    y = node.outputs[0]
    yi = ctx.tensor(y)
    terms, out = parse_equation(node.attrs["equation"], [len(v.shape) for v in ins])
    if len(ins) == 1:
        idx, term, shape = _sum_away(ctx, node, ctx.tensor(ins[0]), terms[0], ins[0].shape, out, "a")
        perm = [term.index(c) for c in out]
        idx, shape = _transpose(ctx, node, idx, shape, perm, "t")
        _reshape(ctx, node, idx, list(y.shape), "out", out=yi)
        return
    (ta, tb), (va, vb) = terms, ins
    a, ta, sa = _sum_away(ctx, node, ctx.tensor(va), ta, va.shape, out + tb, "a")
    b, tb, sb = _sum_away(ctx, node, ctx.tensor(vb), tb, vb.shape, out + ta, "b")
    dims = dict(zip(ta, sa)) | dict(zip(tb, sb))
    batch = [c for c in out if c in ta and c in tb]
    lfree = [c for c in ta if c not in tb]
    rfree = [c for c in tb if c not in ta]
    contr = [c for c in ta if c in tb and c not in out]
    size = lambda cs: int(np.prod([dims[c] for c in cs], dtype=np.int64))  # noqa: E731
    a, _ = _transpose(ctx, node, a, sa, [ta.index(c) for c in batch + lfree + contr], "at")
    b, _ = _transpose(ctx, node, b, sb, [tb.index(c) for c in batch + contr + rfree], "bt")
    a = _reshape(ctx, node, a, [size(batch), size(lfree), size(contr)], "a3")
    b = _reshape(ctx, node, b, [size(batch), size(contr), size(rfree)], "b3")
    mm = ctx.temp([size(batch), size(lfree), size(rfree)], np.float32, f"{node.name}_mm")
    ctx.op("BATCH_MATMUL", [a, b], [mm], ctx.opts("BatchMatMulOptions", adjX=False, adjY=False))
    order = batch + lfree + rfree
    full = [dims[c] for c in order]
    perm = [order.index(c) for c in out]
    if perm == list(range(len(perm))):
        _reshape(ctx, node, mm, list(y.shape), "out", out=yi)
        return
    m = _reshape(ctx, node, mm, full, "full")
    t, _ = _transpose(ctx, node, m, full, perm, "ot")
    _reshape(ctx, node, t, list(y.shape), "out", out=yi)
