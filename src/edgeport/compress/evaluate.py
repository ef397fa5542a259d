"""Accuracy of a model on data: top-1 against labels, agreement with a reference, or a user metric."""

from __future__ import annotations

import importlib
import os
from typing import Callable, Sequence

import numpy as np

from edgeport.compress import _modelio
from edgeport.compress.calibration import load_arrays, load_labels, to_feeds
from edgeport.errors import CalibrationDataError, UsageError

__all__ = ["predict", "top1", "agreement", "evaluate_top1", "load_metric", "cosine", "snr_db", "eval_feeds"]


def _session(path, threads):
    try:
        from edgeport.runtime import load
    except ImportError:
        load = None
    fmt = _modelio.model_format(path)
    if fmt == "tflite" or load is None:
        from edgeport.compress.tflite.interp import make_interpreter, run_interpreter

        if fmt != "tflite":
            raise UsageError(f"no runtime for {path}", hint="install edgeport's runtime layer")
        it = make_interpreter(path, threads=threads or 1)
        return lambda feed: run_interpreter(it, feed)[0]
    sess = load(str(path), threads=threads)
    return lambda feed: next(iter(sess.run(feed).values()))


def predict(path: str | os.PathLike, feeds: Sequence[dict[str, np.ndarray]], threads: int | None = 1,
            progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """First output of the model for every feed, concatenated along the batch axis (float32)."""
    run = _session(path, threads)
    outs = []
    for i, f in enumerate(feeds):
        outs.append(np.asarray(run(f), dtype=np.float32))
        if progress:
            progress(i + 1, len(feeds))
    return np.concatenate([o.reshape(o.shape[0] if o.ndim > 1 else 1, -1) for o in outs])


def top1(outputs: np.ndarray, labels: np.ndarray) -> float:
    labels = np.asarray(labels).reshape(-1)[: len(outputs)]
    return float((outputs.argmax(axis=1) == labels).mean())


def agreement(outputs: np.ndarray, reference: np.ndarray) -> float:
    return float((outputs.argmax(axis=1) == reference.argmax(axis=1)).mean())


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    den = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / den) if den > 0 else float(np.allclose(a, b))


def snr_db(ref: np.ndarray, test: np.ndarray) -> float:
    ref, test = np.asarray(ref, np.float64), np.asarray(test, np.float64)
    noise = float(((ref - test) ** 2).sum())
    sig = float((ref ** 2).sum())
    return float("inf") if noise == 0 else 10 * np.log10(max(sig, 1e-30) / noise)


def eval_feeds(model: str | os.PathLike, data, limit: int | None = None):
    """(feeds, labels or None) for ``model`` from an .npz/.npy/folder, preprocessed per its metadata."""
    fmt = _modelio.model_format(model)
    inputs = _modelio.model_inputs(model, fmt)
    mean, std = _modelio.model_norm(model)
    arrays = load_arrays(data, inputs, limit=limit)
    feeds = to_feeds(arrays, inputs, mean=mean, std=std, source=data, limit=limit)
    labels = arrays.get("__labels__")
    if labels is None and not isinstance(data, (dict, np.ndarray)):
        labels = load_labels(data)
    if labels is not None and len(np.asarray(labels).reshape(-1)) < sum(len(next(iter(f.values()))) for f in feeds):
        raise CalibrationDataError(f"fewer labels than samples in {data}", hint="give one label per sample")
    return feeds, (None if labels is None else np.asarray(labels).reshape(-1)[: limit or None])


def evaluate_top1(model_path: str | os.PathLike, npz, limit: int | None = None, threads: int | None = 1) -> float:
    """Top-1 accuracy of a model on an .npz holding images/x and labels/y (preprocessed per the model's metadata)."""
    feeds, labels = eval_feeds(model_path, npz, limit)
    if labels is None:
        raise CalibrationDataError(f"no labels ('y' or 'labels') in {npz}", hint="store the labels beside the inputs")
    return top1(predict(model_path, feeds, threads), labels)


def load_metric(spec: str) -> Callable[[np.ndarray, np.ndarray], float]:
    """``module:function`` taking (outputs, labels or reference outputs) and returning a score (higher is better)."""
    mod, _, fn = spec.partition(":")
    if not mod or not fn:
        raise UsageError(f"bad metric {spec!r}", hint="use module:function, e.g. mypkg.metrics:f1")
    try:
        return getattr(importlib.import_module(mod), fn)
    except (ImportError, AttributeError) as e:
        raise UsageError(f"cannot import metric {spec!r}: {e}", hint="check that the module is on PYTHONPATH") from None
