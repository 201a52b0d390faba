"""Render run results: the comparison table (plain text or Markdown) and JSON lines."""

from __future__ import annotations

import json
from collections.abc import Sequence

from emr_autoscaler_dev.sim.engine import RunResult

_HEADERS = (
    "policy",
    "node-hours",
    "cost USD",
    "pending container-h",
    "mean slowdown",
    "p95 slowdown",
    "resize actions",
    "peak nodes",
    "wall s",
)


def _row(result: RunResult) -> tuple[str, ...]:
    return (
        result.policy,
        f"{result.node_hours:.1f}",
        f"{result.cost_usd:.2f}",
        f"{result.pending_container_hours:.0f}",
        f"{result.mean_slowdown:.2f}",
        f"{result.p95_slowdown:.2f}",
        str(result.resize_actions),
        str(result.peak_nodes),
        f"{result.wall_s:.2f}",
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


def format_json_lines(results: Sequence[RunResult]) -> str:
    """Format_json_lines is one JSON object per policy, one per line."""
    return "\n".join(json.dumps(r.figures(), sort_keys=False) for r in results)
