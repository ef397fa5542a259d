"""Resize / Upsample -> RESIZE_NEAREST_NEIGHBOR / RESIZE_BILINEAR (spatial dims of a 4-D tensor, NHWC).

Nearest-neighbour variants TFLite's kernel cannot express (coordinate transformation / rounding mode pairs,
inexact scales) become two GATHERs (H then W) with constant source indices computed by ONNX's formulas."""

from __future__ import annotations

import numpy as np

from edgeport.convert.tflite.registry import lower

__all__ = ["resize", "nearest_source_indices"]


def _mode(node):
    return node.attrs.get("mode", "nearest")


def _integer_upscale(node) -> bool:
    x, y = node.inputs[0], node.outputs[0]
    return all(b % a == 0 for a, b in zip(x.shape[2:], y.shape[2:]))


def _flags(node):
    """(align_corners, half_pixel_centers) for TFLite, or a reason string."""
    mode = _mode(node)
    ctm = node.attrs.get("coordinate_transformation_mode", "half_pixel" if node.op_type == "Resize" else "asymmetric")
    if mode == "nearest":
        nm = node.attrs.get("nearest_mode", "round_prefer_floor" if node.op_type == "Resize" else "floor")
        if node.op_type == "Upsample" or (ctm == "asymmetric" and nm == "floor"):
            return False, False
        if ctm in ("half_pixel", "pytorch_half_pixel") and nm == "round_prefer_floor" and _integer_upscale(node):
            return False, False  # for integer factors this picks the same source pixel as floor(x / s)
            # (not so with nearest_mode floor: x = 1, s = 2 gives floor(0.25) = 0 vs 1 // 2 = 0, x = 2: 0 vs 1)
        if ctm == "tf_half_pixel_for_nn" and nm == "floor":
            return False, True
        if ctm == "align_corners" and nm == "round_prefer_ceil":
            return True, False
        return f"attr:nearest:{ctm}/{nm}"
    if mode in ("linear", "bilinear"):
        if ctm == "align_corners":
            return True, False
        if ctm == "asymmetric":
            return False, False
        if ctm in ("half_pixel", "pytorch_half_pixel"):
            return False, True
        return f"attr:linear:{ctm}"
    return f"attr:mode={mode}"


def _spatial_scales(node):
    """The two spatial scales ONNX maps coordinates with: the constant ``scales`` input, else out / in."""
    x, y = node.inputs[0], node.outputs[0]
    scales = node.input(2) if node.op_type == "Resize" else node.input(1)
    if node.op_type == "Upsample" and scales is None:
        return [float(v) for v in node.attrs.get("scales", [1, 1, 1, 1])[-2:]]
    if scales is not None and scales.is_const and scales.const.size:
        sc = [float(v) for v in scales.const.reshape(-1)]
        axes = node.attrs.get("axes")
        if axes is not None:
            full = [1.0] * x.rank
            for a, v in zip(axes, sc):
                full[a % x.rank] = v
            sc = full
        return sc[-2:]
    return [o / i for i, o in zip(x.shape[2:], y.shape[2:])]


def nearest_source_indices(n_in, n_out, scale, ctm, nm):
    """ONNX Resize nearest: the source index of each output index along one axis (float32 arithmetic, as
    ONNX Runtime, so ties from a float32 scale round the same way)."""
    f = np.float32
    x = np.arange(n_out, dtype=f)
    scale, n_in_f, n_out_f = f(scale), f(n_in), f(n_out)
    h = f(0.5)
    if ctm == "half_pixel":
        c = (x + h) / scale - h
    elif ctm == "pytorch_half_pixel":
        c = (x + h) / scale - h if n_out > 1 else np.zeros_like(x)
    elif ctm == "align_corners":
        c = x * (n_in_f - 1) / (n_out_f - 1) if n_out > 1 else np.zeros_like(x)
    elif ctm == "asymmetric":
        c = x / scale
    elif ctm == "tf_half_pixel_for_nn":
        c = (x + h) / scale
    elif ctm == "half_pixel_symmetric":
        adj = n_out_f / (scale * n_in_f)
        c = n_in_f / 2 * (1 - adj) + (x + h) / scale - h
    else:
        raise ValueError(ctm)
    if nm == "round_prefer_floor":
        i = np.ceil(c - 0.5)
    elif nm == "round_prefer_ceil":
        i = np.floor(c + 0.5)
    elif nm == "floor":
        i = np.floor(c)
    else:
        i = np.ceil(c)
    return np.clip(i, 0, n_in - 1).astype(np.int32)


_GATHER_CTM = ("half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nn",
               "half_pixel_symmetric")


def _gather_path(node):
    """True when a nearest Resize is lowered with GATHERs (TFLite's kernel does not match it)."""
    if _mode(node) != "nearest" or node.op_type != "Resize":
        return False
    ctm = node.attrs.get("coordinate_transformation_mode", "half_pixel")
    if ctm not in _GATHER_CTM or node.attrs.get("keep_aspect_ratio_policy", "stretch") != "stretch":
        return False
    return isinstance(_flags(node), str) or _check_basic(node) == "attr:scale_not_exact"


def _check(node):
    r = _check_basic(node)
    if r and _gather_path(node) and r.startswith(("attr:nearest:", "attr:scale_not_exact")):
        return None
    return r


def _check_basic(node):
    x, y = node.inputs[0], node.outputs[0]
    if x.rank != 4:
        return f"rank:{x.rank}"
    if tuple(x.shape[:2]) != tuple(y.shape[:2]):
        return "resize_batch_or_channels"
    if node.attrs.get("antialias", 0):
        return "attr:antialias"
    if node.attrs.get("exclude_outside", 0) and _mode(node) != "nearest":
        return "attr:exclude_outside"
    if node.op_type == "Resize":
        scales = node.input(2)
        if scales is not None and scales.is_const and scales.const.size:
            # ONNX maps coordinates with the given scale, TFLite with out/in: they agree only when exact
            sc = scales.const.reshape(-1)[-2:]
            if any(abs(i * s_ - o) > 1e-6 for i, s_, o in zip(x.shape[2:], sc, y.shape[2:])):
                return "attr:scale_not_exact"
    if _mode(node) != "nearest" and any(o < i for i, o in zip(x.shape[2:], y.shape[2:])):
        return "attr:linear_downsample"
    f = _flags(node)
    return f if isinstance(f, str) else None


@lower("Resize", "Upsample", layout="nhwc", emits=("RESIZE_NEAREST_NEIGHBOR", "RESIZE_BILINEAR", "GATHER"),
       check=_check)
def resize(ctx, node):
    # Resize(X, roi?, scales?, sizes?) mode, coordinate_transformation_mode, nearest_mode: output size from inference
    y = node.outputs[0]
    if _gather_path(node):
        _resize_gather(ctx, node)
        return
    align, half = _flags(node)
    size = ctx.i32(list(y.shape[2:]))
    if _mode(node) == "nearest":
        ctx.op("RESIZE_NEAREST_NEIGHBOR", [ctx.tensor(node.inputs[0]), size], [ctx.tensor(y)],
               ctx.opts("ResizeNearestNeighborOptions", alignCorners=align, halfPixelCenters=half), version=3)
    else:
        ctx.op("RESIZE_BILINEAR", [ctx.tensor(node.inputs[0]), size], [ctx.tensor(y)],
               ctx.opts("ResizeBilinearOptions", alignCorners=align, halfPixelCenters=half), version=3)


def _resize_gather(ctx, node):
    x, y = node.inputs[0], node.outputs[0]
    ctm = node.attrs.get("coordinate_transformation_mode", "half_pixel")
    nm = node.attrs.get("nearest_mode", "round_prefer_floor")
    scales = _spatial_scales(node)
    xi, yi = ctx.tensor(x), ctx.tensor(y)
    n, c, oh, ow = y.shape
    src_h = nearest_source_indices(x.shape[2], oh, scales[0], ctm, nm)
    src_w = nearest_source_indices(x.shape[3], ow, scales[1], ctm, nm)
    nhwc = x.layout == "NHWC"
    ah, aw = (1, 2) if nhwc else (2, 3)
    mid_shape = [n, oh, x.shape[3], c] if nhwc else [n, c, oh, x.shape[3]]
    mid = ctx.temp(mid_shape, x.dtype, f"{node.name}_rows")
    ctx.op("GATHER", [xi, ctx.const(src_h, f"{node.name}_src_h")], [mid], ctx.opts("GatherOptions", axis=ah))
    ctx.op("GATHER", [mid, ctx.const(src_w, f"{node.name}_src_w")], [yi], ctx.opts("GatherOptions", axis=aw))
