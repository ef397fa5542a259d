"""Resize / Upsample -> RESIZE_NEAREST_NEIGHBOR / RESIZE_BILINEAR (spatial dims of a 4-D tensor, NHWC)."""

from __future__ import annotations

from edgeport.convert.tflite.registry import lower

__all__ = ["resize"]


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
        if ctm in ("half_pixel", "pytorch_half_pixel") and nm in ("round_prefer_floor", "floor") \
                and _integer_upscale(node):
            return False, False  # for integer factors these pick the same source pixel as floor(x / s)
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


def _check(node):
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


@lower("Resize", "Upsample", layout="nhwc", emits=("RESIZE_NEAREST_NEIGHBOR", "RESIZE_BILINEAR"), check=_check)
def resize(ctx, node):
    # Resize(X, roi?, scales?, sizes?) mode, coordinate_transformation_mode, nearest_mode: output size from inference
    align, half = _flags(node)
    y = node.outputs[0]
    size = ctx.i32(list(y.shape[2:]))
    if _mode(node) == "nearest":
        ctx.op("RESIZE_NEAREST_NEIGHBOR", [ctx.tensor(node.inputs[0]), size], [ctx.tensor(y)],
               ctx.opts("ResizeNearestNeighborOptions", alignCorners=align, halfPixelCenters=half), version=3)
    else:
        ctx.op("RESIZE_BILINEAR", [ctx.tensor(node.inputs[0]), size], [ctx.tensor(y)],
               ctx.opts("ResizeBilinearOptions", alignCorners=align, halfPixelCenters=half), version=3)
