"""``edgeport convert MODEL -o OUT`` and ``edgeport check MODEL``: thin views over :mod:`edgeport.convert`.

(``edgeport verify`` lives in cli/verify_cmd.py, owned by convert-verify.)
"""

from __future__ import annotations

import contextlib
from typing import List, Optional

import typer
from rich.table import Table

from edgeport.cli._common import app, console, err_console, print_json

__all__ = ["convert_command", "check_command", "render_conversion"]


@app.command("convert")
def convert_command(
    model: str = typer.Argument(..., help="Source model (.onnx, or .pt2 from torch.export)."),
    output: str = typer.Option(..., "-o", "--output", help="Output path: .tflite, .onnx or .xml (OpenVINO)."),
    input_shape: Optional[List[str]] = typer.Option(None, "--input-shape",
                                                    help="Pin an input's shape: NAME:1,3,320,320 (repeatable)."),
    keep_io_layout: bool = typer.Option(False, "--keep-io-layout",
                                        help="Keep the source's NCHW inputs/outputs (default: NHWC for images)."),
    no_verify: bool = typer.Option(False, "--no-verify", help="Skip comparing the result with the source."),
    data: Optional[str] = typer.Option(None, "--data", help="Verification inputs: a folder of .npy/.npz or one .npz."),
    layerwise: bool = typer.Option(False, "--layerwise", help="Verify every shared intermediate tensor too."),
    tolerance: float = typer.Option(1e-4, "--tolerance", help="Max error relative to each output's range."),
    keep_channel_shuffle: bool = typer.Option(
        False, "--keep-channel-shuffle",
        help="Keep channel shuffles as TRANSPOSE and grouped convs grouped (faster on XNNPACK) instead of "
             "folding them into dense convs (no TRANSPOSE)."),
    as_json: bool = typer.Option(False, "--json", help="Print the conversion report as JSON."),
) -> None:
    """Convert a model (ONNX -> TFLite with edgeport's own converter; verified against the source)."""
    from edgeport._fileio import check_output_path
    from edgeport.convert import convert

    check_output_path(output, inputs=[model, data])
    ctx = console.status(f"converting {model}...", spinner="dots") if not as_json else contextlib.nullcontext()
    with ctx:
        report = convert(model, output, input_shapes=input_shape or None, keep_io_layout=keep_io_layout,
                         verify=not no_verify, data=data, layerwise=layerwise, tolerance=tolerance,
                         fold_shuffle=not keep_channel_shuffle)
    if as_json:
        print_json(report.to_dict())
    else:
        render_conversion(report)


def _spec(s) -> str:
    lay = f" {s.layout}" if s.layout else ""
    return f"{s.name} {s.dtype}[{','.join(map(str, s.shape))}]{lay}"


def render_conversion(report) -> None:
    """Rich view of a ConversionReport: signature before/after, op table, passes, verification."""
    sig = Table(title="signature", title_justify="left")
    sig.add_column("", style="bold")
    sig.add_column("source")
    sig.add_column("result")
    for kind, before, after in (("input", report.inputs_before, report.inputs_after),
                                ("output", report.outputs_before, report.outputs_after)):
        for i in range(max(len(before), len(after))):
            sig.add_row(kind, _spec(before[i]) if i < len(before) else "", _spec(after[i]) if i < len(after) else "")
    console.print(sig)
    if report.result_ops:
        ops = Table(title=f"{report.output_format} ops", title_justify="left")
        ops.add_column("op")
        ops.add_column("count", justify="right")
        for op, n in sorted(report.result_ops.items(), key=lambda kv: (-kv[1], kv[0])):
            ops.add_row(op, str(n))
        console.print(ops)
        changed = [p for p in report.passes if p.get("changes")]
        for p in changed:
            console.print(f"[dim]pass {p['pass']}: {p['changes']}[/]", highlight=False)
        console.print(f"Transposes: {report.transposes_source} in the source, {report.transposes_result} in the "
                      f"result; I/O layout: {report.io_layout}", highlight=False)
    if report.verification is not None:
        try:
            from edgeport.cli.verify_cmd import render_report

            render_report(report.verification)
        except ImportError:
            console.print(f"verified: {report.verified}")
    elif report.output_format == "tflite":
        console.print("[yellow]not verified[/] (--no-verify)")
    for w in report.warnings:
        err_console.print(f"[yellow]warning:[/] {w}", highlight=False)
    console.print(f"[green]wrote[/] {report.output} ({report.size_bytes / 1024:.1f} KiB) in {report.seconds:.2f} s "
                  f"(conversion {report.convert_seconds:.2f} s), peak RSS {report.peak_rss_mb:.0f} MiB",
                  highlight=False)


@app.command("check")
def check_command(
    model: str = typer.Argument(..., help="ONNX model to check."),
    input_shape: Optional[List[str]] = typer.Option(None, "--input-shape", help="Pin an input's shape: NAME:1,3,H,W."),
    as_json: bool = typer.Option(False, "--json", help="Print the findings as JSON."),
) -> None:
    """List every node the TFLite converter cannot handle (with a reason code), converting nothing."""
    from edgeport.convert import check_onnx

    bad = check_onnx(model, input_shape or None)
    if as_json:
        print_json({"model": model, "supported": not bad, "unsupported": bad})
    elif not bad:
        console.print(f"[green]ok[/]: every node of {model} converts to TFLite", highlight=False)
    else:
        t = Table(title=f"{len(bad)} unsupported node(s) in {model}", title_justify="left")
        for c in ("node", "op", "reason"):
            t.add_column(c)
        for b in bad:
            t.add_row(b["node"], b["op"], b["reason"])
        console.print(t)
    if bad:
        raise typer.Exit(1)
