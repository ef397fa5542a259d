"""Op lowerings, one module per op family; importing this package registers them all."""

from edgeport.convert.tflite.ops import (attention, conv, elementwise, grid_sample, matmul,  # noqa: F401
                                        bitwise, crop, cumulative, einsum, lppool, norm2, scatter, spatial, trig,
                                        misc, norm, pool, reduce, resize, rnn, tensor)

__all__ = ["attention", "conv", "elementwise", "grid_sample", "matmul", "misc", "norm", "pool", "reduce", "resize",
           "rnn", "tensor", "bitwise", "crop", "cumulative", "einsum", "lppool", "norm2", "scatter", "spatial", "trig"]
