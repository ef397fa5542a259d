"""PyTorch inputs and outputs for prune / cluster / distill.

A model is given as ``module:Class`` or ``path/to/file.py:Class`` (built with no arguments), plus an
optional weights file (a ``state_dict`` saved with ``torch.save``). Results are written by extension:
``.pt2`` (torch.export), ``.onnx`` (torch.onnx.export), ``.pt`` (TorchScript, which keeps a pruned,
reshaped architecture loadable without the class), or ``.pth`` (state_dict).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path

import numpy as np

from edgeport._fileio import atomic_path
from edgeport.errors import CalibrationDataError, UsageError

__all__ = ["load_module", "save_module", "load_xy", "batches", "Adam"]


def load_module(spec: str, weights: str | os.PathLike | None = None):
    """Instantiate ``module:Class`` / ``file.py:Class`` and load ``weights`` (state_dict) if given."""
    import torch

    mod_name, _, cls_name = spec.rpartition(":")
    if not mod_name or not cls_name:
        raise UsageError(f"bad model class {spec!r}", hint="use module:Class or path/to/file.py:Class")
    try:
        if mod_name.endswith(".py"):
            p = Path(mod_name)
            if not p.is_file():
                raise UsageError(f"model file not found: {p}", hint="check the path")
            name = f"_edgeport_user_{abs(hash(str(p.resolve())))}"
            s = importlib.util.spec_from_file_location(name, p)
            mod = importlib.util.module_from_spec(s)
            sys.modules[name] = mod
            s.loader.exec_module(mod)
        else:
            mod = importlib.import_module(mod_name)
        model = getattr(mod, cls_name)()
    except (ImportError, AttributeError, TypeError) as e:
        raise UsageError(f"cannot build {spec!r}: {e}", hint="the class must be importable and take no arguments") from None
    if weights is not None:
        try:
            state = torch.load(str(weights), map_location="cpu", weights_only=True)
        except Exception as e:
            raise UsageError(f"cannot read weights {weights}: {e}", hint="save them with torch.save(model.state_dict())") from None
        try:
            model.load_state_dict(state)
        except RuntimeError as e:
            raise UsageError(f"weights {weights} do not fit {spec}: {str(e).splitlines()[0]}",
                             hint="pass the class the weights were trained with") from None
    return model.eval()


def save_module(model, output: str | os.PathLike, example) -> Path:
    import torch

    out = Path(output)
    ext = out.suffix.lower()
    model = model.eval()
    with atomic_path(out) as tmp:
        if ext == ".pt2":
            torch.export.save(torch.export.export(model, (example,)), str(tmp))
        elif ext == ".onnx":
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                torch.onnx.export(model, (example,), str(tmp), input_names=["input"], output_names=["output"],
                                  dynamo=False)
        elif ext == ".pt":
            torch.jit.save(torch.jit.trace(model, example), str(tmp))
        elif ext == ".pth":
            torch.save(model.state_dict(), str(tmp))
        else:
            raise UsageError(f"cannot write {out.name}", hint="use .pt2, .onnx, .pt (TorchScript) or .pth (state_dict)")
    return out


def load_xy(data) -> tuple[np.ndarray, np.ndarray | None]:
    """(x, y or None) from an .npz with ``x`` [and ``y``], or a tuple/dict of arrays; validated."""
    if isinstance(data, (str, os.PathLike)):
        p = Path(data)
        if not p.is_file():
            raise CalibrationDataError(f"training data not found: {p}", hint="give an .npz with x [and y]")
        with np.load(p, allow_pickle=False) as z:
            x = z["x"] if "x" in z else z[list(z.keys())[0]]
            y = z["y"] if "y" in z else (z["labels"] if "labels" in z else None)
    elif isinstance(data, dict):
        x, y = data["x"], data.get("y")
    else:
        x, y = data if isinstance(data, tuple) else (data, None)
    x = np.asarray(x)
    if x.size == 0:
        raise CalibrationDataError(f"training data is empty: {data if isinstance(data, str) else 'x'}", hint="give samples")
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise CalibrationDataError("training data holds NaN or Inf", hint="clean the data")
    if y is not None and len(y) != len(x):
        raise CalibrationDataError(f"{len(x)} samples but {len(y)} labels", hint="give one label per sample")
    return x.astype(np.float32) if x.dtype.kind != "f" or x.dtype != np.float32 else x, y


def batches(n: int, batch: int, rng: np.random.Generator):
    """Endless shuffled index batches."""
    while True:
        perm = rng.permutation(n)
        for i in range(0, n, batch):
            yield perm[i:i + batch]


class Adam:
    """Plain Adam (Kingma & Ba). torch.optim's first use imports torch._dynamo (seconds); this does not."""

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8):
        import torch

        self.params = [p for p in params if p.requires_grad]
        self.lr, (self.b1, self.b2), self.eps, self.t = lr, betas, eps, 0
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self):
        for p in self.params:
            p.grad = None

    def step(self):
        import torch

        self.t += 1
        c1, c2 = 1 - self.b1 ** self.t, 1 - self.b2 ** self.t
        with torch.no_grad():
            for p, m, v in zip(self.params, self.m, self.v):
                if p.grad is None:
                    continue
                m.mul_(self.b1).add_(p.grad, alpha=1 - self.b1)
                v.mul_(self.b2).addcmul_(p.grad, p.grad, value=1 - self.b2)
                p.addcdiv_(m / c1, (v / c2).sqrt_().add_(self.eps), value=-self.lr)
