"""Fold inference BatchNormalization into the Conv / ConvTranspose / Gemm / MatMul before it.

``y = (x - mean) / sqrt(var + eps) * gamma + beta`` is ``x * s + t``; when x is
the only use of a Conv (or Gemm / MatMul with constant weights) output, s
scales the weights per output channel and t becomes the bias. A BatchNorm
that cannot be folded becomes Mul + Add with per-channel constants, which the
layout pass treats as element-wise.
"""

from __future__ import annotations

import numpy as np

from edgeport.ir._core import Graph, Node
from edgeport.ir.passes._manager import PassResult, register_pass

__all__ = ["fold_batchnorm"]


def _scale_shift(bn: Node):
    gamma, beta, mean, var = (bn.inputs[i].const.astype(np.float64) for i in range(1, 5))
    s = gamma / np.sqrt(var + bn.attrs.get("epsilon", 1e-5))
    return s, beta - mean * s


def _fold_into(graph: Graph, prev: Node, bn: Node, s, t) -> bool:
    op = prev.op_type
    w = prev.inputs[1]
    if w is None or not w.is_const or len(w.users) != 1:
        return False
    wd = w.const.astype(np.float64)
    if op == "Conv":
        wd = wd * s.reshape((-1,) + (1,) * (wd.ndim - 1))
        n_out = wd.shape[0]
    elif op == "ConvTranspose":
        g = prev.attrs.get("group", 1)
        cin, cpg = wd.shape[0], wd.shape[1]
        wd = (wd.reshape(g, cin // g, cpg, *wd.shape[2:]) * s.reshape(g, 1, cpg, *(1,) * (wd.ndim - 2))
              ).reshape(wd.shape)
        n_out = g * cpg
    elif op == "Gemm" and not prev.attrs.get("transA", 0) and prev.attrs.get("alpha", 1.0) == 1.0 \
            and prev.attrs.get("beta", 1.0) == 1.0:
        wd = wd * (s[:, None] if prev.attrs.get("transB", 0) else s[None, :])
        n_out = s.size
    elif op == "MatMul" and wd.ndim == 2:
        wd = wd * s[None, :]
        n_out = s.size
    else:
        return False
    if n_out != s.size:
        return False
    b = prev.input(2)
    if b is not None and (not b.is_const or len(b.users) != 1 or (op == "Gemm" and b.const.size != s.size)):
        return False
    bias = (np.zeros(s.size) if b is None else b.const.astype(np.float64).reshape(-1)) * s + t
    dtype = w.const.dtype
    w.set_const(wd.astype(dtype))
    if op == "MatMul":
        out = prev.outputs[0]
        add = graph.add_node("Add", [out, graph.const(bias.astype(dtype), f"{bn.name}_bias")],
                             [bn.outputs[0]], name=f"{bn.name}_bias_add")
        bn.detach()
        graph.nodes.remove(bn)
        add.outputs[0].producer = add
        return True
    if b is None:
        bv = graph.const(bias.astype(dtype), f"{prev.name}_bias")
        while len(prev._inputs) < 3:
            prev._inputs.append(None)
        prev.set_input(2, bv)
    else:
        b.set_const(bias.astype(dtype))
    graph.bypass(bn)
    return True


@register_pass("fold_batchnorm")
def fold_batchnorm(graph: Graph) -> PassResult:
    folded = decomposed = 0
    for bn in [n for n in graph.nodes if n.op_type == "BatchNormalization"]:
        if not all(bn.input(i) is not None and bn.input(i).is_const for i in range(1, 5)):
            continue
        if bn.attrs.get("training_mode", 0) or any(o.users for o in bn.outputs[1:]):
            continue
        s, t = _scale_shift(bn)
        x = bn.inputs[0]
        prev = x.producer
        if prev is not None and len(x.users) == 1 and x not in graph.outputs and _fold_into(graph, prev, bn, s, t):
            folded += 1
            continue
        rank = x.rank or 2
        shape = (-1,) + (1,) * (rank - 2)
        dtype = x.dtype or np.float32
        mul = graph.add_node("Mul", [x, graph.const(s.reshape(shape).astype(dtype), f"{bn.name}_scale")], 1,
                             name=f"{bn.name}_mul", before=bn)
        mul.outputs[0].shape, mul.outputs[0].dtype = x.shape, x.dtype
        out = bn.outputs[0]
        bn.detach()
        graph.nodes.remove(bn)
        add = graph.add_node("Add", [mul.outputs[0], graph.const(t.reshape(shape).astype(dtype), f"{bn.name}_shift")],
                             [out], name=f"{bn.name}_add", before=None)
        decomposed += 1
    if folded or decomposed:
        graph.sort()
    changes = {k: v for k, v in (("folded", folded), ("decomposed", decomposed)) if v}
    return PassResult(graph, bool(changes), changes)
