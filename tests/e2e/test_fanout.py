"""Fan-out end to end on the Sandbox: the template's FIFO evaluation queue and its event source mapping, with the
mapping's maximum concurrency, partial batch failures, visibility timeout and redrive as Lambda and SQS do them."""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emr_autoscaler.adapters.powertools.logging import logger as app_logger
from emr_autoscaler_dev.sandbox.esm import Poll, peak_parallelism
from emr_autoscaler_dev.sandbox.sandbox import Sandbox
from tests.conftest import ROOT

pytestmark = pytest.mark.network

EVALUATIONS_BATCH = """            BatchSize: 10
            FunctionResponseTypes: [ReportBatchItemFailures]
            ScalingConfig:"""


@pytest.fixture(autouse=True)
def _quiet() -> Iterator[None]:
    app_logger.setLevel(logging.CRITICAL)
    yield
    app_logger.setLevel(logging.INFO)


def _alarm(cluster_id: str) -> dict[str, Any]:
    return {
        "source": "aws.cloudwatch",
        "detail-type": "CloudWatch Alarm State Change",
        "detail": {
            "alarmName": f"emr-autoscaler-{cluster_id}-ContainerPendingRatio",
            "state": {"value": "ALARM", "reason": "Threshold Crossed", "timestamp": "2026-11-26T02:01:00.000+0000"},
            "previousState": {"value": "OK"},
            "configuration": {"metrics": []},
        },
    }


def _decisions(polls: list[Poll], cluster_id: str) -> list[dict[str, Any]]:
    return [d for p in polls for d in (p.invocation.result or {}).get("decisions", []) if d["cluster_id"] == cluster_id]


def test_two_triggers_for_one_cluster_within_a_second_are_evaluated_one_after_the_other(tmp_path: Path) -> None:
    # GIVEN the template with batches of one message (so each evaluation is its own invocation, the hardest case),
    # a cluster under pending demand and eight others, all registered
    template = (ROOT / "template.yaml").read_text(encoding="utf-8")
    assert template.count(EVALUATIONS_BATCH) == 1
    path = tmp_path / "template.yaml"
    path.write_text(template.replace(EVALUATIONS_BATCH, EVALUATIONS_BATCH.replace("10", "1")), encoding="utf-8")
    with Sandbox(template=path) as sandbox:
        cluster_id = sandbox.create_cluster(core=2, task=2)
        sandbox.set_yarn(cluster_id, demand_mb=160_000, apps=10)
        others = sandbox.create_clusters(8, demand_mb=12_000, announce=False)
        # WHEN two alarms for it fire in the same second, just as the minute's tick asks for every cluster
        sandbox.router.put_event(_alarm(cluster_id), deliver=False)
        sandbox.router.put_event(_alarm(cluster_id), deliver=False)
        sandbox.advance(1)
        polls = sandbox.evaluation_polls()
        nodes = sandbox.nodes(cluster_id)["TASK"]
    # THEN the cluster's three requests (tick, alarm, alarm) ran in three invocations, one after the other:
    # each started after the previous one ended
    mine = [p for p in polls if cluster_id in p.groups]
    assert [len(p.message_ids) for p in mine] == [1, 1, 1]
    for earlier, later in itertools.pairwise(mine):
        assert later.invocation.started_s >= earlier.invocation.ended_s
    # AND no two invocations that overlapped in time ever held the same cluster's messages
    for i, one in enumerate(polls):
        for other in polls[i + 1 :]:
            overlapped = one.invocation.started_s < other.invocation.ended_s and (
                other.invocation.started_s < one.invocation.ended_s
            )
            if overlapped:
                assert not set(one.groups) & set(other.groups)
    # AND each evaluation saw the one before it: one scale-out, then holds in its cooldown, never a lost race
    # (SKIPPED_ALREADY_DECIDED) and never a second resize
    reasons = [d["reason"] for d in _decisions(polls, cluster_id)]
    assert reasons == ["SCALE_OUT_PENDING_DEMAND", "HOLD_COOLDOWN", "HOLD_COOLDOWN"]
    assert nodes == (2, 12)
    # AND the other clusters ran in parallel with it, up to the template's maximum concurrency (5)
    assert {d["cluster_id"] for p in polls for d in p.invocation.result["decisions"]} == {cluster_id, *others}
    assert 2 <= peak_parallelism(polls) <= 5


def test_a_failing_evaluation_blocks_only_its_cluster_then_reaches_the_fifo_dead_letter_queue() -> None:
    with Sandbox() as sandbox:
        # GIVEN three registered clusters, EMR refusing to describe the first, and a malformed message on the queue
        failing, *healthy = sandbox.create_clusters(3, demand_mb=12_000, announce=False)
        sandbox.fail_api(failing, "AccessDeniedException")
        queue_url = sandbox.functions["ScalerFunction"].environment["EMR_AUTOSCALER_EVALUATION_QUEUE_URL"]
        junk = json.dumps({"cluster_id": "not-a-cluster"})
        sandbox.client("sqs").send_message(
            QueueUrl=queue_url, MessageBody=junk, MessageGroupId="junk", MessageDeduplicationId="junk-1"
        )
        # WHEN 18 minutes pass: the first tick's request for the failing cluster is received at minutes 1, 7 and 13
        # (the queue's visibility timeout is 6 minutes), its later requests waiting behind it in its group
        sandbox.advance(18)
        blocked = _decisions(sandbox.evaluation_polls(), failing)
        before_redrive = sandbox.dead_letters()
        # ... and at minute 19 SQS moves it to the dead-letter queue (maxReceiveCount 3); EMR answers again
        sandbox.advance(1)
        sandbox.fail_api(failing, None)
        sandbox.advance(6)
        polls = sandbox.evaluation_polls()
        dead = sandbox.dead_letters()
    # THEN while it failed, the failing cluster was never evaluated, and the others every minute
    assert blocked == []
    assert [len(_decisions(polls, c)) for c in healthy] == [25, 25]
    # AND its first request reached the FIFO dead-letter queue after its third receive, naming the cluster, with the
    # malformed message beside it (which blocked nothing but its own group). The requests that waited behind it in
    # the same batches were received (and counted) with it each time, so, as in SQS, they follow it there unevaluated
    # (every one naming the cluster): see docs/fanout.md
    [evaluation_dlq] = [name for name in dead if "EvaluationDeadLetterQueue" in name]
    assert not before_redrive[evaluation_dlq]
    lettered = dead[evaluation_dlq]
    assert {m["cluster_id"] for m in lettered} == {failing, "not-a-cluster"}
    first = next(m for m in lettered if m["cluster_id"] == failing)
    assert (first["cause"], first["enqueued_at"]) == ("schedule", "2026-11-26T02:01:00Z")
    # AND once EMR answered, the requests still queued for it were evaluated: the group was blocked, not lost
    assert {d["reason"] for d in _decisions(polls, failing)} == {"HOLD_STEADY"}


def test_a_deduplication_id_is_remembered_for_five_minutes_after_its_message_was_evaluated() -> None:
    with Sandbox() as sandbox:
        # GIVEN a registered cluster whose request was sent, evaluated and deleted
        [cluster_id] = sandbox.create_clusters(1, demand_mb=12_000, announce=False)
        queue_url = sandbox.functions["ScalerFunction"].environment["EMR_AUTOSCALER_EVALUATION_QUEUE_URL"]
        body = json.dumps(
            {"cluster_id": cluster_id, "cause": "alarm a", "event_id": "a-1", "enqueued_at": sandbox.now.isoformat()}
        )

        def send() -> int:
            sandbox.client("sqs").send_message(
                QueueUrl=queue_url, MessageBody=body, MessageGroupId=cluster_id, MessageDeduplicationId="dedup-1"
            )
            before = len(sandbox.evaluation_polls())
            sandbox.deliver()
            return len(_decisions(sandbox.evaluation_polls()[before:], cluster_id))

        first = send()
        # WHEN the same deduplication id is sent again 4 minutes later (SQS: dropped), then 6 minutes later (new)
        sandbox.clock.tick()
        sandbox.clock.tick()
        sandbox.clock.tick()
        sandbox.clock.tick()
        within = send()
        sandbox.clock.tick()
        sandbox.clock.tick()
        after = send()
    # THEN it was evaluated the first time, dropped within the window, and evaluated again after it
    assert (first, within, after) == (1, 0, 1)
