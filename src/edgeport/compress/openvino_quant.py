"""OpenVINO compression: int8 with NNCF post-training quantization, int8 weights (dynamic), fp16 IR."""

from __future__ import annotations

import contextlib
import logging
import sys
from typing import Sequence

import numpy as np

from edgeport.errors import BackendUnavailableError, UsageError

__all__ = ["quantize_openvino"]


def quantize_openvino(src, dst_xml, mode: str, feeds: Sequence[dict[str, np.ndarray]] | None = None, *,
                      method: str = "minmax", exclude: Sequence[str] = ()) -> list[str]:
    """Write ``dst_xml`` (+ .bin); returns notes."""
    try:
        import openvino as ov
    except ImportError:
        raise BackendUnavailableError("OpenVINO is not installed", hint="pip install 'edgeport[openvino]'") from None
    model = ov.Core().read_model(str(src))
    if mode == "fp16":
        ov.save_model(model, str(dst_xml), compress_to_fp16=True)
        return ["fp16 IR (compress_to_fp16)"]
    try:
        import nncf
    except ImportError:
        raise BackendUnavailableError("NNCF is not installed; OpenVINO int8 needs it",
                                      hint="pip install nncf, or use --mode fp16") from None
    nncf.set_log_level(logging.WARNING)
    quiet = contextlib.redirect_stdout(sys.stderr)  # NNCF draws progress bars on stdout; keep it for --json
    if mode == "dynamic":
        with quiet:
            q = nncf.compress_weights(model, mode=nncf.CompressWeightsMode.INT8_ASYM)
        ov.save_model(q, str(dst_xml), compress_to_fp16=False)
        return ["int8 weights (nncf.compress_weights INT8_ASYM)"]
    if mode != "int8":
        raise UsageError(f"mode {mode!r} is not offered for OpenVINO", hint="use int8, dynamic or fp16")
    names = [p.get_any_name() for p in model.inputs]
    data = nncf.Dataset(list(feeds), lambda f: {n: f[n] for n in names if n in f} or list(f.values()))
    kw = {}
    if exclude:
        kw["ignored_scope"] = nncf.IgnoredScope(names=list(exclude))
    with quiet:
        q = nncf.quantize(model, data, subset_size=len(feeds), **kw)
    ov.save_model(q, str(dst_xml), compress_to_fp16=False)
    return [f"NNCF post-training int8, {len(feeds)} calibration samples"]
