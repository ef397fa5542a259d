"""Remove no-op nodes (Identity, Dropout in inference, Cast to the same type) and dead nodes."""

from __future__ import annotations

from edgeport.ir._core import Graph
from edgeport.ir.passes._manager import PassResult, register_pass

__all__ = ["remove_identity", "remove_dead"]


def _is_noop(node) -> bool:
    if node.op_type == "Identity":
        return True
    if node.op_type == "Dropout":  # inference: output = input; the mask output must be unused
        return len(node.outputs) < 2 or not node.outputs[1].users
    if node.op_type == "Cast" and node.inputs[0].dtype is not None:
        import onnx

        to = onnx.helper.tensor_dtype_to_np_dtype(node.attrs.get("to", 0)) if node.attrs.get("to") else None
        return to == node.inputs[0].dtype
    return False


@register_pass("remove_identity")
def remove_identity(graph: Graph) -> PassResult:
    """Bypass Identity / Dropout / same-type Cast nodes, keeping graph output names."""
    removed: dict[str, int] = {}
    for node in list(graph.nodes):
        if node.domain in ("", "ai.onnx") and _is_noop(node) and node.inputs and node.inputs[0] is not None:
            src, dst = node.inputs[0], node.outputs[0]
            if src in graph.inputs and dst in graph.outputs:
                continue  # input passed straight through: keep the node so both names exist
            graph.bypass(node)
            removed[node.op_type] = removed.get(node.op_type, 0) + 1
    return PassResult(graph, bool(removed), {"removed": removed} if removed else {})


@register_pass("remove_dead")
def remove_dead(graph: Graph) -> PassResult:
    """Drop nodes none of whose outputs reach a graph output, and unused constants."""
    live: set[int] = set()
    stack = [v.producer for v in graph.outputs if v.producer is not None]
    while stack:
        n = stack.pop()
        if id(n) in live:
            continue
        live.add(id(n))
        stack.extend(v.producer for v in n.inputs if v is not None and v.producer is not None)
    dead = [n for n in graph.nodes if id(n) not in live]
    graph.remove_nodes(dead)
    keep = {v.name for v in graph.inputs} | {v.name for v in graph.outputs}
    for n in graph.nodes:
        keep.update(v.name for v in n.inputs if v is not None)
        keep.update(v.name for v in n.outputs)
    unused = [k for k in graph.values if k not in keep]
    for k in unused:
        del graph.values[k]
    return PassResult(graph, bool(dead), {"removed_nodes": len(dead)} if dead else {})
