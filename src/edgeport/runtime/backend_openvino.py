"""OpenVINO backend: reads OpenVINO IR (.xml + .bin), ONNX and TFLite; CPU, GPU and NPU devices.

Accelerators: "gpu" -> GPU, "npu" -> NPU, "auto" -> GPU when present, else CPU. A device that is
absent gives a Fallback to CPU; a present device that supports only part of the graph
(``Core.query_model``) runs as "HETERO:<dev>,CPU" with a Fallback listing the CPU-side op types.
"cuda"/"tensorrt" are not OpenVINO devices and fall back to CPU.

On CPU the inference precision is pinned to f32 (OpenVINO would otherwise pick bf16 on CPUs
that support it), so results match the other backends; ``INFERENCE_NUM_THREADS`` = threads.
"""

from __future__ import annotations

import numpy as np

from edgeport.errors import ModelFormatError
from edgeport.model.spec import TensorSpec, guess_layout
from edgeport.runtime.base import Session, register_backend

__all__ = ["OpenVinoSession"]

_DEVICES = {"gpu": "GPU", "npu": "NPU"}


def _msg(e: Exception, limit: int = 300) -> str:
    """The telling line of an OpenVINO exception (skipping its "Exception from file:line" frames)."""
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    useful = [ln for ln in lines if not ln.startswith(("Exception from", "Check '"))]
    return (useful or lines or [type(e).__name__])[-1][:limit]


def _name(port, prefix: str, i: int) -> str:
    try:
        return port.get_any_name()
    except RuntimeError:  # a port without tensor names
        return f"{prefix}_{i}"


def _specs(ports, prefix: str) -> list[TensorSpec]:
    out = []
    for i, p in enumerate(ports):
        ps = p.get_partial_shape()
        if ps.rank.is_dynamic:
            shape: tuple = ()
        else:
            shape = tuple("?" if d.is_dynamic else d.get_length() for d in ps)
        out.append(TensorSpec(_name(p, prefix, i), shape, np.dtype(p.get_element_type().to_dtype()).name,
                              guess_layout(shape)))
    return out


@register_backend("openvino", formats=("openvino", "onnx", "tflite"), priority=30, package="openvino",
                  install_hint="pip install 'edgeport[openvino]'")
class OpenVinoSession(Session):
    """A model on OpenVINO; ``raw`` is the ``ov.CompiledModel`` (``infer_request`` is made once)."""

    def _open(self, accelerator: str) -> None:
        import openvino as ov

        core = ov.Core()
        try:
            model = core.read_model(str(self.path))
        except Exception as e:
            raise ModelFormatError(f"openvino cannot read {self.path}: {_msg(e, 300)}",
                                   hint="check the file (and the .bin beside an .xml)") from e
        devices = core.available_devices
        quiet = accelerator == "auto"
        device = "CPU"
        if accelerator == "auto":
            want = next((d for d in ("GPU",) if any(x.startswith(d) for x in devices)), None)
        elif accelerator in _DEVICES:
            want = _DEVICES[accelerator]
            if not any(x.startswith(want) for x in devices):
                self._fallback(accelerator, f"no OpenVINO {want} device (available: {', '.join(devices)})")
                want = None
        elif accelerator in ("cuda", "tensorrt"):
            self._fallback(accelerator, f"not an OpenVINO device (available: {', '.join(devices)})")
            want = None
        else:
            want = None
        if want is not None:
            device = self._place(core, model, want, accelerator, quiet)
        config = self._cpu_config() if device == "CPU" else {}
        try:
            self.raw = core.compile_model(model, device, config)
        except Exception as e:
            if device == "CPU":
                raise ModelFormatError(f"openvino cannot compile {self.path}: {_msg(e, 300)}",
                                       hint="the model may use ops OpenVINO does not support") from e
            self._fallback(accelerator, f"compiling for {device} failed: {_msg(e, 200)}",
                           quiet=quiet)
            self.accelerator = "cpu"
            self.raw = core.compile_model(model, "CPU", self._cpu_config())
        self._request = self.raw.create_infer_request()
        self.inputs = _specs(self.raw.inputs, "input")
        self.outputs = _specs(self.raw.outputs, "output")
        # infer() is fastest with a dict keyed by tensor name (a list costs ~15 us more per call);
        # ports without a name are keyed by index.
        keys = [s.name if s.name in p.get_names() else i for i, (s, p) in enumerate(zip(self.inputs, self.raw.inputs))]
        self._keys = None if all(k == s.name for k, s in zip(keys, self.inputs)) else list(zip(keys, self._in_names()))
        self._out_names = [s.name for s in self.outputs]
        unknown = {s.name for s, p in zip(self.inputs, self.raw.inputs) if p.get_partial_shape().rank.is_dynamic}
        self._unknown_rank = unknown

    def _cpu_config(self) -> dict:
        cfg = {"INFERENCE_PRECISION_HINT": "f32"}
        return cfg | ({"INFERENCE_NUM_THREADS": self.threads} if self.threads else {})

    def _in_names(self) -> list[str]:
        return [s.name for s in self.inputs]

    def _place(self, core, model, want: str, accelerator: str, quiet: bool) -> str:
        """The device string for ``want``, after checking with query_model which ops it supports."""
        try:
            supported = core.query_model(model, want)
        except Exception as e:
            self._fallback(accelerator, f"{want} cannot take this model: {_msg(e, 200)}",
                           quiet=quiet)
            return "CPU"
        missing = sorted({op.get_type_name() for op in model.get_ordered_ops()
                          if op.get_friendly_name() not in supported})
        self.accelerator = want.lower()
        if missing:
            self._fallback(accelerator, f"{want} does not support every op; running HETERO:{want},CPU",
                           ops=missing, quiet=quiet)
            return f"HETERO:{want},CPU"
        return want

    def _run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        res = self._request.infer(feeds if self._keys is None else {k: feeds[n] for k, n in self._keys})
        return dict(zip(self._out_names, res.to_tuple()))

    def close(self) -> None:
        self._request = None
        super().close()
