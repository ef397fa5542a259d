"""``edgeport quantize | prune | cluster | distill | optimize``: thin views over :mod:`edgeport.compress`."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Optional

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from edgeport._fileio import check_output_path
from edgeport.cli._common import app, console, err_console, print_json
from edgeport.errors import QualityBudgetError, UsageError

__all__ = ["quantize_cmd", "prune_cmd", "cluster_cmd", "distill_cmd", "optimize_cmd"]


@contextlib.contextmanager
def _progress(enabled: bool):
    """Yield a callback (label, done, total) rendering one Rich bar per label on stderr."""
    if not enabled:
        yield None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=err_console, transient=True, disable=not err_console.is_terminal) as bar:
        tasks: dict[str, int] = {}

        def cb(label, done, total):
            if label not in tasks:
                tasks[label] = bar.add_task(label, total=total)
            bar.update(tasks[label], completed=done, total=total)

        yield cb


def _floats(text: Optional[str], flag: str):
    if text is None:
        return None
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise UsageError(f"bad {flag} {text!r}", hint=f"give comma-separated numbers, e.g. {flag} 0.5,0.5,0.5") from None


def _kib(n) -> str:
    return f"{n / 1024:,.1f} KiB"


def _render_quant(rep) -> None:
    t = Table(title=f"quantize {rep.mode} -> {rep.output}", show_header=False)
    t.add_row("format", rep.format)
    t.add_row("size", f"{_kib(rep.size_before)} -> {_kib(rep.size_after)} ({rep.size_ratio * 100:.1f} %)")
    if rep.calibration_samples:
        t.add_row("calibration", f"{rep.calibration_samples} samples, {rep.method}, "
                                 f"{'per-channel' if rep.per_channel else 'per-tensor'}")
    t.add_row("layers", f"{len(rep.quantized_layers)} quantized ({len(rep.int16_layers)} with int16 activations), "
                        f"{len(rep.float_layers)} float")
    if rep.output_cosine is not None:
        t.add_row("output vs float", f"cosine {rep.output_cosine:.5f}, SNR {rep.output_snr_db:.1f} dB")
    if rep.quant_metric is not None:
        t.add_row(rep.metric_name, f"float {rep.float_metric * 100:.2f} %, quantized {rep.quant_metric * 100:.2f} % "
                                   f"(drop {rep.drop * 100:.2f} points)")
    if rep.latency_ms:
        t.add_row("latency (1 thread)", ", ".join(f"{k} {v:.3f} ms" for k, v in rep.latency_ms.items()))
    for n in rep.notes:
        t.add_row("note", n)
    console.print(t)
    if rep.layers:
        lt = Table(title="layers, worst first (vs float on calibration data)")
        for c in ("layer", "op", "SNR dB", "cosine", "precision"):
            lt.add_column(c, justify="right" if c in ("SNR dB", "cosine") else "left")
        for s in rep.layers[:15]:
            lt.add_row(s.name, s.op, "-" if s.kept_float else f"{s.snr_db:.1f}", "-" if s.kept_float else f"{s.cosine:.5f}",
                       rep.precision(s.name))
        console.print(lt)


@app.command("quantize")
def quantize_cmd(
    model: Path = typer.Argument(..., help="Float model: .tflite, .onnx or OpenVINO .xml"),
    output: Path = typer.Option(..., "-o", "--output", help="Output (.tflite, .onnx or .xml; format from the extension)"),
    mode: str = typer.Option("int8", "--mode", "-m", help="fp16 | dynamic | int8 | int16x8"),
    calib: Optional[str] = typer.Option(None, "--calib", help="Calibration data: folder of images, .npz or .npy"),
    per_channel: bool = typer.Option(True, "--per-channel/--per-tensor", help="Per-channel weight scales"),
    method: str = typer.Option("minmax", "--method", help="minmax | percentile | entropy (KL)"),
    diagnose: bool = typer.Option(False, "--diagnose", help="Layer-wise SNR/cosine against float"),
    auto_mixed: bool = typer.Option(False, "--auto-mixed-precision", help="Move the fewest layers to int16 or float to meet --max-drop"),
    fallback: str = typer.Option("float", "--fallback", help="Auto mixed precision (TFLite int8): float (fast, the "
                                 "default) | int16 (16x8 first, then float: integer-only, on slow reference kernels)"),
    max_drop: Optional[str] = typer.Option(None, "--max-drop", help="Accuracy budget, e.g. 1% or 0.01"),
    eval_data: Optional[str] = typer.Option(None, "--eval", help="Evaluation data (.npz with x and y) for --max-drop"),
    keep_float: Optional[list[str]] = typer.Option(None, "--keep-float", help="Layer to leave in float (repeatable)"),
    int16: Optional[list[str]] = typer.Option(None, "--int16", help="Layer to run with int16 activations (TFLite int8, "
                                              "repeatable)"),
    int_io: bool = typer.Option(False, "--int-io", help="Integer inputs/outputs (TFLite)"),
    limit: int = typer.Option(256, "--limit", help="At most this many calibration samples"),
    mean: Optional[str] = typer.Option(None, "--mean", help="Image normalization mean, e.g. 0.485,0.456,0.406 "
                                       "(default: the model's metadata)"),
    std: Optional[str] = typer.Option(None, "--std", help="Image normalization std (default: the model's metadata)"),
    onnx_format: str = typer.Option("qdq", "--onnx-format", help="ONNX: qdq | qoperator"),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON"),
) -> None:
    """Quantize a model (fp16, dynamic int8, full int8, int16x8) with calibration and diagnosis."""
    from edgeport.compress import quantize

    check_output_path(output, inputs=[model, calib, eval_data])
    with _progress(not as_json) as cb:
        try:
            rep = quantize(model, output, mode=mode, calib=calib, per_channel=per_channel, method=method,
                           diagnose=diagnose, auto_mixed_precision=auto_mixed, max_drop=max_drop, eval_data=eval_data,
                           keep_float=keep_float or (), int16_layers=int16 or (), fallback=fallback, int_io=int_io, limit=limit, mean=_floats(mean, "--mean"),
                           std=_floats(std, "--std"), onnx_format=onnx_format, progress=cb)
        except QualityBudgetError as e:
            if as_json and getattr(e, "report", None) is not None:
                print_json(e.report)
            elif getattr(e, "report", None) is not None:
                _render_quant(e.report)
            raise
    if as_json:
        print_json(rep)
    else:
        _render_quant(rep)


def _class_file(model_class: str) -> Optional[str]:
    """The .py file of a ``file.py:Class`` spec (an input the output must not replace)."""
    head = model_class.rpartition(":")[0]
    return head if head.endswith(".py") else None


def _torch_model(model_class: str, weights: Optional[Path]):
    from edgeport.compress._torchio import load_module

    return load_module(model_class, weights)


def _example(data: Optional[str], shape: Optional[str]):
    import numpy as np
    import torch

    if shape:
        try:
            dims = [int(s) for s in shape.split(",")]
        except ValueError:
            dims = []
        if not dims or any(d < 1 for d in dims):
            raise UsageError(f"bad --input-shape {shape!r}", hint="give positive comma-separated sizes, e.g. 1,3,224,224")
        return torch.rand(*dims)
    if data:
        from edgeport.compress._torchio import load_xy

        x, _ = load_xy(data)
        return torch.from_numpy(np.ascontiguousarray(x[:1]))
    raise UsageError("need an example input shape", hint="pass --data train.npz or --input-shape 1,3,224,224")


@app.command("prune")
def prune_cmd(
    model_class: str = typer.Argument(..., help="PyTorch model class: module:Class or file.py:Class (no-arg constructor)"),
    output: Path = typer.Option(..., "-o", "--output", help=".pt2 (torch.export), .onnx, .pt (TorchScript) or .pth"),
    weights: Optional[Path] = typer.Option(None, "--weights", "-w", help="state_dict saved with torch.save"),
    sparsity: float = typer.Option(0.5, "--sparsity", help="Magnitude pruning target (fraction of zero weights)"),
    channels: Optional[float] = typer.Option(None, "--channels", help="Structured: fraction of conv channels to remove"),
    data: Optional[str] = typer.Option(None, "--data", help="Fine-tuning data: .npz with x [and y]"),
    steps: int = typer.Option(100, "--steps", help="Fine-tuning steps"),
    lr: float = typer.Option(1e-3, "--lr"),
    input_shape: Optional[str] = typer.Option(None, "--input-shape", help="e.g. 1,3,224,224 (else from --data)"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Prune a PyTorch model: magnitude pruning to a sparsity target, or structured channel pruning."""
    from edgeport.compress._torchio import save_module
    from edgeport.compress.prune import prune_channels, prune_magnitude

    check_output_path(output, inputs=[_class_file(model_class), weights, data])
    m = _torch_model(model_class, weights)
    ex = _example(data, input_shape)
    with _progress(not as_json) as cb:
        p = (lambda d, t: cb("fine-tune", d, t)) if cb else None
        if channels is not None:
            rep = prune_channels(m, channels, ex, data, steps=steps, lr=lr, progress=p)
        else:
            rep = prune_magnitude(m, sparsity, data, steps=steps, lr=lr, progress=p)
    save_module(m, output, ex)
    if as_json:
        print_json(rep)
        return
    t = Table(title=f"prune ({rep.method}) -> {output}")
    for c in ("layer", "sparsity" if rep.method == "magnitude" else "kept channels", "shape"):
        t.add_column(c)
    for name, v in rep.layers.items():
        t.add_row(name, f"{v * 100:.1f} %", str(rep.shapes.get(name, "")))
    console.print(t)
    console.print(f"params {rep.params_before:,} -> {rep.params_after:,} nonzero/kept; overall "
                  f"{rep.sparsity * 100:.1f} % removed; loss {rep.loss_before:.4f} -> {rep.loss_after:.4f}")


@app.command("cluster")
def cluster_cmd(
    model: str = typer.Argument(..., help=".onnx file, or a PyTorch class module:Class (with --weights)"),
    output: Path = typer.Option(..., "-o", "--output", help="Clustered .onnx, or state_dict .pth for PyTorch"),
    clusters: int = typer.Option(16, "--clusters", "-n", help="Centroids per layer"),
    weights: Optional[Path] = typer.Option(None, "--weights", "-w", help="state_dict for a PyTorch class"),
    min_elements: int = typer.Option(256, "--min-elements", help="Skip smaller tensors"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Weight clustering by k-means: N shared values per layer; reports the compressed size."""
    from edgeport.compress.cluster import cluster

    check_output_path(output, inputs=[model, _class_file(model), weights])
    target = model if model.endswith(".onnx") else _torch_model(model, weights)
    rep = cluster(target, clusters, output, min_elements=min_elements)
    if as_json:
        print_json(rep)
        return
    t = Table(title=f"cluster n={clusters} -> {output}", show_header=False)
    t.add_row("layers clustered", str(len(rep.layers)))
    t.add_row("max unique values/layer", str(max(rep.layers.values(), default=0)))
    t.add_row(f"{rep.codec} size", f"{_kib(rep.size_zipped_before)} -> {_kib(rep.size_zipped_after)} "
                                   f"({rep.zip_ratio * 100:.1f} %)")
    t.add_row("max |w - w_clustered|", f"{rep.max_abs_error:.4g}")
    console.print(t)


@app.command("distill")
def distill_cmd(
    student: str = typer.Argument(..., help="Student PyTorch class: module:Class or file.py:Class"),
    teacher: str = typer.Option(..., "--teacher", help="Teacher: model file (.onnx/.tflite/.xml) or module:Class"),
    data: str = typer.Option(..., "--data", help="Training data .npz with x [and y]"),
    output: Path = typer.Option(..., "-o", "--output", help=".pt2, .onnx, .pt or .pth"),
    teacher_weights: Optional[Path] = typer.Option(None, "--teacher-weights"),
    student_weights: Optional[Path] = typer.Option(None, "--student-weights"),
    temperature: float = typer.Option(4.0, "--temperature", "-T"),
    alpha: float = typer.Option(0.7, "--alpha", help="Weight of the soft-target loss"),
    epochs: int = typer.Option(5, "--epochs"),
    lr: float = typer.Option(1e-3, "--lr"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Distill a teacher into a smaller PyTorch student (Hinton loss)."""
    from edgeport.compress._torchio import save_module
    from edgeport.compress.distill import distill

    check_output_path(output, inputs=[teacher, _class_file(teacher), _class_file(student), data, teacher_weights,
                                      student_weights])
    t_model = teacher if Path(teacher).suffix in (".onnx", ".tflite", ".xml") else _torch_model(teacher, teacher_weights)
    s_model = _torch_model(student, student_weights)
    with _progress(not as_json) as cb:
        rep = distill(t_model, s_model, data, temperature=temperature, alpha=alpha, epochs=epochs, lr=lr,
                      progress=(lambda d, t: cb("epochs", d, t)) if cb else None)
    save_module(s_model, output, _example(data, None))
    if as_json:
        print_json(rep)
        return
    console.print(f"distill T={temperature} alpha={rep.alpha}: loss " + " -> ".join(f"{v:.4f}" for v in rep.losses))
    if rep.student_top1 is not None:
        console.print(f"top-1 teacher {rep.teacher_top1 * 100:.2f} %, student {rep.student_top1 * 100:.2f} %")
    console.print(f"agreement with teacher {rep.agreement * 100:.2f} %; wrote {output}")


@app.command("optimize")
def optimize_cmd(
    model: Path = typer.Argument(..., help="Float model: .onnx or .tflite"),
    eval_data: str = typer.Option(..., "--eval", help="Evaluation data: .npz with x [and y], or images"),
    output: Path = typer.Option(..., "-o", "--output", help="Best variant (.tflite or .onnx)"),
    max_drop: str = typer.Option("1%", "--max-drop", help="Accuracy budget, e.g. 1% or 0.01"),
    calib: Optional[str] = typer.Option(None, "--calib", help="Calibration data (default: the eval data)"),
    metric: Optional[str] = typer.Option(None, "--metric", help="module:function(outputs, labels) -> score"),
    objective: str = typer.Option("latency", "--objective", help="latency | size"),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Pareto plot PNG"),
    threads: int = typer.Option(1, "--threads", "-t"),
    runs: int = typer.Option(50, "--runs", help="Timed runs per variant"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Try fp16 / dynamic / int8 / mixed variants; keep the fastest (or smallest) within the budget."""
    from edgeport.compress import optimize

    check_output_path(output, inputs=[model, eval_data, calib])
    if plot is not None:
        check_output_path(plot, inputs=[model, eval_data, calib, output], option="--plot")
    with _progress(not as_json) as cb:
        try:
            rep = optimize(model, output, eval_data, max_drop=max_drop, calib=calib, metric=metric,
                           objective=objective, plot=plot, threads=threads, runs=runs, progress=cb)
        except QualityBudgetError as e:
            if getattr(e, "report", None) is not None and not as_json:
                _render_opt(e.report)
            raise
    if as_json:
        print_json(rep)
    else:
        _render_opt(rep)


def _render_opt(rep) -> None:
    t = Table(title=f"optimize {rep.source} (budget {rep.max_drop * 100:.2f} points of {rep.metric_name})")
    for c in ("variant", "size", "latency p50", rep.metric_name, "drop", "in budget", "Pareto"):
        t.add_column(c, justify="left" if c == "variant" else "right")
    for v in rep.variants:
        if v.error:
            t.add_row(v.name, "-", "-", "-", "-", "[red]error[/]", v.error[:60])
            continue
        mark = "[bold green]*[/] " if v.name == rep.chosen else ""
        t.add_row(mark + v.name, _kib(v.size_bytes), f"{v.latency_ms:.3f} ms", f"{v.metric * 100:.2f} %",
                  f"{v.drop * 100:+.2f}", ("yes" if v.within_budget else "[red]no[/]") + ("" if v.eligible else " (other format)"),
                  "yes" if v.pareto else "")
    console.print(t)
    if rep.chosen:
        console.print(f"kept [bold]{rep.chosen}[/] -> {rep.output}" + (f"; plot {rep.plot}" if rep.plot else ""))
