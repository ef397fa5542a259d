"""Round-2 op coverage: trigonometry (accuracy against numpy float64 on wide ranges, and against ORT),
bitwise ops and BitShift, GatherND / ScatterND / ScatterElements, and the refusals of unsupported variants."""

import numpy as np
import pytest
from onnx import TensorProto as TP
from onnx import helper
from onnx.reference import ReferenceEvaluator

from edgeport.errors import UnsupportedOpError
from test_tflite_util import assert_matches_ort, convert_bytes, litert_run, make_model, tflite_ops

rng = np.random.default_rng(2)
_SIGN = rng.choice([-1.0, 1.0], 1500)


def _wide(op):
    """Inputs spanning the op's domain: tiny magnitudes (cancellation), the edges, and huge values."""
    if op in ("Asin", "Acos", "Atanh"):
        x = [rng.uniform(-1, 1, 2000), 10.0 ** rng.uniform(-30, 0, 1500) * _SIGN, [0, 1, -1, 0.9999999, 1e-7]]
    elif op == "Acosh":
        x = [1 + 10.0 ** rng.uniform(-7, 0, 1500), 10.0 ** rng.uniform(0, 38, 1500), [1.0, 1.0000001]]
    elif op in ("Sinh", "Cosh"):
        x = [rng.uniform(-89, 89, 2000), 10.0 ** rng.uniform(-30, 1.9, 1500) * _SIGN, [0.0]]
    elif op == "Tan":  # and points 1e-3 from the poles, where SIN/COS kernels alone lose ~1e-4
        x = [rng.uniform(-2000, 2000, 2000), np.pi / 2 * np.arange(-41, 42, 2) + 1e-3, [0.0, 1e-20]]
    else:
        x = [10.0 ** rng.uniform(-30, 38, 2000) * rng.choice([-1, 1], 2000), rng.uniform(-5, 5, 1000), [0.0]]
    return np.concatenate(x).astype(np.float32)


_NUMPY = {"Atan": np.arctan, "Asin": np.arcsin, "Acos": np.arccos, "Tan": np.tan, "Sinh": np.sinh,
          "Cosh": np.cosh, "Asinh": np.arcsinh, "Acosh": np.arccosh, "Atanh": np.arctanh}


@pytest.mark.parametrize("op", list(_NUMPY))
def test_trig_accuracy_against_numpy_float64(op):
    x = _wide(op)
    m = make_model([helper.make_node(op, ["x"], ["y"])], [("x", [len(x)])], [("y", [len(x)])])
    got = litert_run(convert_bytes(m), {"x": x})["y"]
    with np.errstate(all="ignore"):
        want = _NUMPY[op](x.astype(np.float64))
    fin = np.isfinite(want) & (np.abs(want) < 3e38)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[fin], want[fin], rtol=1e-5, atol=0)  # measured worst: 3.3e-6 (Sinh/Cosh)


@pytest.mark.parametrize("op", list(_NUMPY))
def test_trig_matches_ort(op):
    lo = {"Acosh": 1.0}.get(op, -0.99 if op in ("Asin", "Acos", "Atanh") else -3.0)
    hi = 0.99 if op in ("Asin", "Acos", "Atanh") else 3.0 + lo
    x = rng.uniform(lo, hi, (3, 40)).astype(np.float32)
    m = make_model([helper.make_node(op, ["x"], ["y"])], [("x", [3, 40])], [("y", None)])
    blob = assert_matches_ort(m, {"x": x}, rtol=1e-4, atol=1e-6)
    assert "ATAN2" in tflite_ops(blob) or op not in ("Atan", "Asin", "Acos")


def test_trig_refuses_non_float32():
    m = make_model([helper.make_node("Tan", ["x"], ["y"])], [("x", [4], TP.DOUBLE)], [("y", [4], TP.DOUBLE)])
    with pytest.raises(UnsupportedOpError, match="dtype"):
        convert_bytes(m)


def _ref_compare(m, feeds):
    """Convert, run LiteRT, compare exactly with onnx.reference (ORT lacks several int kernels)."""
    blob = convert_bytes(m)
    got = litert_run(blob, feeds)
    want = ReferenceEvaluator(m).run(None, feeds)
    for o, w in zip(m.graph.output, want):
        assert got[o.name].dtype == w.dtype, (o.name, got[o.name].dtype, w.dtype)
        np.testing.assert_array_equal(got[o.name], w, err_msg=o.name)
    return blob


_INT = {TP.INT8: np.int8, TP.UINT8: np.uint8, TP.INT16: np.int16, TP.INT32: np.int32}


@pytest.mark.parametrize("et", list(_INT))
def test_bitwise_and_or_xor_not_full_range(et):
    dt = _INT[et]
    info = np.iinfo(dt)
    a = rng.integers(info.min, info.max, (3, 4, 5), endpoint=True).astype(dt)
    b = rng.integers(info.min, info.max, (4, 5), endpoint=True).astype(dt)  # broadcast
    a.flat[:4] = [info.min, info.max, 0, -1 if info.min else 1]
    nodes = [helper.make_node(op, ["a", "b"], [op.lower()]) for op in ("BitwiseAnd", "BitwiseOr", "BitwiseXor")]
    nodes.append(helper.make_node("BitwiseNot", ["a"], ["not"]))
    m = make_model(nodes, [("a", [3, 4, 5], et), ("b", [4, 5], et)],
                   [("bitwiseand", None), ("bitwiseor", None), ("bitwisexor", None), ("not", None)], opset=18)
    blob = _ref_compare(m, {"a": a, "b": b})
    assert "BITWISE_XOR" in tflite_ops(blob)


@pytest.mark.parametrize("et", list(_INT))
@pytest.mark.parametrize("direction", ["LEFT", "RIGHT"])
def test_bitshift_including_out_of_range_shifts(et, direction):
    dt = _INT[et]
    info = np.iinfo(dt)
    bits = info.bits
    x = rng.integers(info.min, info.max, 64, endpoint=True).astype(dt)
    s = np.arange(-2, bits + 2).astype(dt) if info.min else np.arange(0, bits + 2).astype(dt)
    s = np.resize(s, 64).astype(dt)
    m = make_model([helper.make_node("BitShift", ["x", "s"], ["y"], direction=direction)],
                   [("x", [64], et), ("s", [64], et)], [("y", None)], opset=18 if not info.min else 28)
    if not info.min:  # ORT has BitShift for unsigned types only: check against it too
        assert_matches_ort(m, {"x": x, "s": s}, rtol=0, atol=0)
    _ref_compare(m, {"x": x, "s": s})


def test_gather_nd_negative_runtime_and_const_indices():
    data = rng.standard_normal((3, 4, 5)).astype(np.float32)
    idx = np.array([[[-1, 0], [2, -4]], [[0, 3], [1, 1]]], np.int64)
    m = make_model([helper.make_node("GatherND", ["d", "i"], ["y"]), helper.make_node("GatherND", ["d", "c"], ["z"])],
                   [("d", [3, 4, 5]), ("i", [2, 2, 2], TP.INT64)], [("y", None), ("z", None)],
                   {"c": np.array([[2], [-3]], np.int64)})
    blob = assert_matches_ort(m, {"d": data, "i": idx})
    assert tflite_ops(blob).count("GATHER_ND") == 2


@pytest.mark.parametrize("dshape,ishape,b", [((2, 3), (2, 1), 1), ((2, 3, 4, 5), (2, 3, 2, 2), 2)])
def test_gather_nd_batch_dims(dshape, ishape, b):
    data = rng.standard_normal(dshape).astype(np.float32)
    k = ishape[-1]
    idx = np.stack([rng.integers(-d, d, ishape[:-1]) for d in dshape[b:b + k]], -1).astype(np.int64)
    m = make_model([helper.make_node("GatherND", ["d", "i"], ["y"], batch_dims=b)],
                   [("d", list(dshape)), ("i", list(ishape), TP.INT64)], [("y", None)])
    assert_matches_ort(m, {"d": data, "i": idx})


@pytest.mark.parametrize("exclusive", [0, 1])
@pytest.mark.parametrize("reverse", [0, 1])
@pytest.mark.parametrize("et", [TP.FLOAT, TP.INT32, TP.DOUBLE])
def test_cumprod_zeros_negatives(exclusive, reverse, et):
    # exp(cumsum(log x)) would give NaN here: the unrolled product must be exact
    x = rng.integers(-3, 4, (2, 5, 3)).astype({TP.FLOAT: np.float32, TP.INT32: np.int32, TP.DOUBLE: np.float64}[et])
    m = make_model([helper.make_node("CumProd", ["x", "a"], ["y"], exclusive=exclusive, reverse=reverse)],
                   [("x", [2, 5, 3], et)], [("y", None)], {"a": np.array(-2, np.int64)}, opset=26)
    # float64 I/O becomes float32 in the .tflite (as for every op); these small integers stay exact
    got = litert_run(convert_bytes(m), {"x": x.astype(np.float32) if et == TP.DOUBLE else x})["y"]
    want = ReferenceEvaluator(m).run(None, {"x": x})[0]
    np.testing.assert_array_equal(got, want)


def test_cumprod_long_axis_refused():
    m = make_model([helper.make_node("CumProd", ["x", "a"], ["y"])], [("x", [100])], [("y", None)],
                   {"a": np.array(0, np.int64)}, opset=26)
    with pytest.raises(UnsupportedOpError, match="axis_longer"):
        convert_bytes(m)


@pytest.mark.parametrize("reduction", ["none", "add"])
def test_scatter_nd_runtime_indices(reduction):
    data = rng.standard_normal((4, 3, 2)).astype(np.float32)
    upd = rng.standard_normal((2, 3, 2)).astype(np.float32)
    idx = np.array([[-1], [1]], np.int64)
    m = make_model([helper.make_node("ScatterND", ["d", "i", "u"], ["y"], reduction=reduction)],
                   [("d", [4, 3, 2]), ("i", [2, 1], TP.INT64), ("u", [2, 3, 2])], [("y", None)], opset=18)
    blob = assert_matches_ort(m, {"d": data, "i": idx, "u": upd})
    assert "SCATTER_ND" in tflite_ops(blob)


@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("const_idx", [False, True])
def test_scatter_elements_axes_negative_indices(axis, const_idx):
    data = rng.standard_normal((3, 4)).astype(np.float32)
    upd = rng.standard_normal((2, 3)).astype(np.float32)
    n = data.shape[axis]
    if axis == 0:  # distinct targets per column (duplicates are undefined for reduction "none"), negative
        idx = np.array([[0, 1, 2], [2, 0, 1]], np.int64) - n
    else:  # distinct per row, one row negative
        idx = np.stack([rng.permutation(n)[:3] - n, rng.permutation(n)[:3]]).astype(np.int64)
    inputs = [("d", [3, 4]), ("u", [2, 3])] + ([] if const_idx else [("i", [2, 3], TP.INT64)])
    m = make_model([helper.make_node("ScatterElements", ["d", "i", "u"], ["y"], axis=axis)], inputs, [("y", None)],
                   {"i": idx} if const_idx else {}, opset=18)
    feeds = {"d": data, "u": upd} | ({} if const_idx else {"i": idx})
    assert_matches_ort(m, feeds)


def test_scatter_elements_add_duplicates_and_mul_refused():
    data = rng.standard_normal((2, 5)).astype(np.float32)
    upd = rng.standard_normal((2, 3)).astype(np.float32)
    idx = np.array([[1, 1, 4], [0, 0, 0]], np.int64)
    m = make_model([helper.make_node("ScatterElements", ["d", "i", "u"], ["y"], axis=1, reduction="add")],
                   [("d", [2, 5]), ("i", [2, 3], TP.INT64), ("u", [2, 3])], [("y", None)], opset=18)
    assert_matches_ort(m, {"d": data, "i": idx, "u": upd})
    m = make_model([helper.make_node("ScatterElements", ["d", "i", "u"], ["y"], axis=1, reduction="mul")],
                   [("d", [2, 5]), ("i", [2, 3], TP.INT64), ("u", [2, 3])], [("y", None)], opset=18)
    with pytest.raises(UnsupportedOpError, match="reduction=mul"):
        convert_bytes(m)


@pytest.mark.parametrize("axes", [[0, 2, 3], [1], [0, 1, 2, 3]])
def test_mean_variance_normalization(axes):
    x = (rng.standard_normal((2, 3, 4, 5)) * 3 + 50).astype(np.float32)  # large mean: no E[x^2]-E[x]^2 cancellation
    m = make_model([helper.make_node("MeanVarianceNormalization", ["x"], ["y"], axes=axes)], [("x", [2, 3, 4, 5])],
                   [("y", None)])
    assert_matches_ort(m, {"x": x}, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("opset,per", [(21, "channel")])
@pytest.mark.parametrize("const_affine", [False, True])
def test_group_normalization(opset, per, const_affine):
    c, g = 6, 3
    n_aff = g if per == "group" else c
    x = rng.standard_normal((2, c, 4, 3)).astype(np.float32)
    sc = rng.standard_normal(n_aff).astype(np.float32)
    bi = rng.standard_normal(n_aff).astype(np.float32)
    inputs = [("x", [2, c, 4, 3])] + ([] if const_affine else [("s", [n_aff]), ("b", [n_aff])])
    m = make_model([helper.make_node("GroupNormalization", ["x", "s", "b"], ["y"], num_groups=g, epsilon=1e-3)],
                   inputs, [("y", [2, c, 4, 3])], {"s": sc, "b": bi} if const_affine else {}, opset=opset)
    feeds = {"x": x} | ({} if const_affine else {"s": sc, "b": bi})
    got = litert_run(convert_bytes(m), feeds)["y"]
    got = got if got.shape == x.shape else got.transpose(0, 3, 1, 2)
    want = ReferenceEvaluator(m).run(None, feeds)[0]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("group,cin,cout", [(1, 3, 4), (3, 3, 6), (2, 4, 6)])
@pytest.mark.parametrize("with_bias", [False, True])
def test_conv_runtime_weights(group, cin, cout, with_bias):
    # weights (and bias) as graph inputs: a run-time TRANSPOSE to the filter layout, then CONV_2D / DEPTHWISE
    ws = [cout, cin // group, 3, 2]
    ins = ["x", "w"] + (["b"] if with_bias else [])
    m = make_model([helper.make_node("Conv", ins, ["y"], group=group, pads=[1, 0, 1, 1], strides=[1, 2])],
                   [("x", [1, cin, 6, 7]), ("w", ws)] + ([("b", [cout])] if with_bias else []), [("y", None)])
    feeds = {"x": rng.standard_normal((1, cin, 6, 7)).astype(np.float32),
             "w": rng.standard_normal(ws).astype(np.float32)}
    if with_bias:
        feeds["b"] = rng.standard_normal(cout).astype(np.float32)
    blob = assert_matches_ort(m, feeds)  # 4-D weights fed NHWC (OHWI) when the converted model wants that
    assert {"CONV_2D", "DEPTHWISE_CONV_2D"} & set(tflite_ops(blob))


@pytest.mark.parametrize("eq,shapes", [
    ("ij->ji", [(3, 4)]), ("ij->i", [(3, 4)]), ("i,i", [(5,), (5,)]), ("bij, bjk -> bik", [(5, 2, 3), (5, 3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]), ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]), ("...ij,...jk->...ik",
    [(2, 3, 4), (2, 4, 5)]), ("ij,kj->ik", [(3, 4), (5, 4)]), ("abc,cd->dba", [(2, 3, 4), (4, 5)]),
    ("ij,k->ikj", [(2, 3), (4,)]), ("ijk,jl->l", [(2, 3, 4), (3, 5)]), ("bn,anm->bam", [(2, 3), (4, 3, 5)]),
])
def test_einsum_matches_ort(eq, shapes):
    names = ["a", "b"][:len(shapes)]
    m = make_model([helper.make_node("Einsum", names, ["y"], equation=eq)],
                   [(n, list(s)) for n, s in zip(names, shapes)], [("y", None)])
    feeds = {n: rng.standard_normal(s).astype(np.float32) for n, s in zip(names, shapes)}
    assert_matches_ort(m, feeds, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("eq,shapes,reason", [("...ii->...i", [(3, 5, 5)], "repeated_letter"),
                                              ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)], "operands:3"),
                                              ("ij,ij->ij", [(1, 3), (2, 3)], "broadcast_dims")])
def test_einsum_refusals(eq, shapes, reason):
    names = ["a", "b", "c"][:len(shapes)]
    m = make_model([helper.make_node("Einsum", names, ["y"], equation=eq)],
                   [(n, list(s)) for n, s in zip(names, shapes)], [("y", None)])
    with pytest.raises(UnsupportedOpError, match=reason):
        convert_bytes(m)


@pytest.mark.parametrize("size,axes", [([3, 4, 5], None), ([20, 10, 3], None), ([7, 12, 3], None), ([5, 6], [0, 1]),
                                       ([5, 6], [-3, -2]), ([2, 9], [1, 2])])
def test_center_crop_pad_against_reference(size, axes):
    x = rng.standard_normal((10, 7, 3)).astype(np.float32)
    kw = {} if axes is None else {"axes": axes}
    m = make_model([helper.make_node("CenterCropPad", ["x", "s"], ["y"], **kw)], [("x", [10, 7, 3])], [("y", None)],
                   {"s": np.array(size, np.int64)}, opset=18)
    got = litert_run(convert_bytes(m), {"x": x})["y"]
    np.testing.assert_array_equal(got, ReferenceEvaluator(m).run(None, {"x": x})[0])


def test_center_crop_pad_runtime_shape_refused():
    m = make_model([helper.make_node("CenterCropPad", ["x", "s"], ["y"])],
                   [("x", [4, 4]), ("s", [2], TP.INT64)], [("y", [2, 2])], opset=18)
    with pytest.raises(UnsupportedOpError, match="nonconst_shape"):
        convert_bytes(m)


@pytest.mark.parametrize("p", [1, 2, 3])
@pytest.mark.parametrize("attrs", [{}, {"auto_pad": "SAME_UPPER"}, {"auto_pad": "SAME_LOWER"},
                                   {"pads": [1, 0, 2, 1]}, {"strides": [2, 3]}, {"dilations": [2, 1]}])
def test_lp_pool(p, attrs):
    x = rng.standard_normal((1, 3, 9, 8)).astype(np.float32)
    m = make_model([helper.make_node("LpPool", ["x"], ["y"], kernel_shape=[3, 2], p=p, **attrs)],
                   [("x", [1, 3, 9, 8])], [("y", None)], opset=18)
    want = ReferenceEvaluator(m).run(None, {"x": x})[0]
    got = litert_run(convert_bytes(m), {"x": x})["y"].transpose(0, 3, 1, 2)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


@pytest.mark.filterwarnings("ignore:divide by zero")  # onnx.reference's own 2 / (1 - 1) for a size-1 axis
@pytest.mark.parametrize("size,align", [([2, 3, 4, 5], 0), ([2, 3, 4, 5], 1), ([2, 1, 3, 4, 5], 0),
                                        ([2, 1, 3, 4, 5], 1), ([1, 1, 1, 6], 1)])
def test_affine_grid(size, align):
    r = len(size) - 2
    th = rng.standard_normal((size[0], r, r + 1)).astype(np.float32)
    m = make_model([helper.make_node("AffineGrid", ["t", "s"], ["g"], align_corners=align)],
                   [("t", [size[0], r, r + 1])], [("g", None)], {"s": np.array(size, np.int64)}, opset=20)
    got = litert_run(convert_bytes(m), {"t": th})["g"]
    want = ReferenceEvaluator(m).run(None, {"t": th})[0]
    got = got if got.shape == want.shape else got.transpose(0, 3, 1, 2)  # 4-D outputs come out NHWC
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_max_unpool_after_max_pool_matches_ort():
    x = rng.standard_normal((1, 2, 4, 6)).astype(np.float32)
    m = make_model([helper.make_node("MaxPool", ["x"], ["p", "i"], kernel_shape=[2, 2], strides=[2, 2]),
                    helper.make_node("MaxUnpool", ["p", "i"], ["y"], kernel_shape=[2, 2], strides=[2, 2])],
                   [("x", [1, 2, 4, 6])], [("y", None)])
    # MaxPool's indices output is refused by the converter: feed MaxUnpool the indices as an input instead
    ref = ReferenceEvaluator(m).run(["p", "i"], {"x": x})
    m2 = make_model([helper.make_node("MaxUnpool", ["p", "i"], ["y"], kernel_shape=[2, 2], strides=[2, 2])],
                    [("p", [1, 2, 2, 3]), ("i", [1, 2, 2, 3], TP.INT64)], [("y", None)])
    blob = assert_matches_ort(m2, {"p": ref[0], "i": ref[1]}, rtol=0, atol=0)
    assert "SCATTER_ND" in tflite_ops(blob)


def test_max_unpool_output_shape_pads_the_inferred_shape():
    # indices address the inferred 4x4 output; output_shape 5x5 zero-pads its ends (ONNX reference / backend test)
    xt = np.array([[[[5, 6], [7, 8]]]], np.float32)
    xi = np.array([[[[5, 7], [13, 15]]]], np.int64)
    m = make_model([helper.make_node("MaxUnpool", ["x", "i", "s"], ["y"], kernel_shape=[2, 2], strides=[2, 2])],
                   [("x", [1, 1, 2, 2]), ("i", [1, 1, 2, 2], TP.INT64)], [("y", [1, 1, 5, 5])],
                   {"s": np.array([1, 1, 5, 5], np.int64)})
    got = litert_run(convert_bytes(m), {"x": xt, "i": xi})["y"]
    np.testing.assert_array_equal(got.reshape(5, 5), ReferenceEvaluator(m).run(None, {"x": xt, "i": xi})[0][0, 0])


@pytest.mark.parametrize("ctm", ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                                 "tf_half_pixel_for_nn"])
@pytest.mark.parametrize("nm", ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"])
@pytest.mark.parametrize("scales", [[1.0, 1.0, 0.6, 1.7], [1.0, 1.0, 2.0, 3.0]])
def test_resize_nearest_all_modes_match_ort(ctm, nm, scales):
    x = rng.standard_normal((1, 2, 5, 4)).astype(np.float32)
    m = make_model([helper.make_node("Resize", ["x", "", "s"], ["y"], mode="nearest",
                                     coordinate_transformation_mode=ctm, nearest_mode=nm)],
                   [("x", [1, 2, 5, 4])], [("y", None)], {"s": np.array(scales, np.float32)})
    assert_matches_ort(m, {"x": x}, rtol=0, atol=0)
