"""Layer-wise diagnosis of a QDQ ONNX model: each quantized tensor (after its DequantizeLinear) vs float.

ONNX Runtime's QDQ quantizer names the dequantized copy of tensor ``t`` ``t_DequantizeLinear_Output``;
both models get those tensors as extra outputs and run on the calibration feeds.
"""

from __future__ import annotations

import numpy as np

from edgeport.compress.report import LayerStat

__all__ = ["diagnose_onnx", "quantized_tensors"]

_SUFFIX = "_DequantizeLinear_Output"


def quantized_tensors(float_path, quant_path) -> dict[str, tuple[str, str]]:
    """{float tensor: (tensor in the quantized model, op type)} for node outputs that were quantized."""
    import onnx

    fm, qm = onnx.load(str(float_path)), onnx.load(str(quant_path))
    q_out = {o for n in qm.graph.node for o in n.output}
    q_graph_out = {o.name for o in qm.graph.output}
    pairs = {}
    for node in fm.graph.node:
        for o in node.output:
            if o + _SUFFIX in q_out:
                pairs[o] = (o + _SUFFIX, node.op_type)
            elif o in q_graph_out and any(n.op_type == "DequantizeLinear" and o in n.output for n in qm.graph.node):
                pairs[o] = (o, node.op_type)
    return pairs


def _session(path, names):
    import onnx
    import onnxruntime as ort

    m = onnx.load(str(path))
    have = {o.name for o in m.graph.output}
    m.graph.output.extend([onnx.ValueInfoProto(name=n) for n in names if n not in have])
    so = ort.SessionOptions()
    so.log_severity_level = 3
    return ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])


def diagnose_onnx(float_path, quant_path, feeds, excluded=(), limit: int = 8) -> list[LayerStat]:
    """SNR (dB) and cosine of every quantized tensor, worst first; ``excluded`` layers listed as float."""
    pairs = {k: v for k, v in quantized_tensors(float_path, quant_path).items() if k not in set(excluded)}
    if not pairs:
        return []
    fnames, qnames = list(pairs), [q for q, _ in pairs.values()]
    fs, qs = _session(float_path, fnames), _session(quant_path, qnames)
    acc = {n: np.zeros(4) for n in fnames}
    for feed in feeds[:limit]:
        fo = dict(zip(fnames, fs.run(fnames, feed)))
        qo = dict(zip(fnames, qs.run(qnames, feed)))
        for n in fnames:
            f, q = fo[n].astype(np.float64).ravel(), qo[n].astype(np.float64).ravel()
            if f.shape == q.shape:
                acc[n] += [f @ f, ((f - q) ** 2).sum(), f @ q, q @ q]
    stats = []
    for n, (ff, noise, dot, qq) in acc.items():
        snr = float("inf") if noise == 0 else float(10 * np.log10(max(ff, 1e-30) / noise))
        stats.append(LayerStat(n, pairs[n][1], snr, float(dot / np.sqrt(ff * qq)) if ff > 0 and qq > 0 else 1.0))
    stats += [LayerStat(n, "?", float("inf"), 1.0, True) for n in excluded]
    stats.sort(key=lambda s: (s.kept_float, s.snr_db))
    return stats
