"""Fuse Relu / Relu6 (Clip 0..6) / Clip(-1, 1) into the op before it (TFLite fused_activation_function).

Targets: Conv, Gemm, MatMul with constant 2-D weights (they become
FULLY_CONNECTED), Add, Sub, Mul, Div, and Sum of two or more inputs (a chain of ADDs). The producer gets the attribute
``_fused_activation`` ("RELU", "RELU6", "RELU_N1_TO_1") and takes over the
activation's output value (so its name survives).
"""

from __future__ import annotations

import numpy as np

from edgeport.ir._core import Graph, Node
from edgeport.ir.passes._manager import PassResult, register_pass

__all__ = ["fuse_activations", "activation_kind"]

_TARGETS = {"Conv", "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Sum"}


def _clip_bounds(node: Node):
    lo, hi = node.attrs.get("min"), node.attrs.get("max")
    if len(node.inputs) > 1:
        a, b = node.input(1), node.input(2)
        if (a is not None and not a.is_const) or (b is not None and not b.is_const):
            return None
        lo = None if a is None else float(a.const.reshape(-1)[0])
        hi = None if b is None else float(b.const.reshape(-1)[0])
    return lo, hi


def activation_kind(node: Node) -> str | None:
    """The TFLite fused activation name this node computes, or None."""
    if node.op_type == "Relu":
        return "RELU"
    if node.op_type == "Clip":
        b = _clip_bounds(node)
        if b is None:
            return None
        return {(0.0, 6.0): "RELU6", (-1.0, 1.0): "RELU_N1_TO_1"}.get(b) or ("RELU" if b == (0.0, None) else None)
    return None


def _fusable(prev: Node, graph: Graph) -> bool:
    if prev.op_type not in _TARGETS or prev.attrs.get("_fused_activation") or prev.domain not in ("", "ai.onnx"):
        return False
    out = prev.outputs[0]
    if out.dtype is not None and out.dtype != np.float32:
        return False
    if prev.op_type == "Sum" and sum(v is not None for v in prev.inputs) < 2:
        return False  # a one-input Sum is a copy (RESHAPE), which has no fused activation
    if prev.op_type == "MatMul":
        w = prev.input(1)
        return w is not None and w.is_const and w.const.ndim == 2
    return True


@register_pass("fuse_activations")
def fuse_activations(graph: Graph) -> PassResult:
    fused: dict[str, int] = {}
    for act in list(graph.nodes):
        kind = activation_kind(act)
        if kind is None or act.graph is not graph:
            continue
        x = act.inputs[0]
        prev = x.producer
        if prev is None or len(x.users) != 1 or x in graph.outputs or not _fusable(prev, graph):
            continue
        out = act.outputs[0]
        graph.remove_node(act)
        prev.outputs[0] = out
        out.producer = prev
        del graph.values[x.name]
        prev.attrs["_fused_activation"] = kind
        key = f"{prev.op_type}+{kind}"
        fused[key] = fused.get(key, 0) + 1
    return PassResult(graph, bool(fused), {"fused": fused} if fused else {})
