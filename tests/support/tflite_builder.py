"""The one TFLite FlatBuffer builder of the test suite (ModelT object API of ai_edge_litert's schema, no TensorFlow).

Two levels:

- Low level, for hand-made (also deliberately malformed) models: :func:`tensor`, :func:`buffer`, :func:`opcode`,
  :func:`op`, :func:`signature` and :func:`build_model` (tensors, buffers, opcodes, operators as given).
- :class:`TFLiteBuilder`, for real networks: ``input``, ``conv`` (also depthwise), ``pool``, ``mean_hw``,
  ``reshape``, ``fc``, ``add``, ``concat``, ``softmax``, ``finish``; seeded He-initialised weights.

Recipes used by the tests (each returns what the test needs to compute the reference answer):

- :func:`fc_softmax_model`: x[1,4] -> FULLY_CONNECTED(W[3,4], b[3]) -> SOFTMAX -> probs[1,3]; returns (w, b).
- :func:`conv_model`: image[1,8,8,3] NHWC -> CONV_2D(W[4,3,3,3], b[4], VALID) -> features[1,6,6,4]; returns (w, b).
- :func:`fc_add_model`: y = FULLY_CONNECTED(x, w, b) + c with a "serving_default" signature; :func:`fc_add_reference`.
- :func:`relu_model`: x[1,n] -> RELU -> y[1,n].
- :func:`small_cnn`, :func:`mobilenet_like`: small float CNNs for the quantizer.
"""

from __future__ import annotations

from pathlib import Path

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as S

__all__ = [
    "S", "tensor", "buffer", "opcode", "op", "signature", "model_bytes", "build_model", "TFLiteBuilder",
    "fc_softmax_model", "conv_model", "fc_add_model", "fc_add_reference", "relu_model", "small_cnn", "mobilenet_like",
]

F32 = S.TensorType.FLOAT32
ACT = {None: 0, "relu": S.ActivationFunctionType.RELU, "relu6": S.ActivationFunctionType.RELU6}
_NP_TO_TYPE = {np.dtype(np.float32): S.TensorType.FLOAT32, np.dtype(np.float16): S.TensorType.FLOAT16,
               np.dtype(np.int32): S.TensorType.INT32, np.dtype(np.int64): S.TensorType.INT64,
               np.dtype(np.int8): S.TensorType.INT8, np.dtype(np.uint8): S.TensorType.UINT8}


# ---------------------------------------------------------------- low level
def tensor(name, shape, buffer, sig=None, ttype=F32) -> "S.TensorT":
    """A tensor reading ``buffer`` (0: the empty buffer of activations); ``sig``: its shapeSignature (-1 = dynamic)."""
    t = S.TensorT()
    t.name, t.shape, t.type, t.buffer = name, list(shape), ttype, buffer
    if sig is not None:
        t.shapeSignature = list(sig)
    return t


def buffer(arr=None) -> "S.BufferT":
    """A buffer holding ``arr``'s bytes (empty when None)."""
    b = S.BufferT()
    if arr is not None:
        b.data = np.frombuffer(np.ascontiguousarray(arr).tobytes(), dtype=np.uint8)
    return b


def opcode(code) -> "S.OperatorCodeT":
    """An operator code for builtin ``code`` (version 1)."""
    oc = S.OperatorCodeT()
    oc.builtinCode = code
    oc.deprecatedBuiltinCode = min(code, 127)
    oc.version = 1
    return oc


def op(opcode_index, inputs, outputs, opt_type=0, opts=None) -> "S.OperatorT":
    """An operator (inputs/outputs are tensor indices, -1 for an absent optional input)."""
    o = S.OperatorT()
    o.opcodeIndex, o.inputs, o.outputs = opcode_index, list(inputs), list(outputs)
    o.builtinOptionsType, o.builtinOptions = opt_type, opts
    return o


def signature(key: str, inputs: dict[str, int], outputs: dict[str, int], subgraph: int = 0) -> "S.SignatureDefT":
    """A SignatureDef mapping names to tensor indices."""
    sig = S.SignatureDefT()
    sig.signatureKey, sig.subgraphIndex = key, subgraph

    def maps(d):
        out = []
        for name, idx in d.items():
            m = S.TensorMapT()
            m.name, m.tensorIndex = name, idx
            out.append(m)
        return out

    sig.inputs, sig.outputs = maps(inputs), maps(outputs)
    return sig


def model_bytes(model: "S.ModelT") -> bytes:
    """Serialize with the plain FlatBuffers builder (file identifier TFL3)."""
    b = flatbuffers.Builder(1024)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def build_model(path, tensors, buffers, opcodes, ops, inputs, outputs, signatures=None,
                description: str = "edgeport test fixture") -> Path:
    """Write a one-subgraph model made of exactly the given parts to ``path``."""
    sg = S.SubGraphT()
    sg.tensors, sg.operators, sg.inputs, sg.outputs, sg.name = tensors, ops, inputs, outputs, "main"
    m = S.ModelT()
    m.version, m.operatorCodes, m.subgraphs, m.buffers = 3, opcodes, [sg], buffers
    m.description = description
    if signatures:
        m.signatureDefs = list(signatures)
    Path(path).write_bytes(model_bytes(m))
    return Path(path)


# ---------------------------------------------------------------- builder
class TFLiteBuilder:
    """Grow a float NHWC network op by op; each call returns the index of the tensor it made."""

    def __init__(self, seed=0):
        self.m = S.ModelT()
        self.m.version = 3
        self.m.operatorCodes, self.m.buffers = [], [S.BufferT()]
        self.sg = S.SubGraphT()
        self.sg.tensors, self.sg.operators = [], []
        self.m.subgraphs = [self.sg]
        self.rng = np.random.default_rng(seed)
        self.n = 0

    def _name(self, p):
        self.n += 1
        return f"{p}_{self.n}"

    def tensor(self, shape, data=None, name=None, ttype=F32):
        t = S.TensorT()
        t.name = (name or self._name("t")).encode()
        t.shape = np.asarray(list(shape), dtype=np.int32)
        t.type = ttype
        self.m.buffers.append(buffer(data))
        t.buffer = len(self.m.buffers) - 1
        self.sg.tensors.append(t)
        return len(self.sg.tensors) - 1

    def const(self, arr, name=None):
        arr = np.asarray(arr)
        return self.tensor(arr.shape, arr, name or self._name("w"), _NP_TO_TYPE[arr.dtype])

    def op(self, name, ins, outs, otype=0, opts=None):
        code = getattr(S.BuiltinOperator, name)
        idx = next((i for i, oc in enumerate(self.m.operatorCodes) if max(oc.builtinCode, oc.deprecatedBuiltinCode) == code),
                   None)
        if idx is None:
            self.m.operatorCodes.append(opcode(code))
            idx = len(self.m.operatorCodes) - 1
        o = op(idx, ins, outs, otype, opts)
        o.inputs, o.outputs = np.asarray(ins, np.int32), np.asarray(outs, np.int32)
        self.sg.operators.append(o)
        return outs[0]

    def shape(self, i):
        return [int(s) for s in self.sg.tensors[i].shape]

    def input(self, shape, name="input"):
        i = self.tensor(shape, name=name)
        self.sg.inputs = np.asarray(list(self.sg.inputs if self.sg.inputs is not None else []) + [i], np.int32)
        return i

    def conv(self, x, cout, k=3, stride=1, act="relu", depthwise=False, name=None):
        n, h, w, cin = self.shape(x)
        ho, wo = -(-h // stride), -(-w // stride)
        if depthwise:
            wt = self.rng.normal(0, (2 / (k * k)) ** 0.5, (1, k, k, cin)).astype(np.float32)
            cout = cin
            opts = S.DepthwiseConv2DOptionsT()
            opts.depthMultiplier, otype, opn = 1, S.BuiltinOptions.DepthwiseConv2DOptions, "DEPTHWISE_CONV_2D"
        else:
            wt = self.rng.normal(0, (2 / (k * k * cin)) ** 0.5, (cout, k, k, cin)).astype(np.float32)
            opts, otype, opn = S.Conv2DOptionsT(), S.BuiltinOptions.Conv2DOptions, "CONV_2D"
        opts.padding, opts.strideH, opts.strideW = S.Padding.SAME, stride, stride
        opts.dilationHFactor = opts.dilationWFactor = 1
        opts.fusedActivationFunction = ACT[act]
        b = self.rng.normal(0, 0.1, cout).astype(np.float32)
        out = self.tensor([n, ho, wo, cout], name=name)
        return self.op(opn, [x, self.const(wt), self.const(b)], [out], otype, opts)

    def pool(self, x, kind="MAX_POOL_2D", k=2):
        n, h, w, c = self.shape(x)
        o = S.Pool2DOptionsT()
        o.padding, o.strideH, o.strideW, o.filterHeight, o.filterWidth = S.Padding.VALID, k, k, k, k
        return self.op(kind, [x], [self.tensor([n, h // k, w // k, c])], S.BuiltinOptions.Pool2DOptions, o)

    def mean_hw(self, x):
        n, h, w, c = self.shape(x)
        o = S.ReducerOptionsT()
        o.keepDims = False
        return self.op("MEAN", [x, self.const(np.array([1, 2], np.int32))], [self.tensor([n, c])],
                       S.BuiltinOptions.ReducerOptions, o)

    def reshape(self, x, shape):
        return self.op("RESHAPE", [x, self.const(np.array(shape, np.int32))], [self.tensor(shape)])

    def fc(self, x, units, act=None, name=None):
        n, k = self.shape(x)
        w = self.rng.normal(0, (1 / k) ** 0.5, (units, k)).astype(np.float32)
        o = S.FullyConnectedOptionsT()
        o.fusedActivationFunction = ACT[act]
        return self.op("FULLY_CONNECTED", [x, self.const(w), self.const(self.rng.normal(0, 0.1, units).astype(np.float32))],
                       [self.tensor([n, units], name=name)], S.BuiltinOptions.FullyConnectedOptions, o)

    def add(self, a, b):
        return self.op("ADD", [a, b], [self.tensor(self.shape(a))], S.BuiltinOptions.AddOptions, S.AddOptionsT())

    def concat(self, a, b):
        s = self.shape(a)
        s[-1] += self.shape(b)[-1]
        o = S.ConcatenationOptionsT()
        o.axis = 3
        return self.op("CONCATENATION", [a, b], [self.tensor(s)], S.BuiltinOptions.ConcatenationOptions, o)

    def softmax(self, x, name="probs"):
        o = S.SoftmaxOptionsT()
        o.beta = 1.0
        return self.op("SOFTMAX", [x], [self.tensor(self.shape(x), name=name)], S.BuiltinOptions.SoftmaxOptions, o)

    def finish(self, outputs, path) -> Path:
        self.sg.outputs = np.asarray(outputs, np.int32)
        Path(path).write_bytes(model_bytes(self.m))
        return Path(path)


# ---------------------------------------------------------------- recipes
def fc_softmax_model(path, dynamic_batch: bool = False, seed: int = 0):
    """x[1,4] -> FULLY_CONNECTED(W[3,4], b[3]) -> SOFTMAX -> probs[1,3]; batch -1 in the signature if dynamic."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((3, 4)).astype(np.float32)
    bias = rng.standard_normal(3).astype(np.float32)
    sig = [-1, 4] if dynamic_batch else None
    tensors = [tensor("x", [1, 4], 0, sig), tensor("w", [3, 4], 1), tensor("b", [3], 2),
               tensor("logits", [1, 3], 0, [-1, 3] if dynamic_batch else None),
               tensor("probs", [1, 3], 0, [-1, 3] if dynamic_batch else None)]
    fc = S.FullyConnectedOptionsT()
    sm = S.SoftmaxOptionsT()
    sm.beta = 1.0
    ops = [op(0, [0, 1, 2], [3], S.BuiltinOptions.FullyConnectedOptions, fc),
           op(1, [3], [4], S.BuiltinOptions.SoftmaxOptions, sm)]
    build_model(path, tensors, [buffer(), buffer(w), buffer(bias)],
                [opcode(S.BuiltinOperator.FULLY_CONNECTED), opcode(S.BuiltinOperator.SOFTMAX)], ops, [0], [4])
    return w, bias


def conv_model(path, seed: int = 0):
    """image[1,8,8,3] (NHWC) -> CONV_2D(W[4,3,3,3] OHWI, b[4], VALID, stride 1) -> features[1,6,6,4]."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    bias = rng.standard_normal(4).astype(np.float32)
    tensors = [tensor("image", [1, 8, 8, 3], 0), tensor("w", [4, 3, 3, 3], 1), tensor("b", [4], 2),
               tensor("features", [1, 6, 6, 4], 0)]
    opts = S.Conv2DOptionsT()
    opts.padding, opts.strideW, opts.strideH = S.Padding.VALID, 1, 1
    opts.dilationWFactor = opts.dilationHFactor = 1
    build_model(path, tensors, [buffer(), buffer(w), buffer(bias)], [opcode(S.BuiltinOperator.CONV_2D)],
                [op(0, [0, 1, 2], [3], S.BuiltinOptions.Conv2DOptions, opts)], [0], [3])
    return w, bias


def fc_add_model(path, w: np.ndarray, b: np.ndarray, c: np.ndarray, dynamic_batch: bool = False) -> Path:
    """y = FULLY_CONNECTED(x, w, b) + c; w is [out, in], b and c [out]; input "x", output "y", "serving_default"."""
    out_f, in_f = w.shape
    dyn = (lambda shape: [-1, *shape[1:]]) if dynamic_batch else (lambda shape: None)
    f32 = lambda a: np.ascontiguousarray(a, dtype=np.float32)  # noqa: E731
    tensors = [tensor("x", [1, in_f], 1, dyn([1, in_f])), tensor("w", [out_f, in_f], 2), tensor("b", [out_f], 3),
               tensor("c", [out_f], 4), tensor("fc", [1, out_f], 5, dyn([1, out_f])),
               tensor("y", [1, out_f], 6, dyn([1, out_f]))]
    buffers = [buffer(), buffer(), buffer(f32(w)), buffer(f32(b)), buffer(f32(c)), buffer(), buffer()]
    ops = [op(0, [0, 1, 2], [4], S.BuiltinOptions.FullyConnectedOptions, S.FullyConnectedOptionsT()),
           op(1, [4, 3], [5], S.BuiltinOptions.AddOptions, S.AddOptionsT())]
    return build_model(path, tensors, buffers,
                       [opcode(S.BuiltinOperator.FULLY_CONNECTED), opcode(S.BuiltinOperator.ADD)], ops, [0], [5],
                       signatures=[signature("serving_default", {"x": 0}, {"y": 5})])


def fc_add_reference(x: np.ndarray, w: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """The numpy answer of :func:`fc_add_model`."""
    return x @ w.T + b + c


def relu_model(path, n: int = 16) -> Path:
    """x[1,n] float32 -> RELU -> y[1,n]."""
    build_model(path, [tensor("x", [1, n], 1), tensor("y", [1, n], 2)], [buffer(), buffer(), buffer()],
                [opcode(S.BuiltinOperator.RELU)], [op(0, [0], [1])], [0], [1], description="tiny relu")
    return Path(path)


def small_cnn(path, seed=0, hw=16, logit_scale=1.0) -> Path:
    """input 1xHxWx3 -> conv8 relu -> [dw relu6 | conv4] concat -> add -> maxpool -> avgpool -> reshape -> fc16 relu -> fc10 -> softmax."""
    b = TFLiteBuilder(seed)
    x = b.input([1, hw, hw, 3])
    c1 = b.conv(x, 8, name="conv1")
    d = b.conv(c1, 8, act="relu6", depthwise=True, name="dw1")
    c2 = b.conv(c1, 4, k=1, name="conv2")
    c3 = b.conv(c1, 4, k=1, act=None, name="conv3")
    cat = b.concat(c2, c3)
    y = b.add(d, cat)
    p = b.pool(b.pool(y), "AVERAGE_POOL_2D")
    n, h, w, c = b.shape(p)
    f = b.fc(b.reshape(p, [1, h * w * c]), 16, act="relu", name="fc1")
    logits = b.fc(f, 10, name="logits")
    if logit_scale != 1.0:  # near-tied classes: any rounding flips the top-1
        wt = b.sg.tensors[b.sg.operators[-1].inputs[1]]
        buf = b.m.buffers[wt.buffer]
        scaled = np.frombuffer(bytes(buf.data), np.float32) * logit_scale
        buf.data = np.frombuffer(scaled.astype(np.float32).tobytes(), np.uint8)
    return b.finish([b.softmax(logits)], path)


def mobilenet_like(path, seed=0, hw=96, width=32, blocks=6) -> Path:
    """MobileNet-v1 style: conv s2, then (dw3x3 relu6 + pw1x1 relu6) blocks, global mean, fc, softmax."""
    b = TFLiteBuilder(seed)
    x = b.input([1, hw, hw, 3])
    y = b.conv(x, width, stride=2, act="relu6", name="stem")
    c = width
    for i in range(blocks):
        s = 2 if i % 2 == 1 else 1
        y = b.conv(y, c, stride=s, act="relu6", depthwise=True, name=f"dw{i}")
        c = min(c * 2, 256) if s == 2 else c
        y = b.conv(y, c, k=1, act="relu6", name=f"pw{i}")
    return b.finish([b.softmax(b.fc(b.mean_hw(y), 100, name="logits"))], path)
