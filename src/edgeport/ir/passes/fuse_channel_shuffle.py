"""Fuse the channel shuffle ``Reshape([N,g,C/g,H,W]) -> Transpose(0,2,1,3,4) -> Reshape([N,C,H,W])``
into one ``ChannelShuffle`` node (domain ``edgeport``, attribute ``groups``), then fold that
permutation of the channel axis into the Conv that produces it where it can.

Folding: a Conv's output channels are permuted by permuting its filter rows and bias (a fused
activation is per channel, so it commutes). For ``group == 1`` that is free. A grouped Conv
(ShuffleNet's 1x1 group convs) is made dense first (block-diagonal filter), which costs ``group``
times its MACs but removes the shuffle entirely: ShuffleNet then has no TRANSPOSE, and no op that
breaks an XNNPACK partition (a GATHER would, and doubles its latency on CPU). ``fold_grouped=False``
keeps grouped Convs and leaves the shuffle to its lowering (RESHAPE, 4-D TRANSPOSE, RESHAPE).
"""

from __future__ import annotations

import numpy as np

from edgeport.ir._core import Graph, Node
from edgeport.ir.passes._manager import PassResult, register_pass

__all__ = ["fuse_channel_shuffle", "shuffle_index"]


def shuffle_index(channels: int, groups: int) -> np.ndarray:
    """Input channel of each output channel: output ``j = a*groups + b`` reads ``b*(C/groups) + a``."""
    j = np.arange(channels)
    return (j % groups) * (channels // groups) + j // groups


def _fuse(graph: Graph) -> int:
    fused = 0
    for t in [n for n in graph.nodes if n.op_type == "Transpose"]:
        if t.graph is not graph or list(t.attrs.get("perm", [])) != [0, 2, 1, 3, 4]:
            continue
        r1 = t.inputs[0].producer
        if r1 is None or r1.op_type != "Reshape" or len(t.inputs[0].users) != 1 or t.inputs[0] in graph.outputs:
            continue
        x, mid = r1.inputs[0], t.inputs[0]
        if x.rank != 4 or mid.shape is None or t.outputs[0] in graph.outputs or len(t.outputs[0].users) != 1:
            continue
        r2 = t.outputs[0].users[0]
        if r2.op_type != "Reshape" or r2.outputs[0].shape != x.shape:
            continue
        n, c, h, w = x.shape
        g = mid.shape[1]
        if tuple(mid.shape) != (n, g, c // g, h, w) or g * (c // g) != c:
            continue
        out = r2.outputs[0]
        graph.remove_nodes([r1, t, r2])
        graph.add_node("ChannelShuffle", [x], [out], {"groups": int(g)}, name=f"{t.name}_shuffle", domain="edgeport")
        fused += 1
    return fused


def _foldable_conv(node: Node, graph: Graph, fold_grouped: bool) -> Node | None:
    x = node.inputs[0]
    conv = x.producer
    if conv is None or conv.op_type != "Conv" or conv.domain not in ("", "ai.onnx") or len(x.users) != 1 \
            or x in graph.outputs or len(conv.outputs) != 1:
        return None
    w, b = conv.input(1), conv.input(2)
    if w is None or not w.is_const or w.const.ndim != 4 or (b is not None and not b.is_const):
        return None
    g = conv.attrs.get("group", 1)
    if g != 1 and (not fold_grouped or w.const.shape[1] == 1):  # never densify a depthwise conv
        return None
    return conv


def _fold(node: Node, conv: Node, graph: Graph) -> None:
    w = conv.inputs[1].const
    o, cpg, kh, kw = w.shape
    g = conv.attrs.get("group", 1)
    if g != 1:
        dense = np.zeros((o, cpg * g, kh, kw), w.dtype)
        og = o // g
        for k in range(g):
            dense[k * og:(k + 1) * og, k * cpg:(k + 1) * cpg] = w[k * og:(k + 1) * og]
        w = dense
        conv.attrs["group"] = 1
    idx = shuffle_index(o, node.attrs["groups"])
    conv.set_input(1, graph.const(w[idx], f"{conv.inputs[1].name}_shuffled"))
    b = conv.input(2)
    if b is not None:
        conv.set_input(2, graph.const(b.const.reshape(-1)[idx], f"{b.name}_shuffled"))
    graph.bypass(node)


@register_pass("fuse_channel_shuffle")
def fuse_channel_shuffle(graph: Graph, fold_grouped: bool = True) -> PassResult:
    fused = _fuse(graph)
    folded = 0
    for node in [n for n in graph.nodes if n.op_type == "ChannelShuffle" and n.domain == "edgeport"]:
        conv = _foldable_conv(node, graph, fold_grouped)
        if conv is not None and node.inputs[0].shape is not None and conv.inputs[1].const.shape[0] == \
                node.inputs[0].shape[1]:
            _fold(node, conv, graph)
            folded += 1
    if fused:
        graph.sort()
    changes = {k: v for k, v in (("fused", fused), ("folded_into_conv", folded)) if v}
    return PassResult(graph, bool(fused or folded), changes)
