"""Pass registry and manager: one contract for every pass, ``fn(graph, **options) -> PassResult``."""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from edgeport.errors import ConversionError, EdgeportError
from edgeport.ir._core import Graph

__all__ = ["PassResult", "register_pass", "get_pass", "run_passes"]


@dataclass
class PassResult:
    """What a pass did: the graph, whether it changed, and a short account (``{"folded": 12}``)."""

    graph: Graph
    modified: bool = False
    changes: dict[str, Any] = field(default_factory=dict)


_PASSES: dict[str, Callable[..., PassResult]] = {}
_MODULES = {
    "remove_identity": "remove_identity",
    "remove_dead": "remove_identity",
    "fold_constants": "fold_constants",
    "infer_shapes": "infer_shapes",
    "fold_batchnorm": "fold_batchnorm",
    "fuse_activations": "fuse_activations",
    "assign_layout": "assign_layout",
    "fuse_gelu": "fuse_gelu",
    "fuse_mish": "fuse_mish",
    "lift_1d": "lift_1d",
    "fuse_channel_shuffle": "fuse_channel_shuffle",
}


def register_pass(name: str):
    """Decorator: register ``fn(graph, **options) -> PassResult`` under ``name``."""

    def deco(fn):
        _PASSES[name] = fn
        fn.pass_name = name
        return fn

    return deco


def get_pass(name: str) -> Callable[..., PassResult]:
    if name not in _PASSES and name in _MODULES:
        importlib.import_module(f"edgeport.ir.passes.{_MODULES[name]}")
    try:
        return _PASSES[name]
    except KeyError:
        raise KeyError(f"no IR pass named {name!r}; known: {sorted(set(_PASSES) | set(_MODULES))}") from None


def run_passes(graph: Graph, names: list[str], options: dict[str, dict] | None = None,
               log: list[dict] | None = None) -> Graph:
    """Run passes in order; append ``{"pass", "modified", "changes", "seconds"}`` to ``log``.

    A failing pass is named in the error, with the passes that ran before it.
    """
    options = options or {}
    done: list[str] = []
    for name in names:
        fn = get_pass(name)
        t0 = time.perf_counter()
        try:
            res = fn(graph, **options.get(name, {}))
        except EdgeportError:
            raise
        except Exception as e:
            raise ConversionError(
                f"IR pass {name!r} failed: {type(e).__name__}: {e} (after passes: {', '.join(done) or 'none'})",
                hint="this is a converter bug; please report it with the model (edgeport --debug shows the trace)",
            ) from e
        graph = res.graph
        done.append(name)
        if log is not None:
            log.append({"pass": name, "modified": res.modified, "changes": res.changes,
                        "seconds": round(time.perf_counter() - t0, 4)})
    return graph
