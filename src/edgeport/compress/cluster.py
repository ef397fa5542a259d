"""Weight clustering (weight sharing): k-means per layer, N centroids; size before/after compression.

Works on ONNX files (float initializers) and on PyTorch modules (Conv/Linear weights), in numpy.
After clustering each layer holds at most N distinct values, which a general compressor (zlib, or
zstd when ``zstandard`` is installed) shrinks well; the report gives both sizes.
"""

from __future__ import annotations

import io
import os
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from edgeport._fileio import atomic_path
from edgeport.errors import UsageError

__all__ = ["kmeans_1d", "cluster", "ClusterReport", "compressed_size"]


@dataclass
class ClusterReport:
    clusters: int
    layers: dict[str, int] = field(default_factory=dict)  # name -> unique values after
    size: int = 0
    size_zipped_before: int = 0
    size_zipped_after: int = 0
    codec: str = "zlib"
    max_abs_error: float = 0.0

    @property
    def zip_ratio(self) -> float:
        return self.size_zipped_after / self.size_zipped_before if self.size_zipped_before else float("nan")

    def to_dict(self):
        return asdict(self) | {"zip_ratio": self.zip_ratio}


def compressed_size(data: bytes) -> tuple[int, str]:
    try:
        import zstandard

        return len(zstandard.ZstdCompressor(level=19).compress(data)), "zstd"
    except ImportError:
        return len(zlib.compress(data, 9)), "zlib"


def kmeans_1d(w: np.ndarray, n: int, iters: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """(centroids, labels) of the values of ``w``; linear init between min and max (as TF-MOT's default)."""
    v = np.asarray(w, np.float64).ravel()
    k = int(min(n, np.unique(v).size))
    c = np.linspace(v.min(), v.max(), k)
    order = np.argsort(v)
    vs = v[order]
    csum = np.concatenate([[0.0], np.cumsum(vs)])
    for _ in range(iters):
        edges = np.searchsorted(vs, (c[1:] + c[:-1]) / 2)  # 1D: assignment = split points between centroids
        bounds = np.concatenate([[0], edges, [vs.size]])
        counts = np.diff(bounds)
        sums = csum[bounds[1:]] - csum[bounds[:-1]]
        new = np.where(counts > 0, sums / np.maximum(counts, 1), c)
        if np.allclose(new, c):
            break
        c = np.sort(new)
    labels = np.clip(np.searchsorted((c[1:] + c[:-1]) / 2, v), 0, k - 1)
    return c.astype(np.float32), labels.reshape(np.shape(w))


def _cluster_array(w: np.ndarray, n: int) -> np.ndarray:
    c, labels = kmeans_1d(w, n)
    return c[labels].astype(w.dtype)


def cluster(model, n_clusters: int = 16, output: str | os.PathLike | None = None, *,
            min_elements: int = 256) -> ClusterReport:
    """Cluster every float weight with >= ``min_elements`` values into ``n_clusters`` shared values.

    ``model``: an .onnx path (written to ``output``) or a torch.nn.Module (changed in place).
    """
    if not 2 <= n_clusters <= 65536:
        raise UsageError(f"{n_clusters} clusters is out of range", hint="use 2..65536, e.g. 16")
    rep = ClusterReport(n_clusters)
    if isinstance(model, (str, os.PathLike)):
        return _cluster_onnx(Path(model), n_clusters, output, min_elements, rep)
    import torch

    def state_bytes():
        buf = io.BytesIO()
        torch.save(model.state_dict(), buf)
        return buf.getvalue()

    rep.size_zipped_before, rep.codec = compressed_size(state_bytes())
    with torch.no_grad():
        for name, mod in model.named_modules():
            if isinstance(mod, (torch.nn.Conv2d, torch.nn.Linear, torch.nn.Conv1d)) and mod.weight.numel() >= min_elements:
                w = mod.weight.detach().cpu().numpy()
                cw = _cluster_array(w, n_clusters)
                rep.max_abs_error = max(rep.max_abs_error, float(np.abs(cw - w).max()))
                mod.weight.copy_(torch.from_numpy(cw))
                rep.layers[name] = int(np.unique(cw).size)
    data = state_bytes()
    rep.size, (rep.size_zipped_after, _) = len(data), compressed_size(data)
    if output is not None:
        with atomic_path(output) as tmp:
            Path(tmp).write_bytes(data)
    return rep


def _cluster_onnx(path: Path, n: int, output, min_elements: int, rep: ClusterReport) -> ClusterReport:
    import onnx
    from onnx import numpy_helper

    if output is None:
        raise UsageError("cluster needs an output path for an ONNX model", hint="pass -o clustered.onnx")
    try:
        from edgeport.model import check_file

        check_file(str(path), "onnx")
    except ImportError:
        pass
    raw = path.read_bytes()
    rep.size_zipped_before, rep.codec = compressed_size(raw)
    m = onnx.load_from_string(raw)
    for init in m.graph.initializer:
        if init.data_type == onnx.TensorProto.FLOAT and int(np.prod(init.dims)) >= min_elements:
            w = numpy_helper.to_array(init)
            cw = _cluster_array(w, n)
            rep.max_abs_error = max(rep.max_abs_error, float(np.abs(cw - w).max()))
            init.CopyFrom(numpy_helper.from_array(cw, init.name))
            rep.layers[init.name] = int(np.unique(cw).size)
    data = m.SerializeToString()
    rep.size, (rep.size_zipped_after, _) = len(data), compressed_size(data)
    with atomic_path(output) as tmp:
        Path(tmp).write_bytes(data)
    return rep
