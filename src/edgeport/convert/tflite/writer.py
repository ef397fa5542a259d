"""IR -> TFLite ModelT: one subgraph, the op table's lowerings, signature and metadata.

The model has version 3, buffer 0 empty, tensors named after the IR values,
a ``serving_default`` signature over the graph inputs/outputs (so LiteRT's
``get_signature_runner`` works) and, when given, the edgeport metadata JSON in
a buffer named ``edgeport``.
"""

from __future__ import annotations

import json
from collections import Counter

import numpy as np

from edgeport.convert.tflite.context import LoweringContext
from edgeport.convert.tflite.flatbuffer import AlignedBufferT, add_buffer, schema
from edgeport.convert.tflite.registry import check_node, lookup
from edgeport.errors import ConversionError, UnsupportedOpError
from edgeport.ir import Graph

__all__ = ["ir_to_tflite", "unsupported_nodes", "raise_unsupported"]


def unsupported_nodes(graph: Graph) -> list[dict]:
    """``[{"op", "node", "reason"}]`` for every node the op table cannot lower."""
    out = []
    for n in graph.nodes:
        reason = check_node(n)
        if reason:
            out.append({"op": n.op_type if not n.domain else f"{n.domain}.{n.op_type}", "node": n.name,
                        "reason": reason})
    return out


def raise_unsupported(bad: list[dict]) -> None:
    if not bad:
        return
    counts = Counter(b["op"] for b in bad)
    listing = ", ".join(f"{op} x{c}" for op, c in counts.most_common())
    first = "; ".join(f"{b['node']} ({b['op']}: {b['reason']})" for b in bad[:5])
    more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
    raise UnsupportedOpError(f"unsupported ops: {listing} -- nodes: {first}{more}",
                             hint="run `edgeport check MODEL.onnx` for the full list; re-export without them",
                             ops={op: c for op, c in counts.items()})


def ir_to_tflite(graph: Graph, metadata: dict | None = None, description: str = "edgeport") -> "schema.ModelT":
    """Lower every node and return the ModelT (raises UnsupportedOpError listing every unsupported node)."""
    raise_unsupported(unsupported_nodes(graph))
    model = schema.ModelT()
    model.version = 3
    model.description = description
    model.operatorCodes = []
    model.buffers = [AlignedBufferT()]
    sg = schema.SubGraphT()
    sg.name = "main"
    sg.tensors, sg.operators = [], []
    model.subgraphs = [sg]
    ctx = LoweringContext(graph, model, sg)
    in_idx = [ctx.tensor(v) for v in graph.inputs]
    _constant_outputs(ctx, graph)
    for node in graph.nodes:
        ctx.node = node
        try:
            lookup(node).fn(ctx, node)
        except (ConversionError, UnsupportedOpError):
            raise
        except Exception as e:
            raise ConversionError(f"lowering {node.op_type} node {node.name!r} failed: {type(e).__name__}: {e}",
                                  hint="this is a converter bug; report it with the model (--debug for the trace)"
                                  ) from e
    out_idx = []
    for v in graph.outputs:
        if v.name not in ctx.tensors:
            raise ConversionError(f"graph output {v.name!r} was not produced", hint="converter bug; please report")
        out_idx.append(ctx.tensors[v.name])
    sg.inputs = np.asarray(in_idx, np.int32)
    sg.outputs = np.asarray(out_idx, np.int32)
    sig = schema.SignatureDefT()
    sig.signatureKey = "serving_default"
    sig.subgraphIndex = 0
    sig.inputs = [_tmap(v.name, i) for v, i in zip(graph.inputs, in_idx)]
    sig.outputs = [_tmap(v.name, i) for v, i in zip(graph.outputs, out_idx)]
    model.signatureDefs = [sig]
    model.metadata = []
    if metadata:
        m = schema.MetadataT()
        m.name = "edgeport"
        m.buffer = add_buffer(model, json.dumps(metadata).encode())
        model.metadata.append(m)
    return model


def _constant_outputs(ctx: LoweringContext, graph: Graph) -> None:
    """Graph outputs that folding made constant: a constant tensor copied by RESHAPE into the named output."""
    for v in graph.outputs:
        if v.is_const and v.name not in ctx.tensors:
            src = ctx.const(v.const, f"{v.name}_const")
            shape = [int(d) for d in v.const.shape]
            from edgeport.convert.tflite.flatbuffer import add_tensor

            out = add_tensor(ctx.model, ctx.subgraph, v.name, shape, v.const.dtype)
            ctx.tensors[v.name] = out
            ctx.op("RESHAPE", [src, ctx.i32(shape)], [out])


def _tmap(name: str, idx: int) -> "schema.TensorMapT":
    t = schema.TensorMapT()
    t.name = name
    t.tensorIndex = idx
    return t
