"""LoweringContext: what an op lowering uses to emit TFLite tensors and operators.

Tensors are created from IR values on first use with their *physical* shape
(layout applied) and the IR value's name. Helpers map logical axes to
physical ones and lay broadcast constants out like the tensor they meet.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from edgeport.convert.tflite.flatbuffer import add_operator, add_tensor, schema
from edgeport.errors import ConversionError
from edgeport.ir import Graph, Node, Value, channels_last_perm, physical_shape

__all__ = ["LoweringContext", "BuiltinOperator", "ACTIVATIONS"]

BuiltinOperator = schema.BuiltinOperator
ACTIVATIONS = {None: schema.ActivationFunctionType.NONE, "RELU": schema.ActivationFunctionType.RELU,
               "RELU6": schema.ActivationFunctionType.RELU6,
               "RELU_N1_TO_1": schema.ActivationFunctionType.RELU_N1_TO_1,
               "TANH": schema.ActivationFunctionType.TANH}


# builtins whose first registered kernel version is not 1
_MIN_VERSION = {"BROADCAST_TO": 2}


class LoweringContext:
    """Emits into one ModelT subgraph while walking an IR graph."""

    def __init__(self, graph: Graph, model: "schema.ModelT", subgraph: "schema.SubGraphT"):
        self.graph = graph
        self.model = model
        self.subgraph = subgraph
        self.tensors: dict[str, int] = {}
        self.node: Node | None = None

    # ---- tensors
    def tensor(self, v: Value) -> int:
        """The TFLite tensor of an IR value (created with its physical shape on first use)."""
        idx = self.tensors.get(v.name)
        if idx is None:
            if v.is_const:
                data = v.const
                if data.dtype == np.float64:
                    data = data.astype(np.float32)
                idx = add_tensor(self.model, self.subgraph, v.name, data.shape, data.dtype, data)
            else:
                if not v.is_static or v.dtype is None:
                    raise ConversionError(f"value {v.name!r} has no static shape/dtype",
                                          hint="pin the input shapes with --input-shape")
                dtype = np.float32 if v.dtype == np.float64 else v.dtype
                idx = add_tensor(self.model, self.subgraph, v.name, physical_shape(v.shape, v.layout), dtype)
            self.tensors[v.name] = idx
        return idx

    def const(self, data, name: str | None = None, dtype=None) -> int:
        """A new constant tensor."""
        data = np.asarray(data, dtype=dtype)
        if data.dtype == np.float64:
            data = data.astype(np.float32)
        base = name or f"{self.node.name if self.node else 'c'}_const"
        return add_tensor(self.model, self.subgraph, base, data.shape, data.dtype, np.ascontiguousarray(data))

    def i32(self, values, name: str | None = None) -> int:
        return self.const(np.asarray(values, np.int64).astype(np.int32), name)

    def temp(self, shape: Sequence[int], dtype, name: str | None = None) -> int:
        """A new intermediate tensor."""
        base = name or f"{self.node.name if self.node else 't'}_tmp"
        return add_tensor(self.model, self.subgraph, base, shape, np.float32 if np.dtype(dtype) == np.float64
                          else dtype)

    def shape(self, idx: int) -> tuple[int, ...]:
        return tuple(int(d) for d in self.subgraph.tensors[idx].shape)

    # ---- operators
    def op(self, name: str, inputs: Sequence[int], outputs: Sequence[int], options=None, version: int = 1):
        """Emit builtin ``name`` (e.g. "CONV_2D"); options is a ``*OptionsT`` instance or None."""
        builtin = getattr(BuiltinOperator, name)
        version = max(version, _MIN_VERSION.get(name, 1))
        otype = 0
        if options is not None:
            otype = getattr(schema.BuiltinOptions, type(options).__name__[:-1])
        return add_operator(self.model, self.subgraph, builtin, inputs, outputs, otype, options, version)

    # ---- layout helpers
    @staticmethod
    def axis(v: Value, axis: int) -> int:
        """Physical axis for logical ``axis`` of ``v``."""
        r = v.rank
        axis = axis % r if r else axis
        return channels_last_perm(r).index(axis) if v.layout == "NHWC" and r >= 3 else axis

    def operand(self, v: Value, like: Value | None) -> int:
        """Tensor for an input of an element-wise op whose output is ``like``: a broadcast constant is
        right-aligned to ``like``'s rank and permuted to its layout."""
        if v.is_const and like is not None and like.layout == "NHWC" and like.rank >= 3 and v.const.size > 1:
            data = v.const.reshape((1,) * (like.rank - v.const.ndim) + v.const.shape)
            data = np.ascontiguousarray(data.transpose(channels_last_perm(like.rank)))
            return self.const(data, v.name + "_nhwc", dtype=data.dtype)
        return self.tensor(v)

    @staticmethod
    def activation(node: Node) -> int:
        return ACTIVATIONS[node.attrs.get("_fused_activation")]

    def opts(self, cls_name: str, **fields):
        """Build a ``*OptionsT`` object: ``ctx.opts("Conv2DOptions", strideW=1)``."""
        o = getattr(schema, cls_name + "T")()
        for k, val in fields.items():
            if not hasattr(o, k):
                raise AttributeError(f"{cls_name} has no field {k}")
            setattr(o, k, val)
        return o
