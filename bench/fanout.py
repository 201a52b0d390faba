"""Benchmark of the fan-out: a thousand opted-in clusters evaluated per tick through the SQS FIFO evaluation queue.

Runs the whole application on the Sandbox (the template's queue, its event source mapping with its maximum
concurrency and partial batch responses, the real handlers) with `--clusters` light clusters under a steady YARN
load, and prints per tick:
- the wall time of the tick's invocation, which only lists the registry and enqueues (SendMessageBatch);
- the evaluations' per-cluster latency (p50/p99, the decision's own measure) and the wall time until the queue
  is empty;
- the AWS calls per cluster the evaluations made (counted per invocation by the function's own call meter: EMR,
  DynamoDB, CloudWatch, SSM, EventBridge, SQS; and by operation, by the benchmark), and the queue's own: the
  function's SendMessageBatch, and the poller's ReceiveMessage and DeleteMessageBatch (Lambda's, not the function's);
- the peak parallelism (invocations whose wall-clock intervals overlapped).

Then the projection for Lambda at the template's default concurrency: one warm evaluation's latency measured alone
(one invocation, no other thread contending for this machine's 2 cores or the in-process moto server) gives the
tick time `n * enqueue_per_cluster + n * latency / concurrency` and the cluster count at which it reaches 60 s.
`--assume-call-ms` adds a per-AWS-call latency the local AWS does not have (an assumption, printed as such).

Run: `make bench` or `.venv/bin/python bench/fanout.py [--clusters 1000] [--ticks 1] [--json]`.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import math
import statistics
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from botocore.client import BaseClient

from emr_autoscaler.adapters.powertools.logging import logger as app_logger
from emr_autoscaler_dev.sandbox.esm import Poll, peak_parallelism
from emr_autoscaler_dev.sandbox.sandbox import Sandbox
from emr_autoscaler_dev.sandbox.template import load_template

ROOT = Path(__file__).resolve().parent.parent
TICK_S = 60.0
DEMAND_MB = 12_000  # a steady load on two CORE nodes: every evaluation holds (HOLD_STEADY)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class OperationCounter:
    """OperationCounter counts the AWS operations the evaluations' threads (the event source mapping's concurrent
    invocations, threads named after the function) make, by service and operation: botocore's client call."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._original = BaseClient._make_api_call

    def __enter__(self) -> OperationCounter:
        original, counts = self._original, self.counts

        def counted(client: Any, operation: str, params: Any) -> Any:
            if threading.current_thread().name.startswith("ScalerFunction"):
                counts[f"{client.meta.service_model.service_name}.{operation}"] += 1
            return original(client, operation, params)

        BaseClient._make_api_call = counted  # type: ignore[method-assign]
        return self

    def __exit__(self, *_exc: object) -> None:
        BaseClient._make_api_call = self._original  # type: ignore[method-assign]


def _tick(sandbox: Sandbox, number: int, operations: OperationCounter) -> dict[str, Any]:
    """One simulated minute: the schedule enqueues, the event source mapping drains the queue."""
    mapping = sandbox.router.mapping("ScalerFunction", "Evaluations")
    first_invocation, first_poll, poller_calls = len(sandbox.invocations), len(mapping.polls), mapping.sqs_calls
    operations.counts.clear()
    started = time.perf_counter()
    sandbox.advance(1)
    wall_s = time.perf_counter() - started
    [tick] = [
        i
        for i in sandbox.invocations[first_invocation:]
        if i.function == "ScalerFunction" and i.event.get("detail-type") == "Scheduled Event"
    ]
    polls: list[Poll] = mapping.polls[first_poll:]
    decisions = [d for p in polls for d in (p.invocation.result or {}).get("decisions", [])]
    evaluated = len(decisions)
    latencies = [float(d["latency_ms"]) for d in decisions]
    calls = sum(int((p.invocation.result or {}).get("api_calls", 0)) for p in polls)
    return {
        "tick": number,
        "clusters_enqueued": tick.result["enqueued"],
        "enqueue_s": tick.ended_s - tick.started_s,
        "enqueue_api_calls": tick.result["api_calls"],
        "evaluated": evaluated,
        "failed": sum(len(p.failed_ids) for p in polls),
        "reasons": dict(Counter(d["reason"] for d in decisions)),
        "latency_p50_ms": statistics.median(latencies),
        "latency_p99_ms": _percentile(latencies, 0.99),
        "evaluations_wall_s": max(p.invocation.ended_s for p in polls) - min(p.invocation.started_s for p in polls),
        "tick_wall_s": wall_s,
        "aws_calls_per_cluster": calls / evaluated,
        "aws_calls_per_cluster_by_operation": {k: v / evaluated for k, v in sorted(operations.counts.items())},
        "queue_calls_per_cluster": (tick.result["api_calls"] + mapping.sqs_calls - poller_calls) / evaluated,
        "invocations": len(polls),
        "peak_parallelism": peak_parallelism(polls),
    }


def _alone_latency_ms(sandbox: Sandbox, cluster_ids: list[str], repeat: int) -> float:
    """Median per-evaluation latency of one batch of 10 run alone (no concurrent invocation on this machine)."""
    samples: list[float] = []
    for r in range(repeat):
        records = [
            {
                "messageId": f"bench-{r}-{i}",
                "receiptHandle": f"bench-{r}-{i}",
                "body": json.dumps(
                    {
                        "cluster_id": c,
                        "cause": "bench",
                        "event_id": f"bench-{r}-{i}",
                        "enqueued_at": sandbox.now.isoformat(),
                    }
                ),
                "attributes": {"MessageGroupId": c},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "",
                "awsRegion": "eu-west-1",
            }
            for i, c in enumerate(cluster_ids[r * 10 : r * 10 + 10])
        ]
        invocation = sandbox.invoke("ScalerFunction", {"Records": records})
        samples.extend(float(d["latency_ms"]) for d in invocation.result["decisions"])
    return statistics.median(samples)


def _projection(enqueue_s_per_cluster: float, latency_ms: float, concurrency: int) -> dict[str, float]:
    per_cluster_s = enqueue_s_per_cluster + latency_ms / 1000.0 / concurrency
    return {"tick_s_at_1000": 1000 * per_cluster_s, "clusters_per_minute": TICK_S / per_cluster_s}


def main() -> int:
    """Main runs the ticks and prints the table (and JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clusters", type=int, default=1000)
    parser.add_argument("--ticks", type=int, default=1, help="measured ticks after a first (cold) one; at most 3")
    parser.add_argument("--assume-call-ms", type=float, default=20.0, help="assumed in-region latency per AWS call")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    ticks = max(1, min(3, args.ticks))  # minute 5 would add the cluster watch's alarm reconcile of every cluster
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app_logger.setLevel(logging.ERROR)
    template = load_template(ROOT / "template.yaml")
    concurrency = int(template["Parameters"]["ScalerMaximumConcurrency"]["Default"])
    results: dict[str, Any] = {"clusters": args.clusters, "maximum_concurrency": concurrency, "ticks": []}

    started = time.perf_counter()
    # EMF lines (Powertools flushes every 100 values) go to stdout; keep them out of the table.
    with Sandbox() as sandbox, contextlib.redirect_stdout(io.StringIO()), OperationCounter() as operations:
        _progress(f"creating {args.clusters} light opted-in clusters ...")
        cluster_ids = sandbox.create_clusters(args.clusters, demand_mb=DEMAND_MB, announce=False)
        results["create_s"] = time.perf_counter() - started
        _progress(f"  created and registered in {results['create_s']:.1f} s; tick 0 (cold: config, clients) ...")
        cold = _tick(sandbox, 0, operations)
        _progress(f"  tick 0: {cold['evaluated']} evaluated in {cold['tick_wall_s']:.1f} s")
        for number in range(1, ticks + 1):
            row = _tick(sandbox, number, operations)
            results["ticks"].append(row)
            _progress(
                f"  tick {number}: {row['evaluated']} evaluated in {row['tick_wall_s']:.1f} s, "
                f"{row['aws_calls_per_cluster']:.2f} AWS calls per cluster, peak parallelism {row['peak_parallelism']}"
            )
        _progress("one batch at a time, alone, for the projection ...")
        alone_ms = _alone_latency_ms(sandbox, cluster_ids, repeat=5)
        failures = len(sandbox.failures)
    results["alone_latency_ms"] = alone_ms
    results["handler_failures"] = failures
    steady = results["ticks"][-1]
    enqueue_per_cluster = steady["enqueue_s"] / steady["clusters_enqueued"]
    calls = round(steady["aws_calls_per_cluster"])
    results["projection_measured"] = _projection(enqueue_per_cluster, alone_ms, concurrency)
    assumed_ms = alone_ms + calls * args.assume_call_ms
    results["projection_assumed"] = {
        **_projection(enqueue_per_cluster, assumed_ms, concurrency),
        "latency_ms": assumed_ms,
    }
    results["wall_s"] = time.perf_counter() - started

    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    rows: list[tuple[str, str]] = [("clusters (light, steady load)", str(args.clusters))]
    rows.append(("create + register", f"{results['create_s']:.1f} s"))
    for row in [cold, *results["ticks"]]:
        label = f"tick {row['tick']}" + (" (cold)" if row["tick"] == 0 else "")
        rows += [
            (f"{label}: enqueue (list registry, SendMessageBatch)", f"{row['enqueue_s']:.2f} s"),
            (f"{label}: evaluated / failed", f"{row['evaluated']} / {row['failed']} {row['reasons']}"),
            (
                f"{label}: latency per cluster p50 / p99",
                f"{row['latency_p50_ms']:.0f} / {row['latency_p99_ms']:.0f} ms",
            ),
            (f"{label}: evaluations until the queue is empty", f"{row['evaluations_wall_s']:.1f} s"),
            (f"{label}: AWS calls per cluster (function)", f"{row['aws_calls_per_cluster']:.3f}"),
            (
                f"{label}:   by operation",
                ", ".join(f"{k} {v:.3f}" for k, v in row["aws_calls_per_cluster_by_operation"].items()),
            ),
            (f"{label}: queue calls per cluster (send, receive, delete)", f"{row['queue_calls_per_cluster']:.3f}"),
            (f"{label}: invocations, peak parallelism", f"{row['invocations']}, {row['peak_parallelism']}"),
        ]
    measured, assumed = results["projection_measured"], results["projection_assumed"]
    rows += [
        ("one evaluation alone (median, warm)", f"{alone_ms:.1f} ms"),
        (
            f"projection, Lambda at MaximumConcurrency {concurrency}: tick at 1,000 clusters",
            f"{measured['tick_s_at_1000']:.1f} s (fits a minute up to {measured['clusters_per_minute']:,.0f} clusters)",
        ),
        (
            f"  assuming {args.assume_call_ms:.0f} ms per AWS call ({calls} calls): {assumed_ms:.0f} ms per evaluation",
            f"{assumed['tick_s_at_1000']:.1f} s (fits a minute up to {assumed['clusters_per_minute']:,.0f} clusters)",
        ),
        ("handler failures", str(failures)),
        ("benchmark wall time", f"{results['wall_s']:.0f} s"),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
