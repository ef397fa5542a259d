"""LiteRT per-op profile (isolated single-op models): rows against the model's operators, the single-op
models against the full model's intermediate values, int8 models, control flow, and the CLI table."""

from __future__ import annotations

import math

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

pytest.importorskip("ai_edge_litert")
pytestmark = pytest.mark.filterwarnings("ignore:.*experimental_preserve_all_tensors:UserWarning")

from edgeport.bench.profile import ProfileRows, by_op_type, profile_ops  # noqa: E402
from edgeport.bench.profile_litert import cut_op_model, profile_litert  # noqa: E402
from edgeport.convert.tflite.flatbuffer import model_to_bytes, read_model, schema  # noqa: E402

_NAMES = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}


def small_cnn(path):
    """x[1,3,16,16] -> Conv -> Relu -> MaxPool -> Conv -> Relu -> GlobalAveragePool -> Flatten -> Gemm -> Softmax."""
    rng = np.random.default_rng(1)
    init = [numpy_helper.from_array(a.astype(np.float32), n) for n, a in [
        ("w1", rng.standard_normal((8, 3, 3, 3)) * 0.3), ("b1", rng.standard_normal(8) * 0.1),
        ("w2", rng.standard_normal((8, 8, 3, 3)) * 0.2), ("b2", rng.standard_normal(8) * 0.1),
        ("wf", rng.standard_normal((5, 8)) * 0.5), ("bf", rng.standard_normal(5) * 0.1)]]
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("GlobalAveragePool", ["r2"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "wf", "bf"], ["logits"], transB=1),
        helper.make_node("Softmax", ["logits"], ["y"], axis=-1),
    ]
    graph = helper.make_graph(nodes, "cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])], init)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="module")
def cnn(tmp_path_factory):
    from edgeport.convert import convert

    d = tmp_path_factory.mktemp("litert_prof")
    src = small_cnn(d / "cnn.onnx")
    convert(str(src), str(d / "cnn.tflite"), verify=False)
    return d


def _feeds(path, seed=0):
    from edgeport.runtime import load, random_inputs

    with load(str(path), backend="litert") as s:
        return random_inputs(s.inputs, seed=seed)


def _op_types(path) -> list[str]:
    m = read_model(path)
    return [_NAMES[max(m.operatorCodes[op.opcodeIndex].builtinCode,
                       m.operatorCodes[op.opcodeIndex].deprecatedBuiltinCode)] for op in m.subgraphs[0].operators]


def test_one_row_per_operator(cnn):
    path = cnn / "cnn.tflite"
    types = _op_types(path)
    assert {"CONV_2D", "MAX_POOL_2D", "FULLY_CONNECTED", "SOFTMAX"} <= set(types)
    rows = profile_ops(path, "litert", _feeds(path), runs=5, threads=1)
    assert isinstance(rows, ProfileRows)
    assert sorted(r.index for r in rows) == list(range(len(types)))  # one row per operator
    assert all(r.op_type == types[r.index] for r in rows)
    assert all(r.time_ms > 0 and r.calls == 1.0 for r in rows)
    assert sum(r.percent for r in rows) == pytest.approx(100.0)
    assert [r.time_ms for r in rows] == sorted((r.time_ms for r in rows), reverse=True)
    prof = rows.summary
    assert prof.whole_ms > 0 and prof.not_profiled == []
    assert prof.ratio == pytest.approx(prof.sum_ms / prof.whole_ms) and math.isfinite(prof.ratio)
    assert f"= {prof.ratio:.2f}" in rows.note and "inter-op cache" in rows.note and "fusion" in rows.note
    m = read_model(path)
    names = {i: m.subgraphs[0].tensors[op.outputs[0]].name.decode() for i, op in enumerate(m.subgraphs[0].operators)}
    assert all(r.name == names[r.index] for r in rows)  # named after the op's output tensor
    grouped = {g.op_type: g for g in by_op_type(list(rows))}
    assert grouped["CONV_2D"].calls == types.count("CONV_2D")


def _check_cuts_match_full_model(path):
    """Every single-op model, fed the full model's real input values, reproduces the op's output."""
    from ai_edge_litert.interpreter import Interpreter

    m = read_model(path)
    sg = m.subgraphs[0]
    ref = Interpreter(model_path=str(path), experimental_preserve_all_tensors=True)
    ref.allocate_tensors()
    for d in ref.get_input_details():
        ref.set_tensor(d["index"], _feeds(path, seed=3)[d["name"]])
    ref.invoke()
    for op in sg.operators:
        sub, ins = cut_op_model(m, sg, op)
        it = Interpreter(model_content=model_to_bytes(sub))
        it.allocate_tensors()
        for d, i in zip(it.get_input_details(), ins):
            it.set_tensor(d["index"], ref.get_tensor(i))
        it.invoke()
        (out,) = it.get_output_details()
        want = ref.get_tensor(int(op.outputs[0]))
        got = it.get_tensor(out["index"])
        assert got.dtype == want.dtype and got.shape == want.shape
        tol = 1 if want.dtype.kind in "iu" else 1e-5  # int8: one step of rounding between kernels
        assert np.abs(got.astype(np.float64) - want.astype(np.float64)).max() <= tol


def test_single_op_models_compute_the_real_op(cnn):
    _check_cuts_match_full_model(cnn / "cnn.tflite")


def test_int8_model_profiles(cnn):
    from edgeport.compress import quantize

    calib = cnn / "calib.npz"
    np.savez(calib, x=np.random.default_rng(0).standard_normal((8, 1, 3, 16, 16)).astype(np.float32))
    q = cnn / "cnn_int8.tflite"
    quantize(str(cnn / "cnn.onnx"), str(q), mode="int8", calib=str(calib))
    m = read_model(q)
    assert any(t.type == schema.TensorType.INT8 for t in m.subgraphs[0].tensors)
    types = _op_types(q)
    prof = profile_litert(q, _feeds(q), runs=3, threads=1)
    assert sorted(r.index for r in prof.rows) == list(range(len(types)))
    assert all(r.op_type == types[r.index] and r.time_ms > 0 for r in prof.rows)
    assert prof.whole_ms > 0 and prof.ratio > 0
    _check_cuts_match_full_model(q)


def _tensor(name, shape, ttype, buf=0):
    t = schema.TensorT()
    t.name, t.shape, t.type, t.buffer = name, np.asarray(shape, np.int32), ttype, buf
    return t


def _op(model, builtin, ins, outs, opt_type=0, opts=None, custom=None):
    code = schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = builtin
    code.version, code.customCode = 1, custom
    model.operatorCodes.append(code)
    op = schema.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = len(model.operatorCodes) - 1, ins, outs
    op.builtinOptionsType, op.builtinOptions = opt_type, opts
    return op


def while_model(path):
    """x[1,4] -> RELU -> WHILE(i < 3: i += 1, v = v + v) -> y: three subgraphs, five operators."""
    F, I, B = schema.TensorType.FLOAT32, schema.TensorType.INT32, schema.TensorType.BOOL
    m = schema.ModelT()
    m.version, m.operatorCodes = 3, []
    m.buffers = [schema.BufferT() for _ in range(4)]
    for b, v in zip(m.buffers[1:], (0, 3, 1)):  # i0 = 0, the bound 3, the step 1
        b.data = np.frombuffer(np.int32(v).tobytes(), np.uint8)
    BO = schema.BuiltinOperator
    main = schema.SubGraphT()
    main.name = "main"
    main.tensors = [_tensor("x", [1, 4], F), _tensor("r", [1, 4], F), _tensor("i0", [], I, 1),
                    _tensor("i_out", [], I), _tensor("y", [1, 4], F)]
    wo = schema.WhileOptionsT()
    wo.condSubgraphIndex, wo.bodySubgraphIndex = 1, 2
    main.operators = [_op(m, BO.RELU, [0], [1]), _op(m, BO.WHILE, [2, 1], [3, 4], schema.BuiltinOptions.WhileOptions, wo)]
    main.inputs, main.outputs = [0], [4]
    cond = schema.SubGraphT()
    cond.name = "cond"
    cond.tensors = [_tensor("ci", [], I), _tensor("cv", [1, 4], F), _tensor("three", [], I, 2), _tensor("c", [], B)]
    cond.operators = [_op(m, BO.LESS, [0, 2], [3])]
    cond.inputs, cond.outputs = [0, 1], [3]
    body = schema.SubGraphT()
    body.name = "body"
    body.tensors = [_tensor("bi", [], I), _tensor("bv", [1, 4], F), _tensor("one", [], I, 3),
                    _tensor("bi2", [], I), _tensor("bv2", [1, 4], F)]
    ao = schema.AddOptionsT()
    body.operators = [_op(m, BO.ADD, [0, 2], [3], schema.BuiltinOptions.AddOptions, ao),
                      _op(m, BO.ADD, [1, 1], [4], schema.BuiltinOptions.AddOptions, ao)]
    body.inputs, body.outputs = [0, 1], [3, 4]
    m.subgraphs = [main, cond, body]
    path.write_bytes(model_to_bytes(m))
    return path


def test_control_flow_marked_not_profiled(tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    path = while_model(tmp_path / "while.tflite")
    x = np.array([[-1.0, 0.5, 2.0, -3.0]], np.float32)
    it = Interpreter(model_path=str(path))
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    np.testing.assert_allclose(it.get_tensor(it.get_output_details()[0]["index"]), np.maximum(x, 0) * 8)
    prof = profile_litert(path, {"x": x}, runs=3, threads=1)
    assert [(r.index, r.op_type) for r in prof.rows] == [(0, "RELU")] and prof.rows[0].time_ms > 0
    assert prof.num_ops == 5
    skipped = {(n.subgraph, n.index): n for n in prof.not_profiled}
    assert skipped[(0, 1)].op_type == "WHILE" and "control flow" in skipped[(0, 1)].reason
    assert {k for k in skipped} == {(0, 1), (1, 0), (2, 0), (2, 1)}
    assert "1/5 ops profiled" in prof.note() and "#1 WHILE: control flow" in prof.note()


def test_custom_op_refused(tmp_path):
    from edgeport.bench.profile_litert import _op_type, _op_names, _refusal
    from edgeport.errors import ModelFormatError

    m = schema.ModelT()
    m.version, m.operatorCodes, m.buffers = 3, [], [schema.BufferT()]
    sg = schema.SubGraphT()
    sg.tensors = [_tensor("x", [1, 4], schema.TensorType.FLOAT32), _tensor("y", [1, 4], schema.TensorType.FLOAT32)]
    sg.operators = [_op(m, schema.BuiltinOperator.CUSTOM, [0], [1], custom=b"MyOp")]
    sg.inputs, sg.outputs = [0], [1]
    m.subgraphs = [sg]
    op_type = _op_type(m, sg.operators[0], _op_names())
    assert op_type == "CUSTOM:MyOp" and _refusal(m, sg, sg.operators[0], op_type) == "custom op"
    path = tmp_path / "custom.tflite"
    path.write_bytes(model_to_bytes(m))
    with pytest.raises(ModelFormatError, match="LiteRT cannot load"):  # an unknown custom op: a clear error
        profile_ops(path, "litert", {"x": np.zeros((1, 4), np.float32)}, runs=1)


def test_cli_prints_litert_table(cnn, capsys):
    from edgeport.cli.app import main

    rc = main(["bench", str(cnn / "cnn.tflite"), "--runs", "3", "--warmup", "1", "--no-memory", "--profile-ops",
               "--threads", "1"])
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "top 7 ops" in text and "CONV_2D" in text and "FULLY_CONNECTED" in text
    assert "┃ # ┃" in text and "by op type: " in text  # operator index column and the per-type shares
    assert "not available" not in text


def test_cached_interpreters_get_new_values(cnn):
    """A second profile reuses the single-op interpreters but feeds them this run's intermediate values."""
    from ai_edge_litert.interpreter import Interpreter

    from edgeport.bench import profile_litert as pl

    path = cnn / "cnn.tflite"
    pl.clear_cache()
    profile_litert(path, _feeds(path, seed=1), runs=1, threads=1)
    (first,) = pl._CACHE.values()
    feeds = _feeds(path, seed=2)
    profile_litert(path, feeds, runs=1, threads=1)
    (second,) = pl._CACHE.values()
    assert second is first  # reused, not rebuilt
    ref = Interpreter(model_path=str(path), experimental_preserve_all_tensors=True)
    ref.allocate_tensors()
    ref.set_tensor(ref.get_input_details()[0]["index"], feeds["x"] if "x" in feeds else next(iter(feeds.values())))
    ref.invoke()
    for e in second["ops"]:
        for d, i in zip(e["it"].get_input_details(), e["ins"]):
            np.testing.assert_array_equal(e["it"].get_tensor(d["index"]), ref.get_tensor(i))
    pl.clear_cache()


def test_two_input_model(add_onnx, tmp_path):
    from edgeport.convert import convert

    path = tmp_path / "add.tflite"
    convert(str(add_onnx), str(path), verify=False)
    prof = profile_litert(path, _feeds(path), runs=3, threads=1)
    assert [(r.index, r.op_type) for r in prof.rows] == [(0, "ADD")] and prof.rows[0].time_ms > 0


def test_repeated_input_missing_bias_dynamic_batch(tmp_path):
    """x[?,4] -> MUL(x, x) -> FULLY_CONNECTED(w, no bias) -> y[?,3], fed a batch of 3."""
    F = schema.TensorType.FLOAT32
    w = np.arange(12, dtype=np.float32).reshape(3, 4) / 10
    m = schema.ModelT()
    m.version, m.operatorCodes = 3, []
    m.buffers = [schema.BufferT(), schema.BufferT()]
    m.buffers[1].data = np.frombuffer(w.tobytes(), np.uint8)
    sg = schema.SubGraphT()
    sg.tensors = [_tensor("x", [1, 4], F), _tensor("sq", [1, 4], F), _tensor("w", [3, 4], F, 1), _tensor("y", [1, 3], F)]
    for i in (0, 1, 3):
        sg.tensors[i].shapeSignature = np.asarray([-1, sg.tensors[i].shape[1]], np.int32)
    mo, fo = schema.MulOptionsT(), schema.FullyConnectedOptionsT()
    sg.operators = [_op(m, schema.BuiltinOperator.MUL, [0, 0], [1], schema.BuiltinOptions.MulOptions, mo),
                    _op(m, schema.BuiltinOperator.FULLY_CONNECTED, [1, 2, -1], [3],
                        schema.BuiltinOptions.FullyConnectedOptions, fo)]
    sg.inputs, sg.outputs = [0], [3]
    m.subgraphs = [sg]
    path = tmp_path / "fc.tflite"
    path.write_bytes(model_to_bytes(m))
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    prof = profile_litert(path, {"x": x}, runs=3, threads=1)
    assert sorted((r.index, r.op_type) for r in prof.rows) == [(0, "MUL"), (1, "FULLY_CONNECTED")]
    from edgeport.bench import profile_litert as pl

    (cached,) = pl._CACHE.values()
    fc = next(e for e in cached["ops"] if e["op_type"] == "FULLY_CONNECTED")["it"]
    (out,) = fc.get_output_details()
    np.testing.assert_allclose(fc.get_tensor(out["index"]), (x * x) @ w.T, rtol=1e-5)  # the cut ran the real FC
    pl.clear_cache()
