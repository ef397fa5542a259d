"""``edgeport demo``: the seed talk's story on the embedded doodle classifier.

Inspect, classify the samples, convert, quantize, and benchmark every format on every
available backend (one thread, like the talk), with the test-set accuracy of each row.
A thin view over :func:`edgeport.demo.run_demo`.
"""

from __future__ import annotations

from pathlib import Path

from typing import Any

import typer
from rich import box
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from edgeport.cli._common import app, console, print_json, write_json

__all__ = ["demo"]


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    return f"{n / 1e6:.2f} MB" if n >= 1e6 else f"{n / 1e3:.0f} KB"


def _status_line(step) -> None:
    if step.status == "skipped":
        console.print(f"  [yellow]skipped:[/] {step.reason}", highlight=False)
    elif step.status == "failed":
        console.print(f"  [red]failed:[/] {step.reason}", highlight=False)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.4g}"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, dict):
        items = sorted(v.items(), key=lambda kv: -kv[1] if isinstance(kv[1], (int, float)) else 0)
        return ", ".join(f"{k} {val}" for k, val in items)
    if isinstance(v, (list, tuple)):
        return ", ".join(_fmt(x) for x in v)
    return str(v)


def _render_inspect(step) -> None:
    console.rule("[bold]1. Inspect[/]  edgeport.open(doodle.onnx).inspect()")
    _status_line(step)
    if step.status != "ok":
        return
    m = step.model
    console.print(f"  format [bold]{m.get('format')}[/], size {_size(m.get('size_bytes'))}", highlight=False)
    for kind in ("inputs", "outputs"):
        for t in m.get(kind, []):
            console.print(f"  {kind[:-1]:6} {t.get('name')} {t.get('dtype')} {list(t.get('shape', []))}"
                          f" {t.get('layout') or ''}", highlight=False)
    meta = m.get("metadata") or {}
    if meta.get("labels"):
        console.print(f"  labels {', '.join(meta['labels'])}", highlight=False)
    if meta.get("mean") is not None:
        console.print(f"  normalize (x/255 - {meta.get('mean')}) / {meta.get('std')}", highlight=False)
    for k, v in step.inspection.items():
        if k in ("path", "format", "inputs", "outputs", "metadata", "size_bytes", "details") or v in (None, {}, []):
            continue
        console.print(f"  {k} {_fmt(v)}", highlight=False)


def _render_classify(step) -> None:
    console.rule("[bold]2. Classify[/]  edgeport.load(doodle.onnx).run(sample)")
    _status_line(step)
    if step.status != "ok":
        return
    t = Table(caption=f"{step.correct}/{len(step.rows)} correct on {step.backend}; labels from {step.labels_from}")
    for c in ("FILE", "LABEL", "PREDICTED", "SCORE"):
        t.add_column(c, justify="right" if c == "SCORE" else "left")
    for r in step.rows:
        mark = "[green]" if r.correct else "[red]"
        t.add_row(r.file, r.label, f"{mark}{r.predicted}[/]", f"{r.score:.3f}")
    console.print(t)


def _render_convert(step) -> None:
    console.rule("[bold]3. Convert[/]  ONNX -> TFLite, OpenVINO IR, TorchScript, PT2")
    _status_line(step)
    for v in step.variants:
        console.print(f"  [green]ok[/]  {v.name:20} {_size(v.size_bytes):>8}  {v.how}", highlight=False)
    for fmt, why in step.skipped.items():
        console.print(f"  [yellow]--[/]  {fmt:20} {why}", highlight=False)


def _render_quantize(step) -> None:
    console.rule("[bold]4. Quantize[/]  int8 TFLite")
    _status_line(step)
    if step.variant:
        console.print(f"  [green]ok[/]  {step.variant.name:20} {_size(step.variant.size_bytes):>8}  from {step.source}"
                      f", {step.report.get('calibration_samples', '?')} calib", highlight=False)


def _render_benchmark(step) -> None:
    console.rule(f"[bold]5. Benchmark[/]  {step.threads} thread, {step.runs} runs after {step.warmup} warm-up")
    _status_line(step)
    if step.rows:
        t = Table(box=box.SIMPLE_HEAD, caption=f"avg/std: latency of one inference (batch 1), ms; ACC: top-1 on {step.test_samples} "
                          "held-out doodles (test.npz)")
        for c in ("MODEL", "FORMAT/BACKEND", "SIZE", "AVG ms", "STD ms", "ACC"):
            t.add_column(c, justify="left" if c in ("MODEL", "FORMAT/BACKEND") else "right", no_wrap=True)
        for r in step.rows:
            acc = "-" if r.accuracy is None else f"{100 * r.accuracy:.2f}%"
            t.add_row(r.model, f"{r.format}/{r.backend}", _size(r.size_bytes),
                      f"{r.avg_ms:.3f}", f"{r.std_ms:.3f}", acc)
        console.print(t)
        cpu = step.cpu.get("model") or step.cpu.get("model_name") or step.cpu.get("cpu")
        if cpu:
            console.print(f"  CPU: {cpu}", highlight=False)
    for s in step.skipped:
        console.print(f"  [yellow]skipped:[/] {s['model']} on {s['backend']}: {s['reason']}", highlight=False)
    for r in step.rows:
        if r.note:
            console.print(f"  [yellow]note:[/] {r.model} on {r.backend}: {r.note}", highlight=False)


_RENDER = {"inspect": _render_inspect, "classify": _render_classify, "convert": _render_convert,
           "quantize": _render_quantize, "benchmark": _render_benchmark}


@app.command()
def demo(
    runs: int = typer.Option(50, "--runs", help="Timed inferences per model and backend."),
    warmup: int = typer.Option(5, "--warmup", help="Warm-up inferences (not timed)."),
    threads: int = typer.Option(1, "--threads", help="CPU threads per backend (the talk uses 1)."),
    out: str = typer.Option(None, "--out", help="Keep the converted models in this folder."),
    accuracy: bool = typer.Option(True, "--accuracy/--no-accuracy", help="Measure top-1 on test.npz per row."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON instead of tables."),
    json_out: str = typer.Option(None, "--json-out", help="Also write the JSON report to this file."),
) -> None:
    """Tell the seed talk's story on the embedded doodle model: inspect, classify, convert, benchmark."""
    from edgeport.demo import run_demo
    from edgeport.errors import UsageError

    if runs < 1 or warmup < 0 or threads < 1:
        raise UsageError(f"--runs and --threads must be >= 1 and --warmup >= 0 (got {runs}, {threads}, {warmup})",
                         hint="e.g. edgeport demo --runs 50 --warmup 5 --threads 1")
    if json_out:
        from edgeport._fileio import check_output_path

        check_output_path(json_out, option="--json-out")
    if out is not None and Path(out).exists() and not Path(out).is_dir():
        raise UsageError(f"--out {out}: is a file, not a folder", hint="give a folder to keep the converted models in")
    if as_json:
        report = run_demo(runs=runs, warmup=warmup, threads=threads, out_dir=out, accuracy=accuracy)
    else:
        console.print("[bold]edgeport demo[/]: a doodle classifier (10 classes, 28x28), trained by "
                      "edgeport/assets/doodle/train.py, shipped beside it", highlight=False)
        with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                      TimeElapsedColumn(), console=console, transient=True) as bar:
            task = bar.add_task("demo", total=1)

            def progress(desc: str, done: int, total: int) -> None:
                bar.update(task, description=desc, completed=done, total=max(total, 1))

            def on_step(step) -> None:
                bar.stop()
                _RENDER[step.name](step)
                bar.start()

            report = run_demo(runs=runs, warmup=warmup, threads=threads, out_dir=out, accuracy=accuracy, progress=progress,
                              on_step=on_step)
        where = f"; models kept in {report.out_dir}" if report.out_dir else ""
        console.print(f"done in {report.seconds:.1f} s{where}", highlight=False)
    if as_json:
        print_json(report.to_dict())
    if json_out:
        write_json(report.to_dict(), json_out)
