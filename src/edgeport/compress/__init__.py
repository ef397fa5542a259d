"""edgeport.compress: quantize (fp16, dynamic, int8, int16x8, mixed precision), prune, cluster, distill, optimize.

Public API::

    from edgeport.compress import quantize, evaluate_top1
    rep = quantize("model.tflite", "model_int8.tflite", mode="int8", calib="calib.npz", diagnose=True)
    rep.size_ratio, rep.output_cosine, rep.worst(3)
    rep = quantize("m.tflite", "m_int8.tflite", calib="calib.npz", method="entropy", eval_data="test.npz",
                   max_drop="0.5%", auto_mixed_precision=True, fallback="int16")  # or "float" for speed
    rep.int16_layers, rep.float_layers, rep.latency_ms
"""

from __future__ import annotations

from edgeport.compress.evaluate import evaluate_top1
from edgeport.compress.quantize import FALLBACKS, MODES, METHODS, quantize
from edgeport.compress.report import LayerStat, QuantizationReport

__all__ = ["quantize", "QuantizationReport", "LayerStat", "evaluate_top1", "MODES", "METHODS", "FALLBACKS",
           "prune", "prune_channels", "cluster", "distill", "optimize"]


_LAZY = {"prune": ("edgeport.compress.prune", "prune_magnitude"),
         "prune_channels": ("edgeport.compress.prune", "prune_channels"),
         "cluster": ("edgeport.compress.cluster", "cluster"),
         "distill": ("edgeport.compress.distill", "distill"),
         "optimize": ("edgeport.compress.optimize", "optimize")}


def __getattr__(name):  # torch-based tools load torch only when used
    if name not in _LAZY:
        raise AttributeError(name)
    import importlib

    mod, attr = _LAZY[name]
    fn = getattr(importlib.import_module(mod), attr)
    globals()[name] = fn  # importing the submodule bound the module object to this name; rebind
    return fn
