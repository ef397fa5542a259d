"""TFLite: a verified pure-Python FlatBuffer parse, inspection, and the "edgeport" metadata buffer.

:func:`parse_tflite` walks every table edgeport (and LiteRT) reads with
:class:`~edgeport.model._flatbuffer.Verifier` and then checks the references
between them (tensor, buffer, opcode and subgraph indices, buffer sizes), so a
file that passes can be given to the native LiteRT loader.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from edgeport.errors import ModelFormatError
from edgeport.model._flatbuffer import FlatBufferError, Verifier
from edgeport.model._meta import meta_from_json, meta_to_json
from edgeport.model._registry import Inspection, Loaded, register_format
from edgeport.model.spec import ModelMetadata, TensorSpec, guess_layout

__all__ = ["parse_tflite", "TFLiteModel", "TFLITE_DTYPES", "METADATA_NAME"]

METADATA_NAME = "edgeport"
_MAX_RANK = 16
_MAX_TENSOR_BYTES = 1 << 31  # the TFLite arena indexes tensors with 32-bit sizes in places

# TensorType -> (numpy dtype name, bytes per element or None when not fixed)
TFLITE_DTYPES: dict[int, tuple[str, float | None]] = {
    0: ("float32", 4), 1: ("float16", 2), 2: ("int32", 4), 3: ("uint8", 1), 4: ("int64", 8),
    5: ("object", None), 6: ("bool", 1), 7: ("int16", 2), 8: ("complex64", 8), 9: ("int8", 1),
    10: ("float64", 8), 11: ("complex128", 16), 12: ("uint64", 8), 13: ("object", None),
    14: ("object", None), 15: ("uint32", 4), 16: ("uint16", 2), 17: ("int8", 0.5),
    18: ("bfloat16", 2), 19: ("int8", 0.25), 20: ("uint8", 0.5), 21: ("uint8", 1), 22: ("uint8", 1),
}
_INDEX_TYPES = {2, 4}  # int32/int64 constants are shapes and indices, not parameters

_SCHEMA: dict[str, dict[int, str]] = {
    "Model": {0: "u32", 1: "vec:table:OperatorCode", 2: "vec:table:SubGraph", 3: "str",
              4: "vec:table:Buffer", 5: "vec:i32", 6: "vec:table:Metadata", 7: "vec:table:SignatureDef"},
    "OperatorCode": {0: "i8", 1: "str", 2: "i32", 3: "i32"},
    "SubGraph": {0: "vec:table:Tensor", 1: "vec:i32", 2: "vec:i32", 3: "vec:table:Operator", 4: "str", 5: "i32"},
    "Tensor": {0: "vec:i32", 1: "i8", 2: "u32", 3: "str", 4: "table:QuantizationParameters", 5: "bool",
               6: "table:SparsityParameters", 7: "vec:i32", 8: "bool", 9: "vec:table:VariantSubType", 10: "u32"},
    "QuantizationParameters": {0: "vec:f32", 1: "vec:f32", 2: "vec:f32", 3: "vec:i64", 4: "u8",
                               5: "union:4:quant", 6: "i32"},
    "CustomQuantization": {0: "vec:u8"},
    "SparsityParameters": {0: "vec:i32", 1: "vec:i32", 2: "vec:table:DimensionMetadata"},
    "DimensionMetadata": {0: "i8", 1: "i32", 2: "u8", 3: "union:2:sparse", 4: "u8", 5: "union:4:sparse"},
    "Int32Vector": {0: "vec:i32"}, "Uint16Vector": {0: "vec:u16"}, "Uint8Vector": {0: "vec:u8"},
    "VariantSubType": {0: "vec:i32", 1: "i8", 2: "bool"},
    "Operator": {0: "u32", 1: "vec:i32", 2: "vec:i32", 3: "u8", 4: "union:3:options", 5: "vec:u8", 6: "i8",
                 7: "vec:bool", 8: "vec:i32", 9: "u64", 10: "u64", 11: "u8", 12: "union:11:options2", 13: "i32"},
    "Buffer": {0: "vec:u8", 1: "u64", 2: "u64"},
    "Metadata": {0: "str", 1: "u32"},
    "SignatureDef": {0: "vec:table:TensorMap", 1: "vec:table:TensorMap", 2: "str", 4: "u32"},
    "TensorMap": {0: "str", 1: "u32"},
    # option tables with vectors or strings (all other option tables hold scalars only)
    "ReshapeOptions": {0: "vec:i32"}, "SqueezeOptions": {0: "vec:i32"}, "BucketizeOptions": {0: "vec:f32"},
    "ConcatEmbeddingsOptions": {1: "vec:i32", 2: "vec:i32"}, "FullyConnectedOptions": {5: "vec:u8"},
    "VarHandleOptions": {0: "str", 1: "str"}, "BatchMatMulOptions": {0: "bool", 1: "bool"},
    "StableHLOCompositeOptions": {0: "str", 2: "vec:u8"},
    "StablehloCustomCallOptions": {0: "str", 2: "str", 4: "vec:u8", 5: "vec:u8"},
}
for _name, _idx in [("StablehloGatherOptions", (0, 1, 2, 4)), ("StablehloTransposeOptions", (0,)),
                    ("StablehloDotGeneralOptions", (0, 1, 2, 3, 4)), ("StablehloReduceWindowOptions", (0, 1, 2, 3, 4)),
                    ("StablehloBroadcastInDimOptions", (0,)), ("StablehloDynamicSliceOptions", (0,)),
                    ("StablehloPadOptions", (0, 1, 2)), ("StablehloReduceOptions", (0,)),
                    ("StablehloSliceOptions", (0, 1, 2)), ("StablehloCaseOptions", (0,)),
                    ("StablehloConvolutionOptions", (0, 1, 2, 3, 4, 7, 10, 13, 16)),
                    ("StablehloScatterOptions", (1, 2, 3))]:
    _SCHEMA[_name] = {i: "vec:u8" for i in _idx}  # element size unknown here: check the header and length


def _enum_names(cls_name: str) -> dict[int, str]:
    from ai_edge_litert import schema_py_generated as s

    cls = getattr(s, cls_name)
    return {v: k for k, v in vars(cls).items() if not k.startswith("_") and isinstance(v, int)}


_ENUMS: dict[str, dict[int, str]] = {}


def _enum(cls_name: str) -> dict[int, str]:
    if cls_name not in _ENUMS:
        _ENUMS[cls_name] = _enum_names(cls_name)
    return _ENUMS[cls_name]


_RESOLVERS = {
    "options": lambda t: _enum("BuiltinOptions").get(t),
    "options2": lambda t: _enum("BuiltinOptions2").get(t),
    "quant": lambda t: _enum("QuantizationDetails").get(t),
    "sparse": lambda t: _enum("SparseIndexVector").get(t),
}


@dataclass
class TFLiteModel:
    """The parts of a verified TFLite model that edgeport reads."""

    version: int
    op_names: list[str]  # per operator code
    subgraphs: list[dict]
    buffers: list[dict]  # {"data": (start, len), "offset": int, "size": int}
    metadata: dict[str, int] = field(default_factory=dict)  # name -> buffer index
    description: str = ""


def _fail(path: Path, what: str) -> ModelFormatError:
    return ModelFormatError(f"{path}: corrupted or invalid TFLite model: {what}",
                            hint="re-export the model; the file is damaged or was not written completely")


def _map(path: Path):
    """The file's bytes, memory-mapped (no copy of the weights); bytes for empty files."""
    import mmap

    try:
        with open(path, "rb") as f:
            if os.fstat(f.fileno()).st_size == 0:
                return b""
            return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as e:
        raise ModelFormatError(f"{path}: cannot read ({e.strerror})", hint="check the path and permissions") from None


def parse_tflite(path: Path, buf: bytes | None = None) -> tuple[TFLiteModel, Verifier]:
    """Verify and parse a .tflite file; raise ModelFormatError naming the first problem."""
    if buf is None:
        buf = _map(path)
    v = Verifier(buf, _SCHEMA, _RESOLVERS)
    try:
        return _parse(v, len(buf)), v
    except FlatBufferError as e:
        raise _fail(path, str(e)) from None
    except (ValueError, KeyError, IndexError, OverflowError, MemoryError, RecursionError) as e:
        raise _fail(path, f"{type(e).__name__}: {e}") from None


def _parse(v: Verifier, size: int) -> TFLiteModel:
    m = v.table(v.root(b"TFL3"), "Model")
    op_names = []
    for oc in m.get(1, []):
        code = max(oc.get(0, 0), oc.get(3, 0))
        name = _enum("BuiltinOperator").get(code)
        if name is None:
            raise FlatBufferError(f"operator code {code} is not a known builtin operator")
        op_names.append(oc.get(1) or "CUSTOM" if name == "CUSTOM" else name)
    buffers = []
    for b in m.get(4, []):
        data = b.get(0, (0, 0))
        off, bsize = b.get(1, 0), b.get(2, 0)
        if off > 1 and off + bsize > size:
            raise FlatBufferError(f"buffer data at offset {off} (+{bsize}) is outside the {size}-byte file")
        buffers.append({"data": data, "offset": off, "size": bsize if off > 1 else data[1]})
    nbuf = len(buffers)
    if not m.get(2):
        raise FlatBufferError("the model has no subgraph")
    subgraphs = []
    for si, sg in enumerate(m[2]):
        tensors = []
        for ti, t in enumerate(sg.get(0, [])):
            shape = v.ints(t[0]) if 0 in t else []
            sig = v.ints(t[7]) if 7 in t else shape
            ttype, bidx = t.get(1, 0), t.get(2, 0)
            if len(shape) > _MAX_RANK or len(sig) != len(shape) or any(d < -1 for d in shape + sig):
                raise FlatBufferError(f"subgraph {si} tensor {ti} has an invalid shape {shape}")
            if ttype not in TFLITE_DTYPES:
                raise FlatBufferError(f"subgraph {si} tensor {ti} has an unknown type {ttype}")
            if math.prod(max(d, 1) for d in shape) * (TFLITE_DTYPES[ttype][1] or 1) > _MAX_TENSOR_BYTES:
                raise FlatBufferError(f"subgraph {si} tensor {ti} has shape {shape}, larger than "
                                      f"{_MAX_TENSOR_BYTES >> 30} GiB")
            if bidx >= nbuf:
                raise FlatBufferError(f"subgraph {si} tensor {ti} refers to buffer {bidx} of {nbuf}")
            nbytes = buffers[bidx]["size"] if bidx else 0
            elem = TFLITE_DTYPES[ttype][1]
            if nbytes and elem and 6 not in t and ttype not in (17, 19, 20) and all(d >= 0 for d in shape):
                if nbytes != math.prod(shape) * elem:
                    raise FlatBufferError(f"subgraph {si} tensor {ti}: buffer holds {nbytes} bytes, "
                                          f"shape {shape} needs {int(math.prod(shape) * elem)}")
            tensors.append({"name": t.get(3, f"tensor_{ti}"), "shape": shape, "sig": sig, "type": ttype,
                            "buffer": bidx, "nbytes": nbytes})
        nt = len(tensors)

        def idx_list(vec, what, allow_neg=False):
            out = v.ints(vec) if vec else []
            lo = -1 if allow_neg else 0
            if any(i < lo or i >= nt for i in out):
                raise FlatBufferError(f"subgraph {si} {what} refers to a tensor outside 0..{nt - 1}: {out}")
            return out

        ops = []
        for oi, op in enumerate(sg.get(3, [])):
            oc = op.get(0, 0)
            if oc >= len(op_names):
                raise FlatBufferError(f"subgraph {si} operator {oi} uses opcode {oc} of {len(op_names)}")
            lo, ls = op.get(9, 0), op.get(10, 0)
            if lo and lo + ls > size:
                raise FlatBufferError(f"subgraph {si} operator {oi} custom options are outside the file")
            ops.append({"op": op_names[oc], "inputs": idx_list(op.get(1), f"operator {oi} inputs", True),
                        "outputs": idx_list(op.get(2), f"operator {oi} outputs", True),
                        "intermediates": idx_list(op.get(8), f"operator {oi} intermediates", True),
                        "options": op.get(4, {})})
        inputs, outputs = idx_list(sg.get(1), "inputs"), idx_list(sg.get(2), "outputs")
        # a constant tensor lives in read-only (mmapped) memory: the runtime must never write into it
        written = [(i, "a subgraph input") for i in inputs] + [
            (i, f"an output of operator {k}") for k, op in enumerate(ops) for i in op["outputs"] if i >= 0]
        for i, what in written:
            if tensors[i]["nbytes"]:
                raise FlatBufferError(f"subgraph {si} tensor {i} ({tensors[i]['name']!r}) holds constant data "
                                      f"but is {what}")
        subgraphs.append({"name": sg.get(4, ""), "tensors": tensors, "ops": ops, "inputs": inputs, "outputs": outputs})
    meta = {}
    for md in m.get(6, []):
        if md.get(1, 0) >= nbuf:
            raise FlatBufferError(f"metadata {md.get(0)!r} refers to buffer {md.get(1)} of {nbuf}")
        meta[md.get(0, "")] = md.get(1, 0)
    for sd in m.get(7, []):
        sgi = sd.get(4, 0)
        if sgi >= len(subgraphs):
            raise FlatBufferError(f"signature {sd.get(2)!r} refers to subgraph {sgi} of {len(subgraphs)}")
        nt = len(subgraphs[sgi]["tensors"])
        for tm in sd.get(0, []) + sd.get(1, []):
            if tm.get(1, 0) >= nt:
                raise FlatBufferError(f"signature {sd.get(2)!r} refers to tensor {tm.get(1)} of {nt}")
    return TFLiteModel(m.get(0, 0), op_names, subgraphs, buffers, meta, m.get(3, ""))


def _spec(t: dict) -> TensorSpec:
    shape = tuple(f"d{i}" if d == -1 else d for i, d in enumerate(t["sig"]))
    if shape and shape[0] == "d0":
        shape = ("batch",) + shape[1:]
    return TensorSpec(t["name"], shape, TFLITE_DTYPES[t["type"]][0], guess_layout(shape))


def _buffer_bytes(v: Verifier, model: TFLiteModel, idx: int) -> bytes:
    b = model.buffers[idx]
    if b["offset"] > 1:
        return bytes(v.buf[b["offset"]:b["offset"] + b["size"]])
    start, n = b["data"]
    return bytes(v.buf[start:start + n])


def _op_macs(op: dict, tensors: list[dict]) -> int:
    name = op["op"]

    def shape(k):
        i = op["inputs"][k] if k < len(op["inputs"]) else -1
        return tensors[i]["shape"] if i >= 0 else []

    out = tensors[op["outputs"][0]]["shape"] if op["outputs"] and op["outputs"][0] >= 0 else []
    n_out = math.prod(out) if out else 0
    w = shape(1)
    if name == "CONV_2D" and len(w) == 4:
        return n_out * w[1] * w[2] * w[3]
    if name == "DEPTHWISE_CONV_2D" and len(w) == 4:
        return n_out * w[1] * w[2]
    if name == "CONV_3D" and len(w) == 5:
        return n_out * w[0] * w[1] * w[2] * w[3]
    if name == "TRANSPOSE_CONV" and len(w) == 4:
        return math.prod(shape(2)) * w[0] * w[1] * w[2]
    if name == "FULLY_CONNECTED" and len(w) == 2:
        return n_out * w[1]
    if name == "BATCH_MATMUL":
        a = shape(0)
        adj_x = bool(op["options"].get(0, False))
        if len(a) >= 2:
            return n_out * (a[-2] if adj_x else a[-1])
    return 0


@register_format("tflite")
class TFLiteHandler:
    """Handler for .tflite FlatBuffers."""

    def check(self, path: Path) -> None:
        parse_tflite(path)

    def _meta(self, path: Path, model: TFLiteModel, v: Verifier) -> ModelMetadata:
        if METADATA_NAME not in model.metadata:
            return ModelMetadata()
        return meta_from_json(_buffer_bytes(v, model, model.metadata[METADATA_NAME]), str(path))

    def load(self, path: Path) -> Loaded:
        model, v = parse_tflite(path)
        sg = model.subgraphs[0]
        ins = [_spec(sg["tensors"][i]) for i in sg["inputs"]]
        outs = [_spec(sg["tensors"][i]) for i in sg["outputs"]]

        def inspect() -> Inspection:
            hist: Counter = Counter()
            params = macs = 0
            for g in model.subgraphs:
                for op in g["ops"]:
                    hist[op["op"]] += 1
                    macs += _op_macs(op, g["tensors"])
                for t in g["tensors"]:
                    if t["buffer"] and t["nbytes"] and t["type"] not in _INDEX_TYPES and all(d >= 0 for d in t["shape"]):
                        params += math.prod(t["shape"])
            return Inspection(dict(hist), params, macs, {
                "schema_version": model.version, "subgraphs": len(model.subgraphs),
                "description": model.description, "metadata_entries": sorted(model.metadata)})

        return Loaded(ins, outs, self._meta(path, model, v), inspect)

    def read_metadata(self, path: Path) -> ModelMetadata:
        model, v = parse_tflite(path)
        return self._meta(path, model, v)

    def write_metadata(self, path: Path, meta: ModelMetadata, out: Path) -> None:
        import flatbuffers
        import numpy as np
        from ai_edge_litert import schema_py_generated as s

        from edgeport._fileio import atomic_write_bytes

        parsed, _ = parse_tflite(path)
        if any(b["offset"] > 1 for b in parsed.buffers):
            raise ModelFormatError(f"{path}: writing metadata into a TFLite model with offset buffers (>2 GB style) "
                                   "is not supported", hint="write the metadata before the model is split")
        payload = meta_to_json(meta).encode("utf-8")
        mt = s.ModelT.InitFromPackedBuf(path.read_bytes(), 0)
        mt.buffers = mt.buffers or []
        mt.metadata = mt.metadata or []
        entry = next((e for e in mt.metadata if _text(e.name) == METADATA_NAME), None)
        buf = s.BufferT()
        buf.data = np.frombuffer(payload, dtype=np.uint8)
        used = {t["buffer"] for g in parsed.subgraphs for t in g["tensors"]}
        if entry is not None and 0 < entry.buffer < len(mt.buffers) and entry.buffer not in used:
            mt.buffers[entry.buffer] = buf
        else:
            mt.buffers.append(buf)
            if entry is None:
                entry = s.MetadataT()
                entry.name = METADATA_NAME
                mt.metadata.append(entry)
            entry.buffer = len(mt.buffers) - 1
        b = flatbuffers.Builder(1024 + len(payload))
        b.Finish(mt.Pack(b), file_identifier=b"TFL3")
        data = bytes(b.Output())
        parse_tflite(out, data)  # never write a file edgeport itself would reject
        atomic_write_bytes(out, data)


def _text(v) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else (v or "")
