"""LiteRT per-op profile by isolated op timing (the ai_edge_litert Python API has no op profiler).

The ``Interpreter`` of ai_edge_litert (2.3) exposes no profiler (its wrapper has Invoke, tensors and
node names, nothing more; ``experimental_force_delegate_node_profiling`` only matters to a C++
profiler, which Python cannot attach). ``libLiteRt.so`` exports a C profiler for CompiledModel
(``LiteRtCompiledModelGetProfiler``), but the runtime option that switches it on is not passed by the
Python ``CompiledModel`` wrapper, and driving the C API through ctypes would rely on unpublished
struct layouts (a mismatch crashes the process). So each operator is timed on its own:

1. the model is read into the FlatBuffer object API (:mod:`edgeport.convert.tflite.flatbuffer`);
2. one run of the full model with ``experimental_preserve_all_tensors=True`` (no tensor memory is
   reused) gives every operator's real input values (``get_tensor`` by tensor index);
3. every operator of the main subgraph becomes a single-op model: the op (its opcode with the same
   version, options and quantization params), its constant inputs with their buffers, its
   non-constant inputs as subgraph inputs (at the shape seen in the full run), its outputs as outputs;
4. every single-op model gets its own ``Interpreter`` with the same thread count and the default
   XNNPACK delegate, as the whole model does; after a warm-up, rounds alternate the whole model and
   every op (one invoke each per round), and the medians are reported.

The rows are isolated timings: they miss the cache effects between neighbouring ops and the fusion
a delegate does across ops, and each row carries one ``invoke`` call (timed alone on a 1-element RELU
model in the same rounds: ``call_ms``); the sum/whole ratio says how far the sum is from the whole model. Ops that cannot be cut (control flow, custom ops,
ops in other subgraphs, a single-op model LiteRT refuses) are listed as not profiled, with the reason.
Interpreters are cached for the last model (same file, size, mtime, threads and input shapes).
"""

from __future__ import annotations

import copy
import os
import time
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from edgeport.bench.profile import OpProfile
from edgeport.errors import InputMismatchError

__all__ = ["LiteRTProfile", "NotProfiled", "profile_litert", "cut_op_model", "clear_cache", "ISOLATION_NOTE"]

ISOLATION_NOTE = ("isolated op timings (one single-op model per op, XNNPACK, same threads): they miss inter-op "
                  "cache effects and delegate fusion, and each includes one invoke call")

# ops whose options name other subgraphs, or which only make sense inside a graph of them
_CONTROL_FLOW = {"WHILE", "IF", "CALL_ONCE", "CALL", "STABLEHLO_WHILE", "STABLEHLO_CASE", "STABLEHLO_COMPOSITE",
                 "STABLEHLO_REDUCE", "STABLEHLO_REDUCE_WINDOW", "STABLEHLO_SCATTER", "STABLEHLO_SORT"}
# stateful ops: their variable tensors live across invokes, a single-op cut would not hold that state
_STATEFUL = {"VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "HASHTABLE", "HASHTABLE_FIND", "HASHTABLE_IMPORT",
             "HASHTABLE_SIZE"}


@dataclass(frozen=True)
class NotProfiled:
    """An operator that was not timed, and why."""

    index: int
    name: str
    op_type: str
    reason: str
    subgraph: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "name": self.name, "op_type": self.op_type, "reason": self.reason,
                "subgraph": self.subgraph}


@dataclass
class LiteRTProfile:
    """Isolated per-op times (``rows``, sorted by time), the whole model's median measured in the same
    rounds, and the operators that were not profiled."""

    rows: list[OpProfile]
    whole_ms: float
    runs: int
    threads: int | None
    not_profiled: list[NotProfiled] = field(default_factory=list)
    num_ops: int = 0
    call_ms: float = 0.0  # median of one invoke of a 1-element RELU model: the call cost inside every row

    @property
    def ratio_without_calls(self) -> float:
        """(sum - one call per row) / (whole - one call): the ratio with the invoke call cost taken out."""
        den = self.whole_ms - self.call_ms
        return (self.sum_ms - len(self.rows) * self.call_ms) / den if den > 0 else float("nan")

    @property
    def sum_ms(self) -> float:
        return float(sum(r.time_ms for r in self.rows))

    @property
    def ratio(self) -> float:
        """Sum of the isolated op medians over the whole model's median."""
        return self.sum_ms / self.whole_ms if self.whole_ms > 0 else float("nan")

    def note(self) -> str:
        """One line for the CLI: sum vs whole, the caveat, and what was not profiled."""
        s = (f"litert per-op: {len(self.rows)}/{self.num_ops} ops profiled; sum of ops {self.sum_ms:.4f} ms / "
             f"whole model {self.whole_ms:.4f} ms = {self.ratio:.2f} (median of {self.runs} interleaved rounds); "
             f"{ISOLATION_NOTE} ({self.call_ms * 1000:.2f} us; without it the ratio is {self.ratio_without_calls:.2f})")
        if self.not_profiled:
            shown = "; ".join(f"#{n.index} {n.op_type}"
                              + (f" (subgraph {n.subgraph})" if n.subgraph else "") + f": {n.reason}"
                              for n in self.not_profiled[:5])
            more = f"; and {len(self.not_profiled) - 5} more" if len(self.not_profiled) > 5 else ""
            s += f"; not profiled: {shown}{more}"
        return s

    def to_dict(self) -> dict[str, Any]:
        return {"rows": [r.to_dict() for r in self.rows], "whole_ms": self.whole_ms, "sum_ms": self.sum_ms,
                "ratio": self.ratio, "call_ms": self.call_ms,
                "ratio_without_calls": self.ratio_without_calls, "runs": self.runs, "threads": self.threads, "num_ops": self.num_ops,
                "not_profiled": [n.to_dict() for n in self.not_profiled], "note": ISOLATION_NOTE}


def _op_names() -> dict[int, str]:
    from ai_edge_litert import schema_py_generated as s

    return {v: k for k, v in vars(s.BuiltinOperator).items() if not k.startswith("_") and isinstance(v, int)}


def _op_type(model, op, names: dict[int, str]) -> str:
    oc = model.operatorCodes[op.opcodeIndex]
    code = max(int(oc.builtinCode), int(oc.deprecatedBuiltinCode))
    if names.get(code) == "CUSTOM" or oc.customCode:
        cc = oc.customCode.decode(errors="replace") if isinstance(oc.customCode, bytes) else str(oc.customCode)
        return f"CUSTOM:{cc}"
    return names.get(code, f"OP{code}")


def _text(v) -> str:
    return v.decode(errors="replace") if isinstance(v, bytes) else str(v or "")


def _is_const(model, tensor) -> bool:
    if tensor.buffer <= 0 or tensor.buffer >= len(model.buffers or []):
        return False
    b = model.buffers[tensor.buffer]
    return (b.data is not None and len(b.data) > 0) or bool(b.offset)


def _refusal(model, sg, op, op_type: str) -> str | None:
    """Why ``op`` cannot be cut into a single-op model (None when it can)."""
    if op_type.startswith("CUSTOM"):
        return "custom op"
    if op_type in _CONTROL_FLOW:
        return "control flow (calls other subgraphs)"
    if op_type in _STATEFUL:
        return "stateful op (resource variables)"
    for i in list(op.inputs if op.inputs is not None else []) + list(op.outputs if op.outputs is not None else []):
        if i < 0:
            continue
        t = sg.tensors[i]
        if t.isVariable:
            return "variable tensor (state across invokes)"
        if t.buffer > 0 and t.buffer < len(model.buffers) and model.buffers[t.buffer].offset:
            return "weights stored outside the FlatBuffer (offset buffer)"
    return None


def cut_op_model(model, sg, op, shapes: Mapping[int, tuple[int, ...]] | None = None):
    """A single-op ModelT: ``op`` (same opcode and version), its constant inputs and their buffers, its
    non-constant inputs as subgraph inputs and its outputs as outputs. ``shapes`` maps tensor index ->
    shape seen at run time (replaces dynamic dims). Returns (ModelT, [original indices of the inputs])."""
    from edgeport.convert.tflite.flatbuffer import AlignedBufferT, schema

    shapes = shapes or {}
    new = schema.ModelT()
    new.version = model.version or 3
    new.description = "edgeport single-op profile"
    new.operatorCodes = [copy.copy(model.operatorCodes[op.opcodeIndex])]
    new.buffers = [AlignedBufferT()]
    sub = schema.SubGraphT()
    sub.name, sub.tensors = "op", []
    remap: dict[int, int] = {}
    sub_inputs: list[int] = []

    def take(i: int, is_input: bool) -> int:
        if i < 0:
            return -1
        if i in remap:
            return remap[i]
        t = copy.copy(sg.tensors[i])
        if _is_const(model, t):
            b = AlignedBufferT()
            b.data = model.buffers[t.buffer].data  # shared, not copied
            new.buffers.append(b)
            t.buffer = len(new.buffers) - 1
        else:
            t.buffer = 0
            if i in shapes:
                t.shape = np.asarray(shapes[i], np.int32)
                t.shapeSignature = None
            if is_input:
                sub_inputs.append(i)
        sub.tensors.append(t)
        remap[i] = len(sub.tensors) - 1
        return remap[i]

    ins = [take(int(i), True) for i in (op.inputs if op.inputs is not None else [])]
    outs = [take(int(i), False) for i in (op.outputs if op.outputs is not None else [])]
    inter = [take(int(i), False) for i in (op.intermediates if op.intermediates is not None else [])]
    o = copy.copy(op)
    o.opcodeIndex = 0
    o.inputs, o.outputs = np.asarray(ins, np.int32), np.asarray(outs, np.int32)
    o.intermediates = np.asarray(inter, np.int32) if op.intermediates is not None else None
    sub.operators = [o]
    sub.inputs = np.asarray([remap[i] for i in sub_inputs], np.int32)
    sub.outputs = np.asarray([x for x in outs if x >= 0], np.int32)
    new.subgraphs = [sub]
    return new, sub_inputs


def _feed_map(details: list[dict], feeds: Mapping[str, np.ndarray]) -> list[tuple[int, np.ndarray]]:
    if len(details) == 1 and len(feeds) == 1 and details[0]["name"] not in feeds:
        return [(details[0]["index"], np.asarray(next(iter(feeds.values()))))]
    out = []
    for d in details:
        if d["name"] not in feeds:
            raise InputMismatchError(f"no feed for LiteRT input '{d['name']}' (given: {', '.join(feeds) or 'none'})",
                                     hint="pass one array per model input, keyed by input name")
        out.append((d["index"], np.asarray(feeds[d["name"]], dtype=d["dtype"])))
    return out


def _interpreter(threads: int | None, *, path: str | None = None, content: bytes | None = None,
                 preserve: bool = False):
    import warnings

    from ai_edge_litert.interpreter import Interpreter

    with warnings.catch_warnings():  # preserve_all_tensors warns about memory: it is wanted here, for one run
        warnings.filterwarnings("ignore", message=".*experimental_preserve_all_tensors", category=UserWarning)
        return Interpreter(model_path=path, model_content=content, num_threads=threads,
                           experimental_preserve_all_tensors=preserve)


def _load_whole(path: str, threads: int | None, preserve: bool):
    from edgeport.errors import ModelFormatError

    try:
        it = _interpreter(threads, path=path, preserve=preserve)
        it.allocate_tensors()
    except Exception as e:
        raise ModelFormatError(f"LiteRT cannot load {path}: {(str(e).strip().splitlines() or ['?'])[0][:300]}",
                               hint="check the file; custom or new ops need a newer ai-edge-litert") from e
    return it


def _set_inputs(it, values: list[tuple[int, np.ndarray]]) -> None:
    for idx, v in values:
        if tuple(it.get_tensor(idx).shape) != tuple(v.shape):
            it.resize_tensor_input(idx, list(v.shape))
    it.allocate_tensors()
    for idx, v in values:
        it.set_tensor(idx, v)


_CACHE: dict[tuple, dict[str, Any]] = {}  # the last model's interpreters (one entry)


def clear_cache() -> None:
    """Drop the cached interpreters (they hold the last model's weights, packed per op)."""
    _CACHE.clear()


def _prepared(path: str, feeds: Mapping[str, np.ndarray], threads: int | None) -> dict[str, Any]:
    """The cached interpreters of ``path`` (built on first use), fed this call's values: the whole model
    the feeds, every single-op model its inputs from one preserve-all-tensors run of the full model."""
    st = os.stat(path)
    key = (os.path.realpath(path), st.st_size, st.st_mtime_ns, threads,
           tuple(sorted((k, np.shape(v)) for k, v in feeds.items())))
    ref = _load_whole(path, threads, preserve=True)
    _set_inputs(ref, _feed_map(ref.get_input_details(), feeds))
    ref.invoke()
    cached = _CACHE.get(key)
    if cached is None:
        _CACHE.clear()
        cached = _build(path, ref, threads)
        _CACHE[key] = cached
    _set_inputs(cached["whole"], _feed_map(cached["whole"].get_input_details(), feeds))
    kept = []
    for e in cached["ops"]:  # this call's input values (the feeds may differ between calls)
        it = e["it"]
        try:
            _set_inputs(it, [(d["index"], np.asarray(ref.get_tensor(i)))
                             for d, i in zip(it.get_input_details(), e["ins"])])
            it.invoke()  # warm-up
            kept.append(e)
        except Exception as ex:
            cached["skipped"].append(NotProfiled(e["index"], e["name"], e["op_type"],
                                                 "invoke failed: " + str(ex).strip()[:120]))
    cached["ops"] = kept
    return cached


def _build(path: str, ref, threads: int | None) -> dict[str, Any]:
    """Whole-model, call-cost and single-op interpreters; the ops that cannot be cut, with the reason."""
    from edgeport.convert.tflite.flatbuffer import model_to_bytes, read_model

    model, names = read_model(path), _op_names()
    whole = _load_whole(path, threads, preserve=False)
    call = _interpreter(threads, content=_call_model())
    call.allocate_tensors()
    sg = model.subgraphs[0]  # Interpreter.invoke() runs subgraph 0
    shapes: dict[int, tuple[int, ...]] = {}  # run-time shapes (dynamic dims resolved)
    for i, t in enumerate(sg.tensors or []):
        shape = None if _is_const(model, t) else _safe_shape(ref, i)
        if shape is not None:
            shapes[i] = tuple(int(d) for d in shape)
    ops, skipped = [], []
    for k, op in enumerate(sg.operators or []):
        op_type, name = _op_type(model, op, names), _out_name(sg, op, k)
        why = _refusal(model, sg, op, op_type)
        if why is None:
            try:
                sub, ins = cut_op_model(model, sg, op, shapes)
                it = _interpreter(threads, content=model_to_bytes(sub))
                it.allocate_tensors()
                ops.append({"index": k, "name": name, "op_type": op_type, "it": it, "ins": ins})
                continue
            except Exception as e:  # LiteRT refused the single-op model
                why = "single-op model not loadable: " + (str(e).strip().splitlines() or [type(e).__name__])[0][:120]
        skipped.append(NotProfiled(k, name, op_type, why))
    entries = {int(d.subgraphIndex or 0) for d in model.signatureDefs or []}
    for j, other in enumerate(model.subgraphs[1:], start=1):
        why = ("in another signature's subgraph (the profile runs subgraph 0)" if j in entries
               else "in a subgraph run by control flow")
        skipped += [NotProfiled(k, _out_name(other, op, k), _op_type(model, op, names), why, j)
                    for k, op in enumerate(other.operators or [])]
    return {"whole": whole, "call": call, "ops": ops, "skipped": skipped,
            "num_ops": sum(len(s.operators or []) for s in model.subgraphs)}


def _out_name(sg, op, k: int) -> str:
    name = _text(sg.tensors[op.outputs[0]].name) if op.outputs is not None and len(op.outputs) else ""
    return name or f"op{k}"


def _call_model() -> bytes:
    """x[1] float32 -> RELU -> y[1]: timing it measures what one ``invoke`` costs besides the op."""
    from edgeport.convert.tflite.flatbuffer import add_operator, add_tensor, model_to_bytes, schema

    m = schema.ModelT()
    m.version, m.buffers = 3, []
    sg = schema.SubGraphT()
    sg.name = "call"
    x, y = add_tensor(m, sg, "x", [1], np.float32), add_tensor(m, sg, "y", [1], np.float32)
    add_operator(m, sg, schema.BuiltinOperator.RELU, [x], [y])
    sg.inputs, sg.outputs = np.asarray([x], np.int32), np.asarray([y], np.int32)
    m.subgraphs = [sg]
    return model_to_bytes(m)


def _safe_shape(it, i: int):
    try:
        return it.get_tensor(i).shape
    except Exception:  # tensor without data (e.g. optional, never allocated)
        return None


def profile_litert(path: str | os.PathLike, feeds: Mapping[str, np.ndarray], runs: int = 20,
                   threads: int | None = None, warmup: int = 2) -> LiteRTProfile:
    """Isolated per-op times of a .tflite model on LiteRT (CPU, XNNPACK) beside the whole model's time.

    ``runs`` interleaved rounds (whole model, then every op, one invoke each) after ``warmup`` rounds;
    rows hold the median per op, its share of the sum, and the op index in the main subgraph.
    Call :func:`edgeport.model.check_file` first on untrusted files (``profile_ops`` does)."""
    from edgeport.errors import ModelFormatError

    runs = max(1, int(runs))
    with open(path, "rb") as f:
        if f.read(8)[4:8] != b"TFL3":
            raise ModelFormatError(f"{path} is not a TFLite model (no TFL3 identifier)",
                                   hint="the LiteRT per-op profile takes a .tflite file")
    prep = _prepared(str(path), feeds, threads)
    whole = prep["whole"]
    ops = prep["ops"]
    invokes = [prep["call"].invoke, whole.invoke] + [e["it"].invoke for e in ops]
    times = np.zeros((runs, len(invokes)), np.int64)
    clock = time.perf_counter_ns
    for r in range(-int(warmup), runs):
        for j, call in enumerate(invokes):
            t0 = clock()
            call()
            t1 = clock()
            if r >= 0:
                times[r, j] = t1 - t0
    med = np.median(times, axis=0) / 1e6
    total = float(med[2:].sum()) or 1.0
    rows = [OpProfile(name=e["name"], op_type=e["op_type"], time_ms=float(m), percent=100.0 * float(m) / total,
                      calls=1.0, index=e["index"]) for e, m in zip(ops, med[2:])]
    rows.sort(key=lambda r: r.time_ms, reverse=True)
    return LiteRTProfile(rows=rows, whole_ms=float(med[1]), runs=runs, threads=threads,
                         not_profiled=list(prep["skipped"]), num_ops=prep["num_ops"], call_ms=float(med[0]))
