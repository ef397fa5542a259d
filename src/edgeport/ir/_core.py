"""The whole IR in one place: :class:`Value`, :class:`Node`, :class:`Graph`.

Semantics follow ONNX (op types, attributes, NCHW logical shapes). A value's
``layout`` says how it is stored *physically* once the layout pass has run:
``None`` (as the logical shape) or ``"NHWC"``: channels-last, axis 1 moved to
the end (NCHW stored NHWC; for a rank-3 [N, C, L] value, stored [N, L, C]). Editing a node's inputs keeps every value's ``users`` list
right by itself.
"""

from __future__ import annotations

import itertools
from typing import Any, Iterable, Sequence

import numpy as np

__all__ = ["Value", "Node", "Graph", "NHWC_PERM", "NCHW_PERM", "physical_shape", "channels_last_perm"]

NHWC_PERM = (0, 2, 3, 1)  # logical NCHW -> physical NHWC
NCHW_PERM = (0, 3, 1, 2)  # physical NHWC -> logical NCHW


def channels_last_perm(rank: int) -> tuple[int, ...]:
    """Logical -> physical axes of a channels-last value: (0, 2, ..., rank-1, 1); (0, 2, 3, 1) for NCHW."""
    return (0, *range(2, rank), 1) if rank >= 3 else tuple(range(rank))


def physical_shape(shape: Sequence[int], layout: str | None) -> tuple[int, ...]:
    """The stored shape of a value with logical ``shape`` in ``layout``."""
    if layout == "NHWC" and len(shape) >= 3:
        return tuple(shape[i] for i in channels_last_perm(len(shape)))
    return tuple(shape)


class Value:
    """A tensor: name, logical shape, numpy dtype, constant data (or None), producer and users."""

    __slots__ = ("name", "shape", "dtype", "const", "producer", "users", "layout")

    def __init__(self, name: str, shape: Sequence[Any] | None = None, dtype: Any = None,
                 const: np.ndarray | None = None):
        self.name = name
        self.const = None if const is None else np.asarray(const)
        if self.const is not None:
            shape, dtype = self.const.shape, self.const.dtype
        self.shape = None if shape is None else tuple(shape)
        self.dtype = None if dtype is None else np.dtype(dtype)
        self.producer: Node | None = None
        self.users: list[Node] = []
        self.layout: str | None = None

    @property
    def is_const(self) -> bool:
        return self.const is not None

    @property
    def rank(self) -> int | None:
        return None if self.shape is None else len(self.shape)

    @property
    def is_static(self) -> bool:
        return self.shape is not None and all(isinstance(d, (int, np.integer)) and d >= 0 for d in self.shape)

    def set_const(self, data: np.ndarray) -> None:
        self.const = np.asarray(data)
        self.shape, self.dtype = self.const.shape, self.const.dtype

    def __repr__(self) -> str:
        kind = "const " if self.is_const else ""
        return f"%{self.name}<{kind}{self.dtype}{list(self.shape) if self.shape is not None else '?'}>"


class Node:
    """One operator. ``inputs`` may hold ``None`` for omitted optional inputs."""

    __slots__ = ("op_type", "domain", "name", "attrs", "_inputs", "outputs", "graph")

    def __init__(self, op_type: str, inputs: Iterable[Value | None], outputs: Iterable[Value],
                 attrs: dict[str, Any] | None = None, name: str = "", domain: str = ""):
        self.op_type = op_type
        self.domain = domain
        self.name = name
        self.attrs: dict[str, Any] = dict(attrs or {})
        self._inputs: list[Value | None] = []
        self.outputs: list[Value] = list(outputs)
        self.graph: Graph | None = None
        for v in inputs:
            self._inputs.append(v)
            if v is not None:
                v.users.append(self)
        for v in self.outputs:
            v.producer = self

    @property
    def inputs(self) -> tuple[Value | None, ...]:
        return tuple(self._inputs)

    def input(self, i: int) -> Value | None:
        """The i-th input, or None when absent."""
        return self._inputs[i] if i < len(self._inputs) else None

    def set_input(self, i: int, v: Value | None) -> None:
        old = self._inputs[i]
        if old is not None:
            old.users.remove(self)
        self._inputs[i] = v
        if v is not None:
            v.users.append(self)

    def set_inputs(self, values: Iterable[Value | None]) -> None:
        for old in self._inputs:
            if old is not None:
                old.users.remove(self)
        self._inputs = []
        for v in values:
            self._inputs.append(v)
            if v is not None:
                v.users.append(self)

    def detach(self) -> None:
        """Drop this node's input edges (its users lists) and producer links."""
        self.set_inputs([])
        for v in self.outputs:
            if v.producer is self:
                v.producer = None

    def format(self) -> str:
        ins = ", ".join("_" if v is None else f"%{v.name}" for v in self._inputs)
        outs = ", ".join(f"%{v.name}" for v in self.outputs)
        return f"{outs} = {self.op_type}({ins}) [node {self.name!r}]"

    def __repr__(self) -> str:
        return f"Node({self.format()})"


class Graph:
    """Nodes (kept in topological order by :meth:`sort`), graph inputs and outputs, a name -> Value map."""

    def __init__(self, name: str = "main"):
        self.name = name
        self.nodes: list[Node] = []
        self.inputs: list[Value] = []
        self.outputs: list[Value] = []
        self.values: dict[str, Value] = {}
        self.metadata: dict[str, str] = {}
        self.opset: int = 0
        self._uid = itertools.count()

    # ---- values
    def unique_name(self, base: str) -> str:
        name = base
        while name in self.values:
            name = f"{base}__{next(self._uid)}"
        return name

    def add_value(self, name: str, shape=None, dtype=None, const=None, unique: bool = True) -> Value:
        if unique:
            name = self.unique_name(name)
        v = Value(name, shape, dtype, const)
        self.values[name] = v
        return v

    def const(self, data, name: str = "const") -> Value:
        """A new constant value holding ``data``."""
        return self.add_value(name, const=np.asarray(data))

    # ---- nodes
    def add_node(self, op_type: str, inputs: Iterable[Value | None], outputs: Iterable[Value] | int = 1,
                 attrs: dict[str, Any] | None = None, name: str = "", domain: str = "",
                 before: Node | None = None) -> Node:
        """Insert a node (at the end, or just before ``before``). ``outputs`` may be a count of new values."""
        if isinstance(outputs, int):
            base = name or op_type
            outputs = [self.add_value(f"{base}_out{i}" if outputs > 1 else f"{base}_out") for i in range(outputs)]
        node = Node(op_type, inputs, outputs, attrs, name or self.unique_node_name(op_type), domain)
        node.graph = self
        if before is not None:
            self.nodes.insert(self.nodes.index(before), node)
        else:
            self.nodes.append(node)
        return node

    def unique_node_name(self, base: str) -> str:
        return f"{base}_{next(self._uid)}"

    def remove_node(self, node: Node) -> None:
        node.detach()
        self.nodes.remove(node)
        node.graph = None

    def remove_nodes(self, nodes: Iterable[Node]) -> None:
        dead = set(map(id, nodes))
        for n in self.nodes:
            if id(n) in dead:
                n.detach()
                n.graph = None
        self.nodes = [n for n in self.nodes if id(n) not in dead]

    def replace_all_uses(self, old: Value, new: Value) -> None:
        """Point every user of ``old`` (and the graph outputs) at ``new``."""
        for user in list(old.users):
            for i, v in enumerate(user._inputs):
                if v is old:
                    user.set_input(i, new)
        self.outputs = [new if v is old else v for v in self.outputs]

    def bypass(self, node: Node, keep_output_name: bool = True) -> None:
        """Remove a one-in one-out node, wiring its input to its output's users.

        When the output is a graph output its name is kept (the input is renamed),
        so the model's signature does not change.
        """
        src, dst = node.inputs[0], node.outputs[0]
        if dst in self.outputs and keep_output_name and src not in self.inputs and src not in self.outputs \
                and not src.is_const:
            self.remove_node(node)
            self.replace_all_uses(dst, src)
            del self.values[dst.name]
            del self.values[src.name]
            src.name = dst.name
            self.values[src.name] = src
            return
        self.remove_node(node)
        self.replace_all_uses(dst, src)

    # ---- traversal
    def sort(self) -> None:
        """Order nodes topologically (stable); raises ValueError on a cycle."""
        indeg: dict[int, int] = {}
        order: list[Node] = []
        for n in self.nodes:
            indeg[id(n)] = sum(1 for v in n._inputs if v is not None and v.producer is not None
                               and v.producer.graph is self)
        ready = [n for n in self.nodes if indeg[id(n)] == 0]
        ready.reverse()
        while ready:
            n = ready.pop()
            order.append(n)
            nxt = []
            for v in n.outputs:
                for u in v.users:
                    indeg[id(u)] -= 1
                    if indeg[id(u)] == 0:
                        nxt.append(u)
            ready.extend(reversed(nxt))
        if len(order) != len(self.nodes):
            raise ValueError("graph has a cycle")
        self.nodes = order

    def constants(self) -> list[Value]:
        """Constant values still used by some node or output."""
        return [v for v in self.values.values() if v.is_const and (v.users or v in self.outputs)]

    def op_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for n in self.nodes:
            counts[n.op_type] = counts.get(n.op_type, 0) + 1
        return counts

    def __repr__(self) -> str:
        lines = [f"graph {self.name}({', '.join(map(repr, self.inputs))}) -> ({', '.join(map(repr, self.outputs))})"]
        lines += ["  " + n.format() for n in self.nodes]
        return "\n".join(lines)
