"""``edgeport inspect MODEL [--json]``: signature, op histogram, params, MACs/FLOPs and metadata."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from edgeport.cli._common import app, console, err_console, print_json

__all__ = ["inspect", "render_report"]


def _human(n: float | None, unit: str = "") -> str:
    if n is None:
        return "unknown"
    for div, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= div:
            return f"{n / div:.2f} {suffix}{unit}"
    return f"{n:g} {unit}".rstrip()


def _bytes(n: int) -> str:
    for div, suffix in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if n >= div:
            return f"{n / div:.2f} {suffix}"
    return f"{n} B"


def render_report(report) -> None:
    """Print an InspectionReport with Rich."""
    summary = Table.grid(padding=(0, 2))
    summary.add_column(style="bold")
    summary.add_column()
    summary.add_row("model", escape(report.path))
    summary.add_row("format", report.format)
    summary.add_row("file size", f"{_bytes(report.size_bytes)} ({report.size_bytes:,} bytes)")
    summary.add_row("parameters", f"{report.params:,} ({_human(report.params)})")
    summary.add_row("MACs", _human(report.macs) + (f"  ({report.details['macs_note']})"
                                                  if report.details.get("macs_note") else ""))
    summary.add_row("FLOPs", _human(report.flops))
    summary.add_row("operators", f"{report.num_ops} ({len(report.op_histogram)} types)")
    console.print(summary)

    io = Table(title="Inputs and outputs", title_justify="left")
    for col in ("", "name", "shape", "dtype", "layout"):
        io.add_column(col)
    for kind, specs in (("input", report.inputs), ("output", report.outputs)):
        for t in specs:
            shape = "[" + ", ".join(str(d) for d in t.shape) + "]" if t.shape else "?"
            io.add_row(kind, escape(t.name), escape(shape), t.dtype, t.layout or "-")
    console.print(io)

    ops = Table(title="Operators", title_justify="left")
    ops.add_column("op")
    ops.add_column("count", justify="right")
    ops.add_column("share", justify="right")
    total = max(1, report.num_ops)
    for op, n in sorted(report.op_histogram.items(), key=lambda kv: (-kv[1], kv[0])):
        ops.add_row(escape(op), str(n), f"{100 * n / total:.0f}%")
    console.print(ops)

    meta = report.metadata
    if meta.is_empty():
        console.print("[dim]metadata: none (add it with edgeport.model.write_metadata)[/]")
        return
    mt = Table(title="Metadata", title_justify="left", show_header=False)
    mt.add_column(style="bold")
    mt.add_column()
    if meta.labels:
        shown = ", ".join(meta.labels[:10]) + (f", ... ({len(meta.labels)} labels)" if len(meta.labels) > 10 else "")
        mt.add_row("labels", escape(shown))
    for key in ("mean", "std", "version", "description"):
        val = getattr(meta, key)
        if val is not None:
            mt.add_row(key, escape(str(val)))
    for k, v in meta.extra.items():
        mt.add_row(escape(k), escape(v))
    console.print(mt)


@app.command()
def inspect(
    model: str = typer.Argument(..., help="Model file: .onnx, .tflite, OpenVINO .xml, TorchScript .pt, .pt2."),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Show a model's inputs/outputs, operators, parameters, MACs/FLOPs and metadata."""
    from edgeport.model import open_model

    if json_out:
        report = open_model(model).inspect()
    else:
        with err_console.status(f"reading {model}", spinner="dots"):  # big torch archives take seconds
            report = open_model(model).inspect()
    if json_out:
        print_json(report.to_dict())
    else:
        render_report(report)
