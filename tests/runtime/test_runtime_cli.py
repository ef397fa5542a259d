"""`edgeport run`: outputs, stats, JSON, --input files, fallback line, error exit codes."""

from __future__ import annotations

import json

import numpy as np

from edgeport.cli.app import main
from tests.runtime.runtime_models import mlp_reference


def test_run_json_with_input_file(models, tmp_path, capsys):
    x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    rc = main(["run", str(models["onnx"]), "--input", f"x={tmp_path / 'x.npy'}", "--threads", "1", "--json"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    ref = mlp_reference(x)
    (row,) = res["outputs"]
    assert res["backend"] == "onnxruntime" and res["accelerator"] == "cpu" and res["threads"] == 1
    assert row["name"] == "y" and row["shape"] == [2, 4] and row["dtype"] == "float32"
    assert abs(row["max"] - ref.max()) < 1e-5 and abs(row["mean"] - ref.mean()) < 1e-5
    assert "argmax" not in row and res["fallbacks"] == [] and res["random_inputs"] is False


def test_run_random_inputs_table_and_argmax(models, capsys):
    rc = main(["run", str(models["onnx"]), "--seed", "1"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "onnxruntime" in out and "argmax" in out and "1x4" in out and "random inputs" in out


def test_run_shows_fallback_line(models, capsys):
    rc = main(["run", str(models["onnx"]), "--backend", "openvino", "--accelerator", "gpu", "--json"])
    assert rc == 0
    res = json.loads(capsys.readouterr().out)
    assert res["backend"] == "openvino" and res["fallbacks"][0]["requested"] == "gpu"
    rc = main(["run", str(models["onnx"]), "--accelerator", "cuda"])
    cap = capsys.readouterr()
    assert rc == 0 and "fallback:" in cap.err and "CUDAExecutionProvider" in cap.err


def test_run_errors_exit_2(models, tmp_path, capsys):
    np.save(tmp_path / "bad.npy", np.zeros((2, 5), np.float32))
    rc = main(["run", str(models["onnx"]), "--input", f"x={tmp_path / 'bad.npy'}"])
    err = capsys.readouterr().err
    assert rc == 2 and "'x'" in err and "(N, 3)" in err and "(2, 5)" in err
    assert main(["run", str(models["onnx"]), "--input", "x"]) == 2
    assert main(["run", str(models["onnx"]), "--accelerator", "gpu", "--strict"]) == 2
    assert main(["run", str(tmp_path / "missing.onnx")]) == 2
    assert "not found" in capsys.readouterr().err
