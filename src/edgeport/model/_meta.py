"""Metadata helpers shared by the formats: validate, and map to/from flat string keys."""

from __future__ import annotations

import json
import math
from typing import Any

from edgeport.errors import ModelFormatError
from edgeport.model.spec import ModelMetadata

__all__ = ["meta_from_obj", "meta_from_json", "meta_to_json", "meta_to_flat", "meta_from_flat", "FLAT_KEYS"]

FLAT_KEYS = ("labels", "mean", "std", "version", "description")


def _bad(where: str, what: str) -> ModelFormatError:
    return ModelFormatError(f"{where}: embedded edgeport metadata is invalid ({what})",
                            hint="rewrite it with edgeport.model.write_metadata")


def _floats(v: Any, where: str, key: str) -> list[float] | None:
    if v is None:
        return None
    if not isinstance(v, list) or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
        raise _bad(where, f"{key} must be a list of numbers")
    out = [float(x) for x in v]
    if not all(math.isfinite(x) for x in out):
        raise _bad(where, f"{key} holds NaN or Inf")
    return out


def meta_from_obj(d: Any, where: str) -> ModelMetadata:
    """Build validated metadata from a decoded JSON object."""
    if not isinstance(d, dict):
        raise _bad(where, "not a JSON object")
    labels = d.get("labels") or []
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise _bad(where, "labels must be a list of strings")
    extra = d.get("extra") or {}
    if not isinstance(extra, dict):
        raise _bad(where, "extra must be an object")
    for key in ("version", "description"):
        if d.get(key) is not None and not isinstance(d[key], str):
            raise _bad(where, f"{key} must be a string")
    return ModelMetadata(labels=list(labels), mean=_floats(d.get("mean"), where, "mean"),
                         std=_floats(d.get("std"), where, "std"), version=d.get("version"),
                         description=d.get("description"), extra={str(k): str(v) for k, v in extra.items()})


def meta_from_json(data: bytes | str, where: str) -> ModelMetadata:
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise _bad(where, "not valid JSON") from None
    return meta_from_obj(obj, where)


def meta_to_json(meta: ModelMetadata) -> str:
    return json.dumps(meta_from_obj(meta.to_dict(), "metadata to write").to_dict(), sort_keys=True)


def meta_to_flat(meta: ModelMetadata) -> dict[str, str]:
    """``{"labels": json, "mean": json, ...}`` for formats that store string key/values (only set keys)."""
    meta = meta_from_obj(meta.to_dict(), "metadata to write")
    out: dict[str, str] = {}
    if meta.labels:
        out["labels"] = json.dumps(meta.labels)
    if meta.mean is not None:
        out["mean"] = json.dumps(meta.mean)
    if meta.std is not None:
        out["std"] = json.dumps(meta.std)
    if meta.version is not None:
        out["version"] = meta.version
    if meta.description is not None:
        out["description"] = meta.description
    out.update({f"extra.{k}": v for k, v in meta.extra.items()})
    return out


def meta_from_flat(flat: dict[str, str], where: str) -> ModelMetadata:
    d: dict[str, Any] = {"extra": {}}
    try:
        for k, v in flat.items():
            if k in ("labels", "mean", "std"):
                d[k] = json.loads(v)
            elif k in ("version", "description"):
                d[k] = v
            elif k.startswith("extra."):
                d["extra"][k[6:]] = v
            else:  # another edgeport.* key (e.g. "output"): kept, so it survives a round trip
                d["extra"].setdefault(k, v)
    except ValueError:
        raise _bad(where, f"{k} is not valid JSON") from None
    return meta_from_obj(d, where)
