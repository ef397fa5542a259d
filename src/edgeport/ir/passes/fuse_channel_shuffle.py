"""Fuse the channel shuffle ``Reshape([N,g,C/g,H,W]) -> Transpose(0,2,1,3,4) -> Reshape([N,C,H,W])``
into one ``ChannelShuffle`` node (domain ``edgeport``, attribute ``groups``).

The fused node is layout-agnostic: it is a permutation of the channel axis and
lowers to one GATHER along it (in NHWC, the last axis), so a ShuffleNet needs
no TRANSPOSE at all, neither for the shuffle nor for the layout around it.
"""

from __future__ import annotations

from edgeport.ir._core import Graph
from edgeport.ir.passes._manager import PassResult, register_pass

__all__ = ["fuse_channel_shuffle"]


@register_pass("fuse_channel_shuffle")
def fuse_channel_shuffle(graph: Graph) -> PassResult:
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
    if fused:
        graph.sort()
    return PassResult(graph, bool(fused), {"fused": fused} if fused else {})
