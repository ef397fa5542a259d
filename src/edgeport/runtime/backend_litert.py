"""LiteRT backend (ai-edge-litert): the TFLite Interpreter with XNNPACK on CPU; GPU/NPU via CompiledModel.

CPU: ``Interpreter(model_path, num_threads=threads)``; XNNPACK is the default CPU delegate.
Inputs are set by pre-resolved tensor index; an input whose dims are dynamic
(``shape_signature`` -1) is resized when a new shape arrives. ``get_tensor`` returns copies.

Accelerators: "gpu"/"npu" try ``CompiledModel.from_file(hardware_accel=GPU|NPU)``; if it cannot
be created (no WebGPU/OpenCL adapter, no vendor NPU library) or does not take the whole graph
(``is_fully_accelerated()`` is False), the session falls back to the CPU interpreter with a
Fallback record whose reason is taken from LiteRT's own log. "auto" means the CPU (XNNPACK):
probing the GPU costs a native environment per load, so it is only tried when asked for.
"cuda"/"tensorrt" are not LiteRT accelerators and fall back to CPU.
"""

from __future__ import annotations

import contextlib
import gc
import os
import re
import tempfile

import numpy as np

from edgeport.errors import ModelFormatError
from edgeport.model.spec import TensorSpec, guess_layout
from edgeport.runtime.base import Session, register_backend

__all__ = ["LiteRtSession"]


@contextlib.contextmanager
def _native_stderr():
    """Collect what native code writes to fd 2 (LiteRT logs there) into a list of lines."""
    lines: list[str] = []
    try:
        saved = os.dup(2)
    except OSError:  # no real fd 2 (embedded interpreters)
        yield lines
        return
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            lines.extend(tmp.read().decode(errors="replace").splitlines())


_PREFIX = re.compile(r"^(?:[A-Z]+: |[EWIF]\d{4} [\d:. ]+\S+\] )?(?:\[[^\]]*\]\s*)?")
_TELLING = re.compile(r"(failed to|no adapters|could not|couldn't|cannot open|not found)", re.I)
_TOPIC = {"gpu": re.compile(r"(gpu|vulkan|opencl|adapter)", re.I), "npu": re.compile(r"(npu|dispatch|vendor)", re.I)}


def _reason(first_line: str, log: list[str], accelerator: str) -> str:
    """The most telling line of LiteRT's log for a failed accelerator (else the exception's first line)."""
    hits = [_PREFIX.sub("", ln.strip()) for ln in log if _TELLING.search(ln) and _TOPIC[accelerator].search(ln)]
    hits = sorted((h for h in hits if h and not h.startswith("Attempting")), key=lambda h: "accelerator" not in h)
    return (hits[0] if hits else first_line)[:200]


def _spec(d: dict) -> TensorSpec:
    sig = d.get("shape_signature", d["shape"])
    shape = tuple("?" if int(v) < 0 else int(v) for v in sig)
    return TensorSpec(d["name"], shape, np.dtype(d["dtype"]).name, guess_layout(shape))


@register_backend("litert", formats=("tflite",), priority=10, package="ai_edge_litert",
                  install_hint="pip install ai-edge-litert")
class LiteRtSession(Session):
    """A model on LiteRT; ``raw`` is the ``Interpreter`` (or the ``CompiledModel`` on an accelerator)."""

    def _open(self, accelerator: str) -> None:
        if accelerator in ("gpu", "npu") and self._open_compiled(accelerator):
            return
        if accelerator in ("cuda", "tensorrt"):
            self._fallback(accelerator, "not a LiteRT accelerator (use 'gpu' or 'npu')")
        from ai_edge_litert.interpreter import Interpreter

        try:
            it = Interpreter(model_path=str(self.path), num_threads=self.threads)
            it.allocate_tensors()
        except Exception as e:
            raise ModelFormatError(f"LiteRT cannot load {self.path}: {str(e).strip().splitlines()[0][:300]}",
                                   hint="check the file; custom or new ops need a newer ai-edge-litert") from e
        self.raw = it
        ins, outs = it.get_input_details(), it.get_output_details()
        self.inputs = [_spec(d) for d in ins]
        self.outputs = [_spec(d) for d in outs]
        self._in = [(d["name"], d["index"], tuple(int(v) for v in d["shape"])) for d in ins]
        self._dynamic = any(not s.is_static for s in self.inputs)
        self._cur = {idx: shape for _, idx, shape in self._in}
        self._out = [(d["name"], d["index"]) for d in outs]
        self._run = self._run_interpreter if self._dynamic else self._run_static

    def _open_compiled(self, accelerator: str) -> bool:
        """Try the LiteRT CompiledModel on GPU/NPU; record a Fallback and return False if it cannot run."""
        try:
            from ai_edge_litert.compiled_model import CompiledModel
            from ai_edge_litert.hardware_accelerator import HardwareAccelerator as HW
        except Exception as e:
            self._fallback(accelerator, f"this ai_edge_litert has no CompiledModel API ({e})")
            return False
        hw = HW.GPU if accelerator == "gpu" else HW.NPU
        failed: str | None = None
        with _native_stderr() as log:  # LiteRT logs to fd 2; keep its lines for the reason
            try:
                cm = CompiledModel.from_file(str(self.path), hardware_accel=hw)
                full = cm.is_fully_accelerated()
            except Exception as e:
                failed = (str(e).strip().splitlines() or [type(e).__name__])[0]
                e.__traceback__ = None  # drop the frames holding the native environment ...
                del e
                gc.collect()  # ... so it is destroyed now, its log captured, not printed at exit
        if failed is not None:
            why = _reason(failed, log, accelerator)
            self._fallback(accelerator, f"LiteRT {accelerator.upper()} accelerator unavailable: {why}")
            return False
        if not full:
            self._fallback(accelerator, f"LiteRT {accelerator.upper()} does not take the whole graph; "
                                        "running the CPU interpreter instead")
            return False
        try:
            key = cm.get_signature_by_index(0).get("key") or next(iter(cm.get_signature_list()))
            ins, outs = cm.get_input_tensor_details(key), cm.get_output_tensor_details(key)
            self.inputs = [_spec({"name": n, **d}) for n, d in ins.items()]
            self.outputs = [_spec({"name": n, **d}) for n, d in outs.items()]
            self._out_sizes = [int(np.prod([d for d in s.shape if isinstance(d, int)])) for s in self.outputs]
            self._in_bufs = cm.create_input_buffers(0)
            self._out_bufs = cm.create_output_buffers(0)
        except Exception as e:
            self._fallback(accelerator, f"LiteRT {accelerator.upper()} model I/O could not be set up: "
                                        f"{str(e).strip()[:200]}")
            return False
        self.raw, self.accelerator = cm, accelerator
        self._run = self._run_compiled
        return True

    def _run_static(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        it = self.raw
        for name, idx, _ in self._in:
            it.set_tensor(idx, feeds[name])
        it.invoke()
        return {name: it.get_tensor(idx) for name, idx in self._out}

    def _run_interpreter(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        it = self.raw
        resized = False
        for name, idx, _ in self._in:
            shape = feeds[name].shape
            if self._cur[idx] != shape:
                it.resize_tensor_input(idx, list(shape))
                self._cur[idx] = shape
                resized = True
        if resized:
            it.allocate_tensors()
        return self._run_static(feeds)

    def _run_compiled(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        for buf, spec in zip(self._in_bufs, self.inputs):
            buf.write(np.ascontiguousarray(feeds[spec.name]))
        self.raw.run_by_index(0, self._in_bufs, self._out_bufs)
        return {s.name: buf.read(n, s.np_dtype).reshape(s.shape)
                for buf, s, n in zip(self._out_bufs, self.outputs, self._out_sizes)}

    def close(self) -> None:
        self._in_bufs = self._out_bufs = None  # buffers hold the LiteRT environment alive
        super().close()
