"""TFLite quantization by FlatBuffer rewrite: int8, int16x8, fp16 and dynamic-range."""

from __future__ import annotations

__all__: list[str] = []
