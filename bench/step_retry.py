"""Benchmark of the step-retry job against a local AWS (moto server): AWS calls and handler time per event.

Prints one table:
- AWS API calls per FAILED event (decide + queue), per duplicate FAILED event (Idempotency hit), and per due
  restart (SQS message: claim, re-check, add with followers, record), counted with botocore's event hooks;
- warm handler time per event of each kind (median of N), through `handle_step_retry_invocation`.

Run: `.venv/bin/python bench/step_retry.py [--repeat 20]`.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from emr_autoscaler.adapters.powertools.logging import logger as app_logger
from emr_autoscaler.bootstrap import build_step_retrier
from emr_autoscaler.settings import Settings
from emr_autoscaler.steps.service import handle_step_retry_invocation
from emr_autoscaler_dev.sandbox.local_aws import LocalAws
from emr_autoscaler_dev.sandbox.provision import create_cluster, provision, provision_step_retry

ROOT = Path(__file__).resolve().parent.parent


def _failed_event(cluster_id: str, step_id: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": f"bench-{step_id}",
        "detail-type": "EMR Step Status Change",
        "source": "aws.emr",
        "account": "123456789012",
        "time": "2026-03-04T03:02:41Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": {
            "clusterId": cluster_id,
            "stepId": step_id,
            "name": "aggregate",
            "state": "FAILED",
            "actionOnFailure": "CANCEL_AND_WAIT",
            "severity": "ERROR",
            "message": "failed",
        },
    }


def main() -> int:
    """Main runs the measurements and prints the table (and JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app_logger.setLevel(logging.ERROR)
    with LocalAws() as aws:
        # Failing a step reaches into moto's backend: the server runs in this process, so the same backend.
        sys.path.insert(0, str(ROOT))
        from tests.moto_steps import add_steps, fail_step

        session = aws.session()
        settings = provision_step_retry(
            session, Settings(config_parameter="/bench/config", state_table="bench-state"), "bench-retry"
        )
        provision(session, settings, "version: 1\ndefaults: {}\n")
        clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731
        retrier = build_step_retrier(settings, session=session, clock=clock, jitter=lambda: 0.0)
        emr, sqs = aws.client("emr"), aws.client("sqs")
        cluster_id = create_cluster(emr, name="bench")
        calls: Counter[str] = Counter()

        def count(event_name: str, **_kwargs: Any) -> None:
            calls[event_name.split(".", 1)[1]] += 1

        clients = {
            retrier.emr._client,  # type: ignore[attr-defined]
            retrier.emr._add_client,  # type: ignore[attr-defined]
            retrier.lineage._client,  # type: ignore[attr-defined]
            retrier.queue._client,  # type: ignore[attr-defined]
            retrier.events._client,  # type: ignore[attr-defined]
            retrier.config._provider._client if hasattr(retrier.config._provider, "_client") else None,  # type: ignore[attr-defined]
        }
        for client in clients - {None}:
            client.meta.events.register("before-call.*.*", count)

        def one_round() -> tuple[float, float, float, dict[str, Counter[str]]]:
            steps = add_steps(emr, cluster_id, "aggregate", "load", "publish")
            fail_step(cluster_id, steps[0], "Container released on a *lost* node")
            per: dict[str, Counter[str]] = {}
            timings = []
            for kind in ("failed", "duplicate"):
                calls.clear()
                started = time.perf_counter()
                with contextlib.redirect_stdout(io.StringIO()):
                    handle_step_retry_invocation(_failed_event(cluster_id, steps[0]), None, retrier)
                timings.append((time.perf_counter() - started) * 1000)
                per[kind] = Counter(calls)
            # The message's delay is the backoff; the bench reads it straight away with a zero wait.
            body = sqs.receive_message(QueueUrl=settings.retry_queue_url, WaitTimeSeconds=0)
            messages = body.get("Messages") or _drain_delayed(settings.retry_queue_url)
            calls.clear()
            started = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):
                result = handle_step_retry_invocation(
                    {"Records": [{"messageId": m["MessageId"], "body": m["Body"], **_sqs_fields()} for m in messages]},
                    None,
                    retrier,
                )
            timings.append((time.perf_counter() - started) * 1000)
            assert result == {"batchItemFailures": []}, result
            per["due"] = Counter(calls)
            return timings[0], timings[1], timings[2], per

        one_round()  # warm: config cached, clients connected
        rounds = [one_round() for _ in range(args.repeat)]
    labels = {"failed": "FAILED event (decide, queue)", "duplicate": "duplicate FAILED event", "due": "due restart"}
    results: dict[str, Any] = {}
    print(f"{'event':<32} {'AWS calls':>9}  {'median ms':>9}  calls")
    for index, kind in enumerate(("failed", "duplicate", "due")):
        per = rounds[-1][3][kind]
        median = statistics.median(r[index] for r in rounds)
        detail = ", ".join(f"{name} {n}" for name, n in sorted(per.items()))
        print(f"{labels[kind]:<32} {sum(per.values()):>9}  {median:>9.1f}  {detail}")
        results[kind] = {"calls": sum(per.values()), "median_ms": median, "detail": dict(per)}
    if args.json:
        print(json.dumps(results))
    return 0


def _sqs_fields() -> dict[str, Any]:
    return {
        "receiptHandle": "bench",
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:bench-retry",
        "awsRegion": "eu-west-1",
    }


def _drain_delayed(queue_url: str) -> list[dict[str, str]]:
    """Delayed messages are invisible to ReceiveMessage: take them from moto's backend (same process)."""
    from moto.backends import get_backend
    from moto.core import DEFAULT_ACCOUNT_ID

    queue = get_backend("sqs")[DEFAULT_ACCOUNT_ID]["eu-west-1"].queues[queue_url.rsplit("/", 1)[1]]
    messages = [{"MessageId": m.id, "Body": m.body} for m in queue._messages]
    queue._messages.clear()
    return messages


if __name__ == "__main__":
    raise SystemExit(main())
