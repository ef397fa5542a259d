"""Tests of ONNX's backend suite that edgeport's TFLite converter does not run, each with its reason.

``EXCLUDES`` maps a regular expression (searched in the test name, e.g. ``test_abs_cpu``) to why
it is left out. These are things TFLite cannot express or that make no sense for an inference
converter; an op edgeport merely has not implemented yet is *not* excluded here: it is skipped by
the op filter of ``test_onnx_backend.py`` (and listed as unsupported by its report).

``SLOW`` names model tests that convert a large network (weights materialized from
ConstantOfShape): they still run, under the ``slow`` marker.

``OUTSIDE_REGISTRY_OK`` are ops that do not need a lowering because a pass removes or folds them.
"""

from __future__ import annotations

__all__ = ["EXCLUDES", "SLOW", "OUTSIDE_REGISTRY_OK", "reason_for"]

_STRINGS = "strings: TFLite has no string tensors in its builtin ops"
_SEQ = "sequences/optional values: no TFLite tensor type for them"
_TRAIN = "training ops: an inference converter does not lower them"
_RANDOM = "random ops: outputs cannot be compared with the reference"
_CTRL = "control flow with subgraphs (If/Loop/Scan): not lowered by edgeport"
_DTYPE = "dtype TFLite cannot hold (float64, bfloat16, float8, 4-bit, 2-bit, complex, uint16/32/64)"
_ML = "ai.onnx.ml / preview domains: not ONNX core ops"
_NO_TFLITE = "no TFLite equivalent"

EXCLUDES: dict[str, str] = {
    # strings
    r"string|strnorm|regex_full_match|_to_STRING|STRING_to|tfidf|label_encoder": _STRINGS,
    # sequences and optional
    r"sequence|optional|_seq_|test_identity_opt|loop16_seq|split_to_sequence|concat_from_sequence": _SEQ,
    # training
    r"gradient|test_adagrad|test_adam|test_momentum|test_nesterov|training|_train_": _TRAIN,
    r"test_nllloss|test_sce_|negativeloglikelihood|softmaxcrossentropy": "loss functions: training-only, " + _TRAIN,
    # random
    # ("_random" in a name like test_reduce_sum_keepdims_random means fixed random data: those run)
    r"bernoulli|test_random|multinomial|dropout_default_mask|dropout_.*_mask|training_dropout": _RANDOM,
    # control flow
    r"test_if_|test_loop|test_scan|test_range_.*_expanded|affine_grid.*expanded": _CTRL,
    # dtypes
    r"double|float64|FLOAT64|DOUBLE|bfloat16|BFLOAT16|_bf16|float8|FLOAT8|e4m3|e5m2|E4M3|E5M2|int4|INT4|uint4|UINT4"
    r"|float4|FLOAT4|e2m1|E2M1|int2|INT2|uint2|UINT2|_uint16|_uint32|_uint64|UINT16|UINT32|UINT64|complex": _DTYPE,
    # other domains
    r"ai_onnx_ml|test_ml_|_ml_|array_feature_extractor|binarizer|tree_ensemble|svm|onehotencoder": _ML,
    # no TFLite counterpart / out of scope for an edge converter
    r"dft|stft|melweightmatrix|hann_?window|hamming_?window|blackman_?window": (
        _NO_TFLITE + " (signal ops; window length is a run-time value, so the output shape is data-dependent)"),
    r"test_det_|test_unique|nonzero|compress_|test_compress|col2im|deform_conv|roialign|roi_align|nonmaxsuppression"
    r"|center_crop_pad.*expanded|test_image_decoder|test_regex|test_attention.*_expanded|rotary_embedding.*expanded":
        _NO_TFLITE + " (data-dependent output shape, or decoded/expanded forms outside scope)",
    r"qlinear|quantizelinear|dequantizelinear|dynamicquantizelinear|matmulinteger|convinteger|test_q": (
        "quantized ONNX ops: edgeport quantizes with its own compress step, not from QDQ graphs"),
    r"test_cast_.*(FLOAT16_to|to_FLOAT16)|castlike_.*FLOAT16|test_cast_no_saturate|saturate": (
        "float16 I/O and saturating casts: TFLite float16 tensors are weights-only"),
    # pytorch-operator Add tests export torch.empty()-style inputs: float64 garbage (5.9e+199, 1.4e+228 next to
    # denormals like 6.9e-310) that float32 cannot hold (inf / 0), checked with numpy on test_data_set_0
    r"test_operator_add_broadcast|test_operator_add_size1_(right_|singleton_)?broadcast|test_operator_addconstant":
        "float64 inputs with uninitialized values (|x| up to 1e+228 and denormals) that float32 cannot hold",
    # converts, but LiteRT's XNNPack delegate refuses to prepare the result ("failed to reshape"): an error at
    # load time that edgeport's verification reports, never a wrong number
    r"test_causal_conv_with_state_b1_c1_degenerate_expanded":
        "LiteRT's XNNPack delegate fails to prepare this degenerate causal conv (reported at load, not silently)",
    r"_empty_set|zero_size|_empty_input|_empty_axes_input_noop|test_tri[lu]_zero":
        "zero-size tensors: not representable in TFLite",
}

SLOW: tuple[str, ...] = (
    "test_bvlc_alexnet_cpu", "test_vgg19_cpu", "test_zfnet512_cpu", "test_densenet121_cpu",
    "test_inception_v1_cpu", "test_inception_v2_cpu", "test_resnet50_cpu",
)

OUTSIDE_REGISTRY_OK: frozenset[str] = frozenset({
    "Constant", "ConstantOfShape", "Identity", "Dropout", "BatchNormalization",
})


def reason_for(test_name: str) -> str | None:
    """The exclude reason for a test name, or None."""
    import re

    for pattern, reason in EXCLUDES.items():
        if re.search(pattern, test_name):
            return reason
    return None
