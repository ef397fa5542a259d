"""edgeport's ONNX -> TFLite converter against onnx2tf 2.x, side by side in one run.

For each model (a YOLOv8n-style detector exported at 320x320 with dynamic dims and pinned with
``images:1,3,320,320``, and light models from the onnx wheel with seeded random weights):

* conversion wall time and peak RSS of each tool's own process (both run as subprocesses, rounds
  interleaved A B B A ...; RSS from ``os.wait4``'s rusage of that child);
* op count and TRANSPOSE count in the resulting .tflite;
* the result's latency in LiteRT (same threads, same input, interleaved A B, median/p90/min/max);
* parity with ONNX Runtime (max |a-b| relative to the output's range, via edgeport.convert.verify).

onnx2tf lives in its own virtual environment (default /tmp/edgeport-bench-onnx2tf/.venv), made by
this script on first use (``pip install --ignore-requires-python onnx2tf``: 2.x declares Python
>= 3.12 but runs on 3.11). 2.x writes TFLite through its own FlatBuffer builder (no TensorFlow) and
makes no network request at start-up; 1.x fetched ``calibration_image_sample_data_20x128x128x3_float32.npy``
into its working folder, so the script pre-creates that file there anyway. If onnx2tf cannot be
installed, the script says so and reports edgeport's figures alone.

    .venv/bin/python benchmarks/bench_convert.py [--rounds 3] [--threads 2] [--models yolov8,squeezenet,...]

Targets (verdict lines last; exit 1 when one is missed): time <= 1/4 of onnx2tf's, peak memory <=
its, TRANSPOSEs <= 1/4 of its, latency <= its, max rel error <= 1e-4.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

O2T_HOME = Path(os.environ.get("EDGEPORT_BENCH_ONNX2TF", "/tmp/edgeport-bench-onnx2tf"))
O2T_SAMPLE = "calibration_image_sample_data_20x128x128x3_float32.npy"
DEFAULT_MODELS = "yolov8,squeezenet,shufflenet,resnet50"
TARGETS = {"time": 0.25, "memory": 1.0, "transposes": 0.25, "latency": 1.0, "error": 1e-4}


# ----------------------------------------------------------------------------- environment

def cpu_info() -> str:
    model, flags = platform.processor() or "?", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model in ("?", "x86_64", ""):
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    notable = sorted(f for f in flags if f.startswith(("avx512", "avx2", "amx")) or "vnni" in f)
    return f"{model}; {os.cpu_count()} logical CPUs; flags: {' '.join(notable) or 'n/a'}"


def ensure_onnx2tf() -> Path | None:
    """The onnx2tf executable in its own venv, installed on first use; None if it cannot be had."""
    venv = O2T_HOME / ".venv"
    exe = venv / "bin" / "onnx2tf"
    if not exe.exists():
        print(f"installing onnx2tf into {venv} (first run only) ...", flush=True)
        O2T_HOME.mkdir(parents=True, exist_ok=True)
        base_python = Path(sys.base_prefix) / "bin" / "python3"
        try:
            subprocess.run([str(base_python), "-m", "venv", str(venv)], check=True, capture_output=True)
            subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--ignore-requires-python", "onnx2tf"],
                           check=True, capture_output=True, timeout=1800)
        except (subprocess.SubprocessError, OSError) as e:
            err = getattr(e, "stderr", b"") or b""
            print(f"onnx2tf could not be installed ({type(e).__name__}: {err.decode(errors='replace')[-300:]})")
            return None
    sample = O2T_HOME / "run" / O2T_SAMPLE
    if not sample.exists():
        sample.parent.mkdir(parents=True, exist_ok=True)
        np.save(sample, np.random.default_rng(0).random((20, 128, 128, 3), dtype=np.float32))
    return exe if exe.exists() else None


def onnx2tf_version(exe: Path) -> str:
    try:
        out = subprocess.run([str(exe), "-V"], capture_output=True, text=True, timeout=120)
        return (out.stdout.strip() or out.stderr.strip()).splitlines()[-1]
    except (subprocess.SubprocessError, OSError, IndexError):
        return "?"


# ----------------------------------------------------------------------------- models

def prepare_models(names: list[str], work: Path) -> list[dict]:
    models = []
    for name in names:
        if name == "yolov8":
            src = work / "yolov8_style_320_dynamic.onnx"
            if not src.exists():
                print("exporting the YOLOv8n-style detector (torch -> ONNX, dynamic dims) ...", flush=True)
                from models.yolov8_style import export_onnx

                export_onnx(src, 320, dynamic=True)
            models.append({"name": "yolov8n-style@320", "src": src, "shapes": {"images": [1, 3, 320, 320]}})
        else:
            from models.light import light_model_path, materialize

            src = work / f"{name}.onnx"
            if not src.exists():
                materialize(light_model_path(name), src)
            models.append({"name": name, "src": src, "shapes": None})
    return models


# ----------------------------------------------------------------------------- conversions

_EDGEPORT_RUN = (
    "import json, sys\n"
    "from edgeport.convert import convert\n"
    "convert(sys.argv[1], sys.argv[2], input_shapes=json.loads(sys.argv[3]) or None, verify=False)\n"
)


# A small launcher measures the tool: on Linux a child's ru_maxrss starts from its parent's RSS at
# fork time (exec keeps the old high-water mark), so forking the tool straight from this process
# (hundreds of MiB: torch, onnxruntime...) would floor both tools' figures at our own size.
_LAUNCHER = (
    "import json, os, sys, time\n"
    "t0 = time.perf_counter()\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    os.execvp(sys.argv[2], sys.argv[2:])\n"
    "_, status, ru = os.wait4(pid, 0)\n"
    "wall = time.perf_counter() - t0\n"
    "open(sys.argv[1], 'w').write(json.dumps([wall, ru.ru_maxrss, os.waitstatus_to_exitcode(status)]))\n"
)


def run_measured(cmd: list[str], cwd: Path, env: dict | None = None) -> tuple[float, float, int, str]:
    """Wall seconds, peak RSS (MiB) of the tool's process, return code, tail of its output."""
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        result = Path(f.name)
    try:
        proc = subprocess.run([sys.executable, "-S", "-c", _LAUNCHER, str(result), *cmd], cwd=cwd,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              env=os.environ | {"TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"} | (env or {}))
        wall, maxrss_kib, rc = json.loads(result.read_text())
    finally:
        result.unlink(missing_ok=True)
    # ru_maxrss: the largest single process among the tool and the helpers it waited for
    # (e.g. onnx2tf's onnxsim), in KiB on Linux
    return wall, maxrss_kib / 1024.0, rc, proc.stdout.decode(errors="replace")[-800:]


def convert_edgeport(m: dict, out: Path) -> tuple[float, float, int, str]:
    return run_measured([sys.executable, "-c", _EDGEPORT_RUN, str(m["src"]), str(out), json.dumps(m["shapes"])],
                        cwd=out.parent)


def convert_onnx2tf(exe: Path, m: dict, outdir: Path) -> tuple[float, float, int, str]:
    cmd = [str(exe), "-i", str(m["src"]), "-o", str(outdir), "-n"]
    if m["shapes"]:
        cmd += ["-ois"] + [f"{k}:{','.join(map(str, v))}" for k, v in m["shapes"].items()]
    # onnx2tf runs `onnxsim` as a command: its venv's bin must be on PATH (as if activated)
    path = f"{exe.parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return run_measured(cmd, cwd=O2T_HOME / "run", env={"PATH": path, "VIRTUAL_ENV": str(exe.parent.parent)})


def tflite_ops(path: Path) -> list[str]:
    from ai_edge_litert.interpreter import Interpreter

    try:
        from edgeport.model import check_file  # type: ignore[attr-defined]

        check_file(path, "tflite")
    except ImportError:
        pass
    interp = Interpreter(model_path=str(path))
    return [op["op_name"] for op in interp._get_ops_details()]


def _pinned(detail: dict, nchw: list[int] | None) -> list[int] | None:
    """The static shape for a TFLite input with dynamic dims, from the pinned NCHW shape."""
    sig = [int(x) for x in detail["shape_signature"]]
    if all(x > 0 for x in sig) or not nchw:
        return None
    if len(sig) == 4 and sig[3] == nchw[1]:
        return [nchw[0], nchw[2], nchw[3], nchw[1]]
    return list(nchw)


def latency(paths: list[Path], threads: int, iters: int, shapes: dict | None = None) -> list[dict]:
    """Interleaved A B A B latency in LiteRT, same input (NHWC/NCHW as each model wants)."""
    from ai_edge_litert.interpreter import Interpreter

    interps, feeds = [], []
    for p in paths:
        it = Interpreter(model_path=str(p), num_threads=threads)
        for d in it.get_input_details():
            want = _pinned(d, (shapes or {}).get(d["name"]) or (next(iter(shapes.values())) if shapes else None))
            if want:
                it.resize_tensor_input(d["index"], want)
        it.allocate_tensors()
        d = it.get_input_details()
        feeds.append([(x["index"], np.random.default_rng(0).random(tuple(x["shape"]), dtype=np.float32)
                       .astype(x["dtype"])) for x in d])
        interps.append(it)
    times = [[] for _ in paths]
    for _ in range(3):  # warm-up
        for it, f in zip(interps, feeds):
            for idx, x in f:
                it.set_tensor(idx, x)
            it.invoke()
    for _ in range(iters):
        for k, (it, f) in enumerate(zip(interps, feeds)):
            for idx, x in f:
                it.set_tensor(idx, x)
            t0 = time.perf_counter()
            it.invoke()
            times[k].append((time.perf_counter() - t0) * 1e3)
    return [{"median": statistics.median(t), "p90": float(np.percentile(t, 90)), "min": min(t), "max": max(t),
             "samples": t} for t in times]


def parity(src: Path, tfl: Path, shapes: dict | None) -> tuple[float, str]:
    from edgeport.convert.verify import verify

    data = None
    if shapes:  # the pinned shape, in the ONNX model's layout (verify transposes for the TFLite side)
        rng = np.random.default_rng(0)
        data = {k: rng.standard_normal(v).astype(np.float32) for k, v in shapes.items()}
    try:
        r = verify(src, tfl, data=data, tolerance=TARGETS["error"])
        return r.max_rel, ""
    except Exception as e:  # noqa: BLE001 - report and go on
        return float("inf"), f"{type(e).__name__}: {e}"[:200]


# ----------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3, help="conversions per tool per model (interleaved)")
    ap.add_argument("--threads", type=int, default=2, help="LiteRT threads for the latency figures")
    ap.add_argument("--iters", type=int, default=30, help="timed inferences per model per tool")
    ap.add_argument("--models", default=DEFAULT_MODELS, help=f"comma list (default {DEFAULT_MODELS})")
    ap.add_argument("--work", default="/tmp/edgeport-bench-convert", help="folder for models and results")
    ap.add_argument("--no-onnx2tf", action="store_true", help="measure edgeport alone")
    args = ap.parse_args(argv)

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    print(f"CPU: {cpu_info()}")
    print(f"LiteRT threads: {args.threads}; conversion rounds: {args.rounds}; latency iterations: {args.iters}")
    exe = None if args.no_onnx2tf else ensure_onnx2tf()
    print(f"onnx2tf: {onnx2tf_version(exe) + ' (' + str(exe) + ')' if exe else 'not available: edgeport figures only'}")
    models = prepare_models([n.strip() for n in args.models.split(",") if n.strip()], work)

    rows = []
    for m in models:
        tag = m["src"].stem
        ep_out = work / "edgeport" / f"{tag}.tflite"
        o2_dir = work / "onnx2tf" / tag
        ep_out.parent.mkdir(parents=True, exist_ok=True)
        runs = {"edgeport": [], "onnx2tf": []}
        for r in range(args.rounds):
            order = ["edgeport", "onnx2tf"] if r % 2 == 0 else ["onnx2tf", "edgeport"]
            for tool in order:
                if tool == "edgeport":
                    runs[tool].append(convert_edgeport(m, ep_out))
                elif exe is not None:
                    runs[tool].append(convert_onnx2tf(exe, m, o2_dir))
        row = {"model": m["name"]}
        for tool, res in runs.items():
            if not res:
                continue
            ok = [x for x in res if x[2] == 0]
            if not ok:
                row[tool] = {"error": res[-1][3].strip().splitlines()[-1] if res[-1][3].strip() else f"rc={res[-1][2]}"}
                continue
            row[tool] = {"time": statistics.median(x[0] for x in ok), "time_min": min(x[0] for x in ok),
                         "time_max": max(x[0] for x in ok), "rss": statistics.median(x[1] for x in ok)}
        outs = {"edgeport": ep_out}
        o2_file = o2_dir / f"{tag}_float32.tflite"
        if exe is not None and o2_file.exists():
            outs["onnx2tf"] = o2_file
        for tool, path in outs.items():
            if "error" in row.get(tool, {"error": 1}) or not path.exists():
                continue
            ops = tflite_ops(path)
            row[tool].update(ops=len(ops), transposes=sum(o == "TRANSPOSE" for o in ops))
            row[tool]["max_rel"], row[tool]["parity_note"] = parity(m["src"], path, m["shapes"])
        ready = [t for t in ("edgeport", "onnx2tf") if "ops" in row.get(t, {})]
        for t, lat in zip(ready, latency([outs[t] for t in ready], args.threads, args.iters, m["shapes"])):
            row[t]["latency"] = lat
        if len(ready) == 2:  # pair by pair (A_i / B_i): cancels the machine's slow drifts
            a, b = row["edgeport"]["latency"].pop("samples"), row["onnx2tf"]["latency"].pop("samples")
            row["latency_ratio"] = statistics.median(x / y for x, y in zip(a, b))
        rows.append(row)
        print(f"  {m['name']}: done", flush=True)

    _table(rows)
    (work / "results.json").write_text(json.dumps(rows, indent=2, default=str))
    return _verdicts(rows, exe is not None)


def _fmt(row: dict, tool: str, key: str, f: str = "{:.2f}") -> str:
    v = row.get(tool, {})
    if "error" in v:
        return "error"
    if key == "latency":
        return f"{v['latency']['median']:.2f} \\[{v['latency']['min']:.2f}-{v['latency']['max']:.2f}]" if "latency" in v else "-"
    return f.format(v[key]) if key in v else "-"


def _table(rows: list[dict]) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # pragma: no cover
        print(json.dumps(rows, indent=2, default=str))
        return
    t = Table(title="ONNX -> TFLite: edgeport vs onnx2tf (median of rounds; latency ms median \\[min-max])")
    for c in ("model", "tool", "convert s", "peak RSS MiB", "ops", "TRANSPOSE", "latency ms", "max rel err"):
        t.add_column(c, justify="left" if c in ("model", "tool") else "right")
    for row in rows:
        for tool in ("edgeport", "onnx2tf"):
            if tool not in row:
                continue
            t.add_row(row["model"], tool, _fmt(row, tool, "time") + (
                f" [{row[tool]['time_min']:.2f}-{row[tool]['time_max']:.2f}]" if "time_min" in row.get(tool, {}) else ""), _fmt(row, tool, "rss", "{:.0f}"),
                      _fmt(row, tool, "ops", "{}"), _fmt(row, tool, "transposes", "{}"), _fmt(row, tool, "latency"),
                      _fmt(row, tool, "max_rel", "{:.2e}"))
            if "error" in row[tool]:
                t.add_row("", "", f"[red]{row[tool]['error'][:70]}[/]", "", "", "", "", "")
    Console(width=140).print(t)
    ratios = [f"{r['model']} {r['latency_ratio']:.3f}" for r in rows if "latency_ratio" in r]
    if ratios:
        print("latency ratio edgeport/onnx2tf per model (median of paired ratios): " + ", ".join(ratios))
    for row in rows:
        for tool in ("edgeport", "onnx2tf"):
            note = row.get(tool, {}).get("parity_note")
            if note:
                print(f"note: {row['model']} {tool} parity: {note}")


def _verdicts(rows: list[dict], compared: bool) -> int:
    missed = 0
    both = [r for r in rows if "ops" in r.get("edgeport", {}) and "ops" in r.get("onnx2tf", {})]
    failed_ep = [r["model"] for r in rows if "ops" not in r.get("edgeport", {})]
    if failed_ep:
        print(f"edgeport failed to convert: {', '.join(failed_ep)}")
        missed += 1
    lines = []
    if compared and both:
        def worst(fn):
            vals = [(fn(r), r["model"]) for r in both]
            return max(vals)

        tr, tm = worst(lambda r: r["edgeport"]["time"] / r["onnx2tf"]["time"])
        mr, mm = worst(lambda r: r["edgeport"]["rss"] / r["onnx2tf"]["rss"])
        xr, xm = worst(lambda r: (r["edgeport"]["transposes"] / r["onnx2tf"]["transposes"])
                       if r["onnx2tf"]["transposes"] else (0.0 if r["edgeport"]["transposes"] == 0 else float("inf")))
        lr, lm = worst(lambda r: r["latency_ratio"])
        lines += [
            (f"convert time ratio edgeport/onnx2tf = {tr:.3f} (worst: {tm}; target <= {TARGETS['time']})",
             tr <= TARGETS["time"]),
            (f"peak memory ratio edgeport/onnx2tf = {mr:.3f} (worst: {mm}; target <= {TARGETS['memory']})",
             mr <= TARGETS["memory"]),
            (f"transpose ratio edgeport/onnx2tf = {xr:.3f} (worst: {xm}; target <= {TARGETS['transposes']})",
             xr <= TARGETS["transposes"]),
            (f"latency ratio edgeport/onnx2tf = {lr:.3f} (median of paired ratios, worst: {lm}; "
             f"target <= {TARGETS['latency']})",
             lr <= TARGETS["latency"]),
        ]
    elif not compared:
        print("onnx2tf not available: ratios not measured")
    errs = [(r["edgeport"]["max_rel"], r["model"]) for r in rows if "max_rel" in r.get("edgeport", {})]
    if errs:
        e, em = max(errs)
        lines.append((f"max rel error edgeport vs onnxruntime = {e:.2e} (worst: {em}; target <= {TARGETS['error']:g})",
                      e <= TARGETS["error"]))
    for text, ok in lines:
        print(("PASS " if ok else "MISS ") + text)
        missed += not ok
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
