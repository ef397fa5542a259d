"""Less common ops, mostly compositions: Size, CumSum, OneHot, Mod, Hardmax, InstanceNormalization and the
activation family Swish / Mish / Selu / Celu / Softsign / ThresholdedRelu, Trilu, Erf, Shrink, EyeLike."""

from __future__ import annotations

import numpy as np

from edgeport.convert.tflite.registry import lower
from edgeport.ir import Value

__all__ = ["size", "cumsum", "one_hot", "mod", "hardmax", "instance_norm", "activation_composites", "trilu",
           "erf", "shrink", "eye_like"]


def _float_only(node):
    x = node.inputs[0]
    return None if x.dtype is None or x.dtype == np.float32 else f"dtype:{x.dtype}"


@lower("Size", layout="fixed", emits=("RESHAPE",))
def size(ctx, node):
    # static shapes: the element count is a constant (normally folded before lowering)
    y = node.outputs[0]
    n = np.array(int(np.prod(node.inputs[0].shape)), y.dtype or np.int64)
    ctx.op("RESHAPE", [ctx.const(n, f"{node.name}_size"), ctx.i32([])], [ctx.tensor(y)])


@lower("CumSum", layout="fixed", emits=("CUMSUM",),
       check=lambda n: None if n.inputs[1].is_const else "nonconst_axis")
def cumsum(ctx, node):
    x = node.inputs[0]
    axis = int(node.inputs[1].const.reshape(-1)[0]) % x.rank
    ctx.op("CUMSUM", [ctx.tensor(x), ctx.i32(axis)], [ctx.tensor(node.outputs[0])],
           ctx.opts("CumsumOptions", exclusive=bool(node.attrs.get("exclusive", 0)),
                    reverse=bool(node.attrs.get("reverse", 0))))


@lower("OneHot", layout="fixed", emits=("ONE_HOT", "CAST", "LESS", "MUL", "ADD"),
       check=lambda n: None if n.inputs[1].is_const and n.inputs[2].is_const else "nonconst_depth_values")
def one_hot(ctx, node):
    # OneHot(indices, depth, values[off, on]) axis; negative indices count from depth
    idx, y = node.inputs[0], node.outputs[0]
    depth = int(node.inputs[1].const.reshape(-1)[0])
    off, on = node.inputs[2].const.reshape(-1)[:2]
    ii = ctx.tensor(idx)
    shp = ctx.shape(ii)
    t = {k: ctx.temp(shp, np.bool_ if k == "neg" else np.int32, f"{node.name}_{k}")
         for k in ("i32", "neg", "negi", "off", "w")}
    # negative indices count from depth; others out of range stay so (an all-off row, as ONNX)
    ctx.op("CAST", [ii], [t["i32"]])
    ctx.op("LESS", [t["i32"], ctx.const(np.array(0, np.int32))], [t["neg"]])
    ctx.op("CAST", [t["neg"]], [t["negi"]])
    ctx.op("MUL", [t["negi"], ctx.const(np.array(depth, np.int32))], [t["off"]], ctx.opts("MulOptions"))
    ctx.op("ADD", [t["i32"], t["off"]], [t["w"]], ctx.opts("AddOptions"))
    axis = node.attrs.get("axis", -1)
    axis = axis if axis == -1 else axis % y.rank
    ctx.op("ONE_HOT", [t["w"], ctx.i32(depth), ctx.const(np.array(on, y.dtype)), ctx.const(np.array(off, y.dtype))],
           [ctx.tensor(y)], ctx.opts("OneHotOptions", axis=axis))


@lower("Mod", layout="any", emits=("FLOOR_MOD",),
       check=lambda n: "attr:fmod=1" if n.attrs.get("fmod", 0) else None)
def mod(ctx, node):
    # fmod=0: the result has the divisor's sign, as FLOOR_MOD
    y = node.outputs[0]
    ctx.op("FLOOR_MOD", [ctx.operand(node.inputs[0], y), ctx.operand(node.inputs[1], y)], [ctx.tensor(y)])


@lower("Hardmax", layout="fixed", emits=("ARG_MAX", "ONE_HOT"), check=_float_only)
def hardmax(ctx, node):
    x, y = node.inputs[0], node.outputs[0]
    axis = node.attrs.get("axis", -1) % x.rank
    shp = [d for i, d in enumerate(x.shape) if i != axis]
    am = ctx.temp(shp, np.int32, f"{node.name}_argmax")
    ctx.op("ARG_MAX", [ctx.tensor(x), ctx.i32([axis])], [am], ctx.opts("ArgMaxOptions", outputType=2))
    ctx.op("ONE_HOT", [am, ctx.i32(x.shape[axis]), ctx.const(np.float32(1)), ctx.const(np.float32(0))],
           [ctx.tensor(y)], ctx.opts("OneHotOptions", axis=axis))


def _check_in(node):
    if not (node.inputs[1].is_const and node.inputs[2].is_const):
        return "nonconst_scale_bias"
    return _float_only(node)


@lower("InstanceNormalization", layout="any",
       emits=("MEAN", "SUB", "MUL", "ADD", "RSQRT"), check=_check_in)
def instance_norm(ctx, node):
    # InstanceNormalization(x, scale[C], B[C]) epsilon: normalize over the spatial axes per sample and channel
    x, y = node.inputs[0], node.outputs[0]
    xi, yi = ctx.tensor(x), ctx.tensor(y)
    shp = ctx.shape(xi)
    axes = sorted(ctx.axis(x, a) for a in range(2, x.rank))
    red = [1 if i in axes else d for i, d in enumerate(shp)]
    t = {k: ctx.temp(red if k in ("mean", "var", "ve", "r") else shp, np.float32, f"{node.name}_{k}")
         for k in ("mean", "d", "sq", "var", "ve", "r", "n", "s")}
    ctx.op("MEAN", [xi, ctx.i32(axes)], [t["mean"]], ctx.opts("ReducerOptions", keepDims=True))
    ctx.op("SUB", [xi, t["mean"]], [t["d"]], ctx.opts("SubOptions"))
    ctx.op("MUL", [t["d"], t["d"]], [t["sq"]], ctx.opts("MulOptions"))
    ctx.op("MEAN", [t["sq"], ctx.i32(axes)], [t["var"]], ctx.opts("ReducerOptions", keepDims=True))
    ctx.op("ADD", [t["var"], ctx.const(np.float32(node.attrs.get("epsilon", 1e-5)))], [t["ve"]], ctx.opts("AddOptions"))
    ctx.op("RSQRT", [t["ve"]], [t["r"]])
    ctx.op("MUL", [t["d"], t["r"]], [t["n"]], ctx.opts("MulOptions"))
    per_c = (-1,) + (1,) * (x.rank - 2)
    sc = Value(f"{node.name}_scale", const=node.inputs[1].const.reshape(per_c))
    bc = Value(f"{node.name}_bias", const=node.inputs[2].const.reshape(per_c))
    ctx.op("MUL", [t["n"], ctx.operand(sc, y)], [t["s"]], ctx.opts("MulOptions"))
    ctx.op("ADD", [t["s"], ctx.operand(bc, y)], [yi], ctx.opts("AddOptions"))


def _unary_chain(ctx, node, steps):
    """steps: list of (builtin, second operand scalar or None or "x"/"prev:k"); the last writes the output."""
    y = ctx.tensor(node.outputs[0])
    shape = ctx.shape(y)
    x = ctx.tensor(node.inputs[0])
    vals = {"x": x}
    for k, (name, a, b, opts) in enumerate(steps):
        dst = y if k == len(steps) - 1 else ctx.temp(shape, np.float32, f"{node.name}_s{k}")
        ins = [vals[a] if isinstance(a, str) else ctx.const(np.float32(a))]
        if b is not None:
            ins.append(vals[b] if isinstance(b, str) else ctx.const(np.float32(b)))
        ctx.op(name, ins, [dst], ctx.opts(opts) if opts else None)
        vals[f"s{k}"] = dst


@lower("Swish", "Mish", "Softsign", "Selu", "Celu", "ThresholdedRelu", layout="any", check=_float_only,
       emits=("LOGISTIC", "MUL", "ABS", "ADD", "DIV", "EXP", "MINIMUM", "RELU", "ELU", "GREATER", "CAST"))
def activation_composites(ctx, node):
    a = node.attrs
    op = node.op_type
    if op == "Swish":  # x * sigmoid(alpha x)
        steps = [("MUL", "x", float(a.get("alpha", 1.0)), "MulOptions"), ("LOGISTIC", "s0", None, None),
                 ("MUL", "x", "s1", "MulOptions")]
    elif op == "Mish":
        # x * tanh(softplus(x)) = x * n / (n + 2), n = e^x (e^x + 2): no cancellation anywhere. TANH of a small
        # softplus is off by ~1e-7 absolute in XNNPACK (2.6e-3 relative at x = -10); e^x is clamped at e^20,
        # where n / (n + 2) is 1 in float32, so it cannot overflow
        steps = [("MINIMUM", "x", 20.0, None), ("EXP", "s0", None, None), ("ADD", "s1", 2.0, "AddOptions"),
                 ("MUL", "s1", "s2", "MulOptions"), ("ADD", "s3", 2.0, "AddOptions"),
                 ("DIV", "s3", "s4", "DivOptions"), ("MUL", "x", "s5", "MulOptions")]
    elif op == "Softsign":  # x / (1 + |x|)
        steps = [("ABS", "x", None, None), ("ADD", "s0", 1.0, "AddOptions"), ("DIV", "x", "s1", "DivOptions")]
    elif op == "Selu":  # gamma * (relu(x) + alpha * min(elu(x), 0))
        al, ga = float(a.get("alpha", 1.67326319217681884765625)), float(a.get("gamma", 1.05070102214813232421875))
        steps = [("ELU", "x", None, None), ("MINIMUM", "s0", 0.0, None), ("MUL", "s1", al, "MulOptions"),
                 ("RELU", "x", None, None), ("ADD", "s3", "s2", "AddOptions"), ("MUL", "s4", ga, "MulOptions")]
    elif op == "Celu":  # relu(x) + min(0, alpha * (exp(x / alpha) - 1)) = relu(x) + alpha * min(elu(x/alpha), 0)
        al = float(a.get("alpha", 1.0))
        steps = [("MUL", "x", 1.0 / al, "MulOptions"), ("ELU", "s0", None, None), ("MINIMUM", "s1", 0.0, None),
                 ("MUL", "s2", al, "MulOptions"), ("RELU", "x", None, None), ("ADD", "s4", "s3", "AddOptions")]
    else:  # ThresholdedRelu: x * (x > alpha)
        y = ctx.tensor(node.outputs[0])
        x = ctx.tensor(node.inputs[0])
        m = ctx.temp(ctx.shape(y), np.bool_, f"{node.name}_mask")
        mf = ctx.temp(ctx.shape(y), np.float32, f"{node.name}_maskf")
        ctx.op("GREATER", [x, ctx.const(np.float32(a.get("alpha", 1.0)))], [m])
        ctx.op("CAST", [m], [mf])
        ctx.op("MUL", [x, mf], [y], ctx.opts("MulOptions"))
        return
    _unary_chain(ctx, node, steps)


@lower("Trilu", layout="fixed", emits=("SELECT_V2",),
       check=lambda n: None if n.input(1) is None or n.inputs[1].is_const else "nonconst_k")
def trilu(ctx, node):
    # Trilu(x[..., N, M], k?) upper=1: keep x where j - i >= k (upper) / j - i <= k (lower), else 0.
    # A SELECT_V2 with a constant [N, M] mask (a multiply by a 0/1 mask would turn inf into nan).
    x, y = node.inputs[0], node.outputs[0]
    k = 0 if node.input(1) is None else int(node.inputs[1].const.reshape(-1)[0])
    n, m = x.shape[-2:]
    diff = np.arange(m)[None, :] - np.arange(n)[:, None]
    keep = diff >= k if node.attrs.get("upper", 1) else diff <= k
    ctx.op("SELECT_V2", [ctx.const(keep, f"{node.name}_mask"), ctx.tensor(x), ctx.const(np.zeros((), x.dtype))],
           [ctx.tensor(y)])


# erf(x) = x * P(x^2) / Q(x^2) on x clamped to [-4, 4] (erf is +-1 in float32 beyond): the rational
# approximation Eigen and XLA use for float32; measured against math.erf: <= 4.2e-7 relative error.
_ERF_P = (-1.60960333262415e-02, -2.95459980854025e-03, -7.34990630326855e-04, -5.69250639462346e-05,
          -2.10102402082508e-06, 2.77068142495902e-08, -2.72614225801306e-10)
_ERF_Q = (-1.42647390514189e-02, -7.37332916720468e-03, -1.68282697438203e-03, -2.13374055278905e-04,
          -1.45660718464996e-05)


@lower("Erf", layout="any", emits=("MINIMUM", "MAXIMUM", "MUL", "ADD", "DIV"), check=_float_only)
def erf(ctx, node):
    # a lone Erf (the GELU pattern is fused into GELU by ir.passes.fuse_gelu before lowering)
    y = ctx.tensor(node.outputs[0])
    shape = ctx.shape(y)
    count = [0]

    def t():
        count[0] += 1
        return ctx.temp(shape, np.float32, f"{node.name}_e{count[0]}")

    c, x2, lo = t(), t(), t()
    ctx.op("MINIMUM", [ctx.tensor(node.inputs[0]), ctx.const(np.float32(4.0))], [lo])
    ctx.op("MAXIMUM", [lo, ctx.const(np.float32(-4.0))], [c])
    ctx.op("MUL", [c, c], [x2], ctx.opts("MulOptions"))

    def horner(coefs):
        acc = None
        for a in reversed(coefs):
            if acc is None:
                acc = ctx.const(np.float32(a))
                continue
            m, s = t(), t()
            ctx.op("MUL", [acc, x2], [m], ctx.opts("MulOptions"))
            ctx.op("ADD", [m, ctx.const(np.float32(a))], [s], ctx.opts("AddOptions"))
            acc = s
        return acc

    p, q = horner(_ERF_P), horner(_ERF_Q)
    cp = t()
    ctx.op("MUL", [c, p], [cp], ctx.opts("MulOptions"))
    ctx.op("DIV", [cp, q], [y], ctx.opts("DivOptions"))


@lower("Shrink", layout="any", emits=("GREATER", "LESS", "SUB", "ADD", "SELECT_V2"))
def shrink(ctx, node):
    # Shrink(x) lambd=0.5, bias=0: x - bias where x > lambd, x + bias where x < -lambd, else 0
    x, y = node.inputs[0], node.outputs[0]
    lam, bias = node.attrs.get("lambd", 0.5), node.attrs.get("bias", 0.0)
    xi, yi, shape = ctx.tensor(x), ctx.tensor(y), ctx.shape(ctx.tensor(y))
    dt = x.dtype
    hi, lo = ctx.temp(shape, np.bool_, f"{node.name}_hi"), ctx.temp(shape, np.bool_, f"{node.name}_lo")
    up, down, inner = (ctx.temp(shape, dt, f"{node.name}_{k}") for k in ("up", "down", "inner"))
    ctx.op("GREATER", [xi, ctx.const(np.array(lam, np.float32).astype(dt))], [hi])
    ctx.op("LESS", [xi, ctx.const(np.array(-lam, np.float32).astype(dt))], [lo])
    ctx.op("SUB", [xi, ctx.const(np.array(bias, np.float32).astype(dt))], [up], ctx.opts("SubOptions"))
    ctx.op("ADD", [xi, ctx.const(np.array(bias, np.float32).astype(dt))], [down], ctx.opts("AddOptions"))
    ctx.op("SELECT_V2", [lo, down, ctx.const(np.zeros((), dt))], [inner])
    ctx.op("SELECT_V2", [hi, up, inner], [yi])


@lower("EyeLike", layout="fixed", emits=("RESHAPE",))
def eye_like(ctx, node):
    # static shapes: the output is a constant (ones on diagonal k)
    y = node.outputs[0]
    import onnx

    to = node.attrs.get("dtype")
    dt = onnx.helper.tensor_dtype_to_np_dtype(to) if to else node.inputs[0].dtype
    r, c = node.inputs[0].shape
    eye = np.eye(r, c, k=int(node.attrs.get("k", 0)), dtype=dt)
    ctx.op("RESHAPE", [ctx.const(eye, f"{node.name}_eye"), ctx.i32([r, c])], [ctx.tensor(y)])
