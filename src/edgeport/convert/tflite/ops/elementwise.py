"""Element-wise ops (layout-agnostic). Simple ones are data: ONNX op -> TFLite builtin.

Binary ops broadcast numpy-style; constants are laid out like the output
(``ctx.operand``). Variadic Sum / Min / Max / Mean chain the binary op.
"""

from __future__ import annotations

import numpy as np

from edgeport.convert.tflite.registry import lower
from edgeport.ir import channels_last_perm

__all__ = ["UNARY", "BINARY", "COMPARE", "emit_softplus"]

# ONNX op -> TFLite builtin, one input one output, no options
UNARY = {
    "Relu": "RELU", "Sigmoid": "LOGISTIC", "Tanh": "TANH", "Exp": "EXP", "Log": "LOG", "Neg": "NEG",
    "Abs": "ABS", "Sqrt": "SQRT", "Sin": "SIN", "Cos": "COS", "Floor": "FLOOR", "Ceil": "CEIL",
    "Round": "ROUND", "Sign": "SIGN", "Not": "LOGICAL_NOT", "HardSwish": "HARD_SWISH",
}
# ONNX op -> (TFLite builtin, options class or None): fused activation capable when options given
BINARY = {
    "Add": ("ADD", "AddOptions"), "Sub": ("SUB", "SubOptions"), "Mul": ("MUL", "MulOptions"),
    "Div": ("DIV", "DivOptions"), "Min": ("MINIMUM", None), "Max": ("MAXIMUM", None),
    "Sum": ("ADD", "AddOptions"), "And": ("LOGICAL_AND", None), "Or": ("LOGICAL_OR", None),
    "Xor": ("NOT_EQUAL", None),  # on bool tensors
}
COMPARE = {"Equal": "EQUAL", "Less": "LESS", "Greater": "GREATER", "LessOrEqual": "LESS_EQUAL",
           "GreaterOrEqual": "GREATER_EQUAL"}


def _float_only(node):
    x = node.inputs[0]
    return None if x.dtype is None or x.dtype == np.float32 else f"dtype:{x.dtype}"


def _check_unary(node):
    return None


@lower(*UNARY, layout="any", emits=tuple(UNARY.values()), check=_check_unary)
def unary(ctx, node):
    ctx.op(UNARY[node.op_type], [ctx.tensor(node.inputs[0])], [ctx.tensor(node.outputs[0])])


def _chain(ctx, node, builtin, opt_cls, ins, out_idx, act=0):
    """Apply a binary builtin over ``ins`` left to right, the last step writing ``out_idx``."""
    out = node.outputs[0]
    acc = ctx.operand(ins[0], out)
    for k, v in enumerate(ins[1:], 1):
        last = k == len(ins) - 1
        dst = out_idx if last else ctx.temp(ctx.shape(out_idx), out.dtype, f"{node.name}_acc{k}")
        opts = ctx.opts(opt_cls, fusedActivationFunction=act if last else 0) if opt_cls else None
        ctx.op(builtin, [acc, ctx.operand(v, out)], [dst], opts)
        acc = dst


@lower(*BINARY, layout="any", emits=tuple(b for b, _ in BINARY.values()))
def binary(ctx, node):
    builtin, opt_cls = BINARY[node.op_type]
    ins = [v for v in node.inputs if v is not None]
    out_idx = ctx.tensor(node.outputs[0])
    if len(ins) == 1:
        ctx.op("RESHAPE", [ctx.operand(ins[0], node.outputs[0]), ctx.i32(ctx.shape(out_idx))], [out_idx])
        return
    _chain(ctx, node, builtin, opt_cls, ins, out_idx, ctx.activation(node))


@lower("Mean", layout="any", emits=("ADD", "MUL"))
def mean(ctx, node):
    ins = [v for v in node.inputs if v is not None]
    out = node.outputs[0]
    out_idx = ctx.tensor(out)
    if len(ins) == 1:
        acc = ctx.operand(ins[0], out)
    else:
        acc = ctx.temp(ctx.shape(out_idx), out.dtype, f"{node.name}_sum")
        _chain(ctx, node, "ADD", "AddOptions", ins, acc)
    ctx.op("MUL", [acc, ctx.const(np.array(1.0 / len(ins), np.float32))], [out_idx], ctx.opts("MulOptions"))


@lower(*COMPARE, layout="any", emits=tuple(COMPARE.values()))
def compare(ctx, node):
    out = node.outputs[0]
    ctx.op(COMPARE[node.op_type], [ctx.operand(node.inputs[0], out), ctx.operand(node.inputs[1], out)],
           [ctx.tensor(out)])


@lower("Where", layout="any", emits=("SELECT_V2",))
def where(ctx, node):
    out = node.outputs[0]
    ctx.op("SELECT_V2", [ctx.operand(v, out) for v in node.inputs], [ctx.tensor(out)])


def _clip_bounds(node):
    lo, hi = node.attrs.get("min"), node.attrs.get("max")
    if len(node.inputs) > 1:
        a, b = node.input(1), node.input(2)
        lo = None if a is None else float(a.const.reshape(-1)[0])
        hi = None if b is None else float(b.const.reshape(-1)[0])
    return lo, hi


def _check_clip(node):
    for v in node.inputs[1:]:
        if v is not None and not v.is_const:
            return "nonconst_bounds"
    return None


@lower("Clip", layout="any", emits=("RELU6", "RELU_N1_TO_1", "RELU", "RELU_0_TO_1", "MAXIMUM", "MINIMUM"),
       check=_check_clip)
def clip(ctx, node):
    # Clip(x, min?, max?) (opset < 11: attributes)
    lo, hi = _clip_bounds(node)
    x, y = ctx.tensor(node.inputs[0]), ctx.tensor(node.outputs[0])
    named = {(0.0, 6.0): "RELU6", (-1.0, 1.0): "RELU_N1_TO_1", (0.0, None): "RELU", (0.0, 1.0): "RELU_0_TO_1"}
    if (lo, hi) in named:
        ctx.op(named[(lo, hi)], [x], [y])
        return
    dtype = node.inputs[0].dtype
    if lo is not None and hi is not None:
        mid = ctx.temp(ctx.shape(y), dtype, f"{node.name}_lo")
        ctx.op("MAXIMUM", [x, ctx.const(np.array(lo, dtype))], [mid])
        ctx.op("MINIMUM", [mid, ctx.const(np.array(hi, dtype))], [y])
    elif lo is not None:
        ctx.op("MAXIMUM", [x, ctx.const(np.array(lo, dtype))], [y])
    elif hi is not None:
        ctx.op("MINIMUM", [x, ctx.const(np.array(hi, dtype))], [y])
    else:
        ctx.op("RESHAPE", [x, ctx.i32(ctx.shape(y))], [y])


@lower("LeakyRelu", layout="any", emits=("LEAKY_RELU",))
def leaky_relu(ctx, node):
    ctx.op("LEAKY_RELU", [ctx.tensor(node.inputs[0])], [ctx.tensor(node.outputs[0])],
           ctx.opts("LeakyReluOptions", alpha=float(node.attrs.get("alpha", 0.01))))


@lower("PRelu", layout="any", emits=("PRELU",),
       check=lambda n: None if n.inputs[1].is_const else "nonconst_slope")
def prelu(ctx, node):
    # the slope is given the output's full rank (XNNPack wants it), then the output's layout
    out = node.outputs[0]
    slope = node.inputs[1].const
    slope = slope.reshape((1,) * (out.rank - slope.ndim) + slope.shape)
    if out.layout == "NHWC":
        slope = slope.transpose(channels_last_perm(out.rank))
    ctx.op("PRELU", [ctx.tensor(node.inputs[0]), ctx.const(np.ascontiguousarray(slope, node.inputs[0].dtype))],
           [ctx.tensor(out)])


@lower("HardSigmoid", layout="any", emits=("MUL", "ADD", "RELU_0_TO_1"), check=_float_only)
def hard_sigmoid(ctx, node):
    # HardSigmoid(x) alpha=0.2, beta=0.5: clip(alpha*x + beta, 0, 1)
    y = ctx.tensor(node.outputs[0])
    shape = ctx.shape(y)
    a = ctx.temp(shape, np.float32, f"{node.name}_ax")
    b = ctx.temp(shape, np.float32, f"{node.name}_axb")
    ctx.op("MUL", [ctx.tensor(node.inputs[0]), ctx.const(np.float32(node.attrs.get("alpha", 0.2)))], [a],
           ctx.opts("MulOptions"))
    ctx.op("ADD", [a, ctx.const(np.float32(node.attrs.get("beta", 0.5)))], [b], ctx.opts("AddOptions"))
    ctx.op("RELU_0_TO_1", [b], [y])


# Added to LOG(u) and to u - 1 in log1p: absorbed exactly by any nonzero float32 value of either (both are
# >= 2**-24 then), and turns 0/0 into y when 1 + y rounds to 1.
_TINY = np.float32(1e-30)


def emit_softplus(ctx, x_idx: int, out_idx: int, shape, name: str) -> None:
    """softplus(x) = relu(x) + log1p(exp(-|x|)), log1p(y) done accurately in float32 (Kahan):
    u = 1 + y; log1p(y) = y * log(u) / (u - 1), = y when u == 1. The plain log(1 + y) loses the low
    bits of y: about 1e-3 relative error at x = -10, where softplus(x) ~ 4.5e-5."""
    t = [ctx.temp(shape, np.float32, f"{name}_sp{i}") for i in range(10)]
    one, tiny = ctx.const(np.float32(1.0)), ctx.const(_TINY)
    ctx.op("ABS", [x_idx], [t[0]])
    ctx.op("NEG", [t[0]], [t[1]])
    ctx.op("EXP", [t[1]], [t[2]])                                     # y
    ctx.op("ADD", [t[2], one], [t[3]], ctx.opts("AddOptions"))        # u = 1 + y
    ctx.op("SUB", [t[3], one], [t[4]], ctx.opts("SubOptions"))        # u - 1 (exact)
    ctx.op("ADD", [t[4], tiny], [t[5]], ctx.opts("AddOptions"))
    ctx.op("LOG", [t[3]], [t[6]])
    ctx.op("ADD", [t[6], tiny], [t[7]], ctx.opts("AddOptions"))
    ctx.op("DIV", [t[7], t[5]], [t[8]], ctx.opts("DivOptions"))       # log(u) / (u - 1), 1 when u == 1
    ctx.op("MUL", [t[2], t[8]], [t[9]], ctx.opts("MulOptions"))       # log1p(y)
    r = ctx.temp(shape, np.float32, f"{name}_relu")
    ctx.op("RELU", [x_idx], [r])
    ctx.op("ADD", [r, t[9]], [out_idx], ctx.opts("AddOptions"))


@lower("Softplus", layout="any", emits=("ABS", "NEG", "EXP", "ADD", "SUB", "LOG", "DIV", "MUL", "RELU"),
       check=_float_only)
def softplus(ctx, node):
    y = ctx.tensor(node.outputs[0])
    emit_softplus(ctx, ctx.tensor(node.inputs[0]), y, ctx.shape(y), node.name)


@lower("Elu", layout="any", emits=("ELU", "MAXIMUM", "MINIMUM", "MUL", "ADD"), check=_float_only)
def elu(ctx, node):
    # ELU(x) is alpha=1; other alphas scale its negative part: max(e, 0) + alpha * min(e, 0)
    y = ctx.tensor(node.outputs[0])
    alpha = float(node.attrs.get("alpha", 1.0))
    if alpha == 1.0:
        ctx.op("ELU", [ctx.tensor(node.inputs[0])], [y])
        return
    shape = ctx.shape(y)
    e, pos, neg, sneg = (ctx.temp(shape, np.float32, f"{node.name}_{k}") for k in ("elu", "pos", "neg", "sneg"))
    ctx.op("ELU", [ctx.tensor(node.inputs[0])], [e])
    ctx.op("MAXIMUM", [e, ctx.const(np.float32(0))], [pos])
    ctx.op("MINIMUM", [e, ctx.const(np.float32(0))], [neg])
    ctx.op("MUL", [neg, ctx.const(np.float32(alpha))], [sneg], ctx.opts("MulOptions"))
    ctx.op("ADD", [pos, sneg], [y], ctx.opts("AddOptions"))


@lower("Reciprocal", layout="any", emits=("DIV",), check=_float_only)
def reciprocal(ctx, node):
    ctx.op("DIV", [ctx.const(np.float32(1.0)), ctx.tensor(node.inputs[0])], [ctx.tensor(node.outputs[0])],
           ctx.opts("DivOptions"))


@lower("Cast", "CastLike", layout="any", emits=("CAST",))
def cast(ctx, node):
    ctx.op("CAST", [ctx.tensor(node.inputs[0])], [ctx.tensor(node.outputs[0])])


@lower("Identity", "Dropout", layout="any", emits=("RESHAPE",),
       check=lambda n: "output:dropout_mask" if len(n.outputs) > 1 and (n.outputs[1].users or n.outputs[1] in
                                                                         n.graph.outputs) else None)
def identity(ctx, node):
    y = ctx.tensor(node.outputs[0])
    ctx.op("RESHAPE", [ctx.tensor(node.inputs[0]), ctx.i32(ctx.shape(y))], [y])


@lower("IsNaN", "IsInf", layout="any", emits=("NOT_EQUAL", "EQUAL", "ABS"), check=_float_only)
def is_nan_inf(ctx, node):
    # IsNaN: x != x. IsInf(detect_positive=1, detect_negative=1): |x| == inf, or x == +inf / x == -inf alone
    xi, yi = ctx.tensor(node.inputs[0]), ctx.tensor(node.outputs[0])
    if node.op_type == "IsNaN":
        ctx.op("NOT_EQUAL", [xi, xi], [yi])
        return
    pos, neg = node.attrs.get("detect_positive", 1), node.attrs.get("detect_negative", 1)
    if pos and neg:
        a = ctx.temp(ctx.shape(xi), np.float32, f"{node.name}_abs")
        ctx.op("ABS", [xi], [a])
        xi, target = a, np.inf
    else:
        target = np.inf if pos else (-np.inf if neg else np.nan)  # neither: nothing equals nan
    ctx.op("EQUAL", [xi, ctx.const(np.float32(target))], [yi])
