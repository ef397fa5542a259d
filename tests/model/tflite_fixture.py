"""Compatibility shim for benchmarks/model_check_overhead.py only (it puts tests/model on sys.path).

Tests import :mod:`tests.support.tflite_builder` directly; delete this file once the benchmark does too.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for `tests.support`
from tests.support.tflite_builder import (  # noqa: E402
    build_model, buffer as _buffer, conv_model, fc_softmax_model, op as _op, opcode as _opcode, tensor as _tensor,
)

__all__ = ["build_model", "conv_model", "fc_softmax_model", "_buffer", "_op", "_opcode", "_tensor"]
