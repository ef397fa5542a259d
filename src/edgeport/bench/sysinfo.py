"""What the numbers were measured on: CPU model, notable ISA flags, core count."""

from __future__ import annotations

import os
import platform
from functools import lru_cache
from typing import Any

__all__ = ["cpu_info"]

_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile", "amx_int8", "neon", "asimd",
          "asimddp", "sve")


@lru_cache(maxsize=1)
def cpu_info() -> dict[str, Any]:
    """``{"model": str, "flags": [notable ISA flags], "logical_cpus": int, "usable_cpus": int}``."""
    model, flags = "", set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, val = line.partition(":")
                key = key.strip().lower()
                if not model and key in ("model name", "hardware", "cpu model"):
                    model = val.strip()
                elif not flags and key in ("flags", "features"):
                    flags = set(val.split())
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count() or 1
    return {
        "model": model or platform.processor() or platform.machine() or "unknown CPU",
        "flags": [f for f in _FLAGS if f in flags],
        "logical_cpus": os.cpu_count() or 1,
        "usable_cpus": usable,
    }
