"""How each TFLite builtin is quantized: one rule per op, declared as data.

Rule kinds (TFLite int8 quantization spec):
- ``weights``: CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED — symmetric int8 weights (per channel
  along ``axis``), bias int32 (int64 for 16x8) with scale = input_scale * weight_scale, zp 0.
- ``free``: output scale/zp from calibration; float constant operands quantized per tensor.
- ``same``: output shares the input's scale/zp (pooling, reshape, pad, ...).
- ``concat``: every input is requantized to the output's scale/zp.
- ``fixed``: output parameters fixed by the spec (SOFTMAX, LOGISTIC, TANH).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["OpRule", "RULES", "register", "rule_for"]


@dataclass(frozen=True)
class OpRule:
    kind: str
    axis: int | None = None  # weight channel axis (``weights`` kind)
    modes: tuple[str, ...] = ("int8", "int16")
    fixed: dict = field(default_factory=dict)  # bits -> (scale, zero_point)
    versions: dict = field(default_factory=dict)  # bits -> minimal op version


RULES: dict[str, OpRule] = {}


def register(names: str, kind: str, **kw) -> None:
    """Declare the rule for one or more builtin op names (space separated)."""
    for name in names.split():
        RULES[name] = OpRule(kind, **kw)


def rule_for(op: str, bits: str) -> OpRule | None:
    r = RULES.get(op)
    return r if r is not None and bits in r.modes else None


# Versions and restrictions follow TFLite's tools/optimize/operator_property.cc (the int8 op versions);
# int16x8 keeps the int8 version except where 16x8 has its own (CONV_2D 4). A version above what the
# runtime registers makes the model fail to load, so no version is guessed upward.
_NO16 = ("int8",)
register("CONV_2D", "weights", axis=0, versions={"int8": 3, "int16": 4})
register("DEPTHWISE_CONV_2D", "weights", axis=3, versions={"int8": 3, "int16": 3})
register("FULLY_CONNECTED", "weights", axis=0, versions={"int8": 4, "int16": 4})
register("ADD SUB MUL MEAN SUM RELU RELU6 LEAKY_RELU GELU", "free", versions={"int8": 2, "int16": 2})
register("HARD_SWISH PRELU RELU_N1_TO_1", "free", modes=_NO16, versions={"int8": 1})
register("MAXIMUM MINIMUM CONCATENATION", "concat", versions={"int8": 2, "int16": 2})
register("MAX_POOL_2D AVERAGE_POOL_2D TRANSPOSE PAD STRIDED_SLICE SLICE RESIZE_BILINEAR RESIZE_NEAREST_NEIGHBOR",
         "same", versions={"int8": 2, "int16": 2})
register("RESHAPE SQUEEZE EXPAND_DIMS", "same", versions={"int8": 1, "int16": 1})
register("SPACE_TO_DEPTH DEPTH_TO_SPACE", "same", modes=_NO16, versions={"int8": 2})
register("SOFTMAX", "fixed", fixed={"int8": (1 / 256, -128), "int16": (1 / 32768, 0)}, versions={"int8": 2, "int16": 2})
register("LOGISTIC", "fixed", fixed={"int8": (1 / 256, -128), "int16": (1 / 32768, 0)}, versions={"int8": 2, "int16": 2})
register("TANH", "fixed", fixed={"int8": (1 / 128, 0), "int16": (1 / 32768, 0)}, versions={"int8": 2, "int16": 2})
