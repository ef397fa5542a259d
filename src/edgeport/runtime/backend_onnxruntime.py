"""ONNX Runtime backend: CPU, CUDA and TensorRT execution providers with recorded CPU fallback.

Accelerators: "gpu"/"cuda" -> CUDAExecutionProvider, "tensorrt" -> TensorrtExecutionProvider
(+ CUDA + CPU), "auto" -> CUDA when the installed onnxruntime has it, else CPU. A provider that
is not installed, or that ORT drops at session creation, gives a Fallback. When a GPU provider
is in use, one profiled warm-up run lists the operator types ORT placed on the CPU anyway.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile

import numpy as np

from edgeport.errors import ModelFormatError
from edgeport.model.spec import TensorSpec, guess_layout
from edgeport.runtime.base import Session, random_inputs, register_backend

__all__ = ["OnnxRuntimeSession", "ORT_DTYPES"]

ORT_DTYPES = {
    "tensor(float)": "float32", "tensor(float16)": "float16", "tensor(double)": "float64",
    "tensor(int8)": "int8", "tensor(uint8)": "uint8", "tensor(int16)": "int16", "tensor(uint16)": "uint16",
    "tensor(int32)": "int32", "tensor(uint32)": "uint32", "tensor(int64)": "int64", "tensor(uint64)": "uint64",
    "tensor(bool)": "bool", "tensor(string)": "object",
}

_PROVIDERS = {
    "gpu": ["CUDAExecutionProvider"],
    "cuda": ["CUDAExecutionProvider"],
    "tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider"],
}


def _specs(nodes) -> list[TensorSpec]:
    out = []
    for n in nodes:
        shape = tuple(d if isinstance(d, int) else (d if isinstance(d, str) and d else "?") for d in n.shape)
        out.append(TensorSpec(n.name, shape, ORT_DTYPES.get(n.type, "float32"), guess_layout(shape)))
    return out


@register_backend("onnxruntime", formats=("onnx",), priority=10, package="onnxruntime",
                  install_hint="pip install onnxruntime")
class OnnxRuntimeSession(Session):
    """A model on ONNX Runtime; ``raw`` is the ``ort.InferenceSession``."""

    def _open(self, accelerator: str) -> None:
        import onnxruntime as ort

        have = ort.get_available_providers()
        quiet = accelerator == "auto"
        wanted: list[str] = []
        if accelerator == "auto":
            if "CUDAExecutionProvider" in have:
                wanted = ["CUDAExecutionProvider"]
        elif accelerator in _PROVIDERS:
            wanted = [p for p in _PROVIDERS[accelerator] if p in have]
            if not wanted:
                self._fallback(accelerator, f"{_PROVIDERS[accelerator][0]} is not in this onnxruntime build "
                                            f"(available: {', '.join(have)})")
        elif accelerator == "npu":
            self._fallback("npu", "onnxruntime has no NPU execution provider here "
                                  f"(available: {', '.join(have)})")
        so = ort.SessionOptions()
        if self.threads:
            so.intra_op_num_threads = self.threads
            so.inter_op_num_threads = 1
        so.log_severity_level = 3
        providers = wanted + ["CPUExecutionProvider"]
        try:
            sess = ort.InferenceSession(str(self.path), sess_options=so, providers=providers)
        except Exception as e:
            raise ModelFormatError(f"onnxruntime cannot load {self.path}: {str(e).splitlines()[0][:300]}",
                                   hint="check the model with `edgeport inspect` or onnx.checker") from e
        self.raw = sess
        self.inputs = _specs(sess.get_inputs())
        self.outputs = _specs(sess.get_outputs())
        self._out_names = [o.name for o in self.outputs]
        used = [p for p in wanted if p in sess.get_providers()]
        dropped = [p for p in wanted if p not in sess.get_providers()]
        req = accelerator if accelerator != "auto" else "auto"
        if dropped and not used:
            self._fallback(req, f"onnxruntime could not initialise {', '.join(dropped)}", quiet=quiet)
        if used:
            self.accelerator = "tensorrt" if used[0].startswith("Tensorrt") else "cuda"
            cpu_ops = self._cpu_placed_ops(ort, providers)
            if cpu_ops:
                self._fallback(req, f"{used[0]} does not take every node", ops=cpu_ops, quiet=quiet)

    def _cpu_placed_ops(self, ort, providers) -> tuple[str, ...]:
        """Operator types ORT put on the CPU provider, from one profiled run (GPU providers only)."""
        tmp = tempfile.mkdtemp(prefix="edgeport_ort_")
        so = ort.SessionOptions()
        so.enable_profiling = True
        so.profile_file_prefix = os.path.join(tmp, "profile")
        so.log_severity_level = 3
        try:
            prof = ort.InferenceSession(str(self.path), sess_options=so, providers=providers)
            prof.run(None, random_inputs(self.inputs))
            with open(prof.end_profiling()) as f:
                events = json.load(f)
        except Exception:  # placement is a diagnostic; never fail the load for it
            return ()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        ops = {e["args"].get("op_name") for e in events
               if e.get("cat") == "Node" and e.get("args", {}).get("provider") == "CPUExecutionProvider"}
        return tuple(sorted(o for o in ops if o))

    def _run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return dict(zip(self._out_names, self.raw.run(None, feeds)))
