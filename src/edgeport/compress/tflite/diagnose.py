"""Layer-wise diagnosis: every integer layer of a quantized .tflite against the float model (SNR, cosine)."""

from __future__ import annotations

import numpy as np

from edgeport.compress.report import LayerStat
from edgeport.compress.tflite import _fb
from edgeport.compress.tflite.interp import make_interpreter

__all__ = ["diagnose_tflite", "layer_ops", "layer_inputs"]


def layer_ops(path) -> dict[str, str]:
    """{output tensor name: op name} of a .tflite."""
    m = _fb.read_model(path)
    sg = m.subgraphs[0]
    return {sg.tensors[op.outputs[0]].name.decode(): _fb.op_name(m, op) for op in sg.operators if len(op.outputs)}


def layer_inputs(path) -> dict[str, list[str]]:
    """{output tensor name: names of the layers producing its activation inputs} of a .tflite."""
    m = _fb.read_model(path)
    sg = m.subgraphs[0]
    producer = {int(o): sg.tensors[op.outputs[0]].name.decode() for op in sg.operators for o in op.outputs}
    return {sg.tensors[op.outputs[0]].name.decode(): [producer[int(i)] for i in op.inputs if int(i) in producer]
            for op in sg.operators if len(op.outputs)}


def _feed(it, feed):
    vals = list(feed.values())
    for i, d in enumerate(it.get_input_details()):
        x = np.asarray(feed.get(d["name"], vals[i]))
        if np.issubdtype(d["dtype"], np.integer) and x.dtype.kind == "f":
            s, z = d["quantization"]
            x = np.round(x / s + z)
        it.set_tensor(d["index"], x.astype(d["dtype"]).reshape(d["shape"]))
    it.invoke()


def diagnose_tflite(float_path, quant_path, feeds, layers: list[str], float_layers=(), limit: int = 8) -> list[LayerStat]:
    """SNR (dB) and cosine of each layer's output, quantized vs float, over up to ``limit`` feeds; worst first."""
    f_it = make_interpreter(float_path, preserve=True)
    q_it = make_interpreter(quant_path, preserve=True)
    f_idx = {d["name"]: d["index"] for d in f_it.get_tensor_details()}
    q_det = {}
    for d in q_it.get_tensor_details():
        name = d["name"]
        for suf in ("_int8", "_int16"):
            if name.endswith(suf) and name[: -len(suf)] in layers:
                name = name[: -len(suf)]
        if name in layers and np.issubdtype(d["dtype"], np.integer) and d["quantization"][0]:
            q_det[name] = (d["index"], d["quantization"])
    acc = {n: np.zeros(5) for n in q_det if n in f_idx}  # sig, noise, dot, |f|^2, |q|^2
    for feed in feeds[:limit]:
        _feed(f_it, feed)
        _feed(q_it, feed)
        for n in acc:
            f = f_it.get_tensor(f_idx[n]).astype(np.float64).ravel()
            qi, (s, z) = q_det[n]
            q = (q_it.get_tensor(qi).astype(np.float64).ravel() - z) * s
            if f.shape != q.shape:
                continue
            acc[n] += [f @ f, ((f - q) ** 2).sum(), f @ q, f @ f, q @ q]
    ops = layer_ops(float_path)
    stats = []
    for n, (sig, noise, dot, ff, qq) in acc.items():
        snr = float("inf") if noise == 0 else float(10 * np.log10(max(sig, 1e-30) / noise))
        cos = float(dot / np.sqrt(ff * qq)) if ff > 0 and qq > 0 else 1.0
        stats.append(LayerStat(n, ops.get(n, "?"), snr, cos, False))
    stats += [LayerStat(n, ops.get(n, "?"), float("inf"), 1.0, True) for n in float_layers if n in ops]
    stats.sort(key=lambda s: (s.kept_float, s.snr_db))
    return stats
