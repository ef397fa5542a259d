"""The global layout pass: decide once, for every rank-3/4 value, channels-first or channels-last
(NCHW or NHWC; [N,C,L] or [N,L,C]), with the fewest Transposes.

Each operator says how it relates to layout (``classify(node)``, given by the
converter's op table so the IR does not import it):

- ``"nhwc"``: works channels-last only (Conv, pools, Resize, LRN...): input 0
  wants NHWC, its outputs are NHWC.
- ``"any"``: layout-agnostic (element-wise, activations, Concat, Split, Slice,
  Pad, Reduce*, Softmax..., and Reshapes that keep N and C, e.g. [N,C,H,W] -> [N,C,H*W]): all
  rank-3/4 inputs and outputs share one layout;
  the lowering remaps axes and permutes broadcast constants.
- ``"free"``: Transpose: input and output layouts are independent (the layout
  is folded into its permutation).
- ``"any_in"``: any input layout, output as logical (a Flatten into a Gemm /
  MatMul whose weights get permuted here).
- ``"fixed"``: everything else (Reshape, MatMul...): logical layout in and out.

Graph inputs and outputs of rank 4 are pinned to ``io_layout``. The choice is
an s-t min-cut (a binary labelling with unit cost per transposed edge),
solved by a small Dinic max-flow: the optimum of this model, so never worse
than a Transpose at every boundary. Then ``LayoutTranspose`` nodes (domain
``edgeport``) are inserted where a consumer needs the other layout, one per
value and layout. A value whose C, H, W hold at most one non-unit dim changes layout
for free (a RESHAPE, e.g. [N,C,1,1] or [N,1,H,W]), so such edges cost nothing.
"""

from __future__ import annotations

from collections import deque
from typing import Callable

import numpy as np

from edgeport.ir._core import Graph, Node, Value, channels_last_perm
from edgeport.ir.passes._manager import PassResult, register_pass

__all__ = ["assign_layout", "min_cut", "cheap_relayout", "LAYOUT_TRANSPOSE"]

LAYOUT_TRANSPOSE = "LayoutTranspose"
_INF = 1 << 40
_FC_OPS = ("Gemm", "MatMul")


def min_cut(n: int, edges: list[tuple[int, int, int]], s: int, t: int) -> list[bool]:
    """Dinic max-flow on ``n`` nodes; returns, per node, True when it is on the source side of a min cut."""
    import sys

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 4 * n + 1000))
    graph: list[list[int]] = [[] for _ in range(n)]
    to: list[int] = []
    cap: list[int] = []
    for u, v, c in edges:
        graph[u].append(len(to)); to.append(v); cap.append(c)
        graph[v].append(len(to)); to.append(u); cap.append(0)
    while True:
        level = [-1] * n
        level[s] = 0
        q = deque([s])
        while q:
            u = q.popleft()
            for e in graph[u]:
                if cap[e] > 0 and level[to[e]] < 0:
                    level[to[e]] = level[u] + 1
                    q.append(to[e])
        if level[t] < 0:
            break
        it = [0] * n

        def dfs(u: int, f: int) -> int:
            if u == t:
                return f
            while it[u] < len(graph[u]):
                e = graph[u][it[u]]
                v = to[e]
                if cap[e] > 0 and level[v] == level[u] + 1:
                    d = dfs(v, min(f, cap[e]))
                    if d:
                        cap[e] -= d
                        cap[e ^ 1] += d
                        return d
                it[u] += 1
            return 0

        while dfs(s, _INF):
            pass
    seen = [False] * n
    seen[s] = True
    q = deque([s])
    while q:
        u = q.popleft()
        for e in graph[u]:
            if cap[e] > 0 and not seen[to[e]]:
                seen[to[e]] = True
                q.append(to[e])
    return seen


def _is_var(v: Value | None) -> bool:
    return v is not None and not v.is_const and v.rank in (3, 4) and v.shape is not None


def cheap_relayout(v: Value) -> bool:
    """True when NCHW <-> NHWC keeps the order of the non-unit dims: a free reshape, not a real transpose."""
    if v.shape is None or len(v.shape) < 3:
        return False
    r = len(v.shape)
    return [i for i in range(r) if v.shape[i] != 1] == [i for i in channels_last_perm(r) if v.shape[i] != 1]


def _spatial_reshape(node: Node) -> bool:
    """A Reshape/Squeeze/Unsqueeze/Flatten that keeps N and C and only regroups the spatial dims
    (e.g. [N,C,H,W] -> [N,C,H*W], [N,C,L] -> [N,C,1,L]): a plain reshape in channels-last too."""
    if node.op_type not in ("Reshape", "Squeeze", "Unsqueeze", "Flatten") or not node.inputs:
        return False
    x, y = node.inputs[0], node.outputs[0]
    if not (_is_var(x) and _is_var(y)):
        return False
    return tuple(x.shape[:2]) == tuple(y.shape[:2])


def _flatten_to_fc(node: Node) -> bool:
    """A Flatten/Reshape [N,C,H,W] -> [N,K] consumed only as input 0 of Gemm/MatMul with own constant weights."""
    if node.op_type not in ("Flatten", "Reshape") or not _is_var(node.inputs[0]) or node.inputs[0].rank != 4:
        return False
    x, y = node.inputs[0], node.outputs[0]
    if y.rank != 2 or y.shape[0] != x.shape[0] or not y.users:
        return False
    if node.op_type == "Flatten" and node.attrs.get("axis", 1) != 1:
        return False
    for u in y.users:
        if u.op_type not in _FC_OPS or u.inputs[0] is not y or u.inputs.count(y) != 1:
            return False
        w = u.input(1)
        if w is None or not w.is_const or w.const.ndim != 2 or len(w.users) != 1:
            return False
        if u.op_type == "Gemm" and u.attrs.get("transA", 0):
            return False
    return True


def _permute_fc_weights(node: Node) -> None:
    _, c, h, w = node.inputs[0].shape
    for u in node.outputs[0].users:
        wv = u.inputs[1]
        b = wv.const
        if u.op_type == "Gemm" and u.attrs.get("transB", 0):
            b = b.reshape(-1, c, h, w).transpose(0, 2, 3, 1).reshape(b.shape)
        else:
            b = b.reshape(c, h, w, -1).transpose(1, 2, 0, 3).reshape(b.shape)
        wv.set_const(np.ascontiguousarray(b))


def _kinds(graph: Graph, classify: Callable[[Node], str]) -> dict[int, str]:
    kinds = {}
    for n in graph.nodes:
        if _flatten_to_fc(n):
            kinds[id(n)] = "any_in"
            continue
        if _spatial_reshape(n):  # input and output ranks differ on purpose
            kinds[id(n)] = "any"
            continue
        k = classify(n)
        if k == "any":
            out = n.outputs[0]
            ok = _is_var(out) and all(o.rank == out.rank for o in n.outputs)
            for v in n.inputs:
                if v is not None and not v.is_const and v.rank != out.rank and int(np.prod(v.shape or (2,))) != 1:
                    ok = False
            k = "any" if ok else "fixed"
        kinds[id(n)] = k
    return kinds


@register_pass("assign_layout")
def assign_layout(graph: Graph, classify: Callable[[Node], str], io_layout: str | None = "NHWC",
                  keep_source: frozenset[str] | set[str] = frozenset()) -> PassResult:
    """Give each rank-3/4 value a layout and insert the LayoutTransposes that the choice needs.

    ``keep_source`` names graph inputs/outputs that keep their source layout whatever ``io_layout``
    says (e.g. an input that is channels-last already).
    """
    io_default = 1 if io_layout == "NHWC" else 0
    io_of = lambda v: 0 if v.name in keep_source or v.rank != 4 else io_default  # noqa: E731
    kinds = _kinds(graph, classify)
    idx: dict[int, int] = {}
    vals: list[Value] = []

    def var(v: Value) -> int:
        if id(v) not in idx:
            idx[id(v)] = len(vals) + 2
            vals.append(v)
        return idx[id(v)]

    S, T = 0, 1
    edges: list[tuple[int, int, int]] = []

    def cost_if_nhwc(v: Value, c: int) -> None:
        edges.append((S, var(v), c))

    def cost_if_nchw(v: Value, c: int) -> None:
        edges.append((var(v), T, c))

    def want(v: Value, layout: int, c: int) -> None:
        if c < _INF and cheap_relayout(v):
            var(v)
            return
        (cost_if_nchw if layout else cost_if_nhwc)(v, c)

    def tie(a: Value, b: Value, c: int) -> None:
        if c < _INF and cheap_relayout(a):
            var(a), var(b)
            return
        edges.append((var(a), var(b), c))
        edges.append((var(b), var(a), c))

    for v in graph.inputs:
        if _is_var(v):
            want(v, io_of(v), _INF)
    for v in graph.outputs:
        if _is_var(v):
            want(v, io_of(v), 1)
    for n in graph.nodes:
        k = kinds[id(n)]
        outs = [o for o in n.outputs if _is_var(o)]
        ins = [(i, v) for i, v in enumerate(n.inputs) if _is_var(v)]
        if k == "nhwc":
            for i, v in ins:
                want(v, 1 if i == 0 else 0, 1)
            for o in outs:
                want(o, 1, _INF)
        elif k == "any":
            for _, v in ins:
                tie(v, n.outputs[0], 1)
            for o in outs[1:]:
                tie(o, n.outputs[0], _INF)
        elif k == "fixed":
            for _, v in ins:
                want(v, 0, 1)
            for o in outs:
                want(o, 0, _INF)
        elif k == "any_in":
            for o in outs:
                want(o, 0, _INF)
        # "free": no constraint
    source_side = min_cut(len(vals) + 2, edges, S, T) if vals else []
    for v in vals:
        v.layout = None if source_side[idx[id(v)]] else "NHWC"

    # materialize: one LayoutTranspose per (value, wanted layout)
    cache: dict[tuple[int, str | None], Value] = {}
    inserted = 0

    def converted(v: Value, layout: str | None) -> Value:
        nonlocal inserted
        key = (id(v), layout)
        if key not in cache:
            suffix = "nhwc" if layout == "NHWC" else "nchw"
            t = graph.add_node(LAYOUT_TRANSPOSE, [v], [graph.add_value(f"{v.name}_{suffix}", v.shape, v.dtype)],
                               {"to": layout or "NCHW"}, name=f"{v.name}_to_{suffix}", domain="edgeport")
            t.outputs[0].layout = layout
            cache[key] = t.outputs[0]
            inserted += 1
        return cache[key]

    permuted = 0
    for n in list(graph.nodes):
        k = kinds.get(id(n))
        if k is None:
            continue
        for i, v in enumerate(n.inputs):
            if not _is_var(v):
                continue
            if k == "nhwc":
                need = "NHWC" if i == 0 else None
            elif k == "any":
                need = n.outputs[0].layout
            elif k == "fixed":
                need = None
            else:
                continue
            if v.layout != need:
                n.set_input(i, converted(v, need))
        if k == "any_in" and n.inputs[0].layout == "NHWC" and n.op_type in ("Flatten", "Reshape"):
            _permute_fc_weights(n)
            permuted += 1
    for j, v in enumerate(list(graph.outputs)):
        want_io = "NHWC" if io_of(v) else None
        if _is_var(v) and v.layout != want_io:
            t = converted(v, want_io)
            name = v.name
            del graph.values[name]
            v.name = graph.unique_name(f"{name}_internal")
            graph.values[v.name] = v
            del graph.values[t.name]
            t.name = name
            graph.values[name] = t
            graph.outputs[j] = t
    graph.sort()
    nhwc = sum(1 for v in vals if v.layout == "NHWC")
    changes = {"nhwc_values": nhwc, "nchw_values": len(vals) - nhwc, "transposes_inserted": inserted}
    if permuted:
        changes["fc_weights_permuted"] = permuted
    return PassResult(graph, True, changes)
