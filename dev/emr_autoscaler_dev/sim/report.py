"""Render run results: the comparison table (plain text or Markdown), the bounds and frontier, and JSON lines."""

from __future__ import annotations

import json
from collections.abc import Sequence

from emr_autoscaler_dev.sim.engine import RunResult
from emr_autoscaler_dev.sim.run import Benchmark

_HEADERS = (
    "policy",
    "node-hours",
    "cost USD",
    "wait p50 s",
    "wait p95 s",
    "wait p99 s",
    "mean bsld",
    "p95 slowdown",
    "resizes",
    "launches",
    "peak",
    "unfinished",
    "cost gap",
    "wait gap",
)


def _gap(gap: float | None) -> str:
    # No frontier point waits as little (cost gap) or costs as little (wait gap): the policy is beyond its end.
    return "beyond" if gap is None else f"{gap:.2f}"


def _row(result: RunResult) -> tuple[str, ...]:
    name = (
        result.policy if result.variant is None else f"{result.policy} ({result.variant.removeprefix('managed-like-')})"
    )
    return (
        name,
        f"{result.node_hours:.1f}",
        f"{result.cost_usd:.2f}",
        f"{result.wait_p50_s:.0f}",
        f"{result.wait_p95_s:.0f}",
        f"{result.wait_p99_s:.0f}",
        f"{result.mean_bounded_slowdown:.2f}",
        f"{result.p95_slowdown:.2f}",
        str(result.resize_actions),
        str(result.node_launches),
        str(result.peak_nodes),
        str(result.unfinished_jobs),
        _gap(result.cost_gap),
        _gap(result.wait_gap),
    )


def format_table(results: Sequence[RunResult]) -> str:
    """Format_table is a fixed-width table, one row per policy, numbers right-aligned."""
    rows = [_HEADERS, *(_row(r) for r in results)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADERS))]
    lines = []
    for n, row in enumerate(rows):
        cells = [row[0].ljust(widths[0]), *(cell.rjust(w) for cell, w in zip(row[1:], widths[1:], strict=True))]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_markdown(results: Sequence[RunResult]) -> str:
    """Format_markdown is the same table as Markdown, for docs/simulator.md."""
    lines = ["| " + " | ".join(_HEADERS) + " |", "|" + "|".join(["---"] + ["---:"] * (len(_HEADERS) - 1)) + "|"]
    lines.extend("| " + " | ".join(_row(r)) + " |" for r in results)
    return "\n".join(lines)


def format_bounds(benchmark: Benchmark) -> str:
    """Format_bounds states the bound, the zero-delay reference and the frontier's envelope, one line each."""
    envelope = ", ".join(f"{p.node_hours:.1f} nh/{p.wait_p95_s:.0f} s ({p.label})" for p in benchmark.frontier.envelope)
    zero = benchmark.zero_delay
    return "\n".join(
        (
            f"bound: work_node_hours {benchmark.work_node_hours:.1f} (no policy can cost less)",
            f"reference: zero-delay (nodes start instantly) {zero.node_hours:.1f} node-hours, p95 wait "
            f"{zero.wait_p95_s:.0f} s (not a bound: waiting can cost less)",
            f"frontier (lower envelope of {len(benchmark.frontier.points)} swept runs, node-hours/p95 wait): "
            f"{envelope}",
            "cost gap: node-hours over the frontier's at the same p95 wait; wait gap: p95 wait over the frontier's at "
            "the same node-hours (1.00: on it; below 1: better than it; beyond: past its end)",
        )
    )


def format_json_lines(results: Sequence[RunResult], benchmark: Benchmark | None = None) -> str:
    """Format_json_lines is one JSON object per policy, one per line, then the `"policy": "bounds"` object."""
    lines = [json.dumps(r.figures(), sort_keys=False) for r in results]
    if benchmark is not None:
        lines.append(json.dumps(benchmark.bounds_figures(), sort_keys=False))
    return "\n".join(lines)
