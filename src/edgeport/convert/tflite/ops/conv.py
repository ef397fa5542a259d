"""Convolutions: Conv -> CONV_2D / DEPTHWISE_CONV_2D (grouped: one CONV_2D with a [O, kh, kw, C/g] filter;
non-constant weights: a run-time TRANSPOSE to that filter layout, non-constant bias passed through),
ConvTranspose -> TRANSPOSE_CONV (grouped: one per group; dilated: zeros between the kernel taps)."""

from __future__ import annotations

import numpy as np

from edgeport.convert.tflite.flatbuffer import schema
from edgeport.convert.tflite.registry import lower
from edgeport.ir import channels_last_perm

__all__ = ["conv", "conv_transpose", "spatial_padding", "pad_input"]

SAME, VALID = schema.Padding.SAME, schema.Padding.VALID


def _pads(node, in_hw, k, s, d):
    """Explicit (top, left, bottom, right) pads from pads / auto_pad."""
    auto = node.attrs.get("auto_pad", "NOTSET")
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        out = []
        for i in range(2):
            o = -(-in_hw[i] // s[i])
            total = max((o - 1) * s[i] + (k[i] - 1) * d[i] + 1 - in_hw[i], 0)
            small = total // 2
            out.append((small, total - small) if auto == "SAME_UPPER" else (total - small, small))
        return [out[0][0], out[1][0], out[0][1], out[1][1]]
    if auto == "VALID":
        return [0, 0, 0, 0]
    p = list(node.attrs.get("pads", [0, 0, 0, 0]))
    return p


def spatial_padding(in_hw, k, s, d, pads):
    """(TFLite padding, explicit pads or None): SAME or VALID when they match, else VALID after a PAD."""
    if not any(pads):
        return VALID, None
    same = []
    for i in range(2):
        o = -(-in_hw[i] // s[i])
        total = max((o - 1) * s[i] + (k[i] - 1) * d[i] + 1 - in_hw[i], 0)
        same += [total // 2, total - total // 2]
    if [pads[0], pads[2], pads[1], pads[3]] == same:
        return SAME, None
    return VALID, pads


def pad_input(ctx, x_idx, pads, value=None):
    """PAD (or PADV2 with ``value``) an NHWC tensor by (top, left, bottom, right); returns the new tensor."""
    n, h, w, c = ctx.shape(x_idx)
    t, l, b, r = pads
    paddings = ctx.i32([[0, 0], [t, b], [l, r], [0, 0]])
    out = ctx.temp([n, h + t + b, w + l + r, c], np.float32, f"{ctx.node.name}_padded")
    if value is None:
        ctx.op("PAD", [x_idx, paddings], [out], ctx.opts("PadOptions"))
    else:
        ctx.op("PADV2", [x_idx, paddings, ctx.const(np.array(value, np.float32))], [out], ctx.opts("PadV2Options"))
    return out


def _check_conv(node):
    x, w = node.inputs[0], node.input(1)
    if w is None:
        return "nonconst_weights"
    if not w.is_const and (node.op_type != "Conv" or w.shape is None):
        return "nonconst_weights"
    rank = w.const.ndim if w.is_const else len(w.shape)
    if rank != 4:
        return f"rank:{rank - 2}d_conv"
    if node.input(2) is not None and not node.input(2).is_const and node.op_type != "Conv":
        return "nonconst_bias"
    return None


def _filter(ctx, node, w, order):
    """The filter tensor with logical axes ``order``: a constant, or a run-time TRANSPOSE of a non-constant
    weight (TFLite's CONV_2D / DEPTHWISE_CONV_2D take a non-constant filter tensor)."""
    if w.is_const:
        return ctx.const(w.const.astype(np.float32, copy=False).transpose(order), f"{node.name}_filter")
    phys = channels_last_perm(4) if w.layout == "NHWC" else (0, 1, 2, 3)
    q = [list(phys).index(a) for a in order]
    wi = ctx.tensor(w)
    if q == [0, 1, 2, 3]:
        return wi
    t = ctx.temp([w.shape[a] for a in order], np.float32, f"{node.name}_filter")
    ctx.op("TRANSPOSE", [wi, ctx.i32(q)], [t], ctx.opts("TransposeOptions"))
    return t


def _bias(ctx, node, b, o):
    if b is None:
        return ctx.const(np.zeros(o, np.float32), f"{node.name}_bias")
    if b.is_const:
        return ctx.const(b.const.astype(np.float32).reshape(-1), f"{node.name}_bias")
    return ctx.tensor(b)


@lower("Conv", layout="nhwc", emits=("CONV_2D", "DEPTHWISE_CONV_2D", "PAD"),
       check=_check_conv)
def conv(ctx, node):
    # Conv(X[N,C,H,W], W[O,C/g,kh,kw], B[O]?) group, strides, pads, dilations, auto_pad
    x, wv, b = node.inputs[0], node.inputs[1], node.input(2)
    out = node.outputs[0]
    o, cpg, kh, kw = wv.shape
    g = node.attrs.get("group", 1)
    s = list(node.attrs.get("strides", [1, 1]))
    d = list(node.attrs.get("dilations", [1, 1]))
    _, cin, h, wd = x.shape
    pads = _pads(node, (h, wd), (kh, kw), s, d)
    padding, explicit = spatial_padding((h, wd), (kh, kw), s, d, pads)
    xi = ctx.tensor(x)
    if explicit:
        xi = pad_input(ctx, xi, explicit)
    bias = _bias(ctx, node, b, o)
    act = ctx.activation(node)
    yi = ctx.tensor(out)
    if g == 1:
        opts = ctx.opts("Conv2DOptions", padding=padding, strideH=s[0], strideW=s[1], dilationHFactor=d[0],
                        dilationWFactor=d[1], fusedActivationFunction=act)
        ctx.op("CONV_2D", [xi, _filter(ctx, node, wv, (0, 2, 3, 1)), bias], [yi], opts, version=1)
    elif g == cin and cpg == 1:
        opts = ctx.opts("DepthwiseConv2DOptions", padding=padding, strideH=s[0], strideW=s[1],
                        depthMultiplier=o // cin, dilationHFactor=d[0], dilationWFactor=d[1],
                        fusedActivationFunction=act)
        ctx.op("DEPTHWISE_CONV_2D", [xi, _filter(ctx, node, wv, (1, 2, 3, 0)), bias], [yi], opts, version=2)
    else:
        # CONV_2D runs grouped convolutions itself (filter [O, kh, kw, C/g]; groups = C / filter depth),
        # XNNPACK included: one op instead of SPLIT + g CONV_2D + CONCATENATION, same latency
        opts = ctx.opts("Conv2DOptions", padding=padding, strideH=s[0], strideW=s[1], dilationHFactor=d[0],
                        dilationWFactor=d[1], fusedActivationFunction=act)
        ctx.op("CONV_2D", [xi, _filter(ctx, node, wv, (0, 2, 3, 1)), bias], [yi], opts, version=6)


def _check_convt(node):
    r = _check_conv(node)
    if r:
        return r
    return None


@lower("ConvTranspose", layout="nhwc", emits=("TRANSPOSE_CONV", "SLICE", "SPLIT", "CONCATENATION"),
       check=_check_convt)
def conv_transpose(ctx, node):
    # ConvTranspose(X[N,C,H,W], W[C,O/g,kh,kw], B[O]?) strides, pads, output_padding, output_shape, group,
    # dilations. Dilation = a kernel with zeros between its taps; groups = SPLIT, one TRANSPOSE_CONV per group,
    # CONCATENATION (TRANSPOSE_CONV has no groups).
    x, w, b = node.inputs[0], node.inputs[1].const.astype(np.float32, copy=False), node.input(2)
    out = node.outputs[0]
    g = node.attrs.get("group", 1)
    d = list(node.attrs.get("dilations", [1, 1]))
    if d != [1, 1]:
        cin_, og_, kh_, kw_ = w.shape
        wd = np.zeros((cin_, og_, (kh_ - 1) * d[0] + 1, (kw_ - 1) * d[1] + 1), np.float32)
        wd[:, :, ::d[0], ::d[1]] = w
        w = wd
    cin, og, kh, kw = w.shape
    o = og * g
    s = list(node.attrs.get("strides", [1, 1]))
    _, _, oh, ow = out.shape
    pads = list(node.attrs.get("pads", [0, 0, 0, 0]))
    # full (unpadded) output, then crop the pads: TRANSPOSE_CONV VALID gives (in-1)*s + k
    n, h, wd_ = x.shape[0], x.shape[2], x.shape[3]
    full_h, full_w = (h - 1) * s[0] + kh, (wd_ - 1) * s[1] + kw
    fh, fw = max(full_h, oh + pads[0]), max(full_w, ow + pads[1])
    bias = np.zeros(o, np.float32) if b is None else b.const.astype(np.float32).reshape(-1)
    yi = ctx.tensor(out)
    crop = (fh, fw) != (oh, ow)
    act = ctx.activation(node)
    if act and (crop or g > 1):
        raise ValueError("fused activation with cropped or grouped ConvTranspose")
    full = ctx.temp([n, fh, fw, o], np.float32, f"{node.name}_full") if crop else yi
    xi = ctx.tensor(x)
    cpg = cin // g
    parts = [xi]
    if g > 1:
        parts = [ctx.temp([n, h, wd_, cpg], np.float32, f"{node.name}_in{i}") for i in range(g)]
        ctx.op("SPLIT", [ctx.i32(3), xi], parts, ctx.opts("SplitOptions", numSplits=g))
    outs = []
    for i in range(g):
        oi = full if g == 1 else ctx.temp([n, fh, fw, og], np.float32, f"{node.name}_out{i}")
        opts = ctx.opts("TransposeConvOptions", padding=VALID, strideH=s[0], strideW=s[1], fusedActivationFunction=act)
        wi = w[i * cpg:(i + 1) * cpg].transpose(1, 2, 3, 0)
        ctx.op("TRANSPOSE_CONV", [ctx.i32([n, fh, fw, og]), ctx.const(wi, f"{node.name}_filter{i}"), parts[i],
                                  ctx.const(bias[i * og:(i + 1) * og], f"{node.name}_bias{i}")], [oi], opts,
               version=3)
        outs.append(oi)
    if g > 1:
        ctx.op("CONCATENATION", outs, [full], ctx.opts("ConcatenationOptions", axis=3))
    if crop:
        ctx.op("SLICE", [full, ctx.i32([0, pads[0], pads[1], 0]), ctx.i32([n, oh, ow, o])], [yi],
               ctx.opts("SliceOptions"))
