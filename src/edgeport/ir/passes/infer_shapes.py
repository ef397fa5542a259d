"""Shape inference with pinned dims: every value must end with a static shape.

The frontend already ran ONNX's whole-graph inference; this pass fills the
values it left open (after folding made more inputs constant) one node at a
time, with ONNX's inference on a one-node model whose constant inputs are
given as initializers. A graph input with a dynamic dim is a ConversionError
naming the input and the dim.
"""

from __future__ import annotations

import numpy as np

from edgeport.errors import ConversionError
from edgeport.ir._core import Graph, Node
from edgeport.ir.passes._manager import PassResult, register_pass

__all__ = ["infer_shapes", "infer_node"]

_SMALL = 4096  # constants up to this many elements are passed by value (shape-carrying inputs)


def infer_node(node: Node, opset: int = 17) -> list[tuple[tuple[int, ...] | None, np.dtype | None]]:
    """Shapes and dtypes of ``node``'s outputs from ONNX shape inference on a one-node model."""
    import onnx
    from onnx import helper, numpy_helper

    ins, inits, names = [], [], []
    for k, v in enumerate(node.inputs):
        if v is None:
            names.append("")
            continue
        nm = f"i{k}"
        names.append(nm)
        if v.is_const and v.const.size <= _SMALL:
            inits.append(numpy_helper.from_array(v.const, nm))
        else:
            ins.append(helper.make_tensor_value_info(nm, helper.np_dtype_to_tensor_dtype(v.dtype), v.shape))
    attrs = {k: v for k, v in node.attrs.items() if not k.startswith("_")}
    onode = helper.make_node(node.op_type, names, [f"o{k}" for k in range(len(node.outputs))],
                             domain=node.domain or None, **attrs)
    outs = [helper.make_tensor_value_info(f"o{k}", 0, None) for k in range(len(node.outputs))]
    model = helper.make_model(helper.make_graph([onode], "n", ins, outs, inits),
                              opset_imports=[helper.make_opsetid(node.domain or "", opset)])
    inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
    result = []
    by_name = {vi.name: vi for vi in list(inferred.graph.output) + list(inferred.graph.value_info)}
    for k in range(len(node.outputs)):
        vi = by_name.get(f"o{k}")
        tt = vi.type.tensor_type if vi is not None else None
        if tt is None or not tt.HasField("shape"):
            result.append((None, None))
            continue
        shape = tuple(d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim)
        dtype = helper.tensor_dtype_to_np_dtype(tt.elem_type) if tt.elem_type else None
        result.append((None if None in shape else shape, dtype))
    return result


@register_pass("infer_shapes")
def infer_shapes(graph: Graph) -> PassResult:
    """Check graph inputs are static and give every value a static shape and a dtype."""
    for v in graph.inputs:
        if not v.is_static:
            bad = next(i for i, d in enumerate(v.shape or ("?",)) if not isinstance(d, int) or d < 0)
            dim = v.shape[bad] if v.shape else "?"
            raise ConversionError(f"input {v.name!r} has dynamic dim {bad} ({dim!r}) that cannot be pinned",
                                  hint=f"give its size with --input-shape {v.name}:...")
    filled = 0
    for node in graph.nodes:
        if all(o.is_static and o.dtype is not None for o in node.outputs if o.users or o in graph.outputs):
            continue
        try:
            shapes = infer_node(node, graph.opset or 17)
        except Exception as e:
            raise ConversionError(f"cannot infer the output shapes of {node.op_type} node {node.name!r}: {e}",
                                  hint="pin the input shapes with --input-shape") from None
        for o, (shape, dtype) in zip(node.outputs, shapes):
            if shape is not None:
                o.shape = shape
                filled += 1
            if dtype is not None:
                o.dtype = dtype
            if not o.is_static and (o.users or o in graph.outputs):
                raise ConversionError(
                    f"the shape of {o.name!r} (output of {node.op_type} node {node.name!r}) is not static",
                    hint="pin the input shapes with --input-shape NAME:1,3,H,W")
    return PassResult(graph, bool(filled), {"filled": filled} if filled else {})
