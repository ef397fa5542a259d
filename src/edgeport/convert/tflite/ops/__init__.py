"""Op lowerings, one module per op family; importing this package registers them all."""

from edgeport.convert.tflite.ops import (conv, elementwise, matmul, misc, norm, pool, reduce,  # noqa: F401
                                        resize, tensor)

__all__ = ["conv", "elementwise", "matmul", "misc", "norm", "pool", "reduce", "resize", "tensor"]
