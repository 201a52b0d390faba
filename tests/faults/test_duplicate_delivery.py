"""Duplicate and concurrent delivery against a moto server over real HTTP: the same event three times, then N
parallel invocations (threads, one function instance each, as N concurrent Lambdas), give exactly one resize, one
step restart and one notice."""

from __future__ import annotations

import copy
import json
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aws_lambda_powertools.utilities import parameters

from emr_autoscaler import bootstrap
from emr_autoscaler.scaling.service import handle_trigger
from emr_autoscaler.scaling.triggers import ClusterTrigger
from emr_autoscaler.settings import Settings
from emr_autoscaler.steps.service import handle_step_retry_invocation
from emr_autoscaler_dev.sandbox.local_aws import LocalAws
from emr_autoscaler_dev.sandbox.provision import create_cluster, provision, provision_notifier, provision_step_retry
from tests.conftest import FakeContext, load_event
from tests.faults.injection import Calls, HttpAnswer, ScriptedHttpServer
from tests.faults.matrix import LOADED, LOST_NODE, RM_ONLY
from tests.moto_steps import add_steps, fail_step

pytestmark = pytest.mark.network

SETTINGS = Settings(config_parameter="/dup/config", state_table="dup-state", event_bus="dup-events")
PARALLEL = 8


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalAws]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    parameters.clear_caches()
    with LocalAws() as local:
        monkeypatch.setenv("AWS_ENDPOINT_URL", local.endpoint_url)
        yield local
    parameters.clear_caches()


def _three_then_parallel(invokers: list[Callable[[], Any]]) -> list[str]:
    """Invoke the first instance three times in a row, then every instance at once; returns each outcome."""
    outcomes: list[str] = []
    lock = threading.Lock()

    def one(invoke: Callable[[], Any]) -> None:
        try:
            result = f"ok {json.dumps(invoke(), default=str, sort_keys=True)}"
        except Exception as error:  # a loser may be told to retry later (claim in progress)
            result = f"raised {type(error).__name__}"
        with lock:
            outcomes.append(result)

    for _ in range(3):
        one(invokers[0])
    barrier = threading.Barrier(len(invokers))

    def parallel(invoke: Callable[[], Any]) -> None:
        barrier.wait()
        one(invoke)

    threads = [threading.Thread(target=parallel, args=(i,)) for i in invokers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_one_resize_for_a_repeated_and_concurrent_trigger(aws: LocalAws) -> None:
    # GIVEN a loaded, opted-in cluster and N scaler instances that count what reaches EMR
    session = aws.session()
    provision(session, SETTINGS, RM_ONLY)
    session.client("events").create_event_bus(Name=SETTINGS.event_bus)
    cluster_id = create_cluster(aws.client("emr"), task=2)
    trigger = ClusterTrigger(event_id="dup-1", cluster_id=cluster_id, cause="duplicate delivery")
    calls = Calls()
    with ScriptedHttpServer(ok=HttpAnswer(body=json.dumps(LOADED).encode())).running() as rm:
        scalers = []
        for _ in range(PARALLEL):
            faulty = aws.session()
            calls.attach(faulty)
            scalers.append(
                bootstrap.build_scaler(SETTINGS, session=faulty, resourcemanager_url_for=lambda _s: rm.url("/m"))
            )

        # WHEN the same trigger arrives three times, then to every instance at once
        outcomes = _three_then_parallel([lambda s=s: handle_trigger(trigger, s) for s in scalers])

    # THEN EMR got exactly one resize, and every invocation ended without error
    assert calls.succeeded["emr.ModifyInstanceGroups"] == 1
    assert len(outcomes) == 3 + PARALLEL
    assert all(o.startswith("ok") for o in outcomes)


def test_one_restart_for_a_repeated_and_concurrent_failure_and_due_message(aws: LocalAws) -> None:
    # GIVEN a failed step on an opted-in cluster and N step-retry instances (Idempotency on the state table)
    session = aws.session()
    provision(session, SETTINGS, "version: 1\n")
    settings = provision_step_retry(session, SETTINGS, "dup-retry")
    emr = aws.client("emr")
    cluster_id = create_cluster(emr)
    _, aggregate = add_steps(emr, cluster_id, "extract", "aggregate")
    fail_step(cluster_id, aggregate, LOST_NODE)
    event = load_event("step_failed.json")
    event["detail"].update(clusterId=cluster_id, stepId=aggregate, name="aggregate")
    calls = Calls()
    retriers = []
    for _ in range(PARALLEL):
        faulty = aws.session()
        calls.attach(faulty)
        retriers.append(bootstrap.build_step_retrier(settings, session=faulty, jitter=lambda: 0.0))

    # WHEN the FAILED event arrives three times, then to every instance at once
    failed = _three_then_parallel([lambda r=r: handle_step_retry_invocation(event, FakeContext(), r) for r in retriers])

    # THEN one restart was queued; the repeats in a row got the first result, and each concurrent one got it too
    # or was told to retry later (the claim was in progress)
    assert calls.succeeded["sqs.SendMessage"] == 1
    first = failed[0]
    assert '"outcome": "scheduled"' in first
    assert '"reason": "RETRY_TRANSIENT_FAILURE"' in first
    assert failed[:3] == [first] * 3
    assert set(failed[3:]) <= {first, "raised IdempotencyAlreadyInProgressError"}

    # WHEN its due message is delivered three times, then to every instance at once
    body = calls.succeeded_params["sqs.SendMessage"][0]["MessageBody"]
    record = copy.deepcopy(load_event("step_retry_due.json")["Records"][0])
    record["body"] = body
    due = {"Records": [record]}
    added = _three_then_parallel([lambda r=r: handle_step_retry_invocation(due, FakeContext(), r) for r in retriers])

    # THEN EMR got exactly one restart; a loser of the claim failed its record, so SQS would redeliver it
    restarts = [s for s in emr.list_steps(ClusterId=cluster_id)["Steps"] if s["Name"] == "aggregate (retry 1/2)"]
    assert calls.succeeded["emr.AddJobFlowSteps"] == 1
    assert len(restarts) == 1
    ok = 'ok {"batchItemFailures": []}'
    assert added[:3] == [ok] * 3
    assert set(added[3:]) <= {ok, "raised BatchProcessingError"}


def test_one_notice_for_a_repeated_and_concurrent_failure(aws: LocalAws) -> None:
    # GIVEN the notifier with one Slack channel on a local webhook, and N instances of it
    session = aws.session()
    config = "version: 1\nnotifications:\n  channels:\n    oncall: {type: slack, secret: dup/slack}\n"
    config += "  default_channels: [oncall]\n"
    provision(session, SETTINGS, config)
    with ScriptedHttpServer().running() as web:
        settings = provision_notifier(session, SETTINGS, {"dup/slack": web.url("/slack")}, prefix="dup")
        notifiers = [bootstrap.build_notifier(settings, session=aws.session()) for _ in range(PARALLEL)]
        base = load_event("cluster_terminated_with_errors.json")
        counter = iter(range(1000))
        lock = threading.Lock()

        def event() -> dict[str, Any]:
            # EMR's repeated state changes: the same failure, each time a new EventBridge event id
            with lock:
                return {**base, "id": f"dup-{next(counter)}"}

        # WHEN the same failure arrives three times, then to every instance at once
        outcomes = _three_then_parallel([lambda n=n: n.handle(event()) for n in notifiers])

    # THEN one message reached Slack; the other deliveries folded into its window
    assert len(web.requests) == 1
    assert sum('"folded": true' in o for o in outcomes) == 3 + PARALLEL - 1
