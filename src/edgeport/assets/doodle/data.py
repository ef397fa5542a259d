"""Procedural hand-drawn doodles (Quick Draw style): ten classes of wobbly strokes on 28x28.

Each class is a set of polylines in unit coordinates ([-1, 1]^2, y down). A doodle is
drawn with random scale, aspect, rotation, translation, stroke width, low-frequency
wobble along each stroke, corner jitter and incomplete closure, plus sometimes a
distractor stroke and pixel noise. Rendered white-on-black at 4x (112x112) with PIL
and box-downsampled to 28x28 for anti-aliasing. Deterministic for a given seed.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

__all__ = ["CLASSES", "make_dataset", "draw_doodle"]

CLASSES = ["circle", "square", "triangle", "star", "line", "zigzag", "spiral", "cross", "heart", "arrow"]
_HI = 112  # render size (4x)
_LO = 28


def _arc(rng, turns_min=0.85, turns_max=1.08, n=40):
    a0 = rng.uniform(0, 2 * math.pi)
    sweep = 2 * math.pi * rng.uniform(turns_min, turns_max) * rng.choice([-1, 1])
    t = a0 + sweep * np.linspace(0, 1, n)
    return [np.stack([np.cos(t), np.sin(t)], 1)]


def _closed(rng, verts, close_min=0.8, close_max=1.05):
    """A closed polygon drawn from a random start vertex, ending early or overshooting."""
    verts = np.asarray(verts, float)
    k = rng.integers(len(verts))
    verts = np.roll(verts, -k, axis=0)
    pts = np.vstack([verts, verts[:1]])
    # cut the last edge short (incomplete closure) or overshoot a little
    f = rng.uniform(close_min, close_max)
    if f < 1:
        pts[-1] = pts[-2] + f * (pts[-1] - pts[-2])
    else:
        pts = np.vstack([pts, pts[-1] + (f - 1) * 4 * (verts[1] - verts[0]) / 4])
    return [pts]


def _circle(rng):
    return _arc(rng, 0.7, 1.12)


def _square(rng):
    return _closed(rng, [[-1, -1], [1, -1], [1, 1], [-1, 1]] + rng.normal(0, 0.08, (4, 2)))


def _triangle(rng):
    ang = np.deg2rad([-90, 30, 150]) + rng.normal(0, 0.12, 3)
    return _closed(rng, np.stack([np.cos(ang), np.sin(ang) + 0.2], 1))


def _star(rng):
    ang = np.deg2rad(-90 + 144 * np.arange(5)) + rng.normal(0, 0.06, 5)
    return _closed(rng, np.stack([np.cos(ang), np.sin(ang) + 0.1], 1), 0.85, 1.0)


def _line(rng):
    bend = rng.normal(0, 0.12)
    x = np.linspace(-1, 1, 12)
    return [np.stack([x, bend * (1 - x**2)], 1)]


def _zigzag(rng):
    k = int(rng.integers(4, 8))
    x = np.linspace(-1, 1, k) + rng.normal(0, 0.05, k)
    amp = rng.uniform(0.35, 0.8)
    y = amp * np.where(np.arange(k) % 2 == 0, -1.0, 1.0) * rng.uniform(0.7, 1.1, k)
    return [np.stack([x, y], 1)]


def _spiral(rng):
    turns = rng.uniform(1.3, 3.0)
    t = np.linspace(0, 2 * math.pi * turns, 90)
    r = 0.08 + 0.92 * t / t[-1]
    a0 = rng.uniform(0, 2 * math.pi)
    s = rng.choice([-1, 1])
    return [np.stack([r * np.cos(a0 + s * t), r * np.sin(a0 + s * t)], 1)]


def _cross(rng):
    j = rng.normal(0, 0.1, (4, 2))
    return [np.array([[-1, -1], [1, 1]]) + j[:2], np.array([[1, -1], [-1, 1]]) + j[2:]]


def _heart(rng):
    t = np.linspace(0, 2 * math.pi * rng.uniform(0.9, 1.04), 50) + math.pi * 0.0
    x = 16 * np.sin(t) ** 3
    y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
    pts = np.stack([x, y + 3], 1) / 16.0
    return [pts]


def _arrow(rng):
    L = rng.uniform(0.15, 0.6)
    spread = rng.uniform(0.35, 0.6)
    shaft = np.array([[-1.0, 0.0], [1.0, 0.0]])
    tip = shaft[1]
    h1 = tip + L * np.array([-math.cos(spread), -math.sin(spread)])
    h2 = tip + L * np.array([-math.cos(spread), math.sin(spread)])
    if rng.random() < 0.5:  # head as one stroke
        return [shaft, np.stack([h1, tip, h2])]
    return [shaft, np.stack([tip, h1]), np.stack([tip, h2])]


_DRAWERS = [_circle, _square, _triangle, _star, _line, _zigzag, _spiral, _cross, _heart, _arrow]
_ROT = {"line": math.pi, "arrow": math.pi}  # classes that may point anywhere


def _densify(p: np.ndarray, step: float = 0.04) -> np.ndarray:
    seg = np.linalg.norm(np.diff(p, axis=0), axis=1)
    s = np.concatenate([[0], np.cumsum(seg)])
    if s[-1] == 0:
        return p
    n = max(int(s[-1] / step), 2)
    u = np.linspace(0, s[-1], n)
    return np.stack([np.interp(u, s, p[:, 0]), np.interp(u, s, p[:, 1])], 1)


def _wobble(rng, p: np.ndarray, amp: float) -> np.ndarray:
    t = np.linspace(0, 1, len(p))[:, None]
    out = p.copy()
    for _ in range(3):
        f = rng.uniform(0.5, 3.0)
        ph = rng.uniform(0, 2 * math.pi, 2)
        out += amp * rng.uniform(0.3, 1.0) * np.sin(2 * math.pi * f * t + ph) / 2
    return out + rng.normal(0, amp * 0.15, p.shape)


def draw_doodle(rng: np.random.Generator, cls: int, hard: float = 1.0) -> np.ndarray:
    """One 28x28 uint8 doodle of class ``cls`` (white strokes on black)."""
    strokes = _DRAWERS[cls](rng)
    rot = rng.uniform(-1, 1) * _ROT.get(CLASSES[cls], 0.45)
    sx = rng.uniform(0.55, 0.95)
    sy = sx * rng.uniform(0.75, 1.3)
    shear = rng.normal(0, 0.12)
    c, s = math.cos(rot), math.sin(rot)
    A = np.array([[c, -s], [s, c]]) @ np.array([[sx, shear * sx], [0, sy]])
    off = rng.uniform(-0.18, 0.18, 2)
    amp = rng.uniform(0.02, 0.14) * hard
    img = Image.new("L", (_HI, _HI), 0)
    d = ImageDraw.Draw(img)
    width = int(rng.integers(4, 11))
    half = _HI / 2

    def put(p):
        xy = (p @ A.T + off) * half * 0.92 + half
        d.line([tuple(q) for q in xy], fill=255, width=width, joint="curve")

    for p in strokes:
        put(_wobble(rng, _densify(np.asarray(p, float)), amp))
    if rng.random() < 0.45 * hard:  # a distractor stroke (a stray scribble)
        q0 = rng.uniform(-1, 1, 2)
        q = q0 + np.cumsum(rng.normal(0, 0.25, (int(rng.integers(2, 6)), 2)), 0)
        xy = q * half * 0.92 + half
        d.line([tuple(v) for v in xy], fill=255, width=max(3, width - 2), joint="curve")
    a = np.asarray(img.resize((_LO, _LO), Image.BOX), dtype=np.float32)
    a *= rng.uniform(0.7, 1.0)  # pen pressure
    if rng.random() < 0.5 * hard:  # sensor/scan noise
        a += rng.normal(0, rng.uniform(5, 30), a.shape)
        a[rng.random(a.shape) < 0.01] = 255
    return np.clip(a, 0, 255).astype(np.uint8)


def make_dataset(n: int, seed: int, hard: float = 1.0):
    """``n`` doodles with balanced labels: ``(images uint8 [n,28,28], labels uint8 [n])``."""
    rng = np.random.default_rng(seed)
    labels = (np.arange(n) % len(CLASSES)).astype(np.uint8)
    rng.shuffle(labels)
    images = np.empty((n, _LO, _LO), np.uint8)
    for i, c in enumerate(labels):
        images[i] = draw_doodle(rng, int(c), hard)
    return images, labels
