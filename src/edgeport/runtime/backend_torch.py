"""PyTorch backend: torch.export programs (.pt2) and TorchScript (.pt), in ``torch.inference_mode``.

A .pt2 records its input/output names, dtypes and shapes (symbolic dims become names such as
"s0"), so feeds are fully checked. A TorchScript file records only the argument names: its
inputs have an empty shape and are marked unknown, so only names are checked (and python lists
become float32); the outputs are named output_0, output_1, ... (or the keys of a returned dict).

Accelerators: "gpu"/"cuda" -> CUDA when ``torch.cuda.is_available()``, "auto" -> CUDA if
available, else CPU; otherwise a Fallback to CPU. ``threads`` sets ``torch.set_num_threads``
for the duration of each ``run()`` only (it is process-global in torch) and restores it after.
"""

from __future__ import annotations

import warnings

import numpy as np

from edgeport.errors import ModelFormatError
from edgeport.model.spec import TensorSpec, guess_layout
from edgeport.runtime.base import Session, register_backend

__all__ = ["TorchSession"]


def _spec_from_val(name: str, val) -> TensorSpec:
    import torch

    if not isinstance(val, torch.Tensor):  # a non-tensor input/output: unknown shape
        return TensorSpec(name, (), "float32")
    shape = tuple(int(d) if isinstance(d, int) or str(d).isdigit() else str(d) for d in val.shape)
    dtype = str(val.dtype).replace("torch.", "")
    return TensorSpec(name, shape, np.dtype(dtype).name if dtype != "bfloat16" else "float32", guess_layout(shape))


@register_backend("torch", formats=("pt2", "torchscript"), priority=10, package="torch",
                  install_hint="pip install 'edgeport[torch]' -c constraints.txt")
class TorchSession(Session):
    """A model on PyTorch; ``raw`` is the ``torch.nn.Module`` (``ExportedProgram.module()`` for .pt2)."""

    def _open(self, accelerator: str) -> None:
        import torch

        self._device = "cpu"
        cuda = torch.cuda.is_available()
        if accelerator == "auto" and cuda:
            self._device = "cuda"
        elif accelerator in ("gpu", "cuda"):
            if cuda:
                self._device = "cuda"
            else:
                self._fallback(accelerator, "torch.cuda.is_available() is False (CPU-only torch build or no GPU)")
        elif accelerator in ("npu", "tensorrt"):
            self._fallback(accelerator, "not a PyTorch device here (use 'gpu'/'cuda')")
        try:
            if self.format == "pt2":
                ep = torch.export.load(str(self.path))
                module = ep.module()
                self._pt2_specs(ep)
            else:
                with warnings.catch_warnings():  # torch >= 2.9 deprecates TorchScript; it is still a format we run
                    warnings.simplefilter("ignore", DeprecationWarning)
                    module = torch.jit.load(str(self.path), map_location="cpu")
                args = module.forward.schema.arguments[1:]
                self.inputs = [TensorSpec(a.name, (), "float32") for a in args]
                self._unknown_rank = {a.name for a in args}
        except Exception as e:
            raise ModelFormatError(f"torch cannot load {self.path}: {str(e).strip().splitlines()[0][:300]}",
                                   hint="save with torch.export.save (.pt2) or torch.jit.save (.pt)") from e
        if self._device == "cuda":
            module = module.to("cuda")
            self.accelerator = "cuda"
        if hasattr(module, "eval") and self.format == "torchscript":
            module.eval()
        self.raw = module
        self._arg_order = [s.name for s in self.inputs]

    def _pt2_specs(self, ep) -> None:
        sig = ep.graph_signature
        nodes = {n.name: n for n in ep.graph.nodes}
        self.inputs = [_spec_from_val(n, nodes[n].meta.get("val")) for n in sig.user_inputs]
        out_node = next(n for n in ep.graph.nodes if n.op == "output")
        out_vals = {getattr(a, "name", None): a.meta.get("val") for a in out_node.args[0] if hasattr(a, "meta")}
        self.outputs = [_spec_from_val(n, out_vals.get(n)) for n in sig.user_outputs]

    def _run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        import torch

        prev = None
        if self.threads:
            prev = torch.get_num_threads()
            torch.set_num_threads(self.threads)
        try:
            with torch.inference_mode():
                args = [torch.from_numpy(feeds[n]) for n in self._arg_order]
                if self._device != "cpu":
                    args = [a.to(self._device) for a in args]
                res = self.raw(*args)
        finally:
            if prev is not None:
                torch.set_num_threads(prev)
        return self._outputs(res)

    def _outputs(self, res) -> dict[str, np.ndarray]:
        if isinstance(res, dict):
            items = list(res.items())
        else:
            vals = list(res) if isinstance(res, (tuple, list)) else [res]
            names = [s.name for s in self.outputs]
            if len(names) != len(vals):
                names = [f"output_{i}" for i in range(len(vals))]
            items = list(zip(names, vals))
        return {k: v.detach().cpu().numpy().copy() for k, v in items}
