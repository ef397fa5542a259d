"""``edgeport bench``: benchmark models / backends side by side (a view of :func:`edgeport.bench.benchmark`)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.markup import escape
from rich.table import Table

from edgeport.cli._common import app, console, err_console, print_json, write_json
from edgeport.errors import UsageError

__all__ = ["bench", "render_comparison"]


def _ms(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}" if v >= 1 else f"{v:.3f}"


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)  # pragma: no cover


def _parse_inputs(items: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for it in items or []:
        name, sep, file = it.rpartition("=")
        if not sep:
            name, file = "", it
        if not file:
            raise UsageError(f"--input {it!r} names no file", hint="use --input NAME=FILE (or FILE for a one-input model)")
        out[name] = file
    return out


_COLUMNS = ("MODEL", "BACKEND", "SIZE", "INIT", "FIRST", "AVG", "STD", "MIN", "P50", "P90", "P99", "MAX", "INF/S",
            "PEAK RSS (MB)", "×P50")
_WIDE = 150  # below this console width the table is shown transposed (one column per model x backend)


def _cells(r, q) -> list[str]:
    rss = "-" if r.peak_rss_mb is None else f"{r.peak_rss_mb:.0f} (+{r.peak_rss_mb - r.rss_baseline_mb:.0f})"
    ratio = "-" if q["p50_ms"] is None else f"{q['p50_ms']:.2f}"
    return [escape(Path(r.model).name), escape(r.backend), _size(r.size_bytes), _ms(r.init_ms), _ms(r.first_ms),
            _ms(r.avg_ms), _ms(r.std_ms), _ms(r.min_ms), _ms(r.p50_ms), _ms(r.p90_ms), _ms(r.p99_ms), _ms(r.max_ms),
            f"{r.throughput_per_s:.0f}", rss, ratio]


def _by_type(rows: list[dict]) -> list[tuple[str, float]]:
    from edgeport.bench.profile import OpProfile, by_op_type

    fields = ("name", "op_type", "time_ms", "percent", "calls")
    return [(g.op_type, g.percent) for g in by_op_type([OpProfile(**{k: op[k] for k in fields}) for op in rows])]


def render_comparison(cmp, top: int = 10) -> None:
    """Print the comparison table, machine line, fallbacks and per-op profiles."""
    rows = [_cells(r, q) for r, q in zip(cmp.results, cmp.ratios())]
    t = Table(title="edgeport bench (times in ms)", title_justify="left", header_style="bold")
    if console.width >= _WIDE:
        for col in _COLUMNS:
            t.add_column(col, justify="left" if col in ("MODEL", "BACKEND") else "right")
        for cells in rows:
            t.add_row(*cells)
    else:
        t.add_column("")
        for cells in rows:
            t.add_column(f"{cells[0]}\n{cells[1]}", justify="right")
        for i, col in enumerate(_COLUMNS[2:], start=2):
            t.add_row(col, *(cells[i] for cells in rows))
    console.print(t)
    cpu = cmp.cpu
    threads = sorted({str(r.threads) if r.threads else "backend default" for r in cmp.results})
    flags = f" ({', '.join(cpu.get('flags', []))})" if cpu.get("flags") else ""
    console.print(f"CPU: {cpu.get('model', '?')}{flags}, {cpu.get('usable_cpus', '?')} usable cores; "
                  f"threads: {', '.join(threads)}; warmup {cmp.warmup}, runs {cmp.runs}; "
                  f"×P50 = P50 / P50 of the first row; PEAK RSS over load+run (+ above the baseline before load)",
                  highlight=False, soft_wrap=True)
    tag = lambda r: escape(f"{Path(r.model).name} [{r.backend}]")  # noqa: E731
    for r in cmp.results:
        for fb in r.fallbacks:
            console.print(f"[yellow]fallback[/] {tag(r)}: " + escape(
                f"{fb.get('requested')} -> {fb.get('used', 'cpu')}: {fb.get('reason')}"
                + (f" (ops: {', '.join(fb['ops'])})" if fb.get("ops") else "")), highlight=False)
    for s in cmp.skipped:
        console.print(escape(f"skipped {Path(s['model']).name} [{s['backend']}]: {s['reason']}"), highlight=False)
    for r in cmp.results:
        if r.op_profile_note:
            console.print(f"{tag(r)}: {escape(r.op_profile_note)}", highlight=False)
        if r.op_profile:
            p = Table(title=f"top {min(top, len(r.op_profile))} ops: {tag(r)}",
                      title_justify="left", header_style="bold")
            numbered = any(op.get("index") is not None for op in r.op_profile)  # LiteRT: operator index
            for col in ("#",) * numbered + ("NODE", "OP", "MS/INF", "%", "CALLS"):
                p.add_column(col, justify="left" if col in ("NODE", "OP") else "right")
            for op in r.op_profile[:top]:
                p.add_row(*([str(op.get("index", ""))] if numbered else []), escape(op["name"]), escape(op["op_type"]),
                          f"{op['time_ms']:.4f}", f"{op['percent']:.1f}", f"{op['calls']:g}")
            console.print(p)
            kinds = _by_type(r.op_profile)
            console.print("by op type: " + escape(", ".join(f"{t} {pct:.1f}%" for t, pct in kinds[:top])), highlight=False)


@app.command()
def bench(
    models: list[Path] = typer.Argument(..., help="Model files (.onnx, .tflite, .xml, .pt2, .pt)."),
    backend: Optional[list[str]] = typer.Option(None, "--backend", "-b",
                                                help="Backend; repeat to compare backends (one row per model x backend)."),
    threads: Optional[int] = typer.Option(None, "--threads", "-t", help="CPU threads (default: the backend's)."),
    accelerator: str = typer.Option("auto", "--accelerator", "-a", help="auto, cpu, gpu, npu, cuda or tensorrt."),
    warmup: int = typer.Option(10, "--warmup", help="Warm-up runs after the first inference (not in the stats)."),
    runs: int = typer.Option(200, "--runs", help="Timed runs."),
    input_: Optional[list[str]] = typer.Option(None, "--input", "-i",
                                               help="NAME=FILE (.npy, .npz or image); repeatable."),
    data: Optional[Path] = typer.Option(None, "--data", help=".npz (one array per input) or a folder of files."),
    json_out: Optional[str] = typer.Option(None, "--json", help="Write the full results as JSON to FILE ('-': stdout)."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Write a latency plot to FILE.png."),
    profile_ops: bool = typer.Option(False, "--profile-ops", help="Per-op profile where the backend has one."),
    top: int = typer.Option(10, "--top", help="Ops shown per profile."),
    memory: bool = typer.Option(True, "--memory/--no-memory", help="Measure peak RSS."),
) -> None:
    """Benchmark models like TFLite's benchmark_model: init, first, warm-up, latency stats, throughput, peak RSS."""
    from edgeport.bench import benchmark

    if plot is not None and plot.suffix.lower() != ".png":
        raise UsageError(f"--plot {plot} is not a .png file", hint="use --plot FILE.png")
    inputs = _parse_inputs(input_)
    from edgeport._fileio import check_output_path

    sources = [*models, data, *inputs.values()]
    for opt, out in (("--json", None if json_out == "-" else json_out), ("--plot", plot)):
        if out:
            check_output_path(out, inputs=sources, option=opt)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err_console, transient=True, disable=not err_console.is_terminal) as bar:
        task = bar.add_task("bench", total=None)

        def progress(done: int, total: int, label: str) -> None:
            bar.update(task, completed=done, total=total, description=label)

        with warnings.catch_warnings():  # fallbacks are listed under the table instead
            warnings.filterwarnings("ignore", message=r".*fell back to", category=RuntimeWarning)
            cmp = benchmark([str(m) for m in models], backends=backend or None, threads=threads, warmup=warmup, runs=runs,
                            inputs=inputs or None, data=data, memory=memory, profile_ops=profile_ops, progress=progress,
                            accelerator=accelerator)
    if json_out == "-":
        print_json(cmp.to_dict(samples=True))
    else:
        render_comparison(cmp, top=top)
        if json_out:
            write_json(cmp.to_dict(samples=True), json_out)
            console.print(f"wrote {json_out}", highlight=False)
    if plot is not None:
        from edgeport.bench import plot_comparison

        plot_comparison(cmp, plot)
        (err_console if json_out == "-" else console).print(f"wrote {plot}", highlight=False)
