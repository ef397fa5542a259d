"""Small torch models in the style of YOLOv8, MobileNetV3 and a transformer block (no tests here)."""
import torch, torch.nn as nn, torch.nn.functional as F

class CBS(nn.Module):
    def __init__(s, ci, co, k=1, st=1):
        super().__init__(); s.c = nn.Conv2d(ci, co, k, st, k // 2, bias=False); s.b = nn.BatchNorm2d(co)
    def forward(s, x): return F.silu(s.b(s.c(x)))

class C2f(nn.Module):
    def __init__(s, ci, co, n=1):
        super().__init__(); s.h = co // 2; s.cv1 = CBS(ci, co); s.m = nn.ModuleList(nn.Sequential(CBS(s.h, s.h, 3), CBS(s.h, s.h, 3)) for _ in range(n)); s.cv2 = CBS((2 + n) * s.h, co)
    def forward(s, x):
        y = list(s.cv1(x).split((s.h, s.h), 1))
        for m in s.m: y.append(y[-1] + m(y[-1]))
        return s.cv2(torch.cat(y, 1))

class SPPF(nn.Module):
    def __init__(s, c):
        super().__init__(); s.cv1 = CBS(c, c // 2); s.cv2 = CBS(c * 2, c); s.m = nn.MaxPool2d(5, 1, 2)
    def forward(s, x):
        x = s.cv1(x); y1 = s.m(x); y2 = s.m(y1); return s.cv2(torch.cat([x, y1, y2, s.m(y2)], 1))

class YoloLike(nn.Module):
    def __init__(s, w=16, nc=4, reg=4, n=1):
        super().__init__()
        s.stem = nn.Sequential(CBS(3, w, 3, 2), CBS(w, 2 * w, 3, 2), C2f(2 * w, 2 * w, n))
        s.p3 = nn.Sequential(CBS(2 * w, 4 * w, 3, 2), C2f(4 * w, 4 * w, n))
        s.p4 = nn.Sequential(CBS(4 * w, 8 * w, 3, 2), C2f(8 * w, 8 * w, n), SPPF(8 * w))
        s.up = nn.Upsample(scale_factor=2, mode="nearest"); s.fuse = C2f(12 * w, 4 * w, n)
        s.nc, s.reg = nc, reg
        s.box = nn.ModuleList([nn.Sequential(CBS(4 * w, w, 3), nn.Conv2d(w, 4 * reg, 1)) for _ in range(2)])
        s.cls = nn.ModuleList([nn.Sequential(CBS(4 * w, w, 3), nn.Conv2d(w, nc, 1)) for _ in range(2)])
        s.dfl = nn.Conv2d(reg, 1, 1, bias=False); s.dfl.weight.data[:] = torch.arange(reg, dtype=torch.float).view(1, reg, 1, 1)
        s.lat = CBS(8 * w, 4 * w)
    def forward(s, x):
        p3 = s.p3(s.stem(x)); p4 = s.p4(p3)
        f3 = s.fuse(torch.cat([s.up(p4), p3], 1)); f4 = s.lat(p4)
        outs, anchors = [], []
        for i, f in enumerate((f3, f4)):
            b, _, h, w_ = f.shape
            o = torch.cat([s.box[i](f), s.cls[i](f)], 1)
            outs.append(o.view(b, 4 * s.reg + s.nc, -1))
            sy, sx = torch.meshgrid(torch.arange(h, dtype=torch.float) + 0.5, torch.arange(w_, dtype=torch.float) + 0.5, indexing="ij")
            anchors.append(torch.stack((sx, sy), -1).view(-1, 2))
        y = torch.cat(outs, 2)
        box, cls = y.split((4 * s.reg, s.nc), 1)
        b, _, a = box.shape
        d = s.dfl(box.view(b, 4, s.reg, a).transpose(2, 1).softmax(1)).view(b, 4, a)
        anc = torch.cat(anchors, 0).transpose(0, 1).unsqueeze(0)
        lt, rb = d.chunk(2, 1)
        x1y1, x2y2 = anc - lt, anc + rb
        return torch.cat([(x1y1 + x2y2) / 2, x2y2 - x1y1, cls.sigmoid()], 1)

class MBV3Block(nn.Module):
    def __init__(s, c=16, e=32):
        super().__init__()
        s.stem = nn.Sequential(nn.Conv2d(3, c, 3, 2, 1), nn.BatchNorm2d(c), nn.Hardswish())
        s.exp = nn.Sequential(nn.Conv2d(c, e, 1), nn.BatchNorm2d(e), nn.ReLU6())
        s.dw = nn.Sequential(nn.Conv2d(e, e, 5, 2, 2, groups=e), nn.BatchNorm2d(e), nn.Hardswish())
        s.se = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(e, 8, 1), nn.ReLU(), nn.Conv2d(8, e, 1), nn.Hardsigmoid())
        s.proj = nn.Sequential(nn.Conv2d(e, c, 1), nn.BatchNorm2d(c))
        s.pad = nn.ZeroPad2d((1, 0, 1, 0))
        s.head = nn.Linear(c, 10)
    def forward(s, x):
        x = s.stem(x); h = s.dw(s.exp(x)); h = h * s.se(h); h = s.proj(h)
        h = F.avg_pool2d(s.pad(h), 2)
        return s.head(h.mean((2, 3)))

class TransformerBlock(nn.Module):
    def __init__(s, d=32, heads=4):
        super().__init__(); s.ln1 = nn.LayerNorm(d); s.ln2 = nn.LayerNorm(d); s.qkv = nn.Linear(d, 3 * d); s.o = nn.Linear(d, d)
        s.ff = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d)); s.h = heads
    def forward(s, x):
        b, t, d = x.shape
        q, k, v = s.qkv(s.ln1(x)).chunk(3, -1)
        q, k, v = (z.reshape(b, t, s.h, d // s.h).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-1, -2) / (d // s.h) ** 0.5).softmax(-1)
        x = x + s.o((att @ v).transpose(1, 2).reshape(b, t, d))
        return x + s.ff(s.ln2(x))

def randomize_bn(m):
    """Give BatchNorm layers non-trivial statistics so folding is really tested."""
    torch.manual_seed(0)
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.5, 0.5)
                mod.running_var.uniform_(0.5, 2)
                mod.weight.uniform_(0.5, 1.5)
    return m
