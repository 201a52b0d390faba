"""Benchmark of reading a failed step's logs from S3 (S3StepLogs) on a local AWS (moto server on loopback).

Prints one table: per log object shape, the GET requests made, the compressed bytes read, the characters of text
kept for the rules, and the read time (median of N). The shapes are those the adapter must bound: a small gzip log
(the usual case, one ranged GET), a 1 MiB plain-text log (one ranged GET of its last 256 KiB), a gzip larger than
256 KiB (streamed from its start), one at the bound (8 MiB compressed), one beyond it (skipped), and a gzip bomb.

Run: `.venv/bin/python bench/step_logs.py [--repeat 5]`.
"""

from __future__ import annotations

import argparse
import gzip
import logging
import os
import statistics
import time
from datetime import UTC, datetime
from typing import Any

from emr_autoscaler.adapters.aws import s3_logs
from emr_autoscaler.adapters.aws.s3_logs import S3StepLogs
from emr_autoscaler.kernel.models import ClusterSnapshot, ClusterState
from emr_autoscaler.steps.domain.models import FailedStep, FailureDetails
from emr_autoscaler_dev.sandbox.local_aws import LocalAws

BUCKET = "aws-logs-123456789012-eu-west-1"


def _noise_lines(total_bytes: int) -> bytes:
    """Log-like lines that barely compress (hex of random bytes), about `total_bytes` long."""
    line_count = total_bytes // 100
    return "\n".join(f"26/03/04 03:00:00 INFO Task {i} {os.urandom(40).hex()}" for i in range(line_count)).encode()


def _shapes() -> list[tuple[str, bytes]]:
    tail = b"\nCaused by: java.lang.ClassNotFoundException: com.acme.Main\n"
    return [
        ("gzip of 40 KiB of text", gzip.compress(_noise_lines(40 * 1024) + tail)),
        ("1 MiB of plain text under the .gz name", _noise_lines(1024 * 1024) + tail),
        ("gzip of 1 MiB of text", gzip.compress(_noise_lines(1024 * 1024) + tail)),
        ("gzip of 12 MiB of text", gzip.compress(_noise_lines(12 * 1024 * 1024) + tail)),
        ("gzip of 20 MiB of text (beyond the bound)", gzip.compress(_noise_lines(20 * 1024 * 1024) + tail)),
        ("gzip bomb, 1 GiB of zeros", gzip.compress(b"\x00" * (1 << 30), compresslevel=9)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    logging.getLogger("emr_autoscaler").setLevel(logging.WARNING)
    with LocalAws() as aws:
        s3 = aws.client("s3")
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        counted: dict[str, int] = {"gets": 0, "bytes": 0}

        def count(params: dict[str, Any], **_: Any) -> None:
            counted["gets"] += 1

        s3.meta.events.register("before-call.s3.GetObject", count)
        now = datetime.now(UTC)
        print("stderr.gz as below, controller.gz absent (404): GETs count both objects of one read")
        print(f"| stderr.gz | size | GETs | text kept | outcome | median read ({repeat} runs) |")
        print("|---|---|---|---|---|---|")
        for i, (label, body) in enumerate(_shapes()):
            cluster_id, step_id = f"j-BENCH{i}", f"s-BENCH{i}"
            key = f"elasticmapreduce/{cluster_id}/steps/{step_id}/stderr.gz"
            s3.put_object(Bucket=BUCKET, Key=key, Body=body)
            cluster = ClusterSnapshot(
                cluster_id=cluster_id,
                name="bench",
                state=ClusterState.WAITING,
                read_at=now,
                log_uri=f"s3://{BUCKET}/elasticmapreduce/",
            )
            step = FailedStep(
                cluster_id=cluster_id,
                step_id=step_id,
                name="bench",
                action_on_failure="CONTINUE",
                failure=FailureDetails(reason="Unknown Error.", log_file=f"s3://{BUCKET}/{key}"),
            )
            adapter = S3StepLogs(s3)
            times: list[float] = []
            for _ in range(repeat):
                counted["gets"] = 0
                started = time.perf_counter()
                (evidence,) = [e for e in adapter.read(cluster, step) if e.location and e.location.endswith(key)]
                times.append(time.perf_counter() - started)
            outcome = evidence.state.value + (f" ({evidence.note[:60]})" if evidence.note else "")
            print(
                f"| {label} | {len(body) / 1024:,.0f} KiB | {counted['gets']} | {len(evidence.text):,} chars "
                f"| {outcome} | {statistics.median(times) * 1000:,.1f} ms |"
            )
    print(
        f"\nbounds: ranged GET of the last {s3_logs.TAIL_BYTES // 1024} KiB; gzip streamed from its start up to "
        f"{s3_logs.MAX_GZIP_OBJECT_BYTES // (1024 * 1024)} MiB compressed; at most "
        f"{s3_logs.MAX_INFLATED_BYTES // (1024 * 1024)} MiB inflated; {s3_logs.TAIL_BYTES // 1024} KiB of text kept"
    )


if __name__ == "__main__":
    main()
