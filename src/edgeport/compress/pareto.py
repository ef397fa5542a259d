"""Pareto frontier and its plot (matplotlib Agg): size or latency against accuracy."""

from __future__ import annotations

import os
from typing import Sequence

from edgeport._fileio import atomic_path

__all__ = ["pareto_front", "plot_pareto"]


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of points not dominated (lower cost x, higher score y)."""
    front = []
    for i, (x, y) in enumerate(points):
        if not any((x2 <= x and y2 >= y) and (x2 < x or y2 > y) for j, (x2, y2) in enumerate(points) if j != i):
            front.append(i)
    return sorted(front, key=lambda i: points[i][0])


def plot_pareto(names, costs, scores, path: str | os.PathLike, *, xlabel: str, ylabel: str,
                chosen: int | None = None, floor: float | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    ax.scatter(costs, scores, c="tab:blue", zorder=3)
    for n, x, y in zip(names, costs, scores):
        ax.annotate(n, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    front = pareto_front(list(zip(costs, scores)))
    ax.plot([costs[i] for i in front], [scores[i] for i in front], "--o", c="tab:orange", label="Pareto frontier",
            zorder=2)
    if chosen is not None:
        ax.scatter([costs[chosen]], [scores[chosen]], s=180, facecolors="none", edgecolors="tab:green",
                   linewidths=2, label="chosen", zorder=4)
    if floor is not None:
        ax.axhline(floor, color="tab:red", lw=1, ls=":", label="budget")
    pos = [c for c in costs if c > 0]
    if pos and max(pos) / min(pos) > 20:  # one slow variant would squash the others
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
