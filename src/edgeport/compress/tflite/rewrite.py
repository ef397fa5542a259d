"""Integer rewrite of a float TFLite graph (int8, or int16 activations with int8 weights).

Every op with a rule in :mod:`.ops` (and not listed in ``keep_float``) runs in the integer domain;
the others stay float. QUANTIZE/DEQUANTIZE ops are inserted at the domain boundaries — at the graph
inputs/outputs (unless integer I/O is asked for) and around float-kept layers, which is how mixed
precision works. Quantized tensors keep their float names so layers can be matched with the float
model; a graph output's integer tensor gets the suffix ``_int8``/``_int16``.

Layers listed in ``int16_layers`` run with int16 activations (16x8) inside an int8 graph: their
activation inputs are requantized int8 -> int16 by a QUANTIZE op (and back where an int8 layer reads
them), and their ranges come from ``exact_ranges`` (unclipped min-max: int16 has the resolution).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from edgeport.compress.tflite import _fb
from edgeport.compress.tflite._fb import S
from edgeport.compress.tflite.ops import rule_for
from edgeport.compress.tflite.qmath import act_params, quantize_bias, quantize_weights

__all__ = ["rewrite_integer", "RewriteInfo"]

_F32 = S.TensorType.FLOAT32


@dataclass
class RewriteInfo:
    quantized_layers: list[str] = field(default_factory=list)
    float_layers: list[str] = field(default_factory=list)
    int16_layers: list[str] = field(default_factory=list)  # the quantized layers with int16 activations


class _Rewriter:
    def __init__(self, model, ranges, bits, per_channel, keep_float, int_io, int16_layers=(), exact_ranges=None):
        self.m, self.sg = model, model.subgraphs[0]
        self.ranges, self.bits, self.per_channel = ranges, bits, per_channel
        self.keep_float, self.int_io = set(keep_float), int_io
        self.int16_layers, self.exact = set(int16_layers), exact_ranges or ranges
        self.cur = bits  # precision of the op being rewritten
        self.qp: dict[int, tuple[float, int]] = {}  # integer-domain activation -> (scale, zp)
        self.qbits: dict[int, str] = {}  # integer-domain activation -> "int8" | "int16"
        self.qcache: dict[tuple, int] = {}
        self.fcache: dict[int, int] = {}
        self.new_ops: list = []
        self.info = RewriteInfo()

    # -- helpers -----------------------------------------------------------------------------
    @property
    def ttype(self):
        return S.TensorType.INT8 if self.cur == "int8" else S.TensorType.INT16

    @property
    def np_t(self):
        return np.int8 if self.cur == "int8" else np.int16

    def t(self, i):
        return self.sg.tensors[i]

    def name(self, i) -> str:
        n = self.t(i).name
        return n.decode() if isinstance(n, bytes) else str(n)

    def is_const(self, i) -> bool:
        return _fb.tensor_array(self.m, self.t(i)) is not None

    def params_for(self, i) -> tuple[float, int]:
        src = self.exact if self.cur == "int16" and self.bits == "int8" else self.ranges
        lo, hi = src.get(i, self.ranges.get(i, (0.0, 0.0)))
        return act_params(lo, hi, self.cur)

    def emit(self, opname, inputs, outputs, version=1, options=None, otype=0):
        op = S.OperatorT()
        op.opcodeIndex = _fb.opcode_index(self.m, opname, version)
        op.inputs = np.asarray(inputs, dtype=np.int32)
        op.outputs = np.asarray(outputs, dtype=np.int32)
        op.builtinOptionsType, op.builtinOptions = otype, options
        self.new_ops.append(op)

    def new_act(self, like, suffix, ttype, params=None):
        t = self.t(like)
        return _fb.add_tensor(self.m, self.sg, self.name(like) + suffix, t.shape, ttype,
                              scale=None if params is None else params[0],
                              zero_point=None if params is None else params[1],
                              shape_signature=t.shapeSignature)

    def get_q(self, i, want=None) -> int:
        """Integer version of activation ``i`` (with parameters ``want`` if given)."""
        if i in self.qp:
            same = self.qbits[i] == self.cur
            if same and (want is None or np.allclose(want[0], self.qp[i][0], rtol=1e-6) and want[1] == self.qp[i][1]):
                return i
            want = want or self.params_for(i)
            key = (i, want, self.cur)
            if key not in self.qcache:
                j = self.new_act(i, "_requant" if same else "_requant" + self.cur[3:], self.ttype, want)
                self.qp[j], self.qbits[j] = want, self.cur
                self.emit("QUANTIZE", [i], [j], version=2)
                self.qcache[key] = j
            return self.qcache[key]
        want = want or self.params_for(i)
        key = (i, want, self.cur)
        if key not in self.qcache:
            j = self.new_act(i, "_quant" if self.cur == self.bits else "_quant16", self.ttype, want)
            self.qp[j], self.qbits[j] = want, self.cur
            self.emit("QUANTIZE", [i], [j], version=1 if self.cur == "int8" else 3)
            self.qcache[key] = j
        return self.qcache[key]

    def get_f(self, i) -> int:
        if i not in self.qp:
            return i
        if i not in self.fcache:
            j = self.new_act(i, "_dequant", _F32)
            self.emit("DEQUANTIZE", [i], [j], version=2 if self.qbits[i] == "int8" else 4)
            self.fcache[i] = j
        return self.fcache[i]

    def set_out(self, i, params):
        t = self.t(i)
        t.type = self.ttype
        _fb.set_quant(t, params[0], params[1])
        self.qp[i], self.qbits[i] = params, self.cur

    def quant_const(self, i) -> int:
        """A float constant operand of a ``free`` op, quantized per tensor from its own range."""
        w = _fb.tensor_array(self.m, self.t(i)).astype(np.float32)
        s, z = act_params(float(w.min()), float(w.max()), self.cur)
        info = np.iinfo(self.np_t)
        q = np.clip(np.round(w / s + z), info.min, info.max).astype(self.np_t)
        return _fb.add_tensor(self.m, self.sg, self.name(i) + "_q", self.t(i).shape, self.ttype,
                              data=q, scale=s, zero_point=z)

    # -- ops -----------------------------------------------------------------------------------
    def can_quantize(self, op, rule) -> bool:
        if rule is None or self.name(op.outputs[0]) in self.keep_float:
            return False
        acts = [i for i in op.inputs if i >= 0 and not self.is_const(i)]
        if any(self.t(i).type == _F32 and i not in self.ranges and i not in self.qp for i in acts):
            return False
        return all(self.t(o).type == _F32 and (o in self.ranges or rule.kind in ("same", "fixed"))
                   for o in op.outputs)

    def quantize_op(self, op, rule, opname):
        ins = [int(i) for i in op.inputs]
        if rule.kind == "weights":
            self._weights_op(op, ins, rule, opname)
        else:
            new_in = []
            for k, i in enumerate(ins):
                if i < 0 or self.t(i).type != _F32 and i not in self.qp:
                    new_in.append(i)  # shapes, axes, paddings: unchanged
                elif self.is_const(i):
                    new_in.append(self.quant_const(i) if rule.kind != "same" or k == 0 else i)
                elif rule.kind == "concat":
                    new_in.append(None)
                else:
                    new_in.append(self.get_q(i))
            if rule.kind == "concat":
                out = self.params_for(op.outputs[0])
                new_in = [self.get_q(i, out) if v is None else v for i, v in zip(ins, new_in)]
            op.inputs = np.asarray(new_in, dtype=np.int32)
            for o in op.outputs:
                if rule.kind == "same":
                    p = self.qp[new_in[0]]
                elif rule.kind == "fixed":
                    p = rule.fixed[self.cur]
                elif rule.kind == "concat":
                    p = self.params_for(o)
                else:
                    p = self.params_for(o)
                self.set_out(int(o), p)
        self.m.operatorCodes[op.opcodeIndex].version = max(self.m.operatorCodes[op.opcodeIndex].version or 1,
                                                           rule.versions.get(self.cur, 1))
        self.new_ops.append(op)

    def _weights_op(self, op, ins, rule, opname):
        x = self.get_q(ins[0])
        in_scale = self.qp[x][0]
        new_in = [x]
        wi = ins[1]
        if self.is_const(wi):
            w = _fb.tensor_array(self.m, self.t(wi)).astype(np.float32)
            axis = rule.axis if (self.per_channel or opname != "FULLY_CONNECTED") else None
            if not self.per_channel and opname != "FULLY_CONNECTED":
                axis = None
            q, ws = quantize_weights(w, axis)
            qi = _fb.add_tensor(self.m, self.sg, self.name(wi), self.t(wi).shape, S.TensorType.INT8, data=q,
                                scale=ws, zero_point=np.zeros(len(ws), np.int64), axis=axis or 0)
            new_in.append(qi)
        else:
            ws = None
            new_in.append(self.get_q(wi))
        if len(ins) > 2 and ins[2] >= 0:
            bi = ins[2]
            b = _fb.tensor_array(self.m, self.t(bi))
            if ws is None:
                ws = np.array([self.qp[new_in[1]][0]], np.float32)
            if b is None:
                new_in.append(self.get_f(bi))
            else:
                bdt = np.int32 if self.cur == "int8" else np.int64
                qb, bs = quantize_bias(b.astype(np.float32), in_scale, ws, bdt)
                bs_full = np.broadcast_to(bs, (len(qb),)) if bs.size == 1 else bs
                new_in.append(_fb.add_tensor(
                    self.m, self.sg, self.name(bi), self.t(bi).shape,
                    S.TensorType.INT32 if bdt is np.int32 else S.TensorType.INT64, data=qb,
                    scale=bs_full if bs.size > 1 else bs, zero_point=np.zeros(bs.size, np.int64),
                    axis=0))
        new_in += ins[len(new_in):]
        op.inputs = np.asarray(new_in, dtype=np.int32)
        self.set_out(int(op.outputs[0]), self.params_for(op.outputs[0]))

    # -- driver --------------------------------------------------------------------------------
    def run(self) -> RewriteInfo:
        sg = self.sg
        if self.int_io:
            for i in sg.inputs:
                if self.t(i).type == _F32:
                    self.set_out(int(i), self.params_for(i))
        for op in list(sg.operators):
            opname = _fb.op_name(self.m, op)
            layer = self.name(op.outputs[0]) if len(op.outputs) else opname
            self.cur = "int16" if layer in self.int16_layers else self.bits
            rule = rule_for(opname, self.cur)
            if self.can_quantize(op, rule):
                self.quantize_op(op, rule, opname)
                self.info.quantized_layers.append(layer)
                if self.cur == "int16" and self.bits == "int8":
                    self.info.int16_layers.append(layer)
            else:
                op.inputs = np.asarray([self.get_f(int(i)) if i >= 0 else -1 for i in op.inputs], dtype=np.int32)
                self.new_ops.append(op)
                self.info.float_layers.append(layer)
        outs = []
        for o in sg.outputs:
            o = int(o)
            if o in self.qp and not self.int_io:
                name = self.name(o)
                f = self.new_act(o, "", _F32)
                self.t(o).name = (name + "_" + self.qbits[o]).encode()
                self.emit("DEQUANTIZE", [o], [f], version=2 if self.qbits[o] == "int8" else 4)
                self._retarget_signature(o, f)
                outs.append(f)
            else:
                outs.append(o)
        sg.outputs = np.asarray(outs, dtype=np.int32)
        sg.operators = self.new_ops
        _fb.prune_unused(self.m)
        return self.info

    def _retarget_signature(self, old, new):
        for sd in self.m.signatureDefs or []:
            for tm in sd.outputs or []:
                if tm.tensorIndex == old:
                    tm.tensorIndex = new


def rewrite_integer(model, ranges: dict[int, tuple[float, float]], *, bits: str = "int8",
                    per_channel: bool = True, keep_float=(), int_io: bool = False, int16_layers=(),
                    exact_ranges: dict[int, tuple[float, float]] | None = None) -> RewriteInfo:
    """Rewrite ``model`` (ModelT, modified in place) to integer arithmetic; see the module doc."""
    return _Rewriter(model, ranges, bits, per_channel, keep_float, int_io, int16_layers, exact_ranges).run()
