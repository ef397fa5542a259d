"""Calibration data loading: arrays, images, layouts, preprocessing and the errors."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from edgeport.compress.calibration import InputInfo, load_calibration
from edgeport.errors import CalibrationDataError

NCHW = [InputInfo("x", (1, 3, 8, 8))]
NHWC = [InputInfo("input", (1, 8, 8, 3))]


def test_npz_npy_and_layouts(tmp_path):
    a = np.random.default_rng(0).random((5, 8, 8, 3)).astype(np.float32)
    np.save(tmp_path / "a.npy", a)
    feeds = load_calibration(tmp_path / "a.npy", NHWC)
    assert len(feeds) == 5 and feeds[0]["input"].shape == (1, 8, 8, 3)
    feeds = load_calibration(tmp_path / "a.npy", NCHW)  # HWC images transposed to the model's CHW
    np.testing.assert_array_equal(feeds[2]["x"][0], a[2].transpose(2, 0, 1))
    np.savez(tmp_path / "b.npz", x=a[:, None])  # [N, 1, H, W, C]
    assert load_calibration(tmp_path / "b.npz", NHWC, limit=3)[2]["input"].shape == (1, 8, 8, 3)
    assert len(load_calibration(tmp_path / "b.npz", NHWC, limit=3)) == 3


def test_uint8_images_are_normalized(tmp_path):
    img = np.full((2, 8, 8, 3), 255, np.uint8)
    feeds = load_calibration(img, NHWC, mean=[0.5, 0.5, 0.5], std=[0.25, 0.25, 0.25])
    np.testing.assert_allclose(feeds[0]["input"], 2.0)
    feeds = load_calibration(img, NCHW, mean=[127.5], std=[127.5])  # stated in 0..255 units
    np.testing.assert_allclose(feeds[0]["x"], 1.0)


def test_image_folder(tmp_path):
    for i in range(3):
        Image.fromarray(np.full((20, 12, 3), 40 * i, np.uint8)).save(tmp_path / f"{i}.png")
    feeds = load_calibration(tmp_path, NCHW)
    assert len(feeds) == 3 and feeds[0]["x"].shape == (1, 3, 8, 8)
    np.testing.assert_allclose(feeds[2]["x"], 80 / 255, rtol=1e-6)


@pytest.mark.parametrize("bad", [np.zeros((0, 8, 8, 3)), np.zeros((3, 7, 8, 3)), np.array([[np.inf] * 192])])
def test_bad_data(bad):
    with pytest.raises(CalibrationDataError):
        load_calibration(bad.astype(np.float32), NHWC)


def test_missing_and_empty_folder(tmp_path):
    with pytest.raises(CalibrationDataError):
        load_calibration(tmp_path / "nope.npz", NHWC)
    with pytest.raises(CalibrationDataError):
        load_calibration(tmp_path, NHWC)
