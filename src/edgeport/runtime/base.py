"""Session base class, the Fallback record, input checking and the backend registry.

A backend is one module ``edgeport/runtime/backend_<name>.py`` holding one
:class:`Session` subclass decorated with :func:`register_backend`. Backend
modules import their native package lazily (inside ``_open``), so importing a
backend module never fails because a runtime is missing; availability is
probed separately and reported by :func:`backend_status`.

Input checking (done in :meth:`Session.run` before any native code):

- ``feeds`` is a ``dict`` name -> array, or one array for a single-input model;
- a missing or extra name, a wrong rank, a wrong static dim or a wrong dtype
  raises :class:`~edgeport.errors.InputMismatchError` naming the input, what was
  expected and what was given;
- numpy arrays must already have the model's dtype (no silent casts);
- only non-numpy values (python lists, tuples, scalars) are converted, with
  ``np.asarray(value, dtype=expected)``, and only when that is safe: python
  floats to a float dtype, python ints to an int or float dtype, python bools to
  bool. E.g. ``[[0.1, 0.2]]`` becomes float32 for a float32 input.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import logging
import pkgutil
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from edgeport.errors import BackendUnavailableError, EdgeportError, InputMismatchError, UsageError
from edgeport.model.spec import TensorSpec

__all__ = [
    "Session",
    "Fallback",
    "register_backend",
    "backend_class",
    "backend_status",
    "available_backends",
    "backends_for_format",
    "random_inputs",
    "ACCELERATORS",
]

log = logging.getLogger("edgeport.runtime")

#: Accelerator names understood by :func:`edgeport.runtime.load` (each backend maps the ones it knows).
ACCELERATORS = ("auto", "cpu", "gpu", "npu", "cuda", "tensorrt")

_REGISTRY: dict[str, type["Session"]] = {}
_DISCOVERED = False


@dataclass(frozen=True)
class Fallback:
    """An accelerator that was asked for (or picked by "auto") but could not run all of the model.

    ``requested``: the accelerator name; ``reason``: why it fell back; ``ops``: the operator types
    that ran on ``used`` instead (empty when the whole model fell back); ``used``: where it ran.
    """

    requested: str
    reason: str
    ops: tuple[str, ...] = ()
    used: str = "cpu"

    def to_dict(self) -> dict[str, Any]:
        return {"requested": self.requested, "reason": self.reason, "ops": list(self.ops), "used": self.used}

    def __str__(self) -> str:
        ops = f"; ops on {self.used}: {', '.join(self.ops)}" if self.ops else ""
        return f"accelerator {self.requested!r} fell back to {self.used}: {self.reason}{ops}"


def register_backend(name: str, formats: tuple[str, ...], priority: int = 50, package: str = "",
                     install_hint: str = "") -> Callable:
    """Class decorator: register a :class:`Session` subclass as backend ``name``.

    ``formats`` are the model formats it reads; ``priority`` orders backends for one format
    (lower is preferred: the format's native runtime comes first); ``package`` is the Python
    package it needs (looked up without importing it) and ``install_hint`` how to get it.
    """

    def deco(cls: type["Session"]) -> type["Session"]:
        cls.backend = name
        cls.formats = tuple(formats)
        cls.priority = priority
        cls.package = package
        cls.install_hint = install_hint
        _REGISTRY[name] = cls
        return cls

    return deco


def _discover() -> None:
    global _DISCOVERED
    if _DISCOVERED:
        return
    import edgeport.runtime as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name.startswith("backend_"):
            importlib.import_module(f"edgeport.runtime.{info.name}")
    _DISCOVERED = True


def backend_class(name: str) -> type["Session"]:
    """The Session class registered as ``name``; UsageError for an unknown name."""
    _discover()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UsageError(f"unknown backend {name!r}", hint=f"choose one of: {', '.join(sorted(_REGISTRY))}") from None


def backend_status() -> dict[str, str | None]:
    """Every registered backend -> None when usable here, else the reason it is not."""
    _discover()
    return {name: cls.probe() for name, cls in sorted(_REGISTRY.items(), key=lambda kv: kv[1].priority)}


def available_backends() -> list[str]:
    """Names of the backends whose native package imports here."""
    return [name for name, why in backend_status().items() if why is None]


def backends_for_format(fmt: str) -> list[str]:
    """The available backends that read ``fmt``, preferred first (the format's own runtime leads)."""
    _discover()
    cands = sorted((c for c in _REGISTRY.values() if fmt in c.formats), key=lambda c: c.priority)
    return [c.backend for c in cands if c.probe() is None]


def random_inputs(specs: list[TensorSpec], seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded random feeds for ``specs`` (dynamic dims -> 1): floats in [0, 1), ints in [0, 10), bools."""
    rng = np.random.default_rng(seed)
    feeds = {}
    for s in specs:
        shape = tuple(d if isinstance(d, int) and d >= 0 else 1 for d in s.shape)
        dt = np.dtype(s.dtype)
        if dt.kind == "f":
            feeds[s.name] = rng.random(shape, dtype=np.float32).astype(dt)
        elif dt.kind in "iu":
            feeds[s.name] = rng.integers(0, 10, size=shape).astype(dt)
        elif dt.kind == "b":
            feeds[s.name] = rng.integers(0, 2, size=shape).astype(bool)
        else:
            raise UsageError(f"cannot make random data for input {s.name!r} of dtype {s.dtype}",
                             hint="pass the input explicitly")
    return feeds


def _caller_level() -> int:
    """warnings stacklevel of the first frame outside edgeport.runtime and edgeport.load (the caller)."""
    f, level = sys._getframe(1), 1
    while f is not None and (f.f_globals.get("__name__", "").startswith("edgeport.runtime")
                             or f.f_globals.get("__name__") == "edgeport"):
        f, level = f.f_back, level + 1
    return level


def _fmt_shape(shape) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")"


_SAFE_KINDS = {"f": "f", "i": "fi", "u": "fi", "b": "b"}  # python value kind -> expected kinds it may become


@functools.lru_cache(maxsize=None)
def _probe(package: str, install_hint: str) -> str | None:
    try:
        found = importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        found = False
    return None if found else f"{package} is not installed ({install_hint})"


class Session:
    """A loaded model on one backend. Use :func:`edgeport.runtime.load` to make one.

    Attributes: ``backend``, ``path``, ``format``, ``inputs``/``outputs`` (TensorSpec lists),
    ``accelerator`` (the one actually used, "cpu" if none), ``fallbacks`` (list of
    :class:`Fallback`), ``threads``, ``raw`` (the native object).
    """

    backend: str = ""
    formats: tuple[str, ...] = ()
    priority: int = 50
    package: str = ""
    install_hint: str = ""
    _unknown_rank: frozenset[str] | set[str] = frozenset()  # set by backends whose files record no shapes

    def __init__(self, path: str | Path, fmt: str, accelerator: str = "auto", threads: int | None = None,
                 strict: bool = False):
        self.path = Path(path)
        self.format = fmt
        self.threads = threads
        self.strict = strict
        self.accelerator = "cpu"
        self.fallbacks: list[Fallback] = []
        self.inputs: list[TensorSpec] = []
        self.outputs: list[TensorSpec] = []
        self.raw: Any = None
        try:
            self._open(accelerator)
        except ImportError as e:
            raise BackendUnavailableError(f"backend {self.backend!r} cannot import {self.package}: {e}",
                                          hint=self.install_hint or "reinstall it") from e
        self._prepare_checks()

    # -- to be provided by backends ------------------------------------------------------------
    @classmethod
    def probe(cls) -> str | None:
        """None when the backend's package is installed, else why not.

        Cheap (``importlib.util.find_spec``, cached): nothing is imported, so listing backends or
        loading an .onnx never imports torch or openvino. A package that is installed but broken
        is reported when a session is loaded (BackendUnavailableError).
        """
        return _probe(cls.package, cls.install_hint)

    def _open(self, accelerator: str) -> None:
        """Load ``self.path`` and set raw, inputs, outputs, accelerator (and fallbacks)."""
        raise NotImplementedError

    def _run(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Run checked feeds through the native object."""
        raise NotImplementedError

    # -- shared machinery ------------------------------------------------------------------------
    def _fallback(self, requested: str, reason: str, ops=(), used: str = "cpu", quiet: bool = False) -> None:
        """Record a fallback; warn unless ``quiet`` (accelerator="auto"); raise instead when strict."""
        fb = Fallback(requested, reason, tuple(ops), used)
        if self.strict and not quiet:
            raise BackendUnavailableError(f"{self.backend}: {fb} ({self.path.name})",
                                          hint="drop strict=True to allow the CPU fallback, "
                                               "or pick another accelerator")
        self.fallbacks.append(fb)
        if quiet:
            log.info("%s: %s", self.backend, fb)
        else:
            warnings.warn(f"{self.backend}: {fb}", RuntimeWarning, stacklevel=_caller_level())

    def _prepare_checks(self) -> None:
        # Precomputed per input: (name, dtype, rank or -1 if unknown, ((axis, dim), ...) static dims only)
        checks = []
        unknown = self._unknown_rank
        for s in self.inputs:
            known = s.name not in unknown
            static = tuple((i, d) for i, d in enumerate(s.shape) if isinstance(d, int) and d >= 0) if known else ()
            checks.append((s.name, np.dtype(s.dtype) if known else None, len(s.shape) if known else -1, static))
        self._checks = checks
        # a named dynamic dim shared by several inputs (e.g. "N") must take one value per run
        uses: dict[str, list[tuple[str, int]]] = {}
        for s in self.inputs:
            if s.name not in unknown:
                for i, d in enumerate(s.shape):
                    if isinstance(d, str) and d not in ("?", ""):
                        uses.setdefault(d, []).append((s.name, i))
        self._linked = [(d, tuple(u)) for d, u in uses.items() if len(u) > 1]
        self._names = frozenset(s.name for s in self.inputs)

    def _check_feeds(self, feeds) -> dict[str, np.ndarray]:
        if not isinstance(feeds, dict):
            if len(self._checks) != 1:
                raise InputMismatchError(
                    f"{self.path.name} has {len(self._checks)} inputs "
                    f"({', '.join(c[0] for c in self._checks)}) but one unnamed array was given",
                    hint="pass a dict {name: array}")
            feeds = {self._checks[0][0]: feeds}
        elif feeds.keys() != self._names:
            missing = sorted(self._names - feeds.keys())
            extra = sorted(set(feeds) - self._names)
            parts = ([f"missing input(s) {', '.join(map(repr, missing))}"] if missing else []) + \
                    ([f"unknown input(s) {', '.join(map(repr, extra))}"] if extra else [])
            raise InputMismatchError(
                f"{self.path.name}: {'; '.join(parts)}; expected {', '.join(sorted(self._names))}",
                hint="feed exactly the model's inputs (see `edgeport inspect`)")
        out = feeds
        for name, dtype, rank, static in self._checks:
            x = feeds[name]
            if type(x) is not np.ndarray:
                x = self._convert(name, x, np.dtype("float32") if dtype is None else dtype)
                if out is feeds:
                    out = dict(feeds)
                out[name] = x
            elif x.dtype != dtype and dtype is not None:
                raise InputMismatchError(
                    f"{self.path.name}: input {name!r} expects dtype {dtype.name}, got {x.dtype.name}",
                    hint=f"cast it, e.g. x.astype(np.{dtype.name})")
            if rank >= 0:
                shape = x.shape
                if len(shape) != rank:
                    raise InputMismatchError(
                        f"{self.path.name}: input {name!r} expects rank {rank} "
                        f"{_fmt_shape(self._spec(name).shape)}, got rank {len(shape)} {_fmt_shape(shape)}",
                        hint="reshape the array, e.g. add the batch dim with x[None]")
                for i, d in static:
                    if shape[i] != d:
                        raise InputMismatchError(
                            f"{self.path.name}: input {name!r} expects shape {_fmt_shape(self._spec(name).shape)}, "
                            f"got {_fmt_shape(shape)} (dim {i} is {shape[i]}, expected {d})",
                            hint="resize/reshape the input to the model's shape")
        for dim, where in self._linked:
            seen = {(n, out[n].shape[i]) for n, i in where}
            if len({v for _, v in seen}) > 1:
                given = ", ".join(f"{n!r} dim {i} = {out[n].shape[i]}" for n, i in where)
                raise InputMismatchError(f"{self.path.name}: dynamic dim {dim!r} must be equal across inputs; "
                                         f"got {given}", hint="give every input the same size for that dim")
        return out

    @property
    def unknown_shapes(self) -> list[str]:
        """Inputs whose shape and dtype the model file does not record (TorchScript): only names are checked."""
        return [s.name for s in self.inputs if s.name in self._unknown_rank]

    def _spec(self, name: str) -> TensorSpec:
        return next(s for s in self.inputs if s.name == name)

    def _convert(self, name: str, value, dtype: np.dtype) -> np.ndarray:
        if isinstance(value, np.generic):
            value = value.item() if value.dtype != dtype else np.asarray(value)
            if isinstance(value, np.ndarray):
                return value
        try:
            probe = np.asarray(value)
        except Exception as e:
            raise InputMismatchError(f"{self.path.name}: input {name!r} is not array-like ({type(value).__name__})",
                                     hint=f"pass a numpy array of dtype {dtype.name}") from e
        if probe.dtype.kind not in _SAFE_KINDS or dtype.kind not in _SAFE_KINDS[probe.dtype.kind]:
            raise InputMismatchError(
                f"{self.path.name}: input {name!r} expects dtype {dtype.name}, got python values of kind "
                f"{probe.dtype.name}", hint=f"pass a numpy array of dtype {dtype.name}")
        return probe.astype(dtype)

    def run(self, feeds) -> dict[str, np.ndarray]:
        """Run the model: ``feeds`` is a dict name -> array (or one array for a one-input model).

        Returns a dict output name -> numpy array (owned by the caller). Raises InputMismatchError
        before native code when the feeds do not match :attr:`inputs`.
        """
        checked = self._check_feeds(feeds)
        if not self._unknown_rank:
            return self._run(checked)
        try:
            return self._run(checked)
        except EdgeportError:
            raise
        except Exception as e:  # noqa: BLE001 - the file records no shapes, so only the native call can tell
            lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
            why = (lines[-1] if lines else type(e).__name__)[:300]
            names = ", ".join(repr(n) for n in self.unknown_shapes)
            raise InputMismatchError(
                f"{self.path.name}: the model rejected input(s) {names} (their shape is not recorded in the "
                f"file): {why}", hint="feed arrays of the shape the model was traced/exported with") from e

    __call__ = run

    def close(self) -> None:
        """Release the native object."""
        self.raw = None

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path), "format": self.format, "backend": self.backend,
            "accelerator": self.accelerator, "threads": self.threads,
            "inputs": [s.to_dict() for s in self.inputs], "outputs": [s.to_dict() for s in self.outputs],
            "fallbacks": [f.to_dict() for f in self.fallbacks],
        }

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.path.name} backend={self.backend} accelerator={self.accelerator}>"
