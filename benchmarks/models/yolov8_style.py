"""A YOLOv8n-style detector in plain torch (no ultralytics): same blocks, same shapes, random weights.

Conv-BN-SiLU, C2f blocks (Split + Bottlenecks + Concat), SPPF (three chained MaxPools), nearest
Upsample (Resize), Concat, and the anchor-free detect head with DFL (Softmax over 16 bins and a
fixed 1x1 Conv), Sigmoid class scores, anchors computed from the feature sizes (Range/Expand, which
fold to constants once the input shape is pinned). Width 0.25 / depth 0.33 as in YOLOv8n:
about 3.2 M parameters, 80 classes; output ``(N, 84, anchors)`` (2100 anchors at 320x320).

    python benchmarks/models/yolov8_style.py out.onnx [--size 320] [--static]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch import nn

__all__ = ["YoloV8Style", "build", "export_onnx"]


class Conv(nn.Module):
    def __init__(self, c1: int, c2: int, k: int = 1, s: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(c2, eps=1e-3, momentum=0.03)
        self.act = nn.SiLU()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    def __init__(self, c: int, shortcut: bool = True):
        super().__init__()
        self.cv1 = Conv(c, c, 3)
        self.cv2 = Conv(c, c, 3)
        self.add = shortcut

    def forward(self, x):
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C2f(nn.Module):
    def __init__(self, c1: int, c2: int, n: int = 1, shortcut: bool = False):
        super().__init__()
        self.c = c2 // 2
        self.cv1 = Conv(c1, 2 * self.c, 1)
        self.cv2 = Conv((2 + n) * self.c, c2, 1)
        self.m = nn.ModuleList(Bottleneck(self.c, shortcut) for _ in range(n))

    def forward(self, x):
        y = list(self.cv1(x).split((self.c, self.c), 1))
        y.extend(m(y[-1]) for m in self.m)
        return self.cv2(torch.cat(y, 1))


class SPPF(nn.Module):
    def __init__(self, c1: int, c2: int, k: int = 5):
        super().__init__()
        c_ = c1 // 2
        self.cv1 = Conv(c1, c_, 1)
        self.cv2 = Conv(c_ * 4, c2, 1)
        self.m = nn.MaxPool2d(k, 1, k // 2)

    def forward(self, x):
        y = [self.cv1(x)]
        y.extend(self.m(y[-1]) for _ in range(3))
        return self.cv2(torch.cat(y, 1))


class DFL(nn.Module):
    """Distribution focal loss integral: softmax over 16 bins, then a fixed 1x1 conv with weights 0..15."""

    def __init__(self, c1: int = 16):
        super().__init__()
        self.conv = nn.Conv2d(c1, 1, 1, bias=False).requires_grad_(False)
        self.conv.weight.data[:] = torch.arange(c1, dtype=torch.float).view(1, c1, 1, 1)
        self.c1 = c1

    def forward(self, x):
        b, _, a = x.shape
        return self.conv(x.view(b, 4, self.c1, a).transpose(2, 1).softmax(1)).view(b, 4, a)


class Detect(nn.Module):
    def __init__(self, nc: int = 80, ch: tuple[int, ...] = (64, 128, 256), strides=(8, 16, 32)):
        super().__init__()
        self.nc, self.reg_max = nc, 16
        self.no = nc + 4 * self.reg_max
        self.strides = strides
        c2, c3 = max(16, ch[0] // 4, self.reg_max * 4), max(ch[0], min(nc, 100))
        self.cv2 = nn.ModuleList(nn.Sequential(Conv(x, c2, 3), Conv(c2, c2, 3), nn.Conv2d(c2, 4 * self.reg_max, 1))
                                 for x in ch)
        self.cv3 = nn.ModuleList(nn.Sequential(Conv(x, c3, 3), Conv(c3, c3, 3), nn.Conv2d(c3, nc, 1)) for x in ch)
        self.dfl = DFL(self.reg_max)

    def forward(self, feats):
        b = feats[0].shape[0]
        outs, anchors, stride_t = [], [], []
        for i, x in enumerate(feats):
            y = torch.cat((self.cv2[i](x), self.cv3[i](x)), 1)
            outs.append(y.view(b, self.no, -1))
            h, w = x.shape[2], x.shape[3]
            sx = torch.arange(w, dtype=torch.float32) + 0.5  # Range
            sy = torch.arange(h, dtype=torch.float32) + 0.5
            gy, gx = torch.meshgrid(sy, sx, indexing="ij")  # Expand-like
            anchors.append(torch.stack((gx, gy), -1).view(-1, 2))
            stride_t.append(torch.full((h * w, 1), float(self.strides[i])))
        x_cat = torch.cat(outs, 2)
        anchor_points = torch.cat(anchors).transpose(0, 1).unsqueeze(0)  # (1, 2, A)
        strides = torch.cat(stride_t).transpose(0, 1)  # (1, A)
        box, cls = x_cat.split((4 * self.reg_max, self.nc), 1)
        lt, rb = self.dfl(box).chunk(2, 1)
        x1y1, x2y2 = anchor_points - lt, anchor_points + rb
        dbox = torch.cat(((x1y1 + x2y2) / 2, x2y2 - x1y1), 1) * strides
        return torch.cat((dbox, cls.sigmoid()), 1)


class YoloV8Style(nn.Module):
    """YOLOv8n layout: backbone (Conv/C2f/SPPF), PAN neck (Upsample/Concat/C2f), Detect head."""

    def __init__(self, nc: int = 80):
        super().__init__()
        self.b0, self.b1, self.b2 = Conv(3, 16, 3, 2), Conv(16, 32, 3, 2), C2f(32, 32, 1, True)
        self.b3, self.b4 = Conv(32, 64, 3, 2), C2f(64, 64, 2, True)
        self.b5, self.b6 = Conv(64, 128, 3, 2), C2f(128, 128, 2, True)
        self.b7, self.b8, self.b9 = Conv(128, 256, 3, 2), C2f(256, 256, 1, True), SPPF(256, 256, 5)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.h12, self.h15 = C2f(384, 128, 1), C2f(192, 64, 1)
        self.h16, self.h18 = Conv(64, 64, 3, 2), C2f(192, 128, 1)
        self.h19, self.h21 = Conv(128, 128, 3, 2), C2f(384, 256, 1)
        self.detect = Detect(nc, (64, 128, 256))

    def forward(self, images):
        x = self.b2(self.b1(self.b0(images)))
        p3 = self.b4(self.b3(x))
        p4 = self.b6(self.b5(p3))
        p5 = self.b9(self.b8(self.b7(p4)))
        h12 = self.h12(torch.cat((self.up(p5), p4), 1))
        h15 = self.h15(torch.cat((self.up(h12), p3), 1))
        h18 = self.h18(torch.cat((self.h16(h15), h12), 1))
        h21 = self.h21(torch.cat((self.h19(h18), p5), 1))
        return self.detect([h15, h18, h21])


def build(seed: int = 0, nc: int = 80) -> YoloV8Style:
    """The detector with seeded random weights and non-trivial BatchNorm statistics, in eval mode."""
    torch.manual_seed(seed)
    m = YoloV8Style(nc)
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.2, 0.2)
                mod.running_mean.uniform_(-0.2, 0.2)
                mod.running_var.uniform_(0.5, 1.5)
    return m.eval()


def export_onnx(out: str | Path, size: int = 320, dynamic: bool = True, seed: int = 0) -> Path:
    """Export through edgeport's torch frontend; dynamic batch/height/width unless ``dynamic=False``."""
    from edgeport.convert.frontend_torch import torch_to_onnx

    model = build(seed)
    x = torch.randn(1, 3, size, size)
    dyn = {"images": {0: "batch", 2: "height", 3: "width"}} if dynamic else None
    res = torch_to_onnx(model, (x,), out, input_names=["images"], output_names=["output0"], dynamic_shapes=dyn)
    for note in res.notes:
        print(f"note: {note}", file=sys.stderr)
    return Path(res.path)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--size", type=int, default=320)
    ap.add_argument("--static", action="store_true")
    a = ap.parse_args()
    print(export_onnx(a.out, a.size, dynamic=not a.static))
