"""edgeport's graph IR: :class:`Graph`, :class:`Node`, :class:`Value` and the passes in :mod:`edgeport.ir.passes`."""

from edgeport.ir._core import NCHW_PERM, NHWC_PERM, Graph, Node, Value, channels_last_perm, physical_shape

__all__ = ["Graph", "Node", "Value", "NHWC_PERM", "NCHW_PERM", "physical_shape", "channels_last_perm"]
