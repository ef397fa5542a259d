"""Fuzzing edgeport.open: >= 1,000 mutated files per format (fixed seed) give a ModelFormatError or a model, never a crash.

Mutations: bit flips, byte overwrites (random and boundary values), truncations, splices
(a chunk copied elsewhere), zero-fills and insert/delete. Two more tests send the TFLite and
OpenVINO IR mutants that pass ``check_file`` to the native runtime (LiteRT, OpenVINO) in a
child process and check the child never dies from a signal: check_file guards the native loaders.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

import edgeport
from edgeport.errors import ModelFormatError
from edgeport.model import check_file

from tests.model.model_fixtures import TinyNet, make_onnx_conv
from tests.support import tflite_builder as tflite_fixture

N_MUTANTS = 1000
_SPECIAL = [0x00, 0xFF, 0x7F, 0x80, 0x01, 0xFE]


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One random mutation of ``data`` (never returns the input unchanged in length and content)."""
    b = bytearray(data)
    n = len(b)
    kind = rng.randrange(7)
    if kind == 0:  # bit flips
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(n)
            b[i] ^= 1 << rng.randrange(8)
    elif kind == 1:  # byte overwrites
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(n)] = rng.choice(_SPECIAL) if rng.random() < 0.5 else rng.randrange(256)
    elif kind == 2:  # truncation
        b = b[:rng.randrange(n)]
    elif kind == 3:  # splice: copy a chunk over another place
        ln = rng.randint(1, max(1, n // 8))
        src, dst = rng.randrange(n - ln + 1), rng.randrange(n - ln + 1)
        b[dst:dst + ln] = data[src:src + ln]
    elif kind == 4:  # zero-fill a range
        ln = rng.randint(1, max(1, n // 8))
        at = rng.randrange(n)
        b[at:at + ln] = bytes(len(b[at:at + ln]))
    elif kind == 5:  # insert bytes
        at = rng.randrange(n)
        b[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    else:  # delete bytes / overwrite a 32-bit word (offsets, lengths)
        at = rng.randrange(max(1, n - 4))
        if rng.random() < 0.5:
            del b[at:at + rng.randint(1, 16)]
        else:
            b[at:at + 4] = rng.choice([0, 1, 0x7FFFFFFF, 0xFFFFFFFF, rng.randrange(1 << 32), n, n - at]).to_bytes(4, "little")
    return bytes(b)


def _fuzz(base: Path, fmt: str, seed: int, tmp: Path, n: int = N_MUTANTS, companion: Path | None = None):
    """Open+inspect ``n`` mutants of ``base`` (or of ``companion``, the .bin, when given)."""
    rng = random.Random(seed)
    target = companion or base
    original = target.read_bytes()
    work = tmp / ("mutant" + base.suffix)
    if companion is not None:
        work.write_bytes(base.read_bytes())
        mutant_path = work.with_suffix(companion.suffix)
    else:
        mutant_path = work
        if base.suffix == ".xml":  # the IR's weights stay intact beside the mutated XML
            work.with_suffix(".bin").write_bytes(base.with_suffix(".bin").read_bytes())
    outcome = {"ok": 0, "rejected": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(n):
            data = mutate(original, rng)
            mutant_path.write_bytes(data)
            try:
                m = edgeport.open(work)
                m.inspect().to_dict()
                outcome["ok"] += 1
            except ModelFormatError as e:
                assert e.hint, f"{fmt} mutant {i}: error without a hint: {e}"
                if "cannot read this" in str(e):  # the catch-all in modelfile._guard: a reader bug, not a check
                    bad = tmp / f"unexpected_{fmt}_{i}{mutant_path.suffix}"
                    bad.write_bytes(data)
                    pytest.fail(f"{fmt} mutant {i} escaped the format checks: {e} (saved as {bad})")
                outcome["rejected"] += 1
            except Exception as e:  # pragma: no cover - the failure we look for
                bad = tmp / f"crash_{fmt}_{i}{mutant_path.suffix}"
                bad.write_bytes(data)
                pytest.fail(f"{fmt} mutant {i} raised {type(e).__name__}: {e} (saved as {bad})")
    assert outcome["ok"] + outcome["rejected"] == n
    return outcome


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def test_fuzz_onnx(fuzz_dir):
    base = make_onnx_conv(fuzz_dir / "base.onnx")
    out = _fuzz(base, "onnx", 1, fuzz_dir)
    assert out["rejected"] > 0


def test_fuzz_tflite(fuzz_dir):
    base = fuzz_dir / "base.tflite"
    tflite_fixture.conv_model(base)
    out = _fuzz(base, "tflite", 2, fuzz_dir)
    assert out["rejected"] > N_MUTANTS // 2


def test_fuzz_openvino(fuzz_dir):
    ov = pytest.importorskip("openvino")
    onnx_path = make_onnx_conv(fuzz_dir / "for_ov.onnx")
    base = fuzz_dir / "base.xml"
    ov.save_model(ov.convert_model(str(onnx_path)), str(base), compress_to_fp16=False)
    out = _fuzz(base, "openvino-xml", 3, fuzz_dir)
    assert out["ok"] > 0 and out["rejected"] > 0
    out = _fuzz(base, "openvino-bin", 4, fuzz_dir, companion=base.with_suffix(".bin"))
    assert out["rejected"] > 0  # truncated .bin files are caught


def test_fuzz_torch_archives(fuzz_dir):
    torch = pytest.importorskip("torch")
    net, x = TinyNet.make()
    ts, pt2 = fuzz_dir / "base.pt", fuzz_dir / "base.pt2"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.trace(net, x), str(ts))
    torch.export.save(torch.export.export(net, (x,)), str(pt2))
    _fuzz(ts, "torchscript", 5, fuzz_dir)
    _fuzz(pt2, "pt2", 6, fuzz_dir)


_CHILD = textwrap.dedent("""
    import resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))  # a runaway allocation fails, not the machine
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter
    for i, path in enumerate(sys.argv[1:]):
        print(i, flush=True)
        try:
            it = Interpreter(model_path=path)
            it.allocate_tensors()
            for d in it.get_input_details():
                it.set_tensor(d["index"], np.zeros(d["shape"], d["dtype"]))
            it.invoke()
        except Exception:
            pass
    print("done", flush=True)
""")


_CHILD_OPENVINO = textwrap.dedent("""
    import resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))  # OpenVINO reserves more address space
    import numpy as np
    import openvino as ov
    core = ov.Core()
    for i, path in enumerate(sys.argv[1:]):
        print(i, flush=True)
        try:
            compiled = core.compile_model(core.read_model(path), "CPU")
            feeds = {}
            for inp in compiled.inputs:
                shape = [d.get_length() if d.is_static else 1 for d in inp.get_partial_shape()]
                feeds[inp] = np.zeros(shape, inp.get_element_type().to_dtype())
            compiled(feeds)
        except Exception:
            pass
    print("done", flush=True)
""")


def _checked_mutants(base: Path, fmt: str, seed: int, want: int, tries: int) -> list[str]:
    """Mutants of ``base`` that pass check_file (the .bin of an IR is copied beside each XML mutant)."""
    original, rng, passed = base.read_bytes(), random.Random(seed), []
    for i in range(tries):
        if len(passed) >= want:
            break
        p = base.parent / f"native_{fmt}_{i}{base.suffix}"
        p.write_bytes(mutate(original, rng))
        if fmt == "openvino":
            p.with_suffix(".bin").write_bytes(base.with_suffix(".bin").read_bytes())
        try:
            check_file(p, fmt)
            passed.append(str(p))
        except ModelFormatError:
            p.unlink()
    return passed


def _assert_child_survives(child: str, paths: list[str], runtime: str) -> None:
    r = subprocess.run([sys.executable, "-c", child, *paths], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    if r.returncode != 0:
        lines = [ln for ln in r.stdout.split() if ln.isdigit()]
        culprit = paths[int(lines[-1])] if lines else paths[0]
        name = signal.Signals(-r.returncode).name if r.returncode < 0 else f"exit {r.returncode}"
        pytest.fail(f"{runtime} died ({name}) on {culprit}, which passed check_file")
    assert r.stdout.split()[-1] == "done"


def test_checked_tflite_mutants_do_not_crash_litert(fuzz_dir):
    """Mutants that pass check_file go to the native interpreter in a child: it must never die from a signal."""
    base = fuzz_dir / "native.tflite"
    tflite_fixture.fc_softmax_model(base)
    passed = _checked_mutants(base, "tflite", 7, want=100, tries=2000)
    assert len(passed) >= 50, "too few mutants pass check_file to test the native loader"
    _assert_child_survives(_CHILD, passed, "LiteRT")


def test_checked_openvino_mutants_do_not_crash_openvino(fuzz_dir):
    ov = pytest.importorskip("openvino")
    onnx_path = make_onnx_conv(fuzz_dir / "for_native_ov.onnx")
    base = fuzz_dir / "native_ov.xml"
    ov.save_model(ov.convert_model(str(onnx_path)), str(base), compress_to_fp16=False)
    passed = _checked_mutants(base, "openvino", 8, want=40, tries=3000)
    assert len(passed) >= 20, "too few mutants pass check_file to test the native loader"
    _assert_child_survives(_CHILD_OPENVINO, passed, "OpenVINO")
