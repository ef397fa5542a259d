"""Each IR pass alone on a tiny inline model: op types after the pass, numbers vs ONNX Runtime."""

import numpy as np
import onnx
import pytest
from onnx import helper

from edgeport.convert.frontend_onnx import onnx_to_ir
from edgeport.errors import ConversionError
from edgeport.ir.passes import get_pass, run_passes
from test_tflite_util import assert_matches_ort, make_model, parse

rng = np.random.default_rng(5)


def test_remove_identity_dropout_and_dead():
    m = parse("""<ir_version: 8, opset_import: ["" : 13]>
        g (float[2,3] x) => (float[2,3] y) {
            a = Identity(x)
            b, mask = Dropout(a)
            dead = Exp(x)
            y = Relu(b)
        }""")
    g = onnx_to_ir(m)
    r = get_pass("remove_identity")(g)
    assert r.changes == {"removed": {"Identity": 1, "Dropout": 1}}
    r = get_pass("remove_dead")(r.graph)
    assert [n.op_type for n in r.graph.nodes] == ["Relu"] and r.changes == {"removed_nodes": 1}
    assert r.graph.nodes[0].inputs[0].name == "x"


def test_fold_shape_chain_into_reshape_constant():
    m = parse("""<ir_version: 8, opset_import: ["" : 13]>
        g (float[2,3,4] x) => (float[2,12] y) {
            s = Shape(x)
            i0 = Constant<value = int64[1] {0}>()
            n = Gather(s, i0)
            m1 = Constant<value = int64[1] {-1}>()
            shp = Concat<axis = 0>(n, m1)
            r0 = Constant<value = int64 {0}>()
            r1 = Constant<value = int64 {3}>()
            r2 = Constant<value = int64 {1}>()
            r = Range(r0, r1, r2)
            y = Reshape(x, shp)
        }""")
    g = onnx_to_ir(m)
    r = get_pass("fold_constants")(g)
    assert r.graph.op_counts() == {"Reshape": 1}
    assert r.graph.nodes[0].inputs[1].const.tolist() == [2, -1]
    assert r.changes["folded"]["Shape"] == 1 and r.changes["folded"]["Range"] == 1
    assert_matches_ort(m, {"x": rng.standard_normal((2, 3, 4)).astype(np.float32)})


def test_fold_constant_of_shape_weights():
    m = make_model([helper.make_node("ConstantOfShape", ["ws"], ["w"], value=helper.make_tensor("v", 1, [1], [0.5])),
                    helper.make_node("Conv", ["x", "w"], ["y"])],
                   [("x", [1, 2, 5, 5])], [("y", None)], {"ws": np.array([3, 2, 3, 3], np.int64)})
    g = onnx_to_ir(m)
    r = get_pass("fold_constants")(g)
    assert r.graph.op_counts() == {"Conv": 1} and r.graph.nodes[0].inputs[1].const.shape == (3, 2, 3, 3)


def test_fold_batchnorm_into_conv_and_gemm_and_standalone():
    c = 4
    bn = lambda p: {f"{p}s": rng.uniform(0.5, 1.5, c).astype(np.float32), f"{p}b": rng.standard_normal(c).astype(np.float32),
                    f"{p}m": rng.standard_normal(c).astype(np.float32), f"{p}v": rng.uniform(0.5, 2, c).astype(np.float32)}
    inits = {"w": rng.standard_normal((c, 3, 3, 3)).astype(np.float32), **bn("a"), **bn("c")}
    m = make_model([
        helper.make_node("Conv", ["x", "w"], ["h"], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["h", "as", "ab", "am", "av"], ["bnh"], epsilon=1e-3),
        helper.make_node("Add", ["bnh", "bnh"], ["s"]),
        helper.make_node("BatchNormalization", ["s", "cs", "cb", "cm", "cv"], ["y"]),  # producer has 2 users? no: Add
    ], [("x", [1, 3, 6, 6])], [("y", None)], inits)
    g = onnx_to_ir(m)
    r = get_pass("fold_batchnorm")(g)
    assert r.changes == {"folded": 1, "decomposed": 1}
    assert r.graph.op_counts() == {"Conv": 1, "Add": 2, "Mul": 1}
    assert_matches_ort(m, {"x": rng.standard_normal((1, 3, 6, 6)).astype(np.float32)}, atol=1e-4)


def test_fuse_activations():
    inits = {"w": rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "lo": np.float32(0), "hi": np.float32(6),
             "fc": rng.standard_normal((5, 4)).astype(np.float32)}
    m = make_model([
        helper.make_node("Conv", ["x", "w"], ["h"]), helper.make_node("Clip", ["h", "lo", "hi"], ["r6"]),
        helper.make_node("Add", ["r6", "r6"], ["a"]), helper.make_node("Relu", ["a"], ["ar"]),
        helper.make_node("ReduceMean", ["ar"], ["p"], axes=[2, 3], keepdims=0),
        helper.make_node("Gemm", ["p", "fc"], ["g"], transB=1), helper.make_node("Relu", ["g"], ["y"]),
    ], [("x", [1, 3, 6, 6])], [("y", None)], inits, opset=13)
    g = onnx_to_ir(m)
    r = get_pass("fuse_activations")(g)
    assert r.changes == {"fused": {"Conv+RELU6": 1, "Add+RELU": 1, "Gemm+RELU": 1}}
    assert "Relu" not in r.graph.op_counts() and r.graph.outputs[0].name == "y"
    assert_matches_ort(m, {"x": rng.standard_normal((1, 3, 6, 6)).astype(np.float32)})


def test_fuse_gelu_erf_pattern():
    m = parse("""<ir_version: 8, opset_import: ["" : 13]>
        g (float[2,8] x) => (float[2,8] y) {
            s2 = Constant<value = float {1.4142135}>()
            one = Constant<value = float {1.0}>()
            half = Constant<value = float {0.5}>()
            d = Div(x, s2)
            e = Erf(d)
            a = Add(e, one)
            m = Mul(x, a)
            y = Mul(m, half)
        }""")
    g = onnx_to_ir(m)
    r = run_passes(g, ["fuse_gelu"])
    assert r.op_counts() == {"Gelu": 1} and r.outputs[0].name == "y"
    assert_matches_ort(m, {"x": rng.standard_normal((2, 8)).astype(np.float32)}, atol=1e-5)


def test_infer_shapes_unpinnable_dim_names_input_and_dim():
    m = parse("""<ir_version: 8, opset_import: ["" : 13]>
        g (float[N,3,H,W] img) => (float[N,3,H,W] y) { y = Relu(img) }""")
    with pytest.raises(ConversionError, match=r"input 'img' has dynamic dim 2 \('H'\)") as e:
        onnx_to_ir(m)
    assert "--input-shape img:" in e.value.hint
    g = onnx_to_ir(m, ["img:1,3,8,8"])
    run_passes(g, ["infer_shapes"])
    assert g.outputs[0].shape == (1, 3, 8, 8)


def test_pass_failure_names_pass_and_predecessors():
    from edgeport.ir.passes import register_pass

    @register_pass("_explode")
    def _explode(graph):
        raise RuntimeError("boom")

    g = onnx_to_ir(parse("""<ir_version: 8, opset_import: ["" : 13]>
        g (float[2] x) => (float[2] y) { y = Relu(x) }"""))
    with pytest.raises(ConversionError, match=r"IR pass '_explode' failed: RuntimeError: boom \(after passes: remove_identity\)"):
        run_passes(g, ["remove_identity", "_explode"])


@pytest.mark.parametrize("op", ["Gemm", "MatMul"])
def test_fold_batchnorm_into_gemm_and_matmul(op):
    c = 5
    inits = {"w": rng.standard_normal((6, c)).astype(np.float32), "b": rng.standard_normal(c).astype(np.float32),
             "s": rng.uniform(0.5, 1.5, c).astype(np.float32), "o": rng.standard_normal(c).astype(np.float32),
             "m": rng.standard_normal(c).astype(np.float32), "v": rng.uniform(0.5, 2, c).astype(np.float32)}
    ins = ["x", "w", "b"] if op == "Gemm" else ["x", "w"]
    m = make_model([helper.make_node(op, ins, ["h"]),
                    helper.make_node("BatchNormalization", ["h", "s", "o", "m", "v"], ["y"])],
                   [("x", [3, 6])], [("y", None)], inits)
    g = onnx_to_ir(m)
    r = get_pass("fold_batchnorm")(g)
    assert r.changes == {"folded": 1} and "BatchNormalization" not in r.graph.op_counts()
    assert r.graph.outputs[0].name == "y"
    assert_matches_ort(m, {"x": rng.standard_normal((3, 6)).astype(np.float32)}, atol=1e-4)
