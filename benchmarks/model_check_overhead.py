"""What check_file costs in front of a native load: TFLite (LiteRT) and ONNX (onnxruntime), side by side.

Every native load in edgeport runs ``edgeport.model.check_file`` first. This measures, interleaved
(A B A B ...), the native load alone (A) against check_file + the same native load (B) on a
MobileNet-sized graph (100 FULLY_CONNECTED/MatMul layers of 128x128, ~6.5 MB of weights), and prints
the ratio of medians. Targets: ONNX check+load <= 1.25 x load; TFLite <= 3.0 x load, because
LiteRT's load is a lazy mmap (~1-2 ms for 400 tables) that any pure-Python walk of every table
costs more than (about 2.5-3 ms here, paid once per load).

    .venv/bin/python benchmarks/model_check_overhead.py [--rounds 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root, for tests.support
from edgeport.bench.sysinfo import cpu_info  # noqa: E402
from tests.support import tflite_builder as tb  # noqa: E402
from ai_edge_litert import schema_py_generated as s  # noqa: E402

from edgeport.model import check_file  # noqa: E402

__all__ = ["main", "build_tflite", "build_onnx"]

TARGETS = {"onnx": 1.25, "tflite": 3.0}
LAYERS, WIDTH = 100, 128




def build_tflite(path: Path) -> None:
    rng = np.random.default_rng(0)
    tensors = [tb.tensor("x", [1, WIDTH], 0)]
    buffers, ops = [tb.buffer()], []
    for i in range(LAYERS):
        w = rng.standard_normal((WIDTH, WIDTH)).astype(np.float32) * 0.05
        buffers.append(tb.buffer(w))
        tensors.append(tb.tensor(f"w{i}", [WIDTH, WIDTH], len(buffers) - 1))
        tensors.append(tb.tensor(f"h{i}", [1, WIDTH], 0))
        ops.append(tb.op(0, [len(tensors) - 3 if i else 0, len(tensors) - 2, -1], [len(tensors) - 1]))
    tb.build_model(path, tensors, buffers, [tb.opcode(s.BuiltinOperator.FULLY_CONNECTED)],
                               ops, [0], [len(tensors) - 1])


def build_onnx(path: Path) -> None:
    import onnx
    from onnx import TensorProto as T
    from onnx import helper as h
    from onnx import numpy_helper as nh

    rng = np.random.default_rng(0)
    inits, nodes, prev = [], [], "x"
    for i in range(LAYERS):
        inits.append(nh.from_array(rng.standard_normal((WIDTH, WIDTH)).astype(np.float32) * 0.05, f"w{i}"))
        nodes.append(h.make_node("MatMul", [prev, f"w{i}"], [f"h{i}"]))
        prev = f"h{i}"
    g = h.make_graph(nodes, "mlp", [h.make_tensor_value_info("x", T.FLOAT, [1, WIDTH])],
                     [h.make_tensor_value_info(prev, T.FLOAT, [1, WIDTH])], inits)
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, str(path))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=30)
    args = ap.parse_args()
    import onnxruntime as ort
    from ai_edge_litert.interpreter import Interpreter

    tmp = Path(tempfile.mkdtemp())
    tfl, onx = tmp / "mlp.tflite", tmp / "mlp.onnx"
    build_tflite(tfl)
    build_onnx(onx)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1

    def load_tflite():
        it = Interpreter(model_path=str(tfl), num_threads=1)
        it.allocate_tensors()

    def load_onnx():
        ort.InferenceSession(str(onx), so, providers=["CPUExecutionProvider"])

    print(f"cpu: {cpu_info()['model']}; os.cpu_count()={os.cpu_count()}; native threads=1; rounds={args.rounds}")
    print(f"models: {LAYERS} layers {WIDTH}x{WIDTH}: tflite {tfl.stat().st_size / 1e6:.1f} MB, "
          f"onnx {onx.stat().st_size / 1e6:.1f} MB")
    ratios_by_fmt = {}
    for name, path, load in (("tflite", tfl, load_tflite), ("onnx", onx, load_onnx)):
        load()
        check_file(path)  # warm up imports and caches
        a, b, c = [], [], []
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            load()
            t1 = time.perf_counter()
            check_file(path)
            t2 = time.perf_counter()
            load()
            t3 = time.perf_counter()
            a.append(t1 - t0)
            b.append(t3 - t1)
            c.append(t2 - t1)
        ma, mb = statistics.median(a), statistics.median(b)
        ratios = sorted(y / x for x, y in zip(a, b))
        ratios_by_fmt[name] = mb / ma
        print(f"{name:7s} load      median {ma * 1e3:7.2f} ms  min {min(a) * 1e3:7.2f}  max {max(a) * 1e3:7.2f}")
        print(f"{name:7s} check+load median {mb * 1e3:7.2f} ms  min {min(b) * 1e3:7.2f}  max {max(b) * 1e3:7.2f}  "
              f"(check_file alone median {statistics.median(c) * 1e3:.2f} ms)")
        print(f"{name:7s} ratio of medians {mb / ma:.3f}; pairwise min {ratios[0]:.3f} max {ratios[-1]:.3f}")
    misses = [n for n, r in ratios_by_fmt.items() if r > TARGETS[n]]
    print(f"onnx check_file overhead ratio (check+load)/load = {ratios_by_fmt['onnx']:.2f} "
          f"(target <= {TARGETS['onnx']})")
    print(f"tflite check_file overhead ratio (check+load)/load = {ratios_by_fmt['tflite']:.2f} "
          f"(target <= {TARGETS['tflite']}){'  MISSED: ' + ', '.join(misses) if misses else ''}")
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
