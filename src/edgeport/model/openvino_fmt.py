"""OpenVINO IR (.xml + .bin): parsed with xml.etree (no openvino needed), rt_info metadata."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

from edgeport.errors import ModelFormatError
from edgeport.model._meta import meta_from_flat, meta_to_flat
from edgeport.model._registry import Inspection, Loaded, register_format
from edgeport.model.spec import ModelMetadata, TensorSpec, guess_layout

__all__ = ["parse_ir", "OV_DTYPES"]

RT_PREFIX = "edgeport_"
# element_type -> (numpy dtype name, bytes per element)
OV_DTYPES = {"f32": ("float32", 4), "f16": ("float16", 2), "bf16": ("bfloat16", 2), "f64": ("float64", 8),
             "i64": ("int64", 8), "i32": ("int32", 4), "i16": ("int16", 2), "i8": ("int8", 1),
             "u64": ("uint64", 8), "u32": ("uint32", 4), "u16": ("uint16", 2), "u8": ("uint8", 1),
             "boolean": ("bool", 1), "u4": ("uint8", 0.5), "i4": ("int8", 0.5), "u1": ("uint8", 0.125),
             "nf4": ("uint8", 0.5), "f8e4m3": ("uint8", 1), "f8e5m2": ("uint8", 1), "string": ("object", 0)}
_INDEX_TYPES = {"i64", "i32", "u64", "u32"}
_MAX_XML = 512 * 1024 * 1024
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _bad(path: Path, what: str, hint: str = "re-export the model with openvino.save_model; the file is damaged"):
    return ModelFormatError(f"{path}: invalid OpenVINO IR: {what}", hint=hint)


def _dims(port) -> tuple:
    out = []
    for i, d in enumerate(port.findall("dim")):
        txt = (d.text or "").strip()
        try:
            v = int(txt)
        except ValueError:
            v = -1  # "1..10" or "?" ranges are dynamic
        out.append(v if v >= 0 else ("batch" if i == 0 else f"d{i}"))
    return tuple(out)


def _shape_attr(text: str, path: Path, lname: str) -> list[int] | None:
    try:
        dims = [int(x) for x in text.replace(" ", "").split(",") if x != ""]
    except ValueError:
        return None
    if any(d < 0 for d in dims):
        raise _bad(path, f"Const layer {lname!r} has a negative dimension in shape {text!r}")
    return dims


def parse_ir(path: Path):
    """Parse and check the .xml and its .bin; return (root, layers by id, edges, bin size)."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise _bad(path, f"cannot read ({e.strerror})", "check the path and permissions") from None
    if len(raw) > _MAX_XML:
        raise _bad(path, f"the XML is larger than {_MAX_XML >> 20} MB")
    head = raw[:4096].upper()
    if b"<!DOCTYPE" in head or b"<!ENTITY" in raw.upper():
        raise _bad(path, "the XML declares a DOCTYPE or entities, which IR files never do")
    try:
        root = ET.fromstring(raw)
    except (ET.ParseError, ValueError, UnicodeDecodeError) as e:
        raise _bad(path, f"the XML is not well-formed ({e})") from None
    if root.tag != "net" or root.find("layers") is None:
        raise _bad(path, f"the XML root is <{root.tag}>, not an IR <net> with <layers>",
                   "pass the .xml written by openvino.save_model")
    bin_path = path.with_suffix(".bin")
    layers: dict[str, ET.Element] = {}
    need = 0
    for layer in root.find("layers"):
        lid, ltype = layer.get("id"), layer.get("type")
        if lid is None or ltype is None:
            raise _bad(path, "a <layer> lacks its id or type")
        if lid in layers:
            raise _bad(path, f"layer id {lid} appears twice")
        layers[lid] = layer
        if ltype == "Const":
            data = layer.find("data")
            if data is None:
                raise _bad(path, f"Const layer {layer.get('name')!r} has no <data>")
            try:
                off, size = int(data.get("offset", "0")), int(data.get("size", "0"))
            except ValueError:
                raise _bad(path, f"Const layer {layer.get('name')!r} has a bad offset/size") from None
            if off < 0 or size < 0:
                raise _bad(path, f"Const layer {layer.get('name')!r} has a negative offset/size")
            et = data.get("element_type", "")
            if et not in OV_DTYPES:
                raise _bad(path, f"Const layer {layer.get('name')!r} has unknown element_type {et!r}")
            dims = _shape_attr(data.get("shape", ""), path, layer.get("name"))
            elem = OV_DTYPES[et][1]
            if dims is not None and elem and et != "string" and math.ceil(math.prod(dims) * elem) > size:
                raise _bad(path, f"Const layer {layer.get('name')!r}: shape {dims} needs more than its {size} bytes")
            need = max(need, off + size)
    if not layers:
        raise _bad(path, "the IR has no layers")
    if not bin_path.is_file():
        if need:
            raise _bad(path, f"the weights file {bin_path.name} is missing",
                       f"keep {bin_path.name} beside {path.name}")
        bin_size = 0
    else:
        bin_size = bin_path.stat().st_size
    if need > bin_size:
        raise _bad(path, f"{bin_path.name} has {bin_size} bytes but the layers need {need}",
                   f"{bin_path.name} is truncated or belongs to another model; re-export both files")
    edges = []
    for e in root.find("edges") if root.find("edges") is not None else []:
        fl, tl = e.get("from-layer"), e.get("to-layer")
        if fl not in layers or tl not in layers:
            raise _bad(path, f"an edge refers to a missing layer ({fl} -> {tl})")
        edges.append((fl, e.get("from-port"), tl, e.get("to-port")))
    return root, layers, edges, bin_size


def _port(layer, kind: str, idx: int):
    sect = layer.find(kind)
    ports = sect.findall("port") if sect is not None else []
    return ports[idx] if idx < len(ports) else None


def _layer_macs(layer) -> int:
    ltype = layer.get("type")
    one = lambda s: tuple(d if isinstance(d, int) else 1 for d in s)  # noqa: E731  dynamic dims count as 1
    ins = [one(_dims(p)) for p in (layer.find("input").findall("port") if layer.find("input") is not None else [])]
    out_p = _port(layer, "output", 0)
    out = one(_dims(out_p)) if out_p is not None else ()
    static = bool
    if len(ins) < 2 or not static(ins[1]) or not static(out):
        return 0
    w, n_out = ins[1], math.prod(out)
    if ltype == "Convolution" and len(w) >= 3:
        return n_out * math.prod(w[1:])
    if ltype == "GroupConvolution" and len(w) >= 4:
        return n_out * math.prod(w[2:])
    if ltype == "ConvolutionBackpropData" and static(ins[0]) and len(w) >= 3:
        return math.prod(ins[0]) * math.prod(w[1:])  # w: [C_in, C_out, k...]
    if ltype == "GroupConvolutionBackpropData" and static(ins[0]) and len(w) >= 4:
        return math.prod(ins[0]) * math.prod(w[2:])  # w: [G, C_in/G, C_out/G, k...]
    if ltype == "MatMul" and static(ins[0]):
        data = layer.find("data")
        ta = data is not None and data.get("transpose_a", "false").lower() == "true"
        a = ins[0]
        return n_out * (a[-2] if ta and len(a) >= 2 else a[-1])
    return 0


def _meta(path: Path, root) -> ModelMetadata:
    rt = root.find("rt_info")
    flat = {}
    if rt is not None:
        for child in rt:
            if child.tag.startswith(RT_PREFIX) and child.get("value") is not None:
                flat[child.tag[len(RT_PREFIX):].replace("extra_", "extra.", 1)] = child.get("value")
    return meta_from_flat(flat, str(path))


def _specs(layers, edges, kind: str) -> list[TensorSpec]:
    out = []
    for lid, layer in layers.items():
        if layer.get("type") != kind:
            continue
        if kind == "Parameter":
            port = _port(layer, "output", 0)
            name = (port.get("names") if port is not None else None) or layer.get("name")
        else:
            port = _port(layer, "input", 0)
            src = next((e for e in edges if e[2] == lid), None)
            name = layer.get("output_names") or layer.get("name")
            if src is not None:
                outs = layers[src[0]].find("output")
                sport = next((p for p in (outs if outs is not None else []) if p.get("id") == src[1]), None)
                name = (sport.get("names") if sport is not None else None) or name
        shape = _dims(port) if port is not None else ()
        data = layer.find("data")
        et = data.get("element_type") if (data is not None and kind == "Parameter") else None
        if et is None and port is not None:
            et = {"FP32": "f32", "FP16": "f16", "I64": "i64", "I32": "i32", "U8": "u8", "I8": "i8",
                  "BOOL": "boolean"}.get((port.get("precision") or "").upper(), "f32")
        out.append(TensorSpec(name.split(",")[0], shape, OV_DTYPES.get(et, ("float32",))[0], guess_layout(shape)))
    return out


@register_format("openvino")
class OpenVinoHandler:
    """Handler for OpenVINO IR: the .xml path, weights in the .bin beside it."""

    def check(self, path: Path) -> None:
        parse_ir(path)

    def load(self, path: Path) -> Loaded:
        root, layers, edges, bin_size = parse_ir(path)

        def inspect() -> Inspection:
            hist = Counter(l.get("type") for l in layers.values() if l.get("type") not in ("Parameter", "Result", "Const"))
            params = macs = 0
            for layer in layers.values():
                if layer.get("type") == "Const":
                    data = layer.find("data")
                    dims = _shape_attr(data.get("shape", ""), path, layer.get("name"))
                    if dims is not None and data.get("element_type") not in _INDEX_TYPES:
                        params += math.prod(dims)
                else:
                    macs += _layer_macs(layer)
            return Inspection(dict(hist), params, macs, {"ir_version": root.get("version"), "name": root.get("name"),
                                                         "bin_bytes": bin_size})

        return Loaded(_specs(layers, edges, "Parameter"), _specs(layers, edges, "Result"), _meta(path, root), inspect)

    def read_metadata(self, path: Path) -> ModelMetadata:
        return _meta(path, parse_ir(path)[0])

    def write_metadata(self, path: Path, meta: ModelMetadata, out: Path) -> None:
        import shutil

        from edgeport._fileio import atomic_path, atomic_write_bytes

        root = parse_ir(path)[0]
        rt = root.find("rt_info")
        if rt is None:
            rt = ET.SubElement(root, "rt_info")
        for child in [c for c in rt if c.tag.startswith(RT_PREFIX)]:
            rt.remove(child)
        for k, v in meta_to_flat(meta).items():
            tag = RT_PREFIX + k.replace(".", "_", 1)
            if not tag.replace("_", "a").isalnum():
                raise ModelFormatError(f"metadata key {k!r} is not a valid XML tag name",
                                       hint="use letters, digits and underscores in extra keys")
            if _XML_BAD.search(v):
                raise ModelFormatError(f"metadata {k!r} holds control characters that XML (OpenVINO IR) cannot store",
                                       hint="remove control characters from the metadata text")
            ET.SubElement(rt, tag, {"value": v})
        data = b'<?xml version="1.0"?>\n' + ET.tostring(root, encoding="utf-8", xml_declaration=False)
        if out.resolve() != path.resolve():
            src_bin, dst_bin = path.with_suffix(".bin"), out.with_suffix(".bin")
            if src_bin.is_file():
                with atomic_path(dst_bin) as tmp:
                    shutil.copyfile(src_bin, tmp)
        atomic_write_bytes(out, data)
