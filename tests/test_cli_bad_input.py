"""The CLI on bad input, as a new user meets it: one clear line, exit code 2, nothing damaged or left behind.

Every case runs ``edgeport.cli.app.main`` in-process on a workspace of small models made here (ONNX, TFLite,
OpenVINO IR, TorchScript, .pt2) and of bad files (text, PNG, empty, folder, truncated/corrupted models, bad
arrays). Each must: return 2; print exactly one non-empty line on stderr, ``error: <what, where> (<how to fix>)``;
print no traceback; leave every file of the workspace byte-identical (hash before/after) and add none
(no partial output, no temporary file).
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import warnings
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgeport.cli.app import main
from edgeport.errors import EdgeportError

W = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
B = np.random.default_rng(1).standard_normal(3).astype(np.float32)

TINY_CLASS = '''import torch


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(4, 3)

    def forward(self, x):
        return torch.relu(self.fc(x))
'''


def _onnx(path: Path) -> None:
    """x[1,4] -> MatMul(W[4,3]) + B -> Relu -> y[1,3]."""
    nodes = [helper.make_node("MatMul", ["x", "W"], ["mm"]), helper.make_node("Add", ["mm", "B"], ["a"]),
             helper.make_node("Relu", ["a"], ["y"])]
    g = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
                          [numpy_helper.from_array(W, "W"), numpy_helper.from_array(B, "B")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, str(path))


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Path:
    import torch

    from edgeport.convert import convert

    d = tmp_path_factory.mktemp("badcli")
    _onnx(d / "m.onnx")
    convert(d / "m.onnx", d / "m.tflite", verify=False)
    convert(d / "m.onnx", d / "m.xml", verify=False)
    (d / "mod.py").write_text(TINY_CLASS)
    lin = torch.nn.Sequential(torch.nn.Linear(4, 3)).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.trace(lin, torch.zeros(1, 4)), str(d / "m.pt"))
    torch.export.save(torch.export.export(lin, (torch.zeros(1, 4),)), str(d / "m.pt2"))
    (d / "notes.txt").write_text("not a model\n")
    (d / "text.onnx").write_text("not a model\n")
    (d / "pic.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    (d / "empty.onnx").write_bytes(b"")
    (d / "adir").mkdir()
    (d / "ro").mkdir()
    for name in ("m.onnx", "m.tflite", "m.pt", "m.pt2", "m.xml"):
        data = (d / name).read_bytes()
        (d / f"trunc{Path(name).suffix}").write_bytes(data[: len(data) // 2])
    shutil.copy(d / "m.bin", d / "trunc.bin")
    (d / "nobin.xml").write_bytes((d / "m.xml").read_bytes())
    tfl = bytearray((d / "m.tflite").read_bytes())
    tfl[0:4] = (len(tfl) * 4).to_bytes(4, "little")  # root table offset past the end
    (d / "corrupt.tflite").write_bytes(bytes(tfl))
    (d / "model.xyz").write_bytes((d / "m.onnx").read_bytes()[:40])
    torch.save({"w": torch.zeros(3)}, str(d / "ckpt.pt"))  # weights only, not a runnable model
    import zipfile

    with zipfile.ZipFile(d / "fake.pt", "w") as z:
        z.writestr("a/readme.txt", "a zip, but no PyTorch archive")
    (d / "page.xml").write_text("<html><body>not an IR</body></html>")
    ext = onnx.load(str(d / "m.onnx"))
    onnx.save(ext, str(d / "ext.onnx"), save_as_external_data=True, location="ext.data", size_threshold=0)
    (d / "ext.data").unlink()  # the weights file went missing
    (d / "link.onnx").symlink_to("m.onnx")
    np.save(d / "good.npy", np.ones((1, 4), np.float32))
    np.savez(d / "multi.npz", a=np.ones((1, 4), np.float32), b=np.ones((1, 4), np.float32))
    np.save(d / "bad_shape.npy", np.ones((1, 5), np.float32))
    np.save(d / "bad_dtype.npy", np.ones((1, 4), np.int64))
    np.savez(d / "nan.npz", x=np.full((8, 4), np.nan, np.float32))
    np.savez(d / "shape.npz", x=np.zeros((8, 3, 5, 5), np.float32))
    np.savez(d / "train_nan.npz", x=np.full((8, 4), np.nan, np.float32), y=np.zeros(8, np.int64))
    np.savez(d / "ok.npz", x=np.ones((8, 4), np.float32), y=np.zeros(8, np.int64))
    return d


CASES = {
    # a file that is no model, or no file at all
    "inspect-text": "inspect notes.txt",
    "inspect-png": "inspect pic.png",
    "inspect-empty": "inspect empty.onnx",
    "inspect-folder": "inspect adir",
    "inspect-missing": "inspect missing.onnx",
    "inspect-unknown-ext": "inspect model.xyz",
    "inspect-text-as-onnx": "inspect text.onnx",
    # truncated or corrupted, every format
    "inspect-trunc-onnx": "inspect trunc.onnx",
    "inspect-trunc-tflite": "inspect trunc.tflite",
    "inspect-corrupt-tflite": "inspect corrupt.tflite",
    "inspect-trunc-xml": "inspect trunc.xml",
    "inspect-xml-without-bin": "inspect nobin.xml",
    "inspect-trunc-pt": "inspect trunc.pt",
    "inspect-trunc-pt2": "inspect trunc.pt2",
    "inspect-torch-checkpoint": "inspect ckpt.pt",
    "inspect-zip-not-torch": "inspect fake.pt",
    "inspect-xml-not-ir": "inspect page.xml",
    "inspect-bin-instead-of-xml": "inspect m.bin",
    "inspect-external-data-missing": "inspect ext.onnx",
    "run-external-data-missing": "run ext.onnx",
    "run-torch-checkpoint": "run ckpt.pt",
    "run-text": "run notes.txt",
    "run-folder": "run adir",
    "run-missing": "run missing.onnx",
    "run-trunc-tflite": "run trunc.tflite",
    "run-corrupt-tflite": "run corrupt.tflite",
    "run-trunc-xml": "run trunc.xml",
    "run-trunc-pt2": "run trunc.pt2",
    # wrong input to run
    "run-wrong-name": "run m.onnx -i nope=good.npy",
    "run-wrong-shape": "run m.onnx -i x=bad_shape.npy",
    "run-wrong-dtype": "run m.onnx -i x=bad_dtype.npy",
    "run-wrong-shape-tflite": "run m.tflite -i x=bad_shape.npy",
    "run-wrong-shape-openvino": "run m.xml -i x=bad_shape.npy",
    "run-wrong-shape-torchscript": "run m.pt -i input=bad_shape.npy",
    "run-wrong-shape-pt2": "run m.pt2 -i input=bad_shape.npy",
    "run-npy-missing": "run m.onnx -i x=missing.npy",
    "run-npy-not-npy": "run m.onnx -i x=notes.txt",
    "run-npz-without-the-input": "run m.onnx -i x=multi.npz",
    "run-input-syntax": "run m.onnx -i x",
    "run-threads-0": "run m.onnx --threads 0",
    "run-unknown-backend": "run m.onnx --backend nope",
    "run-backend-wrong-format": "run m.onnx --backend litert",
    "run-unknown-accelerator": "run m.onnx --accelerator quantum",
    # bench options
    "bench-runs-negative": "bench m.onnx --runs -1",
    "bench-runs-0": "bench m.onnx --runs 0",
    "bench-warmup-negative": "bench m.onnx --warmup -1",
    "bench-threads-0": "bench m.onnx --threads 0",
    "bench-text": "bench m.onnx notes.txt --runs 2",
    "bench-trunc": "bench trunc.tflite --runs 2",
    "bench-wrong-shape": "bench m.onnx --runs 2 -i x=bad_shape.npy",
    "bench-data-shape": "bench m.onnx --runs 2 --data shape.npz",
    "bench-torchscript-no-shape": "bench m.pt --runs 2",
    "bench-json-onto-input": "bench m.onnx --runs 2 --json m.onnx",
    "bench-json-under-file": "bench m.onnx --runs 2 --json notes.txt/out.json",
    "bench-json-missing-folder": "bench m.onnx --runs 2 --json nodir/out.json",
    "bench-plot-not-png": "bench m.onnx --runs 2 --plot m.onnx",
    # convert: bad sources, bad outputs, bad options
    "convert-text": "convert notes.txt -o out.tflite",
    "convert-folder": "convert adir -o out.tflite",
    "convert-missing": "convert missing.onnx -o out.tflite",
    "convert-trunc-onnx": "convert trunc.onnx -o out.tflite",
    "convert-trunc-pt2": "convert trunc.pt2 -o out.tflite",
    "convert-from-tflite": "convert m.tflite -o out.tflite",
    "convert-onto-input": "convert m.onnx -o m.onnx",
    "convert-onto-input-other-spelling": "convert m.onnx -o ./adir/../m.onnx",
    "convert-onto-input-via-symlink": "convert m.onnx -o link.onnx",
    "convert-external-data-missing": "convert ext.onnx -o out.tflite",
    "quantize-openvino-onto-input": "quantize m.xml -o m.xml --mode fp16",
    "convert-unknown-ext": "convert m.onnx -o out.foo",
    "convert-output-folder": "convert m.onnx -o adir",
    "convert-output-under-file": "convert m.onnx -o notes.txt/out.tflite",
    "convert-output-missing-folder": "convert m.onnx -o nodir/sub/out.tflite",
    "convert-input-shape-syntax": "convert m.onnx -o out.tflite --input-shape x=1,4",
    "convert-input-shape-letters": "convert m.onnx -o out.tflite --input-shape x:1,a",
    "convert-input-shape-name": "convert m.onnx -o out.tflite --input-shape nope:1,4",
    "convert-input-shape-rank": "convert m.onnx -o out.tflite --input-shape x:1",
    "convert-tolerance-negative": "convert m.onnx -o out.tflite --tolerance -1",
    "convert-data-nan-keeps-old-output": "convert m.onnx -o m.tflite --data nan.npz",
    "convert-data-shape": "convert m.onnx -o out.tflite --data shape.npz",
    "convert-data-missing": "convert m.onnx -o out.tflite --data missing.npz",
    "convert-data-not-array": "convert m.onnx -o out.tflite --data notes.txt",
    "check-text": "check notes.txt",
    "check-input-shape-syntax": "check m.onnx --input-shape bad",
    # verify
    "verify-text": "verify m.onnx notes.txt",
    "verify-trunc": "verify m.onnx trunc.tflite",
    "verify-data-nan": "verify m.onnx m.xml --data nan.npz",
    "verify-tolerance-negative": "verify m.onnx m.tflite --tolerance -1",
    # quantize / optimize: calibration data, options, outputs
    "quantize-onto-input": "quantize m.tflite -o m.tflite --mode fp16",
    "quantize-output-under-file": "quantize m.tflite -o notes.txt/q.tflite --mode fp16",
    "quantize-calib-nan": "quantize m.tflite -o q.tflite --calib nan.npz",
    "quantize-calib-shape": "quantize m.tflite -o q.tflite --calib shape.npz",
    "quantize-calib-missing": "quantize m.tflite -o q.tflite --calib missing.npz",
    "quantize-mode": "quantize m.tflite -o q.tflite --mode int3",
    "quantize-max-drop": "quantize m.tflite -o q.tflite --mode fp16 --max-drop abc",
    "quantize-mean": "quantize m.tflite -o q.tflite --mean 1,x",
    "quantize-trunc": "quantize trunc.tflite -o q.tflite --mode fp16",
    "quantize-format-change": "quantize m.tflite -o q.onnx --mode fp16",
    "optimize-runs-negative": "optimize m.tflite --eval ok.npz -o best.tflite --runs -1",
    "optimize-threads-0": "optimize m.tflite --eval ok.npz -o best.tflite --threads 0",
    "optimize-eval-nan": "optimize m.tflite --eval nan.npz -o best.tflite --runs 2",
    "optimize-onto-input": "optimize m.tflite --eval ok.npz -o m.tflite",
    # cluster / prune / distill
    "cluster-onto-input": "cluster m.onnx -o m.onnx",
    "cluster-n-0": "cluster m.onnx -o c.onnx -n 0",
    "cluster-trunc": "cluster trunc.onnx -o c.onnx",
    "prune-input-shape": "prune mod.py:Tiny -o p.pt2 --input-shape 1,x",
    "prune-onto-class-file": "prune mod.py:Tiny -o mod.py --input-shape 1,4",
    "prune-sparsity": "prune mod.py:Tiny -o p.pt2 --input-shape 1,4 --sparsity 2",
    "prune-no-class": "prune mod.py:Nope -o p.pt2 --input-shape 1,4",
    "prune-data-nan": "prune mod.py:Tiny -o p.pt2 --data train_nan.npz --steps 1",
    "distill-data-nan": "distill mod.py:Tiny --teacher m.onnx --data train_nan.npz -o d.pt2 --epochs 1",
    "distill-epochs-0": "distill mod.py:Tiny --teacher m.onnx --data ok.npz -o d.pt2 --epochs 0",
}


def _snapshot(root: Path) -> dict[str, str]:
    out = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        out[rel] = "<dir>" if p.is_dir() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.mark.parametrize("args", list(CASES.values()), ids=list(CASES))
def test_bad_input_gives_one_line_exit_2_and_damages_nothing(ws, args, capsys, monkeypatch):
    monkeypatch.chdir(ws)
    before = _snapshot(ws)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc = main(shlex.split(args))
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert rc == 2, f"exit {rc}\nstdout: {out}\nstderr: {err}"
    assert len(lines) == 1 and lines[0].startswith("error: "), err  # exactly one line, not even a blank one
    assert "(" in lines[0] and lines[0].rstrip().endswith(")"), f"no hint: {lines[0]}"  # ... (how to fix)
    assert "Traceback" not in out + err and "internal error" not in err
    after = _snapshot(ws)
    assert after == before, f"files changed: {set(after.items()) ^ set(before.items())}"


def test_debug_shows_the_exception_instead(ws, monkeypatch, capsys):
    monkeypatch.chdir(ws)
    with pytest.raises(EdgeportError, match="would overwrite the input"):
        main(["--debug", "convert", "m.onnx", "-o", "m.onnx"])


def test_read_only_folder_is_refused_before_any_work(ws, monkeypatch, capsys):
    """A folder the user cannot write (simulated for root, who may write anywhere)."""
    monkeypatch.chdir(ws)
    ro = str(ws / "ro")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if str(p) == ro else real_access(p, mode, **kw))
    before = _snapshot(ws)
    rc = main(["convert", "m.onnx", "-o", str(ws / "ro" / "out.tflite")])
    err = capsys.readouterr().err
    assert rc == 2 and "is not writable" in err and len(err.strip().splitlines()) == 1
    assert _snapshot(ws) == before


def test_os_errors_become_one_line(ws, monkeypatch, capsys):
    """A write the file system refuses mid-way (disk full, permissions): one line, exit 2, no temp file left."""
    import edgeport._fileio as fileio

    def refuse(*a, **k):
        raise PermissionError(13, "Permission denied", str(ws / "out.tflite"))

    monkeypatch.chdir(ws)
    monkeypatch.setattr(fileio.os, "replace", refuse)
    before = _snapshot(ws)
    rc = main(["convert", "m.onnx", "-o", "out.tflite", "--no-verify"])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: Permission denied") and len(err.strip().splitlines()) == 1
    assert _snapshot(ws) == before


def test_good_output_gets_normal_permissions(ws, tmp_path, capsys):
    """Outputs are written via a temporary file, but end up with the umask's mode, not mkstemp's 0600."""
    out = tmp_path / "ok.tflite"
    assert main(["convert", str(ws / "m.onnx"), "-o", str(out), "--no-verify"]) == 0
    mask = os.umask(0o022)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask
    assert [p.name for p in tmp_path.iterdir()] == ["ok.tflite"]  # no temporary file left beside it


def test_atomic_write_refuses_a_folder_or_a_file_as_parent(tmp_path):
    """The shared writer (used by every command, also the ones that do not pre-check) fails cleanly."""
    from edgeport._fileio import atomic_write_bytes
    from edgeport.errors import UsageError

    (tmp_path / "f.txt").write_text("keep")
    (tmp_path / "d").mkdir()
    with pytest.raises(UsageError, match="it is a folder"):
        atomic_write_bytes(tmp_path / "d", b"x")
    with pytest.raises(UsageError, match="f.txt is a file, not a folder"):
        atomic_write_bytes(tmp_path / "f.txt" / "sub" / "out.json", b"x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d", "f.txt"] and (tmp_path / "f.txt").read_text() == "keep"


def test_an_earlier_output_may_be_replaced(ws, tmp_path, capsys):
    """Only inputs are protected: writing again onto a previous result (file or IR pair) is fine."""
    for out in (tmp_path / "again.tflite", tmp_path / "again.xml"):
        for _ in range(2):
            assert main(["convert", str(ws / "m.onnx"), "-o", str(out), "--no-verify"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again.bin", "again.tflite", "again.xml"]
