"""Fixtures for the compress tests: tiny float models and calibration data, made by code."""

from __future__ import annotations

import numpy as np
import pytest

from tests.compress.onnx_builder import onnx_cnn
from tests.support.tflite_builder import small_cnn


@pytest.fixture(scope="session")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("compress")


@pytest.fixture(scope="session")
def tfl(work):
    return small_cnn(work / "small.tflite")


@pytest.fixture(scope="session")
def calib(work):
    p = work / "calib.npz"
    np.savez(p, x=np.random.default_rng(1).random((24, 16, 16, 3)).astype(np.float32))
    return p


@pytest.fixture(scope="session")
def onnx_model(work):
    return onnx_cnn(work / "cnn.onnx")


@pytest.fixture(scope="session")
def onnx_calib(work):
    p = work / "calib_nchw.npz"
    np.savez(p, x=np.random.default_rng(2).random((16, 3, 16, 16)).astype(np.float32))
    return p
