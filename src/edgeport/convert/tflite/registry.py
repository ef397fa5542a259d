"""The op table: one decorated lowering per ONNX op, with its layout class and what it requires.

``@lower("Conv", layout="nhwc", emits=("CONV_2D", "DEPTHWISE_CONV_2D"), check=fn)``
registers ``fn(ctx, node)``. ``check(node)`` returns None when the node is
supported, else a reason code with details ("attr:auto_pad=..."), so
``edgeport check`` lists every unsupported node before converting anything.
Layout classes are those of :mod:`edgeport.ir.passes.assign_layout`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Callable

from edgeport.ir import Node

__all__ = ["OpEntry", "lower", "lookup", "classify", "check_node", "supported_ops", "REGISTRY"]


@dataclass
class OpEntry:
    """How one ONNX op becomes TFLite ops."""

    op_type: str
    fn: Callable
    layout: str | Callable[[Node], str] = "fixed"
    emits: tuple[str, ...] = ()
    check: Callable[[Node], str | None] | None = None
    domains: tuple[str, ...] = ("", "ai.onnx")
    notes: str = ""
    extra: dict = field(default_factory=dict)


class _Registry(dict):
    def __missing__(self, key):
        raise KeyError(f"no TFLite lowering registered for ONNX op {key!r}")


REGISTRY: dict[str, OpEntry] = _Registry()
_LOADED = False


def lower(*op_types: str, layout="fixed", emits: tuple[str, ...] = (), check=None, domains=("", "ai.onnx"),
          notes: str = ""):
    """Decorator registering a lowering ``fn(ctx, node)`` for each op type."""

    def deco(fn):
        for op in op_types:
            REGISTRY[op] = OpEntry(op, fn, layout, tuple(emits), check, tuple(domains), notes)
        return fn

    return deco


def _load() -> None:
    global _LOADED
    if not _LOADED:
        importlib.import_module("edgeport.convert.tflite.ops")
        _LOADED = True


def lookup(node: Node) -> OpEntry | None:
    _load()
    e = REGISTRY.get(node.op_type)
    if e is None or node.domain not in e.domains:
        return None
    return e


def classify(node: Node) -> str:
    """Layout class of a node for the layout pass."""
    e = lookup(node)
    if e is None:
        return "fixed"
    return e.layout(node) if callable(e.layout) else e.layout


# TFLite runs int8/uint8/int16 arithmetic only with quantization parameters (else it aborts or
# silently computes something else): only data movement may touch such tensors unquantized.
_MOVEMENT = {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Concat", "Split", "Slice", "Gather",
             "Identity", "Dropout", "Cast", "CastLike", "Tile", "Expand", "LayoutTranspose", "ChannelShuffle",
             "DepthToSpace", "SpaceToDepth", "Shape", "Size", "Pad", "Where", "Max", "Min", "Trilu",
             "GatherElements"}
# integer-exact lowerings that widen 8/16-bit inputs to int32 themselves (or only move data)
_INT_EXACT = {"BitShift", "BitwiseAnd", "BitwiseOr", "BitwiseXor", "BitwiseNot", "GatherND", "ScatterND",
              "ScatterElements", "Scatter"}
_UNQUANTIZED = {"int8", "uint8", "int16", "uint16"}
_NO_BOOL = {"ReduceMax", "ReduceMin", "ReduceSum", "ReduceMean", "ReduceProd", "ArgMax", "ArgMin", "Add", "Sub",
            "Mul", "Div", "Sum", "Softmax"}


def _dtype_reason(node: Node) -> str | None:
    if node.op_type in _MOVEMENT or node.op_type in _INT_EXACT:
        return None
    for v in list(node.inputs) + list(node.outputs):
        if v is None or v.dtype is None:
            continue
        if v.dtype.name in _UNQUANTIZED and not (v.is_const and node.op_type in ("Clip",)):
            return f"dtype:{v.dtype.name}_unquantized"
        if v.dtype.name == "float16" and not v.is_const:  # TFLite keeps float16 for weights only
            return "dtype:float16"
        if v.dtype.name == "bfloat16":  # no TFLite tensor type at all
            return "dtype:bfloat16"
        if v.dtype.name == "bool" and node.op_type in _NO_BOOL:
            return "dtype:bool"
    return None


def check_node(node: Node) -> str | None:
    """None when ``node`` can be lowered, else a reason code (``unknown_op``, ``attr:...``, ``dtype:...``)."""
    e = lookup(node)
    if e is None:
        return "unknown_op" if node.domain in ("", "ai.onnx") else f"domain:{node.domain}"
    if node.attrs.get("_has_subgraph"):
        return "control_flow"
    reason = _dtype_reason(node)
    if reason:
        return reason
    if e.check is not None:
        try:
            return e.check(node)
        except Exception as ex:  # a check must never crash the report
            return f"check_failed:{type(ex).__name__}"
    return None


def supported_ops() -> dict[str, tuple[str, ...]]:
    """ONNX op -> TFLite builtins it may emit."""
    _load()
    return {k: v.emits for k, v in sorted(REGISTRY.items())}
