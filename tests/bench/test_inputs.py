"""Benchmark inputs from .npy / .npz / images / folders, conformed to the signature."""

import numpy as np
import pytest
from PIL import Image

from edgeport.bench.inputs import build_feeds, image_to_tensor
from edgeport.errors import InputMismatchError, UsageError
from edgeport.model.spec import ModelMetadata, TensorSpec

X = TensorSpec("x", (1, 3, 4, 5), "float32", "NCHW")


def _half_white(path, w=40, h=24):
    a = np.zeros((h, w, 3), np.uint8)
    a[:, : w // 2] = 255  # left half white, right half black
    Image.fromarray(a).save(path)
    return path


def test_npy_and_batch_dim(tmp_path):
    arr = np.arange(60, dtype=np.float32).reshape(3, 4, 5)
    np.save(tmp_path / "x.npy", arr)
    feeds = build_feeds([X], inputs={"x": tmp_path / "x.npy"})
    np.testing.assert_array_equal(feeds["x"], arr[None])


def test_npz_by_name_and_random_rest(tmp_path):
    a = np.full((1, 3), 2.0, np.float32)
    np.savez(tmp_path / "d.npz", a=a)
    specs = [TensorSpec("a", (1, 3), "float32"), TensorSpec("b", (1, 3), "float32")]
    feeds = build_feeds(specs, data=tmp_path / "d.npz")
    np.testing.assert_array_equal(feeds["a"], a)
    from edgeport.runtime import random_inputs

    np.testing.assert_array_equal(feeds["b"], random_inputs([specs[1]], seed=0)["b"])


def test_folder_by_input_name(tmp_path):
    np.save(tmp_path / "b.npy", np.ones((1, 3), np.float32))
    np.save(tmp_path / "a.npy", np.zeros((1, 3), np.float32))
    specs = [TensorSpec("a", (1, 3), "float32"), TensorSpec("b", (1, 3), "float32")]
    feeds = build_feeds(specs, data=tmp_path)
    assert feeds["a"].sum() == 0 and feeds["b"].sum() == 3


def test_image_nchw_gray_resized_and_oriented(tmp_path):
    spec = TensorSpec("img", (1, 1, 12, 20), "float32", "NCHW")
    x = image_to_tensor(_half_white(tmp_path / "i.png"), spec)
    assert x.shape == (1, 1, 12, 20) and x.dtype == np.float32
    assert np.allclose(x[0, 0, :, :9], 1.0) and np.allclose(x[0, 0, :, 11:], 0.0)


def test_image_nhwc_rgb_with_mean_std(tmp_path):
    spec = TensorSpec("img", (1, 6, 8, 3), "float32", None)  # layout guessed from the shape
    meta = ModelMetadata(mean=[0.5, 0.5, 0.5], std=[0.25, 0.25, 0.25])
    x = image_to_tensor(_half_white(tmp_path / "i.png"), spec, meta)
    assert x.shape == (1, 6, 8, 3)
    assert np.allclose(x[0, :, :3], 2.0) and np.allclose(x[0, :, 5:], -2.0)
    meta255 = ModelMetadata(mean=[127.5], std=[127.5])  # 0-255 scale
    y = image_to_tensor(tmp_path / "i.png", spec, meta255)
    assert np.allclose(y[0, :, :3], 1.0) and np.allclose(y[0, :, 5:], -1.0)


def test_image_uint8_raw_pixels(tmp_path):
    spec = TensorSpec("img", (1, 8, 8, 3), "uint8", "NHWC")
    Image.fromarray(np.full((8, 8, 3), 200, np.uint8)).save(tmp_path / "g.png")
    x = build_feeds([spec], inputs={"": tmp_path / "g.png"})["img"]
    assert x.dtype == np.uint8 and np.all(x == 200)


def test_errors(tmp_path):
    np.save(tmp_path / "bad.npy", np.zeros((2, 2), np.float32))
    with pytest.raises(InputMismatchError, match="expects shape"):
        build_feeds([X], inputs={"x": tmp_path / "bad.npy"})
    with pytest.raises(InputMismatchError, match="no input named"):
        build_feeds([X], inputs={"nope": tmp_path / "bad.npy"})
    with pytest.raises(UsageError, match="not found"):
        build_feeds([X], inputs={"x": tmp_path / "missing.npy"})
    (tmp_path / "junk.png").write_bytes(b"not an image")
    with pytest.raises(UsageError, match="cannot read image"):
        build_feeds([X], inputs={"x": tmp_path / "junk.png"})
    with pytest.raises(InputMismatchError, match="not an image"):
        build_feeds([TensorSpec("v", (1, 3), "float32")], inputs={"v": _half_white(tmp_path / "i.png")})
