"""The pure-Python TFLite/FlatBuffer verifier: each kind of corruption is named, valid files pass."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ai_edge_litert import schema_py_generated as s

from edgeport.errors import ModelFormatError
from edgeport.model import check_file
from edgeport.model._flatbuffer import FlatBufferError, Verifier
from tests.support import tflite_builder as tb


def _fc_parts():
    tensors = [tb.tensor("x", [1, 4], 0), tb.tensor("w", [3, 4], 1),
               tb.tensor("y", [1, 3], 0)]
    buffers = [tb.buffer(), tb.buffer(np.ones((3, 4), np.float32))]
    ops = [tb.op(0, [0, 1, -1], [2])]
    return tensors, buffers, [tb.opcode(s.BuiltinOperator.FULLY_CONNECTED)], ops


@pytest.mark.parametrize("breaker,match", [
    (lambda t, b, oc, ops: setattr(ops[0], "opcodeIndex", 3), "uses opcode 3 of 1"),
    (lambda t, b, oc, ops: setattr(ops[0], "inputs", [0, 9, -1]), "outside 0..2"),
    (lambda t, b, oc, ops: setattr(t[1], "buffer", 7), "refers to buffer 7 of 2"),
    (lambda t, b, oc, ops: setattr(t[1], "shape", [3, 5]), "buffer holds 48 bytes"),
    (lambda t, b, oc, ops: setattr(t[0], "shape", [1 << 30, 4]), "larger than 2 GiB"),
    (lambda t, b, oc, ops: setattr(ops[0], "outputs", [1]), "holds constant data but is an output"),
    (lambda t, b, oc, ops: setattr(oc[0], "builtinCode", 10_000), "not a known builtin operator"),
])
def test_semantic_errors(tmp_path, breaker, match):
    parts = _fc_parts()
    breaker(*parts)
    p = tb.build_model(tmp_path / "bad.tflite", *parts, [0], [2])
    with pytest.raises(ModelFormatError, match=match):
        check_file(p)


def test_valid_fixture_passes_and_runs(tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    p = tb.build_model(tmp_path / "ok.tflite", *_fc_parts(), [0], [2])
    check_file(p)
    it = Interpreter(model_path=str(p))
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], np.array([[1, 2, 3, 4]], np.float32))
    it.invoke()
    np.testing.assert_allclose(it.get_tensor(it.get_output_details()[0]["index"]), [[10, 10, 10]])


def test_layout_errors(tmp_path, tflite_fc_path):
    data = bytearray(tflite_fc_path.read_bytes())
    p = tmp_path / "x.tflite"
    root = struct.unpack_from("<I", data, 0)[0]
    for patch, match in [((0, 0xFFFFFF), "outside"), ((root, -0x7FFFFFF0), "vtable"),
                         ((root, 0x7FFFFFF0), "vtable")]:
        bad = bytearray(data)
        struct.pack_into("<I" if patch[1] >= 0 else "<i", bad, *patch)
        p.write_bytes(bytes(bad))
        with pytest.raises(ModelFormatError, match=match):
            check_file(p)


def test_shared_references_cannot_blow_up():
    """40 levels of tables each referencing the next twice would be 2**40 visits: stopped by the visit budget."""
    buf = bytearray(struct.pack("<I", 20) + b"TEST" + struct.pack("<HHH", 6, 8, 4) + b"\0\0" + struct.pack("<HH", 4, 4))
    for level in range(40):
        pos = len(buf)
        buf += struct.pack("<iIIII", pos - 8, 4, 2, 8, 4)
    buf += struct.pack("<i", len(buf) - 16)
    v = Verifier(bytes(buf), {"A": {0: "vec:table:A"}})
    with pytest.raises(FlatBufferError, match="table visits"):
        v.table(v.root(b"TEST"), "A")
    small = Verifier(bytes(buf[:20]) + struct.pack("<i", 20 - 16), {"A": {0: "vec:table:A"}})
    assert small.table(small.root(b"TEST"), "A") == {}


def test_constant_subgraph_input_is_rejected_because_litert_segfaults(tmp_path):
    """Found by the fuzz test: writing an input into a constant (mmapped, read-only) tensor kills LiteRT."""
    import subprocess
    import sys

    tensors, buffers, opcodes, ops = _fc_parts()
    p = tb.build_model(tmp_path / "const_in.tflite", tensors, buffers, opcodes, ops, [1], [2])
    with pytest.raises(ModelFormatError, match="holds constant data but is a subgraph input"):
        check_file(p)
    child = ("import numpy as np, sys\nfrom ai_edge_litert.interpreter import Interpreter\n"
             "it = Interpreter(model_path=sys.argv[1]); it.allocate_tensors()\n"
             "d = it.get_input_details()[0]; it.set_tensor(d['index'], np.zeros(d['shape'], d['dtype'])); it.invoke()\n")
    r = subprocess.run([sys.executable, "-c", child, str(p)], capture_output=True, timeout=120)
    if r.returncode >= 0:  # the check stays right either way; only the reason for it would be gone
        pytest.skip("this LiteRT version no longer crashes on a constant subgraph input")
    assert r.returncode < 0


@settings(max_examples=300, deadline=None)
@given(body=st.binary(min_size=0, max_size=256), root=st.integers(0, 300))
def test_random_bytes_only_raise_model_format_error(body, root):
    """Arbitrary bytes behind a valid-looking header: parsed or rejected, nothing else."""
    from pathlib import Path

    from edgeport.model.tflite_fmt import parse_tflite

    data = struct.pack("<I", root) + b"TFL3" + body
    try:
        parse_tflite(Path("random.tflite"), data)
    except ModelFormatError:
        pass
