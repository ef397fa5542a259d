"""ONNX: protobuf parse (no runtime), external data checks, shape inference for MACs, metadata_props."""

from __future__ import annotations

import math
import os
from collections import Counter
from pathlib import Path

from edgeport.errors import ModelFormatError, UsageError
from edgeport.model._meta import meta_from_flat, meta_to_flat
from edgeport.model._registry import Inspection, Loaded, register_format
from edgeport.model.spec import ModelMetadata, TensorSpec, guess_layout

__all__ = ["load_proto", "onnx_dtype"]

PREFIX = "edgeport."
_INDEX_TYPES = {6, 7}  # INT32, INT64 initializers are shapes/indices, not parameters


def _s(v) -> str:
    """A protobuf string field; python protobuf hands back bytes when the field is not valid UTF-8."""
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else v


def _bad(path: Path, what: str, hint: str = "re-export the model; the file is damaged or is not an ONNX model"):
    return ModelFormatError(f"{path}: {what}", hint=hint)


def onnx_dtype(elem_type: int) -> str:
    import onnx

    try:
        return str(onnx.helper.tensor_dtype_to_np_dtype(elem_type))
    except (KeyError, ValueError, TypeError):
        return "object"


def load_proto(path: Path, external: bool = False):
    """Parse the protobuf (without external data unless ``external``); check the graph and external files."""
    import onnx
    from google.protobuf.message import DecodeError

    try:
        model = onnx.load_model(str(path), load_external_data=False)
    except (DecodeError, ValueError, RuntimeError, TypeError, OSError, UnicodeDecodeError) as e:
        raise _bad(path, f"not a valid ONNX protobuf ({type(e).__name__}: {' '.join(str(e).split())[:120]})") from None
    except Exception as e:  # protobuf implementations raise their own error types
        raise _bad(path, f"not a valid ONNX protobuf ({type(e).__name__})") from None
    if not model.HasField("graph") or not (model.graph.node or model.graph.output):
        raise _bad(path, "the ONNX file holds no graph")
    if model.ir_version <= 0:
        raise _bad(path, f"invalid ONNX ir_version {model.ir_version}")
    _check_external(path, model)
    if external:
        from onnx.external_data_helper import load_external_data_for_model

        try:
            load_external_data_for_model(model, str(path.parent))
        except Exception as e:
            raise _bad(path, f"cannot read external data ({type(e).__name__}: {e})",
                       "keep the external data file(s) beside the .onnx file") from None
    return model


def _check_external(path: Path, model) -> None:
    import onnx

    base = path.parent.resolve()
    for init in model.graph.initializer:
        if init.data_location != onnx.TensorProto.EXTERNAL:
            continue
        info = {_s(e.key): _s(e.value) for e in init.external_data}
        loc = info.get("location", "")
        target = (base / loc).resolve()
        if not loc or os.path.isabs(loc) or base not in target.parents:
            raise _bad(path, f"initializer {_s(init.name)!r} has an unsafe external data location {loc!r}",
                       "external data must be a relative path beside the model")
        if not target.is_file():
            raise _bad(path, f"external data file {loc!r} for initializer {init.name!r} is missing",
                       f"copy {loc} beside {path.name}")
        try:
            offset, length = int(info.get("offset", 0)), int(info.get("length", -1))
        except ValueError:
            raise _bad(path, f"initializer {init.name!r} has a bad external data offset/length") from None
        size = target.stat().st_size
        if offset < 0 or offset > size or (length >= 0 and offset + length > size):
            raise _bad(path, f"external data {loc!r} is too short for initializer {init.name!r} "
                       f"(needs {offset}+{length} bytes, has {size})", f"the file {loc} is truncated; re-export it")


def _dims(t, names: dict[str, str] | None = None) -> tuple:
    if not t.type.HasField("tensor_type") or not t.type.tensor_type.HasField("shape"):
        return ()
    out = []
    for i, d in enumerate(t.type.tensor_type.shape.dim):
        if d.HasField("dim_value") and d.dim_value >= 0:
            out.append(int(d.dim_value))
        else:
            out.append(_s(d.dim_param) or f"d{i}")
    return tuple(out)


def _spec(vi) -> TensorSpec:
    shape = _dims(vi)
    return TensorSpec(_s(vi.name), shape, onnx_dtype(vi.type.tensor_type.elem_type), guess_layout(shape))


def _numel(dims) -> int:
    return math.prod(int(d) for d in dims)


def _attr(node, name, default=None):
    import onnx

    for a in node.attribute:
        if _s(a.name) == name:
            return onnx.helper.get_attribute_value(a)
    return default


def _macs(model, init_shapes: dict[str, tuple]) -> int:
    """MACs of Conv/ConvTranspose/Gemm/MatMul from shapes (shape inference fills value_info)."""
    import onnx

    shapes = dict(init_shapes)
    try:
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=False, data_prop=False)
        graph = inferred.graph
    except Exception:
        graph = model.graph
    for vi in list(graph.input) + list(graph.value_info) + list(graph.output):
        shapes.setdefault(_s(vi.name), _dims(vi))

    def static(name):  # dynamic dims count as 1: MACs per batch item
        s = shapes.get(name)
        return tuple(d if isinstance(d, int) else 1 for d in s) if s else None

    total = 0
    for node in model.graph.node:
        out = static(_s(node.output[0])) if node.output else None
        if out is None or len(node.input) < 2:
            continue
        x, w = static(_s(node.input[0])), static(_s(node.input[1]))
        op = _s(node.op_type)
        if op == "Conv" and w and len(w) >= 3:
            total += _numel(out) * _numel(w[1:])  # w: [O, I/groups, k...]
        elif op == "ConvTranspose" and w and x and len(w) >= 3:
            total += _numel(x) * _numel(w[1:])  # w: [I, O/groups, k...]
        elif op == "Gemm" and x and len(x) == 2:
            total += _numel(out) * (x[0] if _attr(node, "transA", 0) else x[1])
        elif op in ("MatMul", "MatMulInteger", "QLinearMatMul") and x:
            total += _numel(out) * x[-1]
    return total


def _meta(path: Path, model) -> ModelMetadata:
    props = [(_s(p.key), _s(p.value)) for p in model.metadata_props]
    flat = {k[len(PREFIX):]: v for k, v in props if k.startswith(PREFIX)}
    meta = meta_from_flat(flat, str(path))
    if not meta.version and model.model_version:
        meta.version = str(model.model_version)
    if not meta.description and model.doc_string:
        meta.description = _s(model.doc_string).strip()[:500] or None
    return meta


@register_format("onnx")
class OnnxHandler:
    """Handler for .onnx protobuf files (with or without external data)."""

    def check(self, path: Path) -> None:
        load_proto(path)

    def load(self, path: Path) -> Loaded:
        model = load_proto(path)
        init_names = {_s(i.name) for i in model.graph.initializer}
        ins = [_spec(vi) for vi in model.graph.input if _s(vi.name) not in init_names]
        outs = [_spec(vi) for vi in model.graph.output]

        def inspect() -> Inspection:
            hist = Counter((_s(n.domain) + "." if _s(n.domain) not in ("", "ai.onnx") else "") + _s(n.op_type)
                           for n in model.graph.node)
            init_shapes = {_s(i.name): tuple(int(d) for d in i.dims) for i in model.graph.initializer}
            params = sum(_numel(i.dims) for i in model.graph.initializer if i.data_type not in _INDEX_TYPES)
            details = {"ir_version": model.ir_version,
                       "producer": f"{_s(model.producer_name)} {_s(model.producer_version)}".strip(),
                       "opsets": {(_s(o.domain) or "ai.onnx"): o.version for o in model.opset_import},
                       "external_data": any(i.data_location == 1 for i in model.graph.initializer)}
            return Inspection(dict(hist), params, _macs(model, init_shapes), details)

        return Loaded(ins, outs, _meta(path, model), inspect)

    def read_metadata(self, path: Path) -> ModelMetadata:
        return _meta(path, load_proto(path))

    def write_metadata(self, path: Path, meta: ModelMetadata, out: Path) -> None:
        import onnx

        from edgeport._fileio import atomic_write_bytes

        model = load_proto(path)
        if any(i.data_location == onnx.TensorProto.EXTERNAL for i in model.graph.initializer) and \
                out.resolve().parent != path.resolve().parent:
            raise UsageError(f"{path}: a model with external data must keep its metadata copy in the same folder",
                             hint=f"write into {path.parent}")
        keep = [p for p in model.metadata_props if not _s(p.key).startswith(PREFIX)]
        del model.metadata_props[:]
        model.metadata_props.extend(keep)
        for k, v in meta_to_flat(meta).items():
            model.metadata_props.add(key=PREFIX + k, value=v)
        atomic_write_bytes(out, model.SerializeToString())
