"""The format registry: one handler per model format, registered with ``@register_format``.

A handler is an object with ``check(path)``, ``load(path) -> Loaded``,
``read_metadata(path)`` and ``write_metadata(path, meta, out)``. Adding a format
is one new module plus its import in ``edgeport.model.__init__``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

from edgeport.errors import ModelFormatError
from edgeport.model.spec import ModelMetadata, TensorSpec

__all__ = ["FormatHandler", "Loaded", "Inspection", "register_format", "get_handler", "formats"]


@dataclass
class Inspection:
    """What a handler computes for :meth:`ModelFile.inspect`."""

    op_histogram: dict[str, int] = field(default_factory=dict)
    params: int = 0
    macs: int | None = 0
    details: dict = field(default_factory=dict)


@dataclass
class Loaded:
    """A parsed model: its signature, metadata and a lazy inspection."""

    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    metadata: ModelMetadata
    inspect: Callable[[], Inspection]


class FormatHandler(Protocol):
    name: str

    def check(self, path: Path) -> None: ...

    def load(self, path: Path) -> Loaded: ...

    def read_metadata(self, path: Path) -> ModelMetadata: ...

    def write_metadata(self, path: Path, meta: ModelMetadata, out: Path) -> None: ...


_HANDLERS: dict[str, FormatHandler] = {}


def register_format(name: str) -> Callable[[type], type]:
    """Class decorator: instantiate the handler and register it under ``name``."""

    def deco(cls: type) -> type:
        inst = cls()
        inst.name = name
        _HANDLERS[name] = inst
        return cls

    return deco


def get_handler(fmt: str) -> FormatHandler:
    try:
        return _HANDLERS[fmt]
    except KeyError:
        raise ModelFormatError(f"unknown model format {fmt!r}",
                               hint=f"use one of: {', '.join(sorted(_HANDLERS))}") from None


def formats() -> list[str]:
    return sorted(_HANDLERS)
