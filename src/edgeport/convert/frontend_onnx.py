"""ONNX frontend: a ``.onnx`` file (or ModelProto) -> edgeport IR :class:`~edgeport.ir.Graph`.

Steps: structural check, external data, opset upgrade of old graphs (opset < 9
via ``onnx.version_converter``), pinning of input dims (``input_shapes``),
ONNX shape inference, then one Value per tensor and one Node per operator.
Initializers listed as graph inputs (IR version 3) become constants.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

from edgeport.errors import ConversionError, ModelFormatError, UnsupportedOpError
from edgeport.ir import Graph, Value

__all__ = ["load_onnx", "onnx_to_ir", "parse_input_shapes", "MIN_OPSET"]

MIN_OPSET = 7
_UPGRADE_BELOW = 9
_UPGRADE_TO = 11  # not 13: Softmax-13 changes meaning and the adapter adds Flatten/Reshape around it


def parse_input_shapes(items) -> dict[str, list[int]]:
    """``["x:1,3,224,224", ...]`` or a dict -> ``{"x": [1, 3, 224, 224]}``; ``"1,3,224,224"`` names the first input."""
    if not items:
        return {}
    if isinstance(items, dict):
        return {k: [int(d) for d in v] for k, v in items.items()}
    out: dict[str, list[int]] = {}
    for item in items:
        name, _, dims = str(item).rpartition(":")
        try:
            out[name] = [int(d) for d in dims.replace("x", ",").split(",") if d.strip()]
        except ValueError:
            from edgeport.errors import UsageError

            raise UsageError(f"bad --input-shape {item!r}", hint="write NAME:1,3,224,224") from None
    return out


def load_onnx(path: str | os.PathLike) -> onnx.ModelProto:
    """Load an ONNX file (with external data) after a pure-Python structural check."""
    path = Path(path)
    if not path.exists():
        raise ModelFormatError(f"model file not found: {path}", hint="check the path")
    try:
        from edgeport.model import check_file
    except ImportError:  # model layer not there yet
        check_file = None
    if check_file is not None:
        check_file(path, "onnx")
    try:
        model = onnx.load(str(path), load_external_data=False)
        if any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer):
            onnx.external_data_helper.load_external_data_for_model(model, str(path.parent))
    except Exception as e:
        raise ModelFormatError(f"cannot read ONNX model {path}: {type(e).__name__}: {e}",
                               hint="the file is corrupted or not an ONNX model; re-export it") from None
    return model


def _opset(model: onnx.ModelProto) -> int:
    for imp in model.opset_import:
        if imp.domain in ("", "ai.onnx"):
            return imp.version
    return 1


def _upgrade(model: onnx.ModelProto) -> onnx.ModelProto:
    opset = _opset(model)
    if opset < 7:
        _old_prelu_slopes(model)
    if opset < MIN_OPSET:  # older still: only when ONNX's version converter can bring it up
        try:
            return onnx.version_converter.convert_version(model, _UPGRADE_TO)
        except Exception:
            raise UnsupportedOpError(f"ONNX opset {opset} is too old (edgeport reads opset {MIN_OPSET} and up, older "
                                     "ones when onnx.version_converter can upgrade them)",
                                     hint="re-export the model with a newer opset (e.g. opset_version=17)") from None
    if opset < _UPGRADE_BELOW:
        try:
            return onnx.version_converter.convert_version(model, _UPGRADE_TO)
        except Exception:  # the converter lacks an adapter: read the old graph as is
            return model
    return model


def _old_prelu_slopes(model: onnx.ModelProto) -> None:
    """PRelu before opset 7 applied a 1-D slope per channel (axis 1): give it the shape [C, 1, ...]."""
    inits = {t.name: t for t in model.graph.initializer}
    ranks = {vi.name: len(vi.type.tensor_type.shape.dim)
             for vi in list(model.graph.input) + list(model.graph.value_info)}
    for n in model.graph.node:
        if n.op_type == "PRelu" and len(n.input) > 1 and n.input[1] in inits:
            t, r = inits[n.input[1]], ranks.get(n.input[0], 0)
            if len(t.dims) == 1 and t.dims[0] > 1 and r > 2:
                t.dims.extend([1] * (r - 2))


def _pin_inputs(model: onnx.ModelProto, shapes: dict[str, list[int]]) -> None:
    inits = {t.name for t in model.graph.initializer}
    real = [i for i in model.graph.input if i.name not in inits]
    names = [i.name for i in real]
    if "" in shapes:
        if not real:
            raise ConversionError("--input-shape given but the model has no inputs", hint="drop --input-shape")
        shapes = dict(shapes)
        shapes[real[0].name] = shapes.pop("")
    for name in shapes:
        if name not in names:
            raise ConversionError(f"--input-shape names {name!r}, which is not an input of the model",
                                  hint=f"inputs are: {', '.join(names)}")
    for inp in real:
        tt = inp.type.tensor_type
        dims = tt.shape.dim
        if inp.name in shapes:
            want = shapes[inp.name]
            if len(want) != len(dims) and len(dims):
                raise ConversionError(f"--input-shape for {inp.name!r} has rank {len(want)}, the model's input has "
                                      f"rank {len(dims)}", hint="give one number per dimension")
            del dims[:]
            for d in want:
                dims.add().dim_value = int(d)
            continue
        for i, d in enumerate(dims):
            if d.dim_value <= 0:
                label = d.dim_param or "?"
                if i == 0 and len(dims) >= 1:  # a dynamic batch dim pins to 1
                    d.dim_value = 1
                    continue
                raise ConversionError(
                    f"input {inp.name!r} has dynamic dim {i} ({label!r}) that cannot be pinned",
                    hint=f"give its size with --input-shape {inp.name}:" + ",".join(
                        str(x.dim_value) if x.dim_value > 0 else "N" for x in dims))


def _attr(a: onnx.AttributeProto) -> Any:
    v = helper.get_attribute_value(a)
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, onnx.TensorProto):
        return numpy_helper.to_array(v)
    if isinstance(v, list) and v and isinstance(v[0], bytes):
        return [s.decode("utf-8", "replace") for s in v]
    return v


def _type_info(vi: onnx.ValueInfoProto):
    tt = vi.type.tensor_type
    dtype = helper.tensor_dtype_to_np_dtype(tt.elem_type) if tt.elem_type else None
    shape = None
    if tt.HasField("shape"):
        shape = tuple(d.dim_value if d.dim_value > 0 or (d.HasField("dim_value") and not d.dim_param)
                      else (d.dim_param or "?") for d in tt.shape.dim)
    return shape, dtype


def onnx_to_ir(model: onnx.ModelProto | str | os.PathLike, input_shapes=None) -> Graph:
    """Build the IR from an ONNX model, pinning dims from ``input_shapes`` (see :func:`parse_input_shapes`)."""
    if not isinstance(model, onnx.ModelProto):
        model = load_onnx(model)
    if len(model.graph.node) == 0 and not model.graph.output:
        raise ModelFormatError("the ONNX model has an empty graph", hint="re-export the model")
    model = _upgrade(model)
    for imp in model.opset_import:
        if imp.domain not in ("", "ai.onnx", "ai.onnx.ml", "com.microsoft"):
            pass  # nodes of other domains are reported as unsupported ops later
    _pin_inputs(model, parse_input_shapes(input_shapes))
    try:
        model = onnx.shape_inference.infer_shapes(model, data_prop=True)
    except Exception:
        pass  # the IR's own shape pass fills what it can
    g = Graph(model.graph.name or "main")
    g.opset = _opset(model)
    g.metadata = {p.key: p.value for p in model.metadata_props}

    for t in model.graph.initializer:
        g.add_value(t.name, const=numpy_helper.to_array(t), unique=False)
    for t in getattr(model.graph, "sparse_initializer", []):
        raise UnsupportedOpError("sparse initializers are not supported", hint="densify the model first")
    infos = {vi.name: vi for vi in list(model.graph.value_info) + list(model.graph.output)
             + list(model.graph.input)}
    for inp in model.graph.input:
        if inp.name in g.values:  # IR v3: initializer also listed as input -> constant
            continue
        shape, dtype = _type_info(inp)
        g.inputs.append(g.add_value(inp.name, shape, dtype, unique=False))

    def value(name: str) -> Value | None:
        if not name:
            return None
        v = g.values.get(name)
        if v is None:
            shape, dtype = _type_info(infos[name]) if name in infos else (None, None)
            v = g.add_value(name, shape, dtype, unique=False)
        return v

    for i, n in enumerate(model.graph.node):
        attrs = {a.name: _attr(a) for a in n.attribute}
        if n.op_type == "Constant" and n.domain in ("", "ai.onnx"):
            data = _constant_value(attrs)
            v = g.values.get(n.output[0])
            if v is None:
                g.add_value(n.output[0], const=data, unique=False)
            else:
                v.set_const(data)
            continue
        if any(a.type == onnx.AttributeProto.GRAPH for a in n.attribute):
            attrs = {k: v for k, v in attrs.items() if not isinstance(v, onnx.GraphProto)}
            attrs["_has_subgraph"] = True
        ins = [value(x) for x in n.input]
        outs = [value(x) or g.add_value(f"{n.name or n.op_type}_unused{j}") for j, x in enumerate(n.output)]
        g.add_node(n.op_type, ins, outs, attrs, name=n.name or f"{n.op_type}_{i}", domain=n.domain)
    for o in model.graph.output:
        v = g.values.get(o.name)
        if v is None:
            raise ModelFormatError(f"graph output {o.name!r} is produced by no node", hint="the model is malformed")
        g.outputs.append(v)
    try:
        g.sort()
    except ValueError:
        raise ModelFormatError("the ONNX graph has a cycle", hint="the model is malformed") from None
    return g


def _constant_value(attrs: dict[str, Any]) -> np.ndarray:
    for key, fn in (("value", np.asarray), ("value_float", lambda x: np.array(x, np.float32)),
                    ("value_floats", lambda x: np.array(x, np.float32)),
                    ("value_int", lambda x: np.array(x, np.int64)),
                    ("value_ints", lambda x: np.array(x, np.int64))):
        if key in attrs:
            return fn(attrs[key])
    raise UnsupportedOpError("Constant node without a supported value attribute", hint="re-export the model")
