"""The fault matrix: every dependency × every fault, through the functions' real code path on a local AWS.

Each cell builds the function with `bootstrap` on a moto server (every dependency healthy but one), injects the
fault, and delivers the event as AWS would: once, again if the delivery failed (Lambda's or EventBridge's retry,
SQS's redelivery), and once more after the fault cleared (the redrive from the dead-letter queue, or the next
delivery). It records what the function did, how often the failing call was tried, what it changed in EMR
(resizes, restarts) and which error notices the notifier would deliver (its parser and dedup window applied to
every application event published and to the health alarm a failed invocation raises). For the notifier, what
it tells is where the notice went instead: the dead letters it wrote (per channel) and the fallback topic.

Used by `tests/faults/test_fault_matrix.py` (asserts every cell) and `bench/fault_matrix.py` (prints the table).
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from emr_autoscaler import bootstrap
from emr_autoscaler.adapters.channels.http import HttpPoster
from emr_autoscaler.kernel.notices import Severity
from emr_autoscaler.notifications.domain.notice import Notice
from emr_autoscaler.notifications.triggers import parse_notice_event
from emr_autoscaler.scaling.service import handle_trigger
from emr_autoscaler.scaling.triggers import ClusterTrigger
from emr_autoscaler.settings import Settings
from emr_autoscaler.steps.service import handle_step_retry_invocation
from emr_autoscaler.steps.triggers import StepFailure, parse_step_failure
from emr_autoscaler_dev.sandbox.local_aws import LocalAws
from emr_autoscaler_dev.sandbox.provision import (
    create_cluster,
    create_fleet_cluster,
    provision,
    provision_notifier,
    provision_step_retry,
)
from emr_autoscaler_dev.sandbox.yarn import cluster_metrics
from tests.conftest import FakeContext, load_event
from tests.faults.injection import FAULTS, TRANSIENT, AwsFault, Calls, Fault, HttpAnswer, ScriptedHttpServer
from tests.moto_steps import add_steps, fail_step
from tests.notify_fakes import InMemoryDedup
from tests.step_fakes import FakeRetryQueue, NoGuard

SETTINGS = Settings(config_parameter="/fault/config", state_table="fault-state", event_bus="fault-events")
RM_PATH = "/ws/v1/cluster/metrics"
RM_TIMEOUT_S = 0.3
WEBHOOK_TIMEOUT_S = 0.3
LOST_NODE = "Container released on a *lost* node"
# 16 containers of 2 GB wait on a 4-node cluster: the scaler wants to add TASK nodes.
LOADED = cluster_metrics(nodes=4, node_memory_mb=12288, node_vcores=4, demand_memory_mb=16 * 2048 + 40960)
NOTIFIER_EVENT = "cluster_terminated_with_errors.json"  # a critical notice: a missed channel means the fallback
# The holds that mean "the scaler cannot see": each is worth one warning per episode.
TROUBLE = ("held HOLD_METRICS_MISSING", "held HOLD_CONFIG_INVALID", "held HOLD_OTHER_SCALER_UNREADABLE")


@dataclass(frozen=True)
class Expect:
    """Expect is what must hold in a cell.

    `raised`: the delivery fails, so Lambda / EventBridge / SQS retry it and then the dead-letter queue keeps it.
    `retried`: the failing call was tried more than once before the function gave up on it.
    `outcome`: how the function's result starts when it did not raise. `recovered`: how the redrive's result
    starts once the fault cleared (when the delivery raised). `mutations`: resizes, restarts or messages that
    reached the notifier's channel, across every delivery and the redrive (never more than one). `notices`:
    exactly what was told, by kind (the notifier: its dead letters by channel and its fallback message).
    """

    raised: bool
    retried: bool
    outcome: str
    recovered: str
    mutations: int
    notices: dict[str, int]

    def broken_by(self, result: CellResult) -> list[str]:
        """Broken_by lists every promise of the cell that `result` breaks (empty: the cell holds)."""
        broken = [f"harmful: {h}" for h in result.harmful]
        if result.mutations != self.mutations:
            broken.append(f"acted {result.mutations} time(s), expected {self.mutations}")
        if (result.tries > 1) is not self.retried:
            broken.append(f"{result.tries} tr(y/ies) of the failing call, expected {'>' if self.retried else ''}1")
        if result.raised is not self.raised:
            broken.append(f"raised is {result.raised}, expected {self.raised}: {result.outcome}")
        elif self.raised and not result.recovered.startswith(self.recovered):
            broken.append(f"after the fault cleared: {result.recovered}, expected {self.recovered}")
        elif not self.raised and not result.outcome.startswith(self.outcome):
            broken.append(f"outcome {result.outcome}, expected {self.outcome}")
        if result.notices != self.notices:
            broken.append(f"told {result.notice_text}, expected {_notice_text(self.notices)}")
        return broken


@dataclass
class CellResult:
    """CellResult is what happened in one cell of the matrix."""

    dependency: str
    fault: Fault
    raised: bool
    outcome: str
    tries: int
    mutations: int
    harmful: tuple[str, ...]
    notices: dict[str, int]
    recovered: str

    @property
    def notice_text(self) -> str:
        return _notice_text(self.notices)


def _notice_text(notices: dict[str, int]) -> str:
    return ", ".join(f"{k}×{v}" for k, v in sorted(notices.items())) or "none"


@dataclass
class Env:
    """Env is the shared local AWS and the two scripted HTTP endpoints (ResourceManager, webhook)."""

    aws: LocalAws
    rm: ScriptedHttpServer
    web: ScriptedHttpServer
    # What one cell entered (the fleet emulator's patches of moto); closed before the next cell.
    cell: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)


@contextlib.contextmanager
def environment() -> Iterator[Env]:
    """Environment starts the moto server and the HTTP endpoints, with retries that do not wait."""
    from tests.faults.injection import no_retry_waits

    defaults = HttpPoster.__init__.__defaults__
    assert defaults is not None
    saved_endpoint = os.environ.get("AWS_ENDPOINT_URL")
    # The webhook poster keeps its retries and budget; only its per-request timeout shrinks, and it does not sleep.
    HttpPoster.__init__.__defaults__ = (WEBHOOK_TIMEOUT_S, defaults[1], defaults[2], lambda _s: None, *defaults[4:])
    rm, web = ScriptedHttpServer(ok=HttpAnswer(body=json.dumps(LOADED).encode())), ScriptedHttpServer()
    try:
        with LocalAws() as aws, rm.running(), web.running(), no_retry_waits(), _ha_master_on_loopback():
            env = Env(aws, rm, web)
            try:
                yield env
            finally:
                env.cell.close()
    finally:
        HttpPoster.__init__.__defaults__ = defaults
        if saved_endpoint is None:
            os.environ.pop("AWS_ENDPOINT_URL", None)
        else:
            os.environ["AWS_ENDPOINT_URL"] = saved_endpoint


@contextlib.contextmanager
def _ha_master_on_loopback() -> Iterator[None]:
    """While entered, moto's DescribeCluster names 127.0.0.1 (where the scripted ResourceManager listens) as the master
    of the cluster named HA_CLUSTER; every other cluster keeps moto's name."""
    from moto.emr import models

    saved = models.Cluster.__dict__["master_public_dns_name"]

    def dns(cluster: Any) -> Any:
        return "127.0.0.1" if cluster.name == HA_CLUSTER else saved.fget(cluster)

    models.Cluster.master_public_dns_name = property(dns)  # type: ignore[assignment,method-assign]
    try:
        yield
    finally:
        models.Cluster.master_public_dns_name = saved  # type: ignore[method-assign]


# ---------------------------------------------------------------------------------------------------- notices
def _eventbridge(source: str, detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "source": source,
        "account": "123456789012",
        "detail-type": detail_type,
        "detail": detail,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "eu-west-1",
        "resources": [],
    }


def health_alarm_event(function: str) -> dict[str, Any]:
    """Health_alarm_event is the state change of `<function>-errors` going to ALARM (a failed invocation)."""
    detail = {
        "alarmName": f"health/fault/{function}-errors",
        "state": {"value": "ALARM", "reason": "Threshold Crossed: 1 datapoint [1.0] was greater than 0.0"},
    }
    return _eventbridge("aws.cloudwatch", "CloudWatch Alarm State Change", detail)


def delivered_error_notices(calls: Calls, failed_invocations: int, function: str) -> dict[str, int]:
    """Delivered_error_notices runs every published application event, and one health alarm per failed invocation,
    through the notifier's parser and dedup window; returns the warning/critical notices it would send, by kind."""
    events = [
        _eventbridge(entry["Source"], entry["DetailType"], json.loads(entry["Detail"]))
        for params in calls.succeeded_params.get("eventbridge.PutEvents", [])
        for entry in params.get("Entries", [])
    ]
    events += [health_alarm_event(function) for _ in range(failed_invocations)]
    dedup, sent = InMemoryDedup(), Counter[str]()
    for event in events:
        notice = parse_notice_event(event)
        warns = isinstance(notice, Notice) and notice.severity is not Severity.INFO
        if warns and dedup.claim(notice, 600, datetime.now(UTC)).send:  # type: ignore[arg-type]
            sent[notice.kind.value] += 1  # type: ignore[union-attr]
    return dict(sent)


# ---------------------------------------------------------------------------------------------------- deliveries
@dataclass
class Run:
    """Run delivers one event as AWS does: again after a failure, then once more after the fault cleared."""

    invoke: Callable[[], dict[str, Any]]
    summarize: Callable[[dict[str, Any]], str]
    results: list[str] = field(default_factory=list)
    failures: int = 0

    def deliver(self) -> bool:
        try:
            self.results.append(self.summarize(self.invoke()))
        except Exception as error:
            code = (getattr(error, "response", None) or {}).get("Error", {}).get("Code") or type(error).__name__
            self.results.append(f"raised {code}")
            self.failures += 1
            return False
        return True


def _scaler_summary(result: dict[str, Any]) -> str:
    decision = result["decisions"][0]
    return f"{decision['outcome']} {decision['reason']}"


def _step_summary(result: dict[str, Any]) -> str:
    if "batchItemFailures" in result:
        return "raised" if result["batchItemFailures"] else "added"
    return f"{result['outcome']} {result['reason']}"


def _notifier_summary(result: dict[str, Any]) -> str:
    deliveries = result.get("deliveries", [])
    if any(d["dead_lettered"] for d in deliveries):
        fallback = " + fallback" if any(d["channel"] == "fallback" and d["delivered"] for d in deliveries) else ""
        return "dead-lettered" + fallback
    return "delivered" if deliveries else "no delivery"


# ---------------------------------------------------------------------------------------------------- scenarios
def _scaler_with_source(result: dict[str, Any]) -> str:
    return f"{_scaler_summary(result)} ({result['decisions'][0]['metrics_source']})"


def _scaler(env: Env, faulty: Any, setup: Any, config: str) -> tuple[Run, Callable[[], int]]:
    return _scaler_on(env, faulty, setup, config, primaries=1)


def _scaler_ha(env: Env, faulty: Any, setup: Any, config: str) -> tuple[Run, Callable[[], int]]:
    """The scaler on a cluster with three primary nodes whose master DNS name's ResourceManager does not answer
    (503: its node is being replaced), so the active RM is looked for among the primaries EMR's ListInstances names;
    the metrics sources are the default ones, ResourceManager then CloudWatch."""
    run, resizes = _scaler_on(env, faulty, setup, config, primaries=3)
    env.rm.fault = HttpAnswer(status=503, body=b'{"error": "unavailable"}')
    return run, resizes


def _scaler_tuning(env: Env, faulty: Any, setup: Any, config: str) -> tuple[Run, Callable[[], int]]:
    """The scaler on a cluster EMR Managed Scaling drives (2..40 instances), its profile saying `managed_scaling: tune`:
    the scaler's decision becomes a PutManagedScalingPolicy with new limits; what it changes is the policy."""
    run, _resizes = _scaler_on(env, faulty, setup, config, primaries=1)
    emr = setup.client("emr")
    cluster_id = emr.list_clusters()["Clusters"][0]["Id"]
    attached = {"ComputeLimits": {"UnitType": "Instances", "MinimumCapacityUnits": 2, "MaximumCapacityUnits": 40}}
    emr.put_managed_scaling_policy(ClusterId=cluster_id, ManagedScalingPolicy=attached)

    def tunes() -> int:
        policy = emr.get_managed_scaling_policy(ClusterId=cluster_id).get("ManagedScalingPolicy")
        return int(policy != attached)

    return run, tunes


def _scaler_fleet(env: Env, faulty: Any, setup: Any, config: str) -> tuple[Run, Callable[[], int]]:
    """The scaler on an instance-fleet cluster (moto has no fleets: the sandbox's fleet emulator answers
    ListInstanceFleets and ModifyInstanceFleet for this cell); what it changes is the TASK fleet's targets."""
    from emr_autoscaler_dev.sandbox.clock import Clock
    from emr_autoscaler_dev.sandbox.emr import EmrEmulator

    env.cell.enter_context(
        EmrEmulator(env.aws, Clock(), lambda *_: None, lambda _l: None, timedelta(minutes=3), timedelta(minutes=3))
    )
    return _scaler_on(env, faulty, setup, config, primaries=1, fleet=True)


def _scaler_on(
    env: Env, faulty: Any, setup: Any, config: str, primaries: int, fleet: bool = False
) -> tuple[Run, Callable[[], int]]:
    provision(setup, SETTINGS, config)
    setup.client("events").create_event_bus(Name=SETTINGS.event_bus)
    emr = setup.client("emr")
    name = HA_CLUSTER if primaries > 1 else "etl-nightly"
    if fleet:
        cluster_id = create_fleet_cluster(emr, task=2)
        task_targets = _task_fleet_targets(emr, cluster_id)
    else:
        cluster_id = create_cluster(emr, name=name, task=2, primaries=primaries)
    at = datetime.now(UTC) - timedelta(minutes=2)
    values = {
        "ContainerAllocated": 24,
        "ContainerPending": 16,
        "AppsRunning": 2,
        "AppsPending": 1,
        "MemoryAllocatedMB": 4 * 12288,
        "MemoryAvailableMB": 0,
        "MemoryTotalMB": 4 * 12288,
        "HDFSUtilization": 20,
    }
    setup.client("cloudwatch").put_metric_data(
        Namespace="AWS/ElasticMapReduce",
        MetricData=[
            {"MetricName": k, "Dimensions": [{"Name": "JobFlowId", "Value": cluster_id}], "Timestamp": at, "Value": v}
            for k, v in values.items()
        ],
    )
    if primaries > 1:  # the RM is reached as in Lambda: the master DNS name, then the primaries (active_rm.py)
        settings = SETTINGS.model_copy(update={"resourcemanager_port": env.rm.port})
        scaler = bootstrap.build_scaler(settings, session=faulty)
    else:
        url = env.rm.url(RM_PATH)
        scaler = bootstrap.build_scaler(SETTINGS, session=faulty, resourcemanager_url_for=lambda _s: url)
    trigger = ClusterTrigger(event_id="fault-1", cluster_id=cluster_id, cause="fault matrix")

    def resizes() -> int:
        if fleet:
            return int(_task_fleet_targets(emr, cluster_id) != task_targets)
        groups = emr.list_instance_groups(ClusterId=cluster_id)["InstanceGroups"]
        return sum(1 for g in groups if g["InstanceGroupType"] == "TASK" and g["RequestedInstanceCount"] != 2)

    summary = _scaler_with_source if primaries > 1 else _scaler_summary
    return Run(lambda: handle_trigger(trigger, scaler), summary), resizes


def _task_fleet_targets(emr: Any, cluster_id: str) -> tuple[int, int]:
    fleets = emr.list_instance_fleets(ClusterId=cluster_id)["InstanceFleets"]
    task = next(f for f in fleets if f["InstanceFleetType"] == "TASK")
    return int(task.get("TargetOnDemandCapacity", 0)), int(task.get("TargetSpotCapacity", 0))


def _step_world(setup: Any) -> tuple[Settings, str, str, dict[str, Any]]:
    provision(setup, SETTINGS, "version: 1\n")
    settings = provision_step_retry(setup, SETTINGS, "fault-retry")
    emr = setup.client("emr")
    cluster_id = create_cluster(emr)
    _, aggregate, _ = add_steps(emr, cluster_id, "extract", "aggregate", "load")
    fail_step(cluster_id, aggregate, LOST_NODE)
    event = load_event("step_failed.json")
    event["detail"].update(clusterId=cluster_id, stepId=aggregate, name="aggregate")
    return settings, cluster_id, aggregate, event


def _restarts(setup: Any, cluster_id: str) -> Callable[[], int]:
    def count() -> int:
        steps = setup.client("emr").list_steps(ClusterId=cluster_id)["Steps"]
        return sum(1 for s in steps if "(retry" in s["Name"])

    return count


def _step_failed(env: Env, faulty: Any, setup: Any, config: str) -> tuple[Run, Callable[[], int]]:
    settings, _cluster_id, _step, event = _step_world(setup)
    retrier = bootstrap.build_step_retrier(settings, session=faulty, jitter=lambda: 0.0)
    sqs = setup.client("sqs")

    def queued() -> int:
        attributes = sqs.get_queue_attributes(QueueUrl=settings.retry_queue_url, AttributeNames=["All"])["Attributes"]
        return int(attributes["ApproximateNumberOfMessagesDelayed"]) + int(attributes["ApproximateNumberOfMessages"])

    return Run(lambda: handle_step_retry_invocation(event, FakeContext(), retrier), _step_summary), queued


def _step_due(env: Env, faulty: Any, setup: Any, config: str) -> tuple[Run, Callable[[], int]]:
    settings, cluster_id, _step, event = _step_world(setup)
    clean = bootstrap.build_step_retrier(settings, session=setup, jitter=lambda: 0.0, guard=NoGuard())
    clean.queue = FakeRetryQueue()
    failure = parse_step_failure(event)
    assert isinstance(failure, StepFailure)
    clean.handle_failure(failure)
    record = copy.deepcopy(load_event("step_retry_due.json")["Records"][0])
    record["body"] = clean.queue.messages[0].model_dump_json()
    retrier = bootstrap.build_step_retrier(settings, session=faulty, jitter=lambda: 0.0)
    due = {"Records": [record]}
    return Run(lambda: handle_step_retry_invocation(due, FakeContext(), retrier), _step_summary), _restarts(
        setup, cluster_id
    )


def _notifier(env: Env, faulty: Any, setup: Any, channel: str) -> tuple[Run, Callable[[], int]]:
    sns, sqs = setup.client("sns"), setup.client("sqs")
    topic = sns.create_topic(Name="fault-ops")["TopicArn"]
    # The ops topic's subscriber: what a message published to the `ops` channel reaches.
    inbox = sqs.create_queue(QueueName="fault-ops-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)
    config = f"""
version: 1
notifications:
  channels:
    oncall: {{type: slack, secret: fault/slack}}
    ops: {{type: sns, topic_arn: "{topic}"}}
  default_channels: [{channel}]
"""
    provision(setup, SETTINGS, config)
    settings = provision_notifier(setup, SETTINGS, {"fault/slack": env.web.url("/slack")}, prefix="fault")
    notifier = bootstrap.build_notifier(settings, session=faulty)
    event = load_event(NOTIFIER_EVENT)

    def reached_the_channel() -> int:
        if channel == "ops":
            attributes = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["ApproximateNumberOfMessages"])
            return int(attributes["Attributes"]["ApproximateNumberOfMessages"])
        return env.web.ok_answers  # the Slack webhook answered 200

    return Run(lambda: notifier.handle(event), _notifier_summary), reached_the_channel


@dataclass(frozen=True)
class Dependency:
    """Dependency is one row of the matrix: what fails, in which function, and what the function must do.

    `told_on_failure`: notices the function itself publishes when the call fails outright (not MALFORMED);
    `told_on_malformed`: the ones it publishes when the call answers garbage.
    """

    name: str
    function: str  # scaler, step-retry (FAILED event), step-retry (due restart), notifier
    build: Callable[[Env, Any, Any, str], tuple[Run, Callable[[], int]]]
    arg: str  # configuration text (scaler), or the notifier's channel
    aws: tuple[str, str] | None = None  # (botocore service id, operation) when an AWS call fails
    http: str | None = None  # "rm" or "web" when an HTTP endpoint fails
    mangle: Callable[[dict[str, Any]], None] | None = None
    on_transient: str = "raised"
    on_denied: str = "raised"
    on_malformed: str = "raised"
    retried_by_botocore: bool = True
    told_on_failure: tuple[str, ...] = ()
    told_on_malformed: tuple[str, ...] = ()


RM_ONLY = (
    f"version: 1\ndefaults:\n  metrics: {{sources: [resourcemanager], resourcemanager_timeout_s: {RM_TIMEOUT_S}}}\n"
)
CW_ONLY = "version: 1\ndefaults:\n  metrics: {sources: [cloudwatch]}\n"
RM_TUNE = RM_ONLY + "  managed_scaling: tune\n"
RM_THEN_CW = (
    "version: 1\ndefaults:\n  metrics: {sources: [resourcemanager, cloudwatch], "
    f"resourcemanager_timeout_s: {RM_TIMEOUT_S}}}\n"
)
# A cluster with three primary nodes (see _scaler_ha); the scaler falls back to CloudWatch when it cannot find the
# active ResourceManager, and acts on CloudWatch's figures.
HA_CLUSTER = "etl-ha"
FELL_BACK = "applied SCALE_OUT_PENDING_DEMAND (cloudwatch)"


def _partial_cluster(parsed: dict[str, Any]) -> None:
    parsed["Cluster"] = {"Id": parsed["Cluster"]["Id"], "Name": parsed["Cluster"].get("Name", "")}


def _partial_groups(parsed: dict[str, Any]) -> None:
    parsed["InstanceGroups"] = [
        {"Id": g["Id"], "InstanceGroupType": g["InstanceGroupType"]} for g in parsed["InstanceGroups"]
    ]


def _partial_metrics(parsed: dict[str, Any]) -> None:
    parsed["MetricDataResults"] = parsed["MetricDataResults"][:3]


def _partial_item(parsed: dict[str, Any]) -> None:
    parsed["Item"] = {"pk": {"S": "CLUSTER#?"}, "sk": {"S": "STATE"}, "version": {"S": "not a number"}}


def _garbled_parameter(parsed: dict[str, Any]) -> None:
    parsed["Parameter"]["Value"] = "defaults: {scale_in: {cooldown_s: [unterminated"


def _secret_without_value(parsed: dict[str, Any]) -> None:
    parsed.pop("SecretString", None)


def _refused_entries(parsed: dict[str, Any]) -> None:
    parsed["FailedEntryCount"] = 1
    parsed["Entries"] = [{"ErrorCode": "InternalFailure", "ErrorMessage": "garbled"}]


def _partial_step(parsed: dict[str, Any]) -> None:
    parsed["Step"] = {"Id": parsed["Step"]["Id"], "Name": parsed["Step"].get("Name", "")}


def _no_step_ids(parsed: dict[str, Any]) -> None:
    parsed["StepIds"] = []


def _unknown_unit(parsed: dict[str, Any]) -> None:
    parsed["ManagedScalingPolicy"] = {
        "ComputeLimits": {"UnitType": "Gigawatts", "MinimumCapacityUnits": 1, "MaximumCapacityUnits": 4}
    }


def _no_instances(parsed: dict[str, Any]) -> None:
    parsed["Instances"] = []


def _partial_fleets(parsed: dict[str, Any]) -> None:
    parsed["InstanceFleets"] = [
        {"Id": f["Id"], "InstanceFleetType": f["InstanceFleetType"]} for f in parsed["InstanceFleets"]
    ]


def _empty(parsed: dict[str, Any]) -> None:
    for key in [k for k in parsed if k != "ResponseMetadata"]:
        del parsed[key]


DEPENDENCIES: tuple[Dependency, ...] = (
    Dependency("EMR DescribeCluster", "scaler", _scaler, RM_ONLY, aws=("emr", "DescribeCluster"),
               mangle=_partial_cluster, on_malformed="held HOLD_CLUSTER_NOT_OPTED_IN"),
    Dependency("EMR ListInstanceGroups", "scaler", _scaler, RM_ONLY, aws=("emr", "ListInstanceGroups"),
               mangle=_partial_groups, on_malformed="held HOLD_GROUP_NOT_SETTLED"),
    Dependency("EMR GetManagedScalingPolicy", "scaler", _scaler, RM_ONLY, aws=("emr", "GetManagedScalingPolicy"),
               mangle=_unknown_unit, on_transient="held HOLD_OTHER_SCALER_UNREADABLE",
               on_denied="held HOLD_OTHER_SCALER_UNREADABLE", on_malformed="held HOLD_OTHER_SCALER_UNREADABLE"),
    Dependency("EMR ListInstances (primaries)", "scaler", _scaler_ha, RM_THEN_CW, aws=("emr", "ListInstances"),
               mangle=_no_instances, on_transient=FELL_BACK, on_denied=FELL_BACK, on_malformed=FELL_BACK),
    Dependency("EMR ModifyInstanceGroups", "scaler", _scaler, RM_ONLY, aws=("emr", "ModifyInstanceGroups"),
               mangle=_empty, on_malformed="applied", told_on_failure=("scaling_failed",)),
    Dependency("EMR ListInstanceFleets", "scaler", _scaler_fleet, RM_ONLY, aws=("emr", "ListInstanceFleets"),
               mangle=_partial_fleets, on_malformed="held HOLD_NODE_CAPACITY_UNKNOWN",
               told_on_malformed=("scaling_held",)),
    Dependency("EMR ModifyInstanceFleet", "scaler", _scaler_fleet, RM_ONLY, aws=("emr", "ModifyInstanceFleet"),
               mangle=_empty, on_malformed="applied", told_on_failure=("scaling_failed",)),
    Dependency("EMR PutManagedScalingPolicy", "scaler", _scaler_tuning, RM_TUNE,
               aws=("emr", "PutManagedScalingPolicy"), mangle=_empty, on_malformed="applied",
               told_on_failure=("scaling_failed",)),
    Dependency("EMR DescribeStep", "step-retry", _step_failed, "", aws=("emr", "DescribeStep"),
               mangle=_partial_step, on_malformed="given_up GIVE_UP_STEP_CONFIG_UNREADABLE"),
    Dependency("EMR AddJobFlowSteps", "step-retry", _step_due, "", aws=("emr", "AddJobFlowSteps"),
               mangle=_no_step_ids, on_malformed="added", retried_by_botocore=False),
    Dependency("CloudWatch GetMetricData", "scaler", _scaler, CW_ONLY, aws=("cloudwatch", "GetMetricData"),
               mangle=_partial_metrics, on_transient="held HOLD_METRICS_MISSING",
               on_denied="held HOLD_METRICS_MISSING", on_malformed="held HOLD_METRICS_MISSING"),
    Dependency("DynamoDB GetItem (state)", "scaler", _scaler, RM_ONLY, aws=("dynamodb", "GetItem"),
               mangle=_partial_item),
    Dependency("SSM GetParameter", "scaler", _scaler, RM_ONLY, aws=("ssm", "GetParameter"),
               mangle=_garbled_parameter, on_transient="held HOLD_CONFIG_INVALID",
               on_denied="held HOLD_CONFIG_INVALID", on_malformed="held HOLD_CONFIG_INVALID",
               told_on_malformed=("configuration_refused",)),
    Dependency("Secrets Manager GetSecretValue", "notifier", _notifier, "oncall",
               aws=("secrets-manager", "GetSecretValue"), mangle=_secret_without_value,
               on_transient="dead-lettered + fallback", on_denied="dead-lettered + fallback",
               on_malformed="dead-lettered + fallback"),
    Dependency("SNS Publish", "notifier", _notifier, "ops", aws=("sns", "Publish"), mangle=_empty,
               on_transient="dead-lettered", on_denied="dead-lettered", on_malformed="delivered"),
    Dependency("EventBridge PutEvents", "scaler", _scaler, RM_ONLY, aws=("eventbridge", "PutEvents"),
               mangle=_refused_entries, on_transient="applied", on_denied="applied", on_malformed="applied"),
    Dependency("Webhook HTTP (Slack)", "notifier", _notifier, "oncall", http="web",
               on_transient="dead-lettered + fallback", on_denied="dead-lettered + fallback",
               on_malformed="dead-lettered + fallback"),
    Dependency("ResourceManager HTTP", "scaler", _scaler, RM_ONLY, http="rm",
               on_transient="held HOLD_METRICS_MISSING", on_denied="held HOLD_METRICS_MISSING",
               on_malformed="held HOLD_METRICS_MISSING", retried_by_botocore=False),
)  # fmt: skip
DEPENDENCY_NAMES = tuple(d.name for d in DEPENDENCIES)
# What each scenario's healthy path does: the redrive after a cleared fault must end this way.
HEALTHY: dict[Callable[..., tuple[Run, Callable[[], int]]], str] = {
    _scaler: "applied SCALE_OUT_PENDING_DEMAND",
    _scaler_ha: FELL_BACK,
    _scaler_tuning: "applied SCALE_MANAGED_SCALING_LIMITS",
    _scaler_fleet: "applied SCALE_OUT_PENDING_DEMAND",
    _step_failed: "scheduled RETRY_TRANSIENT_FAILURE",
    _step_due: "added",
    _notifier: "delivered",
}


def expected(dependency: Dependency, fault: Fault) -> Expect:
    """Expected is the promise for one cell (see docs/hardening.md for the reasoning per row)."""
    outcome = {
        Fault.ACCESS_DENIED: dependency.on_denied,
        Fault.MALFORMED: dependency.on_malformed,
    }.get(fault, dependency.on_transient)
    raised = outcome == "raised"
    if dependency.http == "web":
        retried = fault is not Fault.ACCESS_DENIED  # 429, 5xx, timeouts and cut-off answers are retried
    else:
        retried = fault in TRANSIENT and dependency.retried_by_botocore
    if raised:
        mutations = 1  # the redrive, once the fault cleared, acts once
    elif outcome.startswith(("applied", "added", "delivered")):
        mutations = 1  # the call took effect (its answer was garbled, or only the notice failed)
    else:
        mutations = 0  # held, given up or dead-lettered: nothing done on partial data, no message reached
    return Expect(
        raised=raised,
        retried=retried,
        outcome=outcome,
        recovered=HEALTHY[dependency.build],
        mutations=mutations,
        notices=_told(dependency, fault, outcome),
    )


def _told(dependency: Dependency, fault: Fault, outcome: str) -> dict[str, int]:
    if dependency.function == "notifier":
        # No event is lost: a channel that cannot take the notice gets a dead letter naming it, and a critical
        # notice that missed its channel goes to the fallback topic, or, when SNS itself fails (the fallback is
        # an SNS topic too), to a second dead letter naming the fallback.
        if outcome == "delivered":
            return {}
        letters = {f"dead letter ({dependency.arg})": 1}
        if outcome == "dead-lettered + fallback":
            return {**letters, "fallback": 1}
        return {**letters, "dead letter (fallback)": 1}
    told: dict[str, int] = {}
    if outcome == "raised":
        told["health_alarm"] = 1  # one per episode: the retry's failure folds into the first alarm's window
    if outcome.startswith(TROUBLE):
        told["scaling_held"] = 1
    if outcome.startswith("given_up"):
        told["step_retry_given_up"] = 1
    own = dependency.told_on_malformed if fault is Fault.MALFORMED else dependency.told_on_failure
    return told | dict.fromkeys(own, 1)


def run_cell(env: Env, dependency: Dependency, fault: Fault) -> CellResult:
    """Run_cell runs one cell on a freshly reset local AWS and returns what happened."""
    env.cell.close()  # the previous cell's emulators go before moto is reset
    env.aws.reset()
    os.environ["AWS_ENDPOINT_URL"] = env.aws.endpoint_url
    env.rm.fault = env.web.fault = None
    env.rm.requests.clear()
    env.web.requests.clear()
    env.rm.ok_answers = env.web.ok_answers = 0
    setup, faulty = env.aws.session(), env.aws.session()
    calls = Calls()
    calls.attach(faulty)
    injected: AwsFault | None = None
    if dependency.aws is not None:
        injected = AwsFault(*dependency.aws, fault=fault, mangle=dependency.mangle)
        injected.attach(faulty)
    run, mutations = dependency.build(env, faulty, setup, dependency.arg)
    server = {"rm": env.rm, "web": env.web}.get(dependency.http or "")
    if server is not None:
        server.fault = server.http_fault(fault, RM_TIMEOUT_S if server is env.rm else WEBHOOK_TIMEOUT_S)

    delivered = run.deliver()
    if injected is not None:  # attempts per call of the failing operation (SNS: the channel and the fallback)
        tries = -(-injected.attempts // max(1, calls.calls[injected.name]))
    else:
        tries = len(server.requests) if server is not None else 0
    under_fault = mutations()
    if not delivered:
        run.deliver()  # Lambda's / EventBridge's retry, or SQS's redelivery: the fault is still there
    failures = run.failures
    if injected is not None:
        injected.active = False
    if server is not None:
        server.fault = None
    if not delivered:
        run.deliver()  # the redrive from the dead-letter queue, once the fault cleared
    recovered = run.results[-1] if not delivered else "-"

    harmful: list[str] = []
    total = mutations()
    if (
        under_fault
        and fault is not Fault.MALFORMED
        and dependency.aws
        not in (
            ("emr", "ModifyInstanceGroups"),
            ("eventbridge", "PutEvents"),
            # ListInstances only locates the active ResourceManager: the action rests on CloudWatch's whole figures
            ("emr", "ListInstances"),
        )
    ):
        harmful.append(f"acted on partial data ({under_fault})")
    if total > 1:
        harmful.append(f"acted {total} times")
    if dependency.function == "notifier":
        notices = _dead_letters_and_fallback(setup, calls)
    else:
        notices = delivered_error_notices(calls, failures, dependency.function)
    return CellResult(
        dependency=dependency.name,
        fault=fault,
        raised=not delivered,
        outcome=run.results[0],
        tries=tries,
        mutations=total,
        harmful=tuple(harmful),
        notices=notices,
        recovered=recovered,
    )


def _dead_letters_and_fallback(setup: Any, calls: Calls) -> dict[str, int]:
    """The notifier's dead letters by channel (a letter for another event counts as stray) and its fallback
    messages (successful publishes to the fallback topic)."""
    sqs = setup.client("sqs")
    url = sqs.get_queue_url(QueueName="fault-dlq")["QueueUrl"]
    event_id = load_event(NOTIFIER_EVENT)["id"]
    told: Counter[str] = Counter()
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            letter = json.loads(message["Body"])
            ours = letter["notice"]["event_id"] == event_id
            told[f"dead letter ({letter['channel']})" if ours else "stray dead letter"] += 1
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    published = calls.succeeded_params.get("sns.Publish", [])
    told["fallback"] = sum(1 for p in published if str(p.get("TopicArn", "")).endswith("fallback"))
    return {kind: count for kind, count in told.items() if count}


def cells() -> list[tuple[Dependency, Fault]]:
    """Cells lists every (dependency, fault) pair of the matrix."""
    return [(d, f) for d in DEPENDENCIES for f in FAULTS]
