"""Constant folding: evaluate nodes whose inputs are all constant, and Shape/Size of static values.

Common ops have numpy implementations here (fast, no per-element loops);
anything else falls back to ``onnx.reference`` on a one-node model. Folding
that would blow a small constant up into a large one (Expand, Tile,
ConstantOfShape over 16 MiB) is skipped so the file does not grow.
"""

from __future__ import annotations

import numpy as np

from edgeport.ir._core import Graph, Node
from edgeport.ir.passes._manager import PassResult, register_pass

__all__ = ["fold_constants", "evaluate_node", "NUMPY_OPS"]

_MAX_GROWTH_BYTES = 16 << 20
_NEVER_FOLD = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial",
               "Bernoulli", "If", "Loop", "Scan"}


def _axes(node: Node, ins, pos: int = 1):
    if len(ins) > pos and ins[pos] is not None:
        return [int(a) for a in np.asarray(ins[pos]).reshape(-1)]
    a = node.attrs.get("axes")
    return None if a is None else [int(x) for x in a]


def _unsqueeze(n, ins):
    x, axes = ins[0], _axes(n, ins)
    r = x.ndim + len(axes)
    for a in sorted(a % r for a in axes):
        x = np.expand_dims(x, a)
    return x


def _squeeze(n, ins):
    axes = _axes(n, ins)
    return np.squeeze(ins[0], axis=None if axes is None else tuple(axes))


def _gather(n, ins):
    return np.take(ins[0], ins[1].astype(np.int64), axis=n.attrs.get("axis", 0))


def _slice(n, ins):
    x = ins[0]
    if len(ins) > 1:
        starts, ends = ins[1], ins[2]
        axes = ins[3] if len(ins) > 3 and ins[3] is not None else range(len(starts))
        steps = ins[4] if len(ins) > 4 and ins[4] is not None else [1] * len(starts)
    else:
        starts, ends = n.attrs["starts"], n.attrs["ends"]
        axes = n.attrs.get("axes", range(len(starts)))
        steps = [1] * len(starts)
    sl = [slice(None)] * x.ndim
    for s, e, a, st in zip(starts, ends, axes, steps):
        sl[int(a)] = slice(int(s), int(e), int(st))
    return x[tuple(sl)]


def _reshape(n, ins):
    shape = [int(d) for d in ins[1]]
    if not n.attrs.get("allowzero", 0):
        shape = [ins[0].shape[i] if d == 0 else d for i, d in enumerate(shape)]
    return ins[0].reshape(shape)


def _cast(n, ins):
    import onnx

    return ins[0].astype(onnx.helper.tensor_dtype_to_np_dtype(n.attrs["to"]))


def _concat(n, ins):
    return np.concatenate([i for i in ins if i is not None], axis=n.attrs["axis"])


def _cos(n, ins):
    value = n.attrs.get("value")
    fill = np.zeros(1, np.float32) if value is None else np.asarray(value).reshape(-1)
    return np.full([int(d) for d in ins[0]], fill[0], dtype=fill.dtype)


def _range(n, ins):
    return np.arange(ins[0].item(), ins[1].item(), ins[2].item()).astype(ins[0].dtype)


def _transpose(n, ins):
    return np.transpose(ins[0], n.attrs.get("perm"))


def _expand(n, ins):
    return ins[0] * np.ones([int(d) for d in ins[1]], dtype=ins[0].dtype)


def _where(n, ins):
    return np.where(ins[0], ins[1], ins[2])


def _binary(f):
    return lambda n, ins: np.asarray(f(ins[0], ins[1])).astype(np.result_type(ins[0], ins[1]), copy=False)


def _div(n, ins):
    a, b = ins
    if np.issubdtype(a.dtype, np.integer):
        return np.trunc(a / b).astype(a.dtype)
    return (a / b).astype(a.dtype)


NUMPY_OPS = {
    "Unsqueeze": _unsqueeze, "Squeeze": _squeeze, "Gather": _gather, "Slice": _slice, "Reshape": _reshape,
    "Cast": _cast, "Concat": _concat, "ConstantOfShape": _cos, "Range": _range, "Transpose": _transpose,
    "Expand": _expand, "Where": _where,
    "Add": _binary(np.add), "Sub": _binary(np.subtract), "Mul": _binary(np.multiply), "Div": _div,
    "Equal": lambda n, i: np.equal(i[0], i[1]), "Less": lambda n, i: np.less(i[0], i[1]),
    "Greater": lambda n, i: np.greater(i[0], i[1]), "Not": lambda n, i: np.logical_not(i[0]),
    "Neg": lambda n, i: -i[0], "Sqrt": lambda n, i: np.sqrt(i[0]), "Abs": lambda n, i: np.abs(i[0]),
    "Floor": lambda n, i: np.floor(i[0]), "Ceil": lambda n, i: np.ceil(i[0]),
    "Min": lambda n, i: np.minimum.reduce(i), "Max": lambda n, i: np.maximum.reduce(i),
    "Identity": lambda n, i: i[0],
    "Flatten": lambda n, i: i[0].reshape(int(np.prod(i[0].shape[:n.attrs.get("axis", 1)])), -1),
}


def evaluate_node(node: Node, ins: list[np.ndarray | None]) -> list[np.ndarray]:
    """Evaluate one node on numpy inputs (numpy table first, then onnx.reference)."""
    fn = NUMPY_OPS.get(node.op_type) if node.domain in ("", "ai.onnx") else None
    if fn is not None:
        return [np.asarray(fn(node, ins))]
    import onnx
    from onnx import helper, numpy_helper
    from onnx.reference import ReferenceEvaluator

    names = [f"i{k}" if x is not None else "" for k, x in enumerate(ins)]
    attrs = {k: v for k, v in node.attrs.items() if not k.startswith("_")}
    onode = helper.make_node(node.op_type, names, [f"o{k}" for k in range(len(node.outputs))],
                             domain=node.domain or None, **attrs)
    inits = [numpy_helper.from_array(np.asarray(x), nm) for nm, x in zip(names, ins) if x is not None]
    outs = [helper.make_tensor_value_info(f"o{k}", 0, None) for k in range(len(node.outputs))]
    model = helper.make_model(helper.make_graph([onode], "fold", [], outs, inits),
                              opset_imports=[helper.make_opsetid(node.domain or "", node.graph.opset or 17)])
    return [np.asarray(x) for x in ReferenceEvaluator(model).run(None, {})]


def _try_fold(graph: Graph, node: Node) -> bool:
    if node.op_type in _NEVER_FOLD or node.attrs.get("_has_subgraph"):
        return False
    x = node.inputs[0] if node.inputs else None
    if node.op_type in ("Shape", "Size") and x is not None and x.is_static:
        shape = np.array(x.shape, np.int64)
        if node.op_type == "Size":
            data = np.array(int(np.prod(shape)), np.int64)
        else:
            r = len(shape)
            s, e = node.attrs.get("start", 0), node.attrs.get("end", r)
            data = shape[max(-r, min(r, s)) if s >= 0 else max(0, r + s): e if e >= 0 else r + e]
        results = [data]
    else:
        if not all(v is None or v.is_const for v in node.inputs) or not node.inputs and node.op_type != "Constant":
            return False
        if node.op_type in ("Expand", "Tile", "ConstantOfShape"):
            out = node.outputs[0]
            in_bytes = sum(v.const.nbytes for v in node.inputs if v is not None)
            if out.is_static and out.dtype is not None:
                nbytes = int(np.prod(out.shape)) * out.dtype.itemsize
                if nbytes > _MAX_GROWTH_BYTES and nbytes > 4 * in_bytes and node.op_type != "ConstantOfShape":
                    return False
        try:
            results = evaluate_node(node, [None if v is None else v.const for v in node.inputs])
        except Exception:
            return False
    outs = node.outputs
    graph.remove_node(node)
    for v, data in zip(outs, results):
        if v.dtype is not None and data.dtype != v.dtype and v.dtype != np.dtype(object):
            data = data.astype(v.dtype)
        v.set_const(data)
    return True


@register_pass("fold_constants")
def fold_constants(graph: Graph) -> PassResult:
    """Replace every foldable node by the constants it computes (one sweep in topological order)."""
    folded: dict[str, int] = {}
    for node in list(graph.nodes):
        if node.graph is graph and _try_fold(graph, node):
            folded[node.op_type] = folded.get(node.op_type, 0) + 1
    return PassResult(graph, bool(folded), {"folded": folded} if folded else {})
