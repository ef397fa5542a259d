"""LiteRT interpreter helpers for calibration and evaluation (verified before any native load)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["make_interpreter", "run_interpreter", "checked"]


def checked(path: str | Path) -> Path:
    """Structural check of a user file before native code touches it (edgeport.model.check_file)."""
    try:
        from edgeport.model import check_file
    except ImportError:  # the model layer is being built concurrently
        return Path(path)
    check_file(str(path), "tflite")
    return Path(path)


def make_interpreter(path: str | Path, *, preserve: bool = False, threads: int = 1, delegates: bool = True):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    kw = {}
    if preserve or not delegates:
        kw["experimental_op_resolver_type"] = OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    it = Interpreter(model_path=str(checked(path)), num_threads=threads,
                     experimental_preserve_all_tensors=preserve, **kw)
    it.allocate_tensors()
    return it


def run_interpreter(it, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    """Feed by input order/name (float feeds are quantized for int I/O) and return float outputs."""
    details = it.get_input_details()
    vals = list(feeds.values())
    for i, d in enumerate(details):
        x = feeds.get(d["name"], vals[i] if i < len(vals) else None)
        x = np.asarray(x)
        if np.issubdtype(d["dtype"], np.integer) and x.dtype.kind == "f" and d["quantization"][0]:
            s, z = d["quantization"]
            info = np.iinfo(d["dtype"])
            x = np.clip(np.round(x / s + z), info.min, info.max)
        it.set_tensor(d["index"], x.astype(d["dtype"]).reshape(d["shape"]))
    it.invoke()
    outs = []
    for d in it.get_output_details():
        y = it.get_tensor(d["index"])
        if np.issubdtype(y.dtype, np.integer) and d["quantization"][0]:
            s, z = d["quantization"]
            y = (y.astype(np.float32) - z) * s
        outs.append(y)
    return outs
