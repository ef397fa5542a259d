"""IR passes: each a function ``Graph -> PassResult`` in its own module, and the manager that runs them.

Register a pass with ``@register_pass("name")``; :func:`run_passes` runs a list
of them in order, records what each changed, and on failure names the pass
(and the ones that ran before it).
"""

from edgeport.ir.passes._manager import PassResult, get_pass, register_pass, run_passes

__all__ = ["PassResult", "register_pass", "get_pass", "run_passes", "DEFAULT_PIPELINE"]

# The order the converter runs them in (layout is run by the converter itself, it needs the op table).
DEFAULT_PIPELINE = [
    "remove_identity",
    "fold_constants",
    "infer_shapes",
    "lift_1d",
    "fold_batchnorm",
    "fold_constants",
    "fuse_activations",
    "fuse_gelu",
    "fuse_mish",
    "fuse_channel_shuffle",
    "remove_dead",
]
