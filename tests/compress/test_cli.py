"""The compress CLI commands through edgeport.cli.app.main: return codes and output."""

from __future__ import annotations

import json

import numpy as np

from edgeport.cli.app import main


def test_quantize_table_and_json(tfl, calib, work, capsys):
    out = work / "cli_int8.tflite"
    assert main(["quantize", str(tfl), "-o", str(out), "--calib", str(calib), "--diagnose"]) == 0
    text = capsys.readouterr().out
    assert "cosine" in text and "worst first" in text and out.exists()
    assert main(["quantize", str(tfl), "-o", str(out), "--mode", "fp16", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["mode"] == "fp16" and d["size_after"] < d["size_before"]


def test_quantize_bad_calibration_is_one_line(tfl, work, capsys):
    bad = work / "nan.npz"
    np.savez(bad, x=np.full((2, 16, 16, 3), np.nan, np.float32))
    out = work / "cli_bad.tflite"
    assert main(["quantize", str(tfl), "-o", str(out), "--calib", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "NaN" in err and len(err.strip().splitlines()) == 1 and not out.exists()


def test_optimize_cli(tfl, calib, work, capsys):
    out = work / "cli_best.tflite"
    assert main(["optimize", str(tfl), "--eval", str(calib), "-o", str(out), "--max-drop", "10%", "--runs", "3",
                 "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["chosen"] and out.exists()


def test_prune_cluster_distill_cli(work, capsys):
    import torch

    torch.set_num_threads(1)  # tiny models: threads only fight over the shared CPU
    x = np.random.default_rng(0).random((32, 1, 12, 12)).astype(np.float32)
    data = work / "train.npz"
    np.savez(data, x=x, y=np.arange(32) % 10)
    cls = "tests.compress.torch_models:TinyCNN"
    pruned = work / "pruned.pt"
    assert main(["prune", cls, "-o", str(pruned), "--channels", "0.5", "--data", str(data), "--steps", "2"]) == 0
    assert "kept channels" in capsys.readouterr().out and pruned.exists()
    assert main(["prune", cls, "-o", str(work / "sparse.pth"), "--sparsity", "0.5", "--data", str(data),
                 "--steps", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["sparsity"] > 0.49
    assert main(["cluster", cls, "-o", str(work / "clustered.pth"), "-n", "8", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["layers"]
    assert main(["distill", "tests.compress.torch_models:TinyStudent", "--teacher", cls, "--data", str(data),
                 "-o", str(work / "student.pth"), "--epochs", "1", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["losses"]) == 2
    assert main(["prune", "nope.module:X", "-o", str(work / "x.pt")]) == 2


def test_quantize_image_folder_with_mean_std(tfl, work, capsys):
    from PIL import Image

    folder = work / "imgs"
    folder.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(4):
        Image.fromarray(rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    out = work / "cli_imgs.tflite"
    assert main(["quantize", str(tfl), "-o", str(out), "--calib", str(folder), "--mean", "0.5,0.5,0.5",
                 "--std", "0.5,0.5,0.5", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["calibration_samples"] == 4 and d["output_cosine"] > 0.98
    assert main(["quantize", str(tfl), "-o", str(out), "--calib", str(folder), "--mean", "a,b"]) == 2


def test_openvino_json_stdout_is_clean(onnx_model, onnx_calib, work, capsys):
    import pytest

    pytest.importorskip("nncf")
    out = work / "cli_ov_int8.xml"
    assert main(["quantize", str(onnx_model), "-o", str(out), "--calib", str(onnx_calib), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)  # NNCF's progress bars must not land on stdout
    assert d["format"] == "openvino" and d["output_cosine"] > 0.99 and out.with_suffix(".bin").exists()
