"""Fuse the exact-GELU pattern that exporters emit into one ``Gelu`` node (TFLite GELU).

Pattern / check / rewrite::

    0.5 * x * (1 + Erf(x / sqrt(2)))      # Div(x, 1.414..) or Mul(x, 0.7071..)
    Mul(Mul(x, Add(Erf(..), 1)), 0.5)  or  Mul(Mul(x, 0.5), Add(Erf(..), 1))

Every intermediate must have a single user (nothing else reads it).
"""

from __future__ import annotations

import math

from edgeport.ir._core import Graph, Node, Value
from edgeport.ir.passes._manager import PassResult, register_pass

__all__ = ["fuse_gelu"]


def _scalar(v: Value | None) -> float | None:
    if v is None or not v.is_const or v.const.size != 1:
        return None
    return float(v.const.reshape(-1)[0])


def _split_const(node: Node, op: str):
    """(other input, constant) when node is ``op`` with one scalar-constant input."""
    if node is None or node.op_type != op or len(node.inputs) != 2:
        return None, None
    a, b = node.inputs
    if _scalar(b) is not None:
        return a, _scalar(b)
    if op != "Div" and _scalar(a) is not None:
        return b, _scalar(a)
    return None, None


def _single_user(v: Value, graph: Graph) -> Node | None:
    return v.users[0] if len(v.users) == 1 and v not in graph.outputs else None


def _match(erf: Node, graph: Graph):
    scaled = erf.inputs[0]
    p = scaled.producer
    x, c = _split_const(p, "Div")
    if x is None or abs(c - math.sqrt(2)) > 1e-3:
        x, c = _split_const(p, "Mul")
        if x is None or abs(c - 1 / math.sqrt(2)) > 1e-3:
            return None
    if _single_user(scaled, graph) is not erf:
        return None
    add = _single_user(erf.outputs[0], graph)
    other, one = _split_const(add, "Add")
    if other is None or abs(one - 1.0) > 1e-6:
        return None
    m1 = _single_user(add.outputs[0], graph)
    if m1 is None or m1.op_type != "Mul":
        return None
    partner = m1.inputs[0] if m1.inputs[1] is add.outputs[0] else m1.inputs[1]
    nodes = [p, erf, add, m1]
    if partner is x:  # 0.5 applied after
        m2 = _single_user(m1.outputs[0], graph)
        y, half = _split_const(m2, "Mul")
        if y is not m1.outputs[0] or abs(half - 0.5) > 1e-6:
            return None
        return x, nodes + [m2], m2.outputs[0]
    hp = partner.producer
    y, half = _split_const(hp, "Mul")
    if y is x and abs(half - 0.5) < 1e-6 and _single_user(partner, graph) is m1:
        return x, nodes + [hp], m1.outputs[0]
    return None


@register_pass("fuse_gelu")
def fuse_gelu(graph: Graph) -> PassResult:
    fused = 0
    for erf in [n for n in graph.nodes if n.op_type == "Erf"]:
        if erf.graph is not graph:
            continue
        m = _match(erf, graph)
        if m is None:
            continue
        x, nodes, out = m
        graph.remove_nodes(nodes)
        graph.add_node("Gelu", [x], [out], {"approximate": "none"}, name=f"{erf.name}_gelu")
        fused += 1
    if fused:
        graph.sort()
    return PassResult(graph, bool(fused), {"fused": fused} if fused else {})
