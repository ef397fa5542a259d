"""``convert()``: the stages in one short function.

ONNX -> IR (frontend) -> passes (cleanup, folding, shapes, BatchNorm, activations)
-> layout (one global pass) -> TFLite ModelT (op table) -> temp file -> verify -> rename.
Other outputs dispatch by extension: ``.onnx`` (torch export, or the re-saved ONNX) and
``.xml`` (OpenVINO, via :mod:`edgeport.convert.to_openvino`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from edgeport._fileio import atomic_path
from edgeport.convert.report import ConversionReport, peak_rss_mb
from edgeport.errors import ConversionError, UsageError
from edgeport.model.spec import TensorSpec, guess_layout

__all__ = ["convert", "onnx_to_tflite", "check_onnx"]

_OUT_FORMATS = {".tflite": "tflite", ".onnx": "onnx", ".xml": "openvino"}


def _specs(values, layouts: bool) -> list[TensorSpec]:
    from edgeport.ir import physical_shape

    out = []
    for v in values:
        shape = tuple(v.shape or ())
        if layouts:
            lay = v.layout or (guess_layout(shape) if len(shape) == 4 else None)
            if len(shape) == 4 and lay != "NHWC":
                lay = "NCHW"
            out.append(TensorSpec(v.name, physical_shape(shape, v.layout), str(v.dtype), lay))
        else:
            out.append(TensorSpec(v.name, shape, str(v.dtype), "NCHW" if len(shape) == 4 else None))
    return out


def onnx_to_tflite(source, input_shapes=None, keep_io_layout: bool = False, metadata: dict | None = None,
                   report: ConversionReport | None = None, fold_shuffle: bool = True):
    """ONNX model/path -> TFLite ModelT (no file written). Fills ``report`` when given.

    ``fold_shuffle``: fold a channel shuffle (Reshape-Transpose-Reshape) into the grouped Conv that
    produces it, which leaves no TRANSPOSE but makes that Conv dense (g x its MACs). On ShuffleNet
    that is 0 instead of 16 TRANSPOSEs for about 25 % more CPU latency; ``False`` keeps the
    transposes and the grouped convs (the faster model on XNNPACK).
    """
    from edgeport.convert.frontend_onnx import onnx_to_ir
    from edgeport.convert.tflite.registry import classify
    from edgeport.convert.tflite.writer import ir_to_tflite
    from edgeport.ir.passes import DEFAULT_PIPELINE, run_passes

    graph = onnx_to_ir(source, input_shapes)
    log: list[dict] = []
    if report is not None:
        report.source_ops = graph.op_counts()
        report.transposes_source = report.source_ops.get("Transpose", 0)
        report.inputs_before = _specs(graph.inputs, False)
        report.outputs_before = _specs(graph.outputs, False)
        report.passes = log
    graph = run_passes(graph, DEFAULT_PIPELINE, {"fuse_channel_shuffle": {"fold_grouped": fold_shuffle}}, log=log)
    io = None if keep_io_layout else "NHWC"
    # 4-D inputs/outputs that look channels-last already keep their layout (no NHWC of an NHWC tensor)
    keep = {v.name for v in list(graph.inputs) + list(graph.outputs)
            if v.shape is not None and len(v.shape) == 4 and guess_layout(tuple(v.shape)) == "NHWC"}
    graph = run_passes(graph, ["assign_layout"], {"assign_layout": {"classify": classify, "io_layout": io,
                                                                    "keep_source": keep}}, log=log)
    model = ir_to_tflite(graph, metadata)
    if report is not None:
        from edgeport.convert.tflite.flatbuffer import schema

        names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
        counts: dict[str, int] = {}
        for op in model.subgraphs[0].operators:
            oc = model.operatorCodes[op.opcodeIndex]
            nm = names.get(max(oc.builtinCode, oc.deprecatedBuiltinCode), str(oc.builtinCode))
            counts[nm] = counts.get(nm, 0) + 1
        report.result_ops = counts
        report.transposes_result = counts.get("TRANSPOSE", 0)
        report.inputs_after = _specs(graph.inputs, True)
        report.outputs_after = _specs(graph.outputs, True)
        report.io_layout = "source" if keep_io_layout else "NHWC"
        wide = [v.name for v in list(graph.inputs) + list(graph.outputs) if v.dtype is not None and v.dtype.itemsize == 8
                and v.dtype.kind == "f"]
        if wide:
            report.warnings.append(f"float64 tensors become float32 in TFLite: {', '.join(wide)}")
    return model


def check_onnx(source, input_shapes=None) -> list[dict]:
    """Every node the TFLite path cannot convert: ``[{"op", "node", "reason"}]`` (empty: all supported)."""
    from edgeport.convert.frontend_onnx import onnx_to_ir
    from edgeport.convert.tflite.writer import unsupported_nodes
    from edgeport.ir.passes import run_passes

    graph = onnx_to_ir(source, input_shapes)
    graph = run_passes(graph, ["remove_identity", "fold_constants", "remove_dead"])
    return unsupported_nodes(graph)


def _onnx_metadata(path) -> dict | None:
    try:
        from edgeport.model import read_metadata

        meta = read_metadata(path)
        return None if meta.is_empty() else meta.to_dict()
    except Exception:
        return None


def convert(source: Any, output: str | os.PathLike, *, input_shapes=None, keep_io_layout: bool = False,
            verify: bool = True, data=None, layerwise: bool = False, tolerance: float = 1e-4,
            example_inputs=None, fold_shuffle: bool = True) -> ConversionReport:
    """Convert ``source`` (.onnx / .pt2 path or torch.nn.Module) to ``output`` (.tflite / .onnx / .xml).

    The result is written to a temporary file, verified against the source (unless
    ``verify=False``) and only then renamed onto ``output``; a mismatch beyond
    ``tolerance`` raises VerificationError and leaves no output.
    """
    t0 = time.perf_counter()
    output = Path(output)
    fmt = _OUT_FORMATS.get(output.suffix.lower())
    if fmt is None:
        raise UsageError(f"cannot tell the output format from {output.name!r}",
                         hint="use an output path ending in .tflite, .onnx or .xml")
    from edgeport._fileio import check_output_path

    check_output_path(output, [source] if isinstance(source, (str, os.PathLike)) else [])
    tmpdir = tempfile.mkdtemp(prefix="edgeport-convert-")
    try:
        src_path, src_fmt = _source_onnx(source, example_inputs, tmpdir, output if fmt == "onnx" else None)
        rep = ConversionReport(source=str(source if isinstance(source, (str, os.PathLike)) else type(source).__name__),
                               output=str(output), source_format=src_fmt, output_format=fmt)
        if fmt == "onnx":
            if src_path != output:
                import onnx

                from edgeport.convert.frontend_onnx import load_onnx

                with atomic_path(output) as tmp:
                    onnx.save(load_onnx(src_path), str(tmp))
        elif fmt == "openvino":
            from edgeport.convert.to_openvino import onnx_to_openvino

            onnx_to_openvino(src_path, output)
        else:
            # a .pt2 is verified end to end against itself (PyTorch), not only against the ONNX export
            is_pt2 = isinstance(source, (str, os.PathLike)) and Path(source).suffix.lower() == ".pt2"
            ref = source if is_pt2 and not layerwise else src_path
            _to_tflite(src_path, output, rep, input_shapes, keep_io_layout, verify, data, layerwise, tolerance, t0,
                       fold_shuffle=fold_shuffle, reference=ref)
        rep.seconds = time.perf_counter() - t0
        rep.peak_rss_mb = peak_rss_mb()
        if output.exists():
            rep.size_bytes = output.stat().st_size
        return rep
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def _source_onnx(source, example_inputs, tmpdir, onnx_out: Path | None):
    if isinstance(source, (str, os.PathLike)):
        p = Path(source)
        if not p.exists():
            raise UsageError(f"source model not found: {p}", hint="check the path")
        if p.suffix.lower() == ".onnx":
            return p, "onnx"
        if p.suffix.lower() not in (".pt2", ".pt"):
            raise UsageError(f"cannot convert {p.name}: edgeport converts from .onnx, .pt2 or a torch module",
                             hint="export the model to ONNX first")
    from edgeport.convert.frontend_torch import torch_to_onnx

    dst = onnx_out or Path(tmpdir) / "model.onnx"
    torch_to_onnx(source, example_inputs, dst)
    return dst, "torch"


def _to_tflite(src, output: Path, rep, input_shapes, keep_io_layout, verify, data, layerwise, tolerance, t0,
               fold_shuffle: bool = True, reference=None):
    from edgeport.convert.tflite.flatbuffer import model_to_buffer

    model = onnx_to_tflite(src, input_shapes, keep_io_layout, _onnx_metadata(src), rep, fold_shuffle=fold_shuffle)
    blob = model_to_buffer(model)
    rep.convert_seconds = time.perf_counter() - t0
    with atomic_path(output) as tmp:
        with open(tmp, "wb") as f:
            f.write(blob)
        if verify:
            try:
                from edgeport.convert.verify import verify as _verify
            except ImportError:
                warnings.warn("edgeport.convert.verify is not available: output not verified", stacklevel=3)
                rep.warnings.append("not verified: edgeport.convert.verify unavailable")
                return
            vrep = _verify(str(reference or src), str(tmp), data=data, layerwise=layerwise, tolerance=tolerance)
            rep.verification = vrep
            if hasattr(vrep, "b"):  # name the file the user asked for, not the temporary one
                vrep.b = str(output)
                vrep.notes = [n.replace(str(tmp), str(output)) for n in getattr(vrep, "notes", [])]
            if not vrep.passed:
                from edgeport.errors import VerificationError

                worst = getattr(vrep, "max_rel", float("nan"))
                raise VerificationError(
                    f"converted model differs from {Path(str(src)).name}: max rel error {worst:.3g} > tolerance "
                    f"{tolerance:g}; {output.name} not written", hint="rerun with --layerwise to find the first "
                    "diverging op, or --no-verify to keep the file anyway", report=vrep)
    if not output.exists():  # pragma: no cover - atomic_path renames on success
        raise ConversionError(f"{output} was not written", hint="check the folder is writable")
