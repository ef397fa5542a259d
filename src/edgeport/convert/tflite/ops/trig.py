"""Inverse / hyperbolic trigonometry without a TFLite builtin: Atan, Asin, Acos via ATAN2; Tan from a pi/2
reduction and Taylor series; Sinh, Cosh, Asinh, Acosh, Atanh from EXP / LOG with the cancellation-prone
ranges handled explicitly.

Accuracy (float32, checked against numpy on wide ranges in tests/convert/test_tflite_ops_round2.py):
``log1p(z)`` (Asinh / Acosh / Atanh near their zeros) is an odd series in z / (2 + z) below z = 1 and
LOG(1 + z) above; Sinh takes a degree-7 Taylor polynomial for |x| < 0.5 where exp(x) - exp(-x) would
cancel; exp(|x| - ln 2) keeps Sinh / Cosh finite up to float32's own overflow. Tan reduces by pi/2 (exact
to |x| = 8192: 2e-7 relative, poles included); beyond it falls back to SIN / COS, whose ~1e-7 absolute error
gives up to ~6e-3 relative near poles at |x| ~ 1e6.
"""

from __future__ import annotations

import numpy as np

from edgeport.convert.tflite.registry import lower

__all__ = ["Emitter", "trig", "TRIG_OPS"]

TRIG_OPS = ("Atan", "Asin", "Acos", "Tan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh")
_LN2 = float(np.log(2.0))
_OPTS = {"ADD": "AddOptions", "SUB": "SubOptions", "MUL": "MulOptions", "DIV": "DivOptions"}


class Emitter:
    """Emits same-shaped element-wise ops into temps: ``e("ADD", a, b)`` returns the new tensor index;
    python floats become scalar constants (ints are tensor indices)."""

    def __init__(self, ctx, node, shape, dtype=np.float32):
        self.ctx, self.node, self.shape, self.dtype = ctx, node, list(shape), dtype
        self.n = 0

    def c(self, v, dtype=None):
        return self.ctx.const(np.array(v, dtype or self.dtype), f"{self.node.name}_c{self.n}")

    def __call__(self, name, *ins, out=None, dtype=None):
        ins = [self.c(v) if isinstance(v, float) else v for v in ins]  # ints are tensor indices
        if out is None:
            self.n += 1
            out = self.ctx.temp(self.shape, dtype or self.dtype, f"{self.node.name}_{name.lower()}{self.n}")
        opts = self.ctx.opts(_OPTS[name]) if name in _OPTS else None
        self.ctx.op(name, ins, [out], opts)
        return out

    def log1p(self, z, out=None):
        """log(1 + z) for z >= 0 (or NaN), accurate near 0: LOG's kernel is accurate to ~1e-7 absolute, not
        relative, near 1, so z < 1 takes 2 atanh(s) = 2 (s + s^3/3 + ... + s^13/13), s = z / (2 + z) <= 1/3
        (truncation < 2e-7 relative); larger z take LOG(1 + z)."""
        s = self("DIV", z, self("ADD", z, 2.0))
        s2 = self("MUL", s, s)
        acc = self.c(2.0 / 13)
        for k in (11, 9, 7, 5, 3, 1):
            acc = self("ADD", self("MUL", acc, s2), 2.0 / k)
        series = self("MUL", acc, s)
        return self("SELECT_V2", self("LESS", z, 1.0, dtype=np.bool_), series, self("LOG", self("ADD", z, 1.0)),
                    out=out)


def _float_only(node):
    x = node.inputs[0]
    return None if x.dtype is None or x.dtype == np.float32 else f"dtype:{x.dtype}"


def _tan(e, x, y):
    # SIN / COS kernels are accurate to ~1e-7 absolute only, which near a pole of tan is a large relative error:
    # reduce r = x - k pi/2 (Cody-Waite, pi/2 split in three floats: exact for |x| <= 8192), take Taylor series
    # of sin r and cos r on |r| <= pi/4 (relatively accurate), tan x = sin r / cos r (k even) or -cos r / sin r.
    k = e("ROUND", e("MUL", x, float(2 / np.pi)))
    r = x
    for part in (1.5703125, 4.837512969970703125e-4, 7.54978995489188216e-8):
        r = e("SUB", r, e("MUL", k, part))
    r2 = e("MUL", r, r)
    sn, cs = e.c(-1.0 / 1307674368000), e.c(-1.0 / 87178291200)  # -1/15!, -1/14!
    for j in range(13, 0, -2):  # sin: r (1 - r^2/3! + ... ), cos: 1 - r^2/2! + ...
        sn = e("ADD", e("MUL", sn, r2), float((-1) ** (j // 2) / np.prod(np.arange(1, j + 1, dtype=np.float64))))
        cs = e("ADD", e("MUL", cs, r2), float((-1) ** ((j - 1) // 2) / np.prod(np.arange(1, j, dtype=np.float64))))
    sn = e("MUL", sn, r)
    odd = e("EQUAL", e("FLOOR_MOD", k, 2.0), 1.0, dtype=np.bool_)
    reduced = e("SELECT_V2", odd, e("NEG", e("DIV", cs, sn)), e("DIV", sn, cs))
    # beyond |x| = 8192 the three-part reduction is no longer exact (cephes' limit): SIN / COS there
    big = e("GREATER", e("ABS", x), 8192.0, dtype=np.bool_)
    e("SELECT_V2", big, e("DIV", e("SIN", x), e("COS", x)), reduced, out=y)


@lower(*TRIG_OPS, layout="any", check=_float_only,
       emits=("ATAN2", "SIN", "COS", "EXP", "LOG", "SQRT", "DIV", "MUL", "ADD", "SUB", "SELECT_V2", "SIGN", "ABS"))
def trig(ctx, node):
    x, y = ctx.tensor(node.inputs[0]), ctx.tensor(node.outputs[0])
    e = Emitter(ctx, node, ctx.shape(y))
    op = node.op_type
    if op == "Atan":
        ones = e("BROADCAST_TO", e.c(1.0), ctx.i32(e.shape))
        e("ATAN2", x, ones, out=y)
    elif op in ("Asin", "Acos"):
        s = e("SQRT", e("MUL", e("SUB", 1.0, x), e("ADD", 1.0, x)))  # sqrt(1 - x^2) without cancellation
        e("ATAN2", *((x, s) if op == "Asin" else (s, x)), out=y)
    elif op == "Tan":
        _tan(e, x, y)
    elif op in ("Sinh", "Cosh"):
        t = e("ABS", x)
        a = e("EXP", e("SUB", t, _LN2))  # e^|x| / 2
        b = e("EXP", e("SUB", e("NEG", t), _LN2))  # e^-|x| / 2
        if op == "Cosh":
            e("ADD", a, b, out=y)
            return
        big = e("MUL", e("SIGN", x), e("SUB", a, b))
        x2 = e("MUL", x, x)
        poly = e("ADD", e("MUL", x2, 1.0 / 5040), 1.0 / 120)
        poly = e("ADD", e("MUL", x2, poly), 1.0 / 6)
        poly = e("MUL", x, e("ADD", e("MUL", x2, poly), 1.0))
        e("SELECT_V2", e("LESS", t, 0.5, dtype=np.bool_), poly, big, out=y)
    elif op == "Asinh":
        t = e("ABS", x)
        t2 = e("MUL", t, t)
        z = e("ADD", t, e("DIV", t2, e("ADD", e("SQRT", e("ADD", t2, 1.0)), 1.0)))  # |x| + sqrt(x^2+1) - 1
        r = e("SELECT_V2", e("GREATER", t, 1e15, dtype=np.bool_), e("ADD", e("LOG", t), _LN2), e.log1p(z))
        e("MUL", e("SIGN", x), r, out=y)
    elif op == "Acosh":
        w = e("SUB", x, 1.0)  # exact near 1
        z = e("ADD", w, e("MUL", e("SQRT", w), e("SQRT", e("ADD", w, 2.0))))  # x + sqrt(x^2-1) - 1
        e("SELECT_V2", e("GREATER", x, 1e15, dtype=np.bool_), e("ADD", e("LOG", x), _LN2), e.log1p(z), out=y)
    elif op == "Atanh":
        t = e("ABS", x)
        z = e("DIV", e("MUL", t, 2.0), e("SUB", 1.0, t))
        e("MUL", e("MUL", e("SIGN", x), 0.5), e.log1p(z), out=y)
