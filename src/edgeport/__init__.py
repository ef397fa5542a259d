"""edgeport: take a trained model and make it run well on a device.

Public API (everything else is private)::

    import edgeport
    m = edgeport.open("model.onnx")          # ModelFile: format, signature, metadata, inspection
    sess = edgeport.load("model.tflite")     # one runtime over ONNX Runtime, LiteRT, OpenVINO, PyTorch
    outs = sess.run({"input": x})
    edgeport.benchmark(["a.onnx", "a.tflite"])
    edgeport.convert("model.onnx", "model.tflite")
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["open", "load", "benchmark", "convert", "verify", "quantize", "__version__"]


def open(path, **kwargs):  # noqa: A001 - mirrors builtins.open on purpose
    """Open a model file (format sniffed from content) and return a :class:`~edgeport.model.ModelFile`."""
    from edgeport.model import open_model

    return open_model(path, **kwargs)


def load(path, backend=None, accelerator="auto", threads=None, **kwargs):
    """Load a model for inference and return a :class:`~edgeport.runtime.Session`."""
    from edgeport.runtime import load as _load

    return _load(path, backend=backend, accelerator=accelerator, threads=threads, **kwargs)


def benchmark(models, **kwargs):
    """Benchmark one or more models (see :func:`edgeport.bench.benchmark`)."""
    from edgeport.bench import benchmark as _benchmark

    return _benchmark(models, **kwargs)


def convert(source, output, **kwargs):
    """Convert a model (see :func:`edgeport.convert.convert`)."""
    from edgeport.convert import convert as _convert

    return _convert(source, output, **kwargs)


def verify(a, b, **kwargs):
    """Compare two models numerically (see :func:`edgeport.convert.verify.verify`)."""
    from edgeport.convert.verify import verify as _verify

    return _verify(a, b, **kwargs)


def quantize(model, output, **kwargs):
    """Quantize a model (see :func:`edgeport.compress.quantize`)."""
    from edgeport.compress import quantize as _quantize

    return _quantize(model, output, **kwargs)
