"""`edgeport bench` through edgeport.cli.app.main: table, JSON, PNG, exit codes."""

import json

import pytest

from edgeport.cli.app import main


def test_table_json_and_plot(tiny_onnx, tmp_path, capsys):
    pytest.importorskip("openvino")
    out, png = tmp_path / "r.json", tmp_path / "r.png"
    rc = main(["bench", str(tiny_onnx), "-b", "onnxruntime", "-b", "openvino", "--runs", "5", "--warmup", "1",
               "--json", str(out), "--plot", str(png), "--profile-ops", "--top", "2"])
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "onnxruntime" in text and "openvino" in text and "CPU:" in text and "top 2 ops" in text
    d = json.loads(out.read_text())
    assert [r["backend"] for r in d["results"]] == ["onnxruntime", "openvino"]
    assert d["results"][0]["count"] == 5 and len(d["results"][1]["samples_ms"]) == 5
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]  # atomic writes left nothing behind


def test_json_to_stdout(tiny_onnx, capsys):
    rc = main(["bench", str(tiny_onnx), "--runs", "3", "--warmup", "0", "--json", "-"])
    out = capsys.readouterr().out
    assert rc == 0
    assert json.loads(out)["results"][0]["count"] == 3


def test_bad_inputs_exit_2(tiny_onnx, tmp_path, capsys):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"this is not a model")
    assert main(["bench", str(bad), "--runs", "1"]) == 2
    assert main(["bench", str(tmp_path / "missing.onnx")]) == 2
    assert main(["bench", str(tiny_onnx), "--plot", str(tmp_path / "p.jpg")]) == 2
    assert main(["bench", str(tiny_onnx), "--input", "x=" + str(tmp_path / "none.npy")]) == 2
    assert main(["bench", str(tiny_onnx), "--runs", "0"]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err


def test_data_and_bare_input(tiny_onnx, tmp_path, capsys):
    import numpy as np

    np.savez(tmp_path / "d.npz", x=np.zeros((1, 1, 8, 8), np.float32))
    np.save(tmp_path / "x.npy", np.ones((1, 8, 8), np.float32))
    assert main(["bench", str(tiny_onnx), "--runs", "2", "--warmup", "0", "--data", str(tmp_path / "d.npz"),
                 "--json", "-"]) == 0
    assert "d.npz" in json.loads(capsys.readouterr().out)["results"][0]["input_source"]
    assert main(["bench", str(tiny_onnx), "--runs", "2", "--warmup", "0", "-i", str(tmp_path / "x.npy"),
                 "--json", "-", "--no-memory"]) == 0
    r = json.loads(capsys.readouterr().out)["results"][0]
    assert "x.npy" in r["input_source"] and r["peak_rss_mb"] is None


def test_fallback_listed_under_table(tiny_onnx, capsys):
    # onnxruntime has no NPU provider: the run falls back to the CPU and the table says so
    assert main(["bench", str(tiny_onnx), "-b", "onnxruntime", "-a", "npu", "--runs", "2", "--warmup", "0"]) == 0
    out = capsys.readouterr()
    assert "fallback" in out.out and "npu -> cpu" in out.out
    assert "RuntimeWarning" not in out.err
