"""Conversion speed and quality of edgeport's ONNX -> TFLite converter on a YOLOv8n-shaped detector.

Builds a YOLOv8n-architecture model (C2f blocks, SPPF, FPN/PAN neck, 3-scale decoupled head with DFL,
widths 16..256, 640x640, 80 classes; random weights) with torch, exports ONNX (opset 17), then times
`edgeport convert --no-verify` as a fresh process (cold: imports included) and the in-process
conversion (warm), interleaved, 5 rounds each. Prints the CPU, the op histogram, Transposes source vs
result and FILL/SHAPE counts, and last the verdict against the brief's target: <= 1/4 of onnx2tf 2.x's
4.2 s on YOLOv8n (that onnx2tf figure is quoted, not measured here; benchmarks/ of convert-verify
measures onnx2tf side by side).

    .venv/bin/python benchmarks/convert_speed.py
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from edgeport.bench.sysinfo import cpu_info  # noqa: E402

ONNX2TF_SECONDS = 4.2  # from the issue text (onnx2tf 2.x, YOLOv8n)
TARGET_RATIO = 0.25




def build_yolov8n(path: str) -> None:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class CBS(nn.Module):
        def __init__(s, ci, co, k=1, st=1):
            super().__init__()
            s.c, s.b = nn.Conv2d(ci, co, k, st, k // 2, bias=False), nn.BatchNorm2d(co)

        def forward(s, x):
            return F.silu(s.b(s.c(x)))

    class C2f(nn.Module):
        def __init__(s, ci, co, n=1, sc=True):
            super().__init__()
            s.h = co // 2
            s.cv1, s.cv2 = CBS(ci, co), CBS((2 + n) * s.h, co)
            s.m = nn.ModuleList(nn.Sequential(CBS(s.h, s.h, 3), CBS(s.h, s.h, 3)) for _ in range(n))
            s.sc = sc

        def forward(s, x):
            y = list(s.cv1(x).split((s.h, s.h), 1))
            for m in s.m:
                y.append(y[-1] + m(y[-1]) if s.sc else m(y[-1]))
            return s.cv2(torch.cat(y, 1))

    class SPPF(nn.Module):
        def __init__(s, c):
            super().__init__()
            s.cv1, s.cv2, s.m = CBS(c, c // 2), CBS(c * 2, c), nn.MaxPool2d(5, 1, 2)

        def forward(s, x):
            x = s.cv1(x)
            y1 = s.m(x)
            y2 = s.m(y1)
            return s.cv2(torch.cat([x, y1, y2, s.m(y2)], 1))

    class YOLOv8n(nn.Module):
        def __init__(s, nc=80, reg=16):
            super().__init__()
            s.b1 = nn.Sequential(CBS(3, 16, 3, 2), CBS(16, 32, 3, 2), C2f(32, 32, 1), CBS(32, 64, 3, 2), C2f(64, 64, 2))
            s.b2 = nn.Sequential(CBS(64, 128, 3, 2), C2f(128, 128, 2))
            s.b3 = nn.Sequential(CBS(128, 256, 3, 2), C2f(256, 256, 1), SPPF(256))
            s.up = nn.Upsample(scale_factor=2, mode="nearest")
            s.n1, s.n2 = C2f(384, 128, 1, False), C2f(192, 64, 1, False)
            s.d1, s.n3 = CBS(64, 64, 3, 2), C2f(192, 128, 1, False)
            s.d2, s.n4 = CBS(128, 128, 3, 2), C2f(384, 256, 1, False)
            s.nc, s.reg = nc, reg
            s.box = nn.ModuleList(nn.Sequential(CBS(c, 64, 3), CBS(64, 64, 3), nn.Conv2d(64, 4 * reg, 1)) for c in (64, 128, 256))
            s.cls = nn.ModuleList(nn.Sequential(CBS(c, 80, 3), CBS(80, 80, 3), nn.Conv2d(80, nc, 1)) for c in (64, 128, 256))
            s.dfl = nn.Conv2d(reg, 1, 1, bias=False)
            s.dfl.weight.data[:] = torch.arange(reg, dtype=torch.float).view(1, reg, 1, 1)

        def forward(s, x):
            p3 = s.b1(x)
            p4 = s.b2(p3)
            p5 = s.b3(p4)
            h4 = s.n1(torch.cat([s.up(p5), p4], 1))
            o3 = s.n2(torch.cat([s.up(h4), p3], 1))
            o4 = s.n3(torch.cat([s.d1(o3), h4], 1))
            o5 = s.n4(torch.cat([s.d2(o4), p5], 1))
            outs, anchors, strides = [], [], []
            for i, (f, st) in enumerate(((o3, 8), (o4, 16), (o5, 32))):
                b, _, h, w = f.shape
                outs.append(torch.cat([s.box[i](f), s.cls[i](f)], 1).view(b, 4 * s.reg + s.nc, -1))
                sy, sx = torch.meshgrid(torch.arange(h, dtype=torch.float) + 0.5,
                                        torch.arange(w, dtype=torch.float) + 0.5, indexing="ij")
                anchors.append(torch.stack((sx, sy), -1).view(-1, 2))
                strides.append(torch.full((h * w, 1), float(st)))
            y = torch.cat(outs, 2)
            box, cls = y.split((4 * s.reg, s.nc), 1)
            b, _, a = box.shape
            d = s.dfl(box.view(b, 4, s.reg, a).transpose(2, 1).softmax(1)).view(b, 4, a)
            anc = torch.cat(anchors, 0).transpose(0, 1).unsqueeze(0)
            st = torch.cat(strides, 0).transpose(0, 1)
            lt, rb = d.chunk(2, 1)
            x1y1, x2y2 = anc - lt, anc + rb
            return torch.cat([torch.cat([(x1y1 + x2y2) / 2, x2y2 - x1y1], 1) * st, cls.sigmoid()], 1)

    import warnings

    m = YOLOv8n().eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(m, torch.randn(1, 3, 640, 640), path, input_names=["images"], output_names=["output0"],
                          opset_version=17, dynamo=False)


def main() -> int:
    import shutil

    tmp = tempfile.mkdtemp(prefix="edgeport-bench-")
    try:
        return _run(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _run(tmp: str) -> int:
    threads = os.cpu_count()
    print(f"CPU: {cpu_info()['model']}; {threads} logical CPUs; python {platform.python_version()}")
    src = os.path.join(tmp, "yolov8n.onnx")
    build_yolov8n(src)
    import onnx

    m = onnx.load(src)
    params = sum(int(__import__("numpy").prod(t.dims)) for t in m.graph.initializer)
    print(f"model: YOLOv8n-shaped, {len(m.graph.node)} ONNX nodes, {params / 1e6:.2f} M params, 1x3x640x640")

    from edgeport.convert import convert

    cli = [sys.executable, "-m", "edgeport.cli.app", "convert", src, "-o", os.path.join(tmp, "cold.tflite"),
           "--no-verify", "--json"]
    cold, warm = [], []
    rep = None
    for _ in range(5):  # interleaved: cold process, warm in-process
        t = time.perf_counter()
        subprocess.run(cli, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cold.append(time.perf_counter() - t)
        t = time.perf_counter()
        rep = convert(src, os.path.join(tmp, "warm.tflite"), verify=False)
        warm.append(time.perf_counter() - t)
    vrep = convert(src, os.path.join(tmp, "verified.tflite"))
    print("result ops:", dict(sorted(rep.result_ops.items(), key=lambda kv: -kv[1])))
    print(f"Transposes: source {rep.transposes_source}, result {rep.transposes_result}; "
          f"FILL {rep.result_ops.get('FILL', 0)}, SHAPE {rep.result_ops.get('SHAPE', 0)}")
    print(f"verification vs ONNX Runtime: passed={vrep.verified} max_rel={vrep.verification.max_rel:.3g}")
    for name, xs in (("cold CLI (process, imports included)", cold), ("warm in-process convert()", warm)):
        print(f"{name}: median {statistics.median(xs):.3f} s, min {min(xs):.3f}, max {max(xs):.3f} (n={len(xs)})")
    ratio = statistics.median(cold) / ONNX2TF_SECONDS
    ok = ratio <= TARGET_RATIO
    print(f"convert time ratio edgeport(cold CLI)/onnx2tf(quoted {ONNX2TF_SECONDS} s) = {ratio:.3f} "
          f"(target <= {TARGET_RATIO})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
