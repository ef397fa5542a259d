"""``edgeport run MODEL``: run a model once and show its outputs (shapes, dtypes, stats) and any fallback."""

from __future__ import annotations

import contextlib
import time
import warnings
from pathlib import Path
from typing import Optional

import numpy as np
import typer
from rich.table import Table

from edgeport.cli._common import app, console, err_console, print_json
from edgeport.errors import InputMismatchError, UsageError

__all__ = ["run", "parse_inputs", "summarize"]


def parse_inputs(items: list[str]) -> dict[str, np.ndarray]:
    """``NAME=FILE.npy`` items -> dict name -> array (UsageError on a bad item or file)."""
    feeds = {}
    for item in items:
        name, sep, file = item.partition("=")
        if not sep or not name or not file:
            raise UsageError(f"bad --input {item!r}", hint="use --input NAME=FILE.npy")
        p = Path(file)
        if not p.is_file():
            raise UsageError(f"--input {name}: file not found: {p}", hint="pass an existing .npy file")
        try:
            loaded = np.load(p, allow_pickle=False)
        except Exception as e:
            raise InputMismatchError(f"--input {name}: cannot read {p} as .npy ({type(e).__name__})",
                                     hint="save arrays with numpy.save") from e
        if isinstance(loaded, np.lib.npyio.NpzFile):  # a .npz: the array named after the input, or its only one
            with loaded:
                keys = list(loaded.keys())
                key = name if name in keys else (keys[0] if len(keys) == 1 else None)
                if key is None:
                    raise InputMismatchError(f"--input {name}: {p} holds arrays {', '.join(keys) or '(none)'}, "
                                             f"none named {name!r}", hint=f"name the array {name!r}, or pass a .npy")
                loaded = loaded[key]
        feeds[name] = loaded
    return feeds


def summarize(outputs: dict[str, np.ndarray]) -> list[dict]:
    """Per output: name, shape, dtype, min/max/mean, and argmax (top index) for 1-D-ish outputs."""
    rows = []
    for name, a in outputs.items():
        row = {"name": name, "shape": list(a.shape), "dtype": a.dtype.name}
        if a.size and a.dtype.kind in "fiub":
            f = a.astype(np.float64)
            row |= {"min": float(f.min()), "max": float(f.max()), "mean": float(f.mean())}
            if a.size > 1 and sum(d > 1 for d in a.shape) == 1:
                row["argmax"] = int(np.argmax(a.reshape(-1)))
        rows.append(row)
    return rows


@app.command("run")
def run(
    model: Path = typer.Argument(..., help="Model file: .onnx, .tflite, .xml, .pt2 or .pt"),
    input: Optional[list[str]] = typer.Option(None, "--input", "-i", help="NAME=FILE.npy (repeatable); "
                                              "random seeded inputs when omitted"),
    backend: Optional[str] = typer.Option(None, "--backend", "-b", help="onnxruntime | litert | openvino | torch"),
    accelerator: str = typer.Option("auto", "--accelerator", "-a", help="auto | cpu | gpu | npu | cuda | tensorrt"),
    threads: Optional[int] = typer.Option(None, "--threads", "-t", help="CPU threads"),
    seed: int = typer.Option(0, "--seed", help="Seed for random inputs"),
    strict: bool = typer.Option(False, "--strict", help="Fail instead of falling back to the CPU"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts"),
) -> None:
    """Run MODEL once and print its outputs, the backend and accelerator used, and any CPU fallback."""
    from edgeport.runtime import load, random_inputs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # fallbacks are shown below, from sess.fallbacks
        t0 = time.perf_counter()
        with contextlib.nullcontext() if as_json else err_console.status(f"loading {model.name} ..."):
            sess = load(model, backend=backend, accelerator=accelerator, threads=threads, strict=strict)
        load_ms = (time.perf_counter() - t0) * 1e3
    with sess:
        if input:
            feeds = parse_inputs(input)
        else:
            unknown = sess.unknown_shapes
            if unknown:
                raise UsageError(f"{model.name} does not record the shape of input(s) {', '.join(unknown)}",
                                 hint="pass them with --input NAME=FILE.npy")
            feeds = random_inputs(sess.inputs, seed=seed)
        t0 = time.perf_counter()
        outs = sess.run(feeds)
        run_ms = (time.perf_counter() - t0) * 1e3
        rows = summarize(outs)
        result = {"model": str(model), "backend": sess.backend, "accelerator": sess.accelerator,
                  "threads": sess.threads, "load_ms": load_ms, "run_ms": run_ms,
                  "inputs": {k: {"shape": list(v.shape), "dtype": v.dtype.name} for k, v in feeds.items()},
                  "random_inputs": not input, "seed": None if input else seed, "outputs": rows,
                  "fallbacks": [f.to_dict() for f in sess.fallbacks]}
        if as_json:
            print_json(result)
            return
        _render(result, sess)


def _render(result: dict, sess) -> None:
    console.print(f"[bold]{Path(result['model']).name}[/] on [cyan]{result['backend']}[/] "
                  f"(accelerator: {result['accelerator']}, threads: {result['threads'] or 'default'}) "
                  f"load {result['load_ms']:.1f} ms, first run {result['run_ms']:.2f} ms"
                  + (f" [dim](random inputs, seed {result['seed']})[/]" if result["random_inputs"] else ""),
                  highlight=False)
    t = Table("output", "shape", "dtype", "min", "max", "mean", "argmax")
    for r in result["outputs"]:
        num = lambda k: f"{r[k]:.6g}" if k in r else "-"  # noqa: E731
        t.add_row(r["name"], "x".join(map(str, r["shape"])) or "scalar", r["dtype"], num("min"), num("max"),
                  num("mean"), str(r.get("argmax", "-")))
    console.print(t)
    for fb in sess.fallbacks:
        err_console.print(f"[yellow]fallback:[/] {fb}", highlight=False, soft_wrap=True)
