"""PyTorch archives: TorchScript (.pt, torch.jit.save) and torch.export (.pt2, torch.export.save).

Both are zip files. :func:`check_zip` reads every member (CRC-checked) and checks the
layout before torch sees the file; torch loads only after that, and any exception it
raises becomes a ModelFormatError. Metadata lives in a zip member
``<archive>/extra/edgeport.json`` (TorchScript's own place for extra files).
"""

from __future__ import annotations

import logging
import math
import shutil
import warnings
import zipfile
import zlib
from collections import Counter
from pathlib import Path

from edgeport.errors import ModelFormatError
from edgeport.model._meta import meta_from_json, meta_to_json
from edgeport.model._registry import Inspection, Loaded, register_format
from edgeport.model.spec import ModelMetadata, TensorSpec, guess_layout

__all__ = ["check_zip", "zip_kind"]

META_MEMBER = "extra/edgeport.json"
_MAX_MEMBERS = 100_000


def _bad(path: Path, what: str, hint: str = "re-save the model with torch.jit.save or torch.export.save"):
    return ModelFormatError(f"{path}: {what}", hint=hint)


def zip_kind(names: list[str]) -> str | None:
    """'pt2', 'torchscript', 'pickle' (plain torch.save) or None from the member names."""
    rel = {n.split("/", 1)[1] for n in names if "/" in n}
    if "archive_format" in rel or "models/model.json" in rel or any(r.startswith("serialized_exported_program") for r in rel):
        return "pt2"
    if "data.pkl" in rel and any(r.startswith("code/") for r in rel):
        return "torchscript"
    if "data.pkl" in rel:
        return "pickle"
    return None


def check_zip(path: Path, expect: str | None = None) -> tuple[str, str]:
    """Check the archive (every member readable, CRCs right); return (kind, archive prefix)."""
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            if not infos or len(infos) > _MAX_MEMBERS:
                raise _bad(path, f"the zip archive holds {len(infos)} members")
            names = [i.filename for i in infos]
            prefixes = {n.split("/", 1)[0] for n in names}
            if len(prefixes) != 1 or any(n.startswith("/") or ".." in n.split("/") for n in names):
                raise _bad(path, "the zip archive does not have one top-level folder like a PyTorch archive")
            encrypted = next((i.filename for i in infos if i.flag_bits & 0x1), None)
            if encrypted is not None:  # zipfile would raise RuntimeError("password required") on read
                raise _bad(path, f"zip member {encrypted!r} is marked encrypted, which PyTorch never writes")
            bad = z.testzip()
            if bad is not None:
                raise _bad(path, f"zip member {bad!r} is corrupted (CRC mismatch)")
    except ModelFormatError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, ValueError,
            NotImplementedError, UnicodeDecodeError, KeyError, IndexError) as e:
        raise _bad(path, f"corrupted or truncated zip archive ({type(e).__name__}: {e})") from None
    kind = zip_kind(names)
    if kind == "pickle":
        raise _bad(path, "this is a plain torch.save checkpoint (pickled weights), not a runnable model",
                   "export it: torch.jit.save(torch.jit.trace(model, x), 'm.pt') or torch.export.save(ep, 'm.pt2')")
    if kind is None or (expect and kind != expect):
        raise _bad(path, f"zip archive is not a {expect or 'PyTorch'} model (members: {', '.join(names[:3])}...)")
    return kind, prefixes.pop()


def _torch_load(path: Path, kind: str):
    try:
        import torch
    except ImportError:
        raise ModelFormatError(f"{path}: reading a {kind} model needs PyTorch",
                               hint="pip install 'edgeport[torch]'") from None
    log = logging.getLogger("torch.export")  # it logs a traceback before raising; we raise one line instead
    level = log.level
    try:
        log.setLevel(logging.CRITICAL)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit is deprecated but still in use
            if kind == "torchscript":
                # on the meta device: no weight memory; shapes and FLOPs come from a meta forward
                with zipfile.ZipFile(path) as z:  # traced archives record their input shapes
                    traced = any(n.endswith("/traced_inputs.pkl") for n in z.namelist())
                return torch.jit.load(str(path), map_location="meta", _restore_shapes=traced)
            return torch.export.load(str(path))
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as e:  # torch raises RuntimeError, pickle errors, ... on a bad archive
        msg = " ".join(str(e).split())[:160]
        raise _bad(path, f"PyTorch cannot load this {kind} archive ({type(e).__name__}: {msg})") from None
    finally:
        log.setLevel(level)


def _sym(d, i: int):
    """A plain int stays; a symbolic dim (torch.SymInt) becomes its name (int() would give its hint)."""
    return d if isinstance(d, int) else str(d)


def _dtype(t) -> str:
    return str(t).replace("torch.", "") if t is not None else "float32"


def _ts_specs(mod) -> tuple[list[TensorSpec], list[TensorSpec]]:
    ins = []
    for i in list(mod.graph.inputs())[1:]:
        t = i.type()
        sizes = t.sizes() if hasattr(t, "sizes") else None
        shape = tuple(d if d is not None else ("batch" if k == 0 else f"d{k}") for k, d in enumerate(sizes or []))
        st = t.scalarType() if hasattr(t, "scalarType") else None
        dtype = {"Float": "float32", "Half": "float16", "Double": "float64", "Long": "int64", "Int": "int32",
                 "Byte": "uint8", "Char": "int8", "Bool": "bool"}.get(st or "Float", "float32")
        ins.append(TensorSpec(i.debugName().split(".")[0], shape, dtype, guess_layout(shape)))
    outs, macs = _ts_meta_forward(mod, ins)
    return ins, outs, macs


def _ts_meta_forward(mod, ins: list[TensorSpec]) -> tuple[list[TensorSpec], int | None]:
    """Run forward on meta tensors (no data, no compute) for the output shapes and the MACs."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    unknown = [TensorSpec(f"output_{k}", (), "float32") for k, _ in enumerate(mod.graph.outputs())]
    if not ins or not all(t.shape and t.is_static for t in ins):  # () here means "not recorded"
        return unknown, None
    try:
        feeds = [torch.empty(t.shape, dtype=getattr(torch, t.dtype), device="meta") for t in ins]
        counter = FlopCounterMode(display=False)
        with counter, torch.no_grad():
            out = mod(*feeds)
        flat = list(out) if isinstance(out, (tuple, list)) else [out]
        if not all(isinstance(o, torch.Tensor) for o in flat):
            return unknown, counter.get_total_flops() // 2
        outs = []
        for k, o in enumerate(flat):
            shape = tuple(int(d) for d in o.shape)
            outs.append(TensorSpec(f"output_{k}", shape, _dtype(o.dtype), guess_layout(shape)))
        return outs, counter.get_total_flops() // 2
    except Exception:  # data-dependent code cannot run on meta tensors: shapes stay unknown
        return unknown, None


def _ep_specs(ep):
    from torch.export.graph_signature import InputKind

    nodes = {n.name: n for n in ep.graph.nodes}

    def spec(name):
        val = nodes[name].meta.get("val") if name in nodes else None
        shape = tuple(_sym(d, i) for i, d in enumerate(getattr(val, "shape", ())))
        return TensorSpec(name, shape, _dtype(getattr(val, "dtype", None)), guess_layout(shape))

    ins = [spec(s.arg.name) for s in ep.graph_signature.input_specs
           if s.kind == InputKind.USER_INPUT and hasattr(s.arg, "name")]
    outs = [spec(s.arg.name) for s in ep.graph_signature.output_specs if hasattr(s.arg, "name")]
    return ins, outs


def _ep_macs(ep) -> int:
    def shp(n):
        v = n.meta.get("val") if hasattr(n, "meta") else None
        s = getattr(v, "shape", None)
        if s is None:
            return None
        out = []
        for d in s:  # symbolic dims count as 1
            out.append(d if isinstance(d, int) else 1)
        return tuple(out)

    total = 0
    for n in ep.graph.nodes:
        if n.op != "call_function":
            continue
        name = str(n.target).split(".")[1] if str(n.target).startswith("aten.") else ""
        out = shp(n)
        args = [shp(a) if hasattr(a, "meta") else None for a in n.args]
        if not out or len(args) < 2:
            continue
        if name in ("conv1d", "conv2d", "conv3d", "convolution") and args[1]:
            transposed = name == "convolution" and len(n.args) > 6 and bool(n.args[6])
            total += (math.prod(args[0]) * math.prod(args[1][1:]) if transposed and args[0]
                      else math.prod(out) * math.prod(args[1][1:]))
        elif name in ("conv_transpose1d", "conv_transpose2d", "conv_transpose3d") and args[0] and args[1]:
            total += math.prod(args[0]) * math.prod(args[1][1:])
        elif name == "linear" and args[1]:
            total += math.prod(out) * args[1][-1]
        elif name in ("mm", "bmm", "matmul") and args[0]:
            total += math.prod(out) * args[0][-1]
        elif name == "addmm" and len(args) > 1 and args[1]:
            total += math.prod(out) * args[1][-1]
    return total


class _TorchHandler:
    kind = ""

    def check(self, path: Path) -> None:
        check_zip(path, self.kind)

    def load(self, path: Path) -> Loaded:
        meta = self.read_metadata(path)
        obj = _torch_load(path, self.kind)
        try:
            ins, outs, ts_macs = _ts_specs(obj) if self.kind == "torchscript" else (*_ep_specs(obj), None)
        except Exception as e:
            raise _bad(path, f"cannot read the signature ({type(e).__name__}: {e})") from None

        def inspect() -> Inspection:
            if self.kind == "torchscript":
                hist = Counter(n.kind() for n in obj.inlined_graph.nodes()
                               if not n.kind().startswith("prim::"))
                params = sum(p.numel() for p in obj.parameters())
                note = {} if ts_macs is not None else {"macs_note": "unknown: no recorded input shapes, or "
                                                                       "forward is data-dependent"}
                return Inspection(dict(hist), params, ts_macs, note)
            hist = Counter(".".join(str(n.target).split(".")[:2]) for n in obj.graph.nodes if n.op == "call_function")
            params = sum(p.numel() for p in obj.parameters())
            return Inspection(dict(hist), params, _ep_macs(obj), {})

        return Loaded(ins, outs, meta, inspect)

    def read_metadata(self, path: Path) -> ModelMetadata:
        _, prefix = check_zip(path, self.kind)
        member = f"{prefix}/{META_MEMBER}"
        try:
            with zipfile.ZipFile(path) as z:
                if member not in z.namelist():
                    return ModelMetadata()
                return meta_from_json(z.read(member), str(path))
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as e:
            raise _bad(path, f"cannot read {member} ({e})") from None

    def write_metadata(self, path: Path, meta: ModelMetadata, out: Path) -> None:
        from edgeport._fileio import atomic_path

        _, prefix = check_zip(path, self.kind)
        payload = meta_to_json(meta)
        member = f"{prefix}/{META_MEMBER}"
        with atomic_path(out) as tmp:
            with zipfile.ZipFile(path) as src:
                if member in src.namelist():  # rebuild without the old copy (members are copied raw)
                    with zipfile.ZipFile(tmp, "w") as dst:
                        for info in src.infolist():
                            if info.filename != member:
                                dst.writestr(info, src.read(info.filename))
                else:
                    shutil.copyfile(path, tmp)
            with zipfile.ZipFile(tmp, "a") as z:  # append: existing members keep their offsets
                z.writestr(zipfile.ZipInfo(member), payload)


@register_format("torchscript")
class TorchScriptHandler(_TorchHandler):
    """Handler for TorchScript archives (torch.jit.save)."""

    kind = "torchscript"


@register_format("pt2")
class ExportedProgramHandler(_TorchHandler):
    """Handler for torch.export archives (torch.export.save)."""

    kind = "pt2"
