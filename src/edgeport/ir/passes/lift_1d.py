"""Lift 1-D convolutions and pools to 2-D: ``[N,C,L]`` becomes ``[N,C,1,L]`` around the op.

Conv / ConvTranspose / MaxPool / AveragePool / GlobalAveragePool / GlobalMaxPool on a
rank-3 input get a Reshape before (and weights ``[O,I,k] -> [O,I,1,k]``), 2-D
attributes (kernel ``[1,k]``, pads ``[0,b,0,e]``...) and a Reshape back after, so the
2-D lowerings (and the layout pass) handle them.
"""

from __future__ import annotations

import numpy as np

from edgeport.ir._core import Graph
from edgeport.ir.passes._manager import PassResult, register_pass

__all__ = ["lift_1d"]

_OPS = {"Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool"}


def _lift_attrs(attrs: dict) -> dict:
    out = dict(attrs)
    for k in ("kernel_shape", "strides", "dilations", "output_padding"):
        if k in out:
            out[k] = [1 if k != "output_padding" else 0] + list(out[k])
    if "pads" in out:
        b, e = out["pads"]
        out["pads"] = [0, b, 0, e]
    if "output_shape" in out:
        out["output_shape"] = [1] + list(out["output_shape"])
    return out


@register_pass("lift_1d")
def lift_1d(graph: Graph) -> PassResult:
    lifted = 0
    for node in list(graph.nodes):
        x = node.inputs[0] if node.inputs else None
        if node.op_type not in _OPS or x is None or x.rank != 3 or not x.is_static:
            continue
        w = node.input(1)
        if node.op_type in ("Conv", "ConvTranspose") and (w is None or w.rank != 3 or not w.is_static
                                                          or (node.op_type == "ConvTranspose" and not w.is_const)):
            continue
        n, c, length = x.shape
        x4 = graph.add_node("Reshape", [x, graph.const(np.array([n, c, 1, length], np.int64), f"{node.name}_shape4")],
                            [graph.add_value(f"{x.name}_2d", (n, c, 1, length), x.dtype)], name=f"{node.name}_to2d",
                            before=node).outputs[0]
        node.set_input(0, x4)
        if w is not None and node.op_type in ("Conv", "ConvTranspose"):
            if w.is_const:
                node.set_input(1, graph.const(w.const[:, :, None, :], f"{w.name}_2d"))
            else:  # weights computed at run time: reshape them too ([O,I,k] -> [O,I,1,k])
                o, i, k = w.shape
                w4 = graph.add_node("Reshape", [w, graph.const(np.array([o, i, 1, k], np.int64), f"{node.name}_wshape4")],
                                    [graph.add_value(f"{w.name}_2d", (o, i, 1, k), w.dtype)], name=f"{node.name}_w2d",
                                    before=node).outputs[0]
                node.set_input(1, w4)
        node.attrs = _lift_attrs(node.attrs)
        y = node.outputs[0]
        y4 = graph.add_value(f"{y.name}_2d", (y.shape[0], y.shape[1], 1, y.shape[2]), y.dtype)
        node.outputs[0] = y4
        y4.producer = node
        graph.add_node("Reshape", [y4, graph.const(np.array(y.shape, np.int64), f"{node.name}_shape3")], [y],
                       name=f"{node.name}_to1d")
        lifted += 1
    if lifted:
        graph.sort()
    return PassResult(graph, bool(lifted), {"lifted": lifted} if lifted else {})
