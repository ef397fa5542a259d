"""The embedded doodle model, its assets, edgeport.demo and ``edgeport demo``."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from PIL import Image

from edgeport.assets import doodle as assets
from edgeport.cli.app import main

ROOT = Path(__file__).resolve().parents[1]


def _has(mod: str, attr: str | None = None) -> bool:
    try:
        m = importlib.import_module(mod)
    except ImportError:
        return False
    return attr is None or hasattr(m, attr)



@pytest.fixture(scope="module")
def ort_session():
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    return ort.InferenceSession(str(assets.MODEL_PATH), so, providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def card():
    return assets.model_card()


def _probs(sess, images):
    from edgeport.demo import preprocess

    return sess.run(None, {"image": preprocess(images)})[0]


def test_shipped_files_and_sizes():
    assert assets.MODEL_PATH.stat().st_size <= 5_000_000
    assert 2_000_000 <= assets.MODEL_PATH.stat().st_size  # the fp32 weights are the int8 payoff
    assert assets.TEST_SET_PATH.stat().st_size <= 1_200_000
    assert len(assets.sample_paths()) == 10


def test_onnx_metadata_signature_and_labels():
    m = onnx.load(str(assets.MODEL_PATH))
    onnx.checker.check_model(m, full_check=True)
    props = {p.key: p.value for p in m.metadata_props}
    for key in ("edgeport.labels", "edgeport.mean", "edgeport.std", "edgeport.version", "edgeport.description"):
        assert props.get(key), key
    labels = json.loads(props["edgeport.labels"])
    assert labels == assets.labels() == assets.model_card()["labels"]
    assert len(set(labels)) == 10
    assert [o.version for o in m.opset_import if o.domain in ("", "ai.onnx")] == [17]
    (inp,), (out,) = m.graph.input, m.graph.output
    assert [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim] == ["batch", 1, 28, 28]
    assert [d.dim_param or d.dim_value for d in out.type.tensor_type.shape.dim] == ["batch", len(labels)]
    mean, std = json.loads(props["edgeport.mean"]), json.loads(props["edgeport.std"])
    assert mean == assets.model_card()["input"]["mean"] and std == assets.model_card()["input"]["std"]
    assert 0 < mean[0] < 1 and 0 < std[0] < 1


def test_test_accuracy_matches_model_card(ort_session, card):
    images, labels = assets.load_test_set()
    assert images.dtype == np.uint8 and images.shape[1:] == (28, 28) and len(images) == len(labels) >= 2000
    assert np.bincount(labels, minlength=10).min() >= len(labels) // 10 - 1  # balanced
    probs = _probs(ort_session, images)
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-4)  # softmax output
    acc = float((probs.argmax(1) == labels).mean())
    assert acc >= card["test_accuracy"] - 0.005
    assert 0.90 < card["test_accuracy"] < 0.999  # really trained, and the task is not trivial


def test_samples_png_match_npz_and_are_classified(ort_session):
    names, images, labels = assets.load_samples()
    assert [p.name for p in assets.sample_paths()] == sorted(names)
    for name, img in zip(names, images):
        np.testing.assert_array_equal(np.asarray(Image.open(assets.SAMPLES_DIR / name)), img)
    pred = _probs(ort_session, images).argmax(1)
    assert (pred == labels).sum() >= 8
    assert [assets.labels()[lbl] for lbl in labels] == [n.split("_", 1)[1][:-4] for n in names]


def test_preprocess_layouts():
    from edgeport.demo import preprocess
    from edgeport.model.spec import TensorSpec

    img = np.zeros((2, 28, 28), np.uint8)
    img[:, 3, 5] = 255
    nchw = preprocess(img, TensorSpec("image", ("batch", 1, 28, 28), "float32"), mean=0.0, std=1.0)
    nhwc = preprocess(img, TensorSpec("image", (1, 28, 28, 1), "float32"), mean=0.0, std=1.0)
    assert nchw.shape == (2, 1, 28, 28) and nhwc.shape == (2, 28, 28, 1)
    assert nchw[0, 0, 3, 5] == 1.0 and nhwc[0, 3, 5, 0] == 1.0 and nchw.dtype == np.float32


def test_torchscript_from_onnx_weights_matches_onnxruntime(ort_session, tmp_path):
    torch = pytest.importorskip("torch")
    from edgeport.demo import _make_torchscript

    images, _ = assets.load_test_set()
    x = images[:64]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ts = torch.jit.load(str(_make_torchscript(assets.MODEL_PATH, tmp_path)))
    from edgeport.demo import preprocess

    with torch.no_grad():
        got = ts(torch.from_numpy(preprocess(x))).numpy()
    np.testing.assert_allclose(got, _probs(ort_session, x), atol=1e-5)


def test_doodle_generator_is_deterministic():
    from edgeport.assets.doodle.data import CLASSES, make_dataset

    a, la = make_dataset(20, seed=7)
    b, lb = make_dataset(20, seed=7)
    c, _ = make_dataset(20, seed=8)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(la, lb)
    assert not np.array_equal(a, c)
    assert CLASSES == assets.labels() and a.dtype == np.uint8 and a.max() > 200


def test_training_script_end_to_end_on_a_tiny_set(tmp_path):
    pytest.importorskip("torch")
    out = tmp_path / "doodle"
    r = subprocess.run([sys.executable, "-m", "edgeport.assets.doodle.train", "--out", str(out), "--train", "300",
                        "--val", "50", "--test", "100", "--calib", "20", "--epochs", "1", "--threads", "1"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    card = json.loads((out / "model_card.json").read_text())
    m = onnx.load(str(out / "doodle.onnx"))
    assert json.loads({p.key: p.value for p in m.metadata_props}["edgeport.labels"]) == card["labels"]
    with np.load(out / "test.npz") as z:
        images, labels = z["images"], z["labels"]
    sess = ort.InferenceSession(str(out / "doodle.onnx"), providers=["CPUExecutionProvider"])
    from edgeport.demo import preprocess

    x = preprocess(images, mean=card["input"]["mean"][0], std=card["input"]["std"][0])
    acc = float((sess.run(None, {"image": x})[0].argmax(1) == labels).mean())
    assert acc == pytest.approx(card["test_accuracy"], abs=1e-4)  # the card states what ONNX Runtime measures
    assert len(list((out / "samples").glob("*.png"))) == 10 and (out / "calib.npz").exists()
    assert oct((out / "doodle.onnx").stat().st_mode & 0o777) == "0o644"


@pytest.mark.skipif(not _has("edgeport.runtime", "load"), reason="edgeport.runtime not landed")
def test_evaluate_accuracy_through_edgeport_load_matches_onnxruntime(ort_session):
    import edgeport
    from edgeport.demo import evaluate_accuracy

    images, labels = assets.load_test_set()
    images, labels = images[:600], labels[:600]
    with edgeport.load(assets.MODEL_PATH, threads=1) as sess:
        acc = evaluate_accuracy(sess, images, labels)
    assert acc == pytest.approx(float((_probs(ort_session, images).argmax(1) == labels).mean()))


def test_cli_demo_runs_end_to_end(capsys, tmp_path):
    rc = main(["demo", "--runs", "5", "--warmup", "1", "--out", str(tmp_path / "m"),
               "--json-out", str(tmp_path / "r.json")])
    out = capsys.readouterr().out
    assert rc == 0, out
    for section in ("1. Inspect", "2. Classify", "3. Convert", "4. Quantize", "5. Benchmark"):
        assert section in out
    rep = json.loads((tmp_path / "r.json").read_text())
    steps = rep["steps"]
    assert steps["classify"]["status"] == "ok" or not _has("edgeport.runtime", "load")
    if steps["classify"]["status"] == "ok":
        rows = steps["classify"]["rows"]
        assert len(rows) == 10 and sum(r["label"] == r["predicted"] for r in rows) >= 8
        assert "FILE" in out and "PREDICTED" in out
    if _has("edgeport.model", "open_model"):
        assert steps["inspect"]["status"] == "ok", steps["inspect"]
    else:
        assert steps["inspect"]["status"] == "skipped" and "skipped" in out
    conv = steps["convert"]
    formats = {v["format"] for v in conv["variants"]}
    assert {"onnx", "openvino", "torchscript", "pt2"} <= formats, conv
    assert ("tflite" in formats) == _has("edgeport.convert", "convert")
    for v in conv["variants"]:
        assert Path(v["path"]).exists()
    bench = steps["benchmark"]
    if _has("edgeport.bench", "benchmark"):
        assert bench["status"] == "ok", bench
        assert "MODEL" in out and "AVG ms" in out and "STD ms" in out
        card = assets.model_card()
        for row in bench["rows"]:
            assert row["avg_ms"] > 0 and row["std_ms"] >= 0 and row["size_bytes"] > 0
            if not row["model"].endswith("int8.tflite"):
                assert row["accuracy"] == pytest.approx(card["test_accuracy"], abs=0.005), row
        got = {(r["format"], r["backend"]) for r in bench["rows"]}
        assert {("onnx", "onnxruntime"), ("onnx", "openvino"), ("openvino", "openvino"), ("pt2", "torch")} <= got
        assert ("tflite", "litert") in got or "tflite" not in formats
        q = steps["quantize"]
        if _has("edgeport.compress", "quantize") and "tflite" in formats:
            assert q["status"] == "ok", q
            int8 = [r for r in bench["rows"] if r["model"] == "doodle_int8.tflite" and r["backend"] == "litert"]
            fp32 = [r for r in bench["rows"] if r["model"] == "doodle.tflite" and r["backend"] == "litert"]
            assert int8 and fp32
            assert int8[0]["size_bytes"] < 0.35 * fp32[0]["size_bytes"]  # the int8 payoff
            assert int8[0]["accuracy"] >= fp32[0]["accuracy"] - 0.015
    else:
        assert bench["status"] == "skipped" and "edgeport.bench" in bench["reason"]


def test_cli_demo_json(capsys, monkeypatch):
    import edgeport.demo

    monkeypatch.setattr(edgeport.demo, "_MAKERS", [])  # the shipped ONNX only: keeps this test fast
    rc = main(["demo", "--runs", "2", "--warmup", "0", "--no-accuracy", "--json"])
    out = capsys.readouterr().out
    assert rc == 0
    rep = json.loads(out)  # nothing but the JSON on stdout
    assert set(rep["steps"]) == {"inspect", "classify", "convert", "quantize", "benchmark"}
    assert rep["out_dir"] is None  # the temporary folder is gone
    assert rep["steps"]["quantize"]["status"] == "skipped" and "no TFLite" in rep["steps"]["quantize"]["reason"]
    for row in rep["steps"]["benchmark"]["rows"]:
        assert row["accuracy"] is None and row["avg_ms"] > 0 and row["model"] == "doodle.onnx"


def test_cli_demo_bad_options_exit_2(capsys):
    assert main(["demo", "--runs", "0"]) == 2
    err = capsys.readouterr().err
    assert "--runs" in err and "Traceback" not in err
