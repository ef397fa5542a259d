"""``edgeport verify A B``: compare two models' outputs (and intermediates with ``--layerwise``).

Exit code 0 when every output is within tolerance, 1 when one is beyond it, 2 on bad input.
"""

from __future__ import annotations

import contextlib
from typing import Optional

import typer
from rich.table import Table

from edgeport.cli._common import app, console, print_json

__all__ = ["verify_command", "render_report"]


@app.command("verify")
def verify_command(
    a: str = typer.Argument(..., help="Reference model (.onnx, .tflite, .xml, .pt2, .pt)."),
    b: str = typer.Argument(..., help="Model to check against it."),
    data: Optional[str] = typer.Option(None, "--data", help="Inputs: a folder of .npy/.npz files, or one .npz."),
    layerwise: bool = typer.Option(False, "--layerwise", help="Compare every shared intermediate tensor too."),
    tolerance: float = typer.Option(1e-4, "--tolerance", help="Max error relative to each output's range."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random inputs (when no --data)."),
    backend_a: Optional[str] = typer.Option(None, "--backend-a", help="Runtime backend for A."),
    backend_b: Optional[str] = typer.Option(None, "--backend-b", help="Runtime backend for B."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Run A and B on the same inputs and compare them (max abs, max rel, cosine per output)."""
    from edgeport.convert.verify import verify

    with console.status("running both models...", spinner="dots") if not as_json else contextlib.nullcontext():
        report = verify(a, b, data=data, layerwise=layerwise, tolerance=tolerance, seed=seed,
                        backend_a=backend_a, backend_b=backend_b)
    if as_json:
        print_json(report.to_dict())
    else:
        render_report(report)
    if not report.passed:
        raise typer.Exit(1)


def _status(ok: bool) -> str:
    return "[green]ok[/]" if ok else "[bold red]FAIL[/]"


def _layer_table(report, first) -> None:
    """The tensors around the first divergence: two before it, it, and up to five after."""
    i = report.layers.index(first)
    rows = report.layers[max(0, i - 2): i + 6]
    t = Table(title="layerwise (execution order of A)", title_justify="left")
    for col in ("tensor", "op (A)", "op (B)", "max rel", "cosine", "status"):
        t.add_column(col, justify="right" if col in ("max rel", "cosine") else "left")
    for x in rows:
        mark = "[bold red]first divergence[/]" if x is first else _status(x.passed)
        t.add_row(x.name, x.op, x.op_b, f"{x.max_rel:.3g}", f"{x.cosine:.6f}", mark)
    console.print(t)


def render_report(report) -> None:
    """Rich rendering of a VerificationReport."""
    table = Table(title=f"{report.a} ({report.backend_a})  vs  {report.b} ({report.backend_b})", title_justify="left")
    for col, just in (("output", "left"), ("shape", "left"), ("max abs", "right"), ("max rel", "right"),
                      ("cosine", "right"), ("layout", "left"), ("status", "left")):
        table.add_column(col, justify=just)
    for o in report.outputs:
        name = o.name if o.name == o.name_b else f"{o.name} / {o.name_b}"
        table.add_row(name, "x".join(map(str, o.shape)), f"{o.max_abs:.3g}", f"{o.max_rel:.3g}", f"{o.cosine:.6f}",
                      o.transposed or "", _status(o.passed))
    for n in report.unmatched:
        table.add_row(n, "", "", "", "", "", "[bold red]no match[/]")
    console.print(table)
    console.print(f"inputs: {report.inputs}, {report.samples} sample(s); tolerance {report.tolerance:g} "
                  f"(max |a-b| relative to the output's range)", highlight=False)
    for note in report.notes:
        console.print(f"[dim]note: {note}[/]", highlight=False)
    if report.layerwise:
        n_bad = sum(1 for x in report.layers if not x.passed)
        console.print(f"layerwise: {len(report.layers)} shared tensors compared, {n_bad} beyond tolerance",
                      highlight=False)
        d = report.first_divergence
        if d is not None:
            _layer_table(report, d)
            console.print(f"[bold red]first divergence:[/] {d.name} from {d.op or '?'}"
                          f"{' / ' + d.op_b if d.op_b else ''}: max rel {d.max_rel:.3g}, cosine {d.cosine:.6f}",
                          highlight=False)
    verdict = "[bold green]PASSED[/]" if report.passed else "[bold red]FAILED[/]"
    console.print(f"{verdict}: max rel error {report.max_rel:.3g} (tolerance {report.tolerance:g})")
