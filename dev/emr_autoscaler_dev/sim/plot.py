"""Plot capacity against demand over time, one panel per policy (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from emr_autoscaler_dev.sim.engine import RunResult


def plot_runs(results: Sequence[RunResult], path: str | Path, title: str, max_nodes: int) -> None:
    """Plot_runs writes a PNG: per policy, YARN demand (allocated + pending) vs running capacity and billed nodes.

    Demand is in nodes' worth of YARN memory; above 1.5 × `max_nodes` it is clipped, and the panel says so.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not results:
        raise ValueError("nothing to plot")
    top = max(1.0, 1.5 * max_nodes)
    fig, axes = plt.subplots(len(results), 1, figsize=(11, 2.1 * len(results) + 0.8), sharex=True, squeeze=False)
    for ax, result in zip(axes[:, 0], results, strict=True):
        series = result.series
        hours = [t / 3600.0 for t in series.time_s]
        demand = [min(d, top) for d in series.demand_nodes]
        ax.fill_between(hours, demand, step="post", color="#f4a261", alpha=0.45, label="demand (allocated + pending)")
        ax.step(hours, series.capacity_nodes, where="post", color="#264653", lw=1.1, label="running capacity")
        ax.step(hours, series.billed_nodes, where="post", color="#e76f51", lw=0.8, ls="--", label="billed nodes")
        ax.axhline(max_nodes, color="grey", lw=0.6, ls=":")
        ax.set_ylim(0, top)
        ax.set_ylabel("nodes")
        ax.set_title(
            f"{result.policy}: {result.node_hours:.0f} node-h, mean slowdown {result.mean_slowdown:.2f}, "
            f"p95 {result.p95_slowdown:.1f}, {result.resize_actions} resizes",
            fontsize=9,
            loc="left",
        )
    axes[0, 0].legend(loc="upper right", fontsize=7, ncol=3)
    axes[-1, 0].set_xlabel(f"simulated hours (demand clipped at {top:.0f} nodes; dotted line: max nodes)")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(str(path), dpi=110)
    plt.close(fig)
