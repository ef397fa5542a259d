"""Build small float .tflite models directly with the FlatBuffer object API (test fixtures).

Independent of the converter so the quantizer's tests stand alone.
"""

from __future__ import annotations

import numpy as np
from ai_edge_litert import schema_py_generated as S

from edgeport.compress.tflite import _fb

__all__ = ["TFLiteBuilder", "small_cnn", "mobilenet_like"]

F32 = S.TensorType.FLOAT32
ACT = {None: 0, "relu": S.ActivationFunctionType.RELU, "relu6": S.ActivationFunctionType.RELU6}


class TFLiteBuilder:
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
        return _fb.add_tensor(self.m, self.sg, name or self._name("t"), shape, ttype, data=data)

    def const(self, arr, name=None):
        arr = np.asarray(arr)
        return self.tensor(arr.shape, arr, name or self._name("w"), _fb.NP_TO_TYPE[arr.dtype])

    def op(self, name, ins, outs, otype=0, opts=None):
        o = S.OperatorT()
        o.opcodeIndex = _fb.opcode_index(self.m, name, 1)
        o.inputs, o.outputs = np.asarray(ins, np.int32), np.asarray(outs, np.int32)
        o.builtinOptionsType, o.builtinOptions = otype, opts
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

    def finish(self, outputs, path):
        self.sg.outputs = np.asarray(outputs, np.int32)
        return _fb.write_model(self.m, path)


def small_cnn(path, seed=0, hw=16, logit_scale=1.0):
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
        w = b.sg.tensors[b.sg.operators[-1].inputs[1]]
        b.m.buffers[w.buffer].data = np.frombuffer((_fb.tensor_array(b.m, w) * logit_scale).astype(np.float32).tobytes(), np.uint8)
    return b.finish([b.softmax(logits)], path)


def mobilenet_like(path, seed=0, hw=96, width=32, blocks=6):
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
