"""Op lowerings, one module per op family; importing this package registers them all."""

from edgeport.convert.tflite.ops import conv, elementwise, matmul, misc, norm, pool, reduce, resize, tensor  # noqa: F401,E501

__all__ = ["conv", "elementwise", "matmul", "misc", "norm", "pool", "reduce", "resize", "tensor"]
