"""CallMeter under moto: every API call of the watched clients is counted, per thread (one invocation each)."""

from __future__ import annotations

import threading

import boto3
from moto import mock_aws

from emr_autoscaler.adapters.aws.call_meter import CallMeter


def test_calls_are_counted_per_thread_and_only_for_watched_clients() -> None:
    with mock_aws():
        # GIVEN a meter on an SQS client, and an SSM client it does not watch
        session = boto3.Session(region_name="eu-west-1")
        sqs, ssm = session.client("sqs"), session.client("ssm")
        meter = CallMeter().watch(sqs)
        seen: dict[str, int] = {}

        def worker(name: str, calls: int) -> None:
            for _ in range(calls):
                sqs.list_queues()
            seen[name] = meter.total()

        # WHEN two threads make 3 and 5 calls, and this one 2 (and one unwatched call)
        threads = [threading.Thread(target=worker, args=(n, c)) for n, c in (("a", 3), ("b", 5))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        sqs.list_queues()
        sqs.list_queues()
        ssm.describe_parameters()
        # THEN each thread counts its own calls only
        assert seen == {"a": 3, "b": 5}
        assert meter.total() == 2
