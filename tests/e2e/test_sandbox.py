"""End to end on the Sandbox: the template's own rules, environment and schedules, on a simulated clock."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from emr_autoscaler_dev.sandbox.emr import SANDBOX_AMI
from emr_autoscaler_dev.sandbox.sandbox import Sandbox, SandboxError
from emr_autoscaler_dev.sandbox.template import load_template
from tests.conftest import ROOT

pytestmark = pytest.mark.network


def _reasons(sandbox: Sandbox, cluster_id: str) -> list[str]:
    return [d["reason"] for d in sandbox.decisions if d["cluster_id"] == cluster_id]


def test_spike_scales_out_waits_for_nodes_then_scales_back_in(sandbox: Sandbox) -> None:
    # GIVEN a registered cluster (its RUNNING event reached the cluster watch through the template's rule)
    cluster_id = sandbox.create_cluster(core=2, task=2)
    watch_calls = [i for i in sandbox.invocations if i.function == "ClusterWatchFunction"]
    assert watch_calls[0].result["results"][0]["action"] == "registered"
    # WHEN YARN demand spikes for 20 minutes
    sandbox.set_yarn(cluster_id, demand_mb=160_000, apps=10)
    sandbox.advance(3)
    # THEN it scales out by its step budget (scale_out.max_step_nodes: 10), raises the target again while the first
    # nodes start (EMR takes a new count mid-resize), then holds: the nodes in flight cover what waits
    reasons = _reasons(sandbox, cluster_id)
    assert reasons[:2] == ["SCALE_OUT_PENDING_DEMAND", "SCALE_OUT_PENDING_DEMAND"]
    assert "HOLD_CAPACITY_IN_FLIGHT" in reasons
    running, requested = sandbox.nodes(cluster_id)["TASK"]
    assert running == 2
    assert requested > 12
    assert requested - 2 >= -(-(160_000 - 4 * 12_288) // 12_288)  # the nodes in flight fit the pending demand
    # ... and once they run, every node it asked for is running (at least the first step's twelve)
    sandbox.advance(17)
    running, requested = sandbox.nodes(cluster_id)["TASK"]
    assert running == requested
    assert requested >= 12
    # WHEN the load falls to a trickle for 40 minutes
    sandbox.set_yarn(cluster_id, demand_mb=4_000, apps=1)
    sandbox.advance(40)
    # THEN it waits out the stabilization window, then scales in gracefully, down to the TASK group's minimum (0):
    # the trickle fits on the CORE nodes
    reasons = _reasons(sandbox, cluster_id)
    assert "HOLD_STABILIZING" in reasons
    assert "SCALE_IN_LOW_UTILIZATION" in reasons
    assert reasons.index("HOLD_STABILIZING") < reasons.index("SCALE_IN_LOW_UTILIZATION")
    assert sandbox.nodes(cluster_id)["TASK"] == (0, 0)
    assert sandbox.failures == []


def test_instance_group_event_reaches_the_scaler_through_the_template_rule(sandbox: Sandbox) -> None:
    # GIVEN a cluster that scaled out
    cluster_id = sandbox.create_cluster()
    sandbox.set_yarn(cluster_id, demand_mb=100_000, apps=5)
    sandbox.advance(1)
    # WHEN its resize completes (EMR emits EMR Instance Group State Change)
    sandbox.advance(7)
    # THEN the scaler was invoked by that event, not only by the schedule: it enqueued one evaluation, which a batch
    # of the evaluation queue then ran for that cluster
    by_event = [
        i
        for i in sandbox.invocations
        if i.function == "ScalerFunction" and i.event.get("detail-type") == "EMR Instance Group State Change"
    ]
    assert by_event
    assert by_event[0].result["enqueued"] == 1
    causes = [
        json.loads(record["body"])["cause"]
        for i in sandbox.invocations
        if i.function == "ScalerFunction" and "Records" in i.event
        for record in i.event["Records"]
    ]
    assert "instance group state RUNNING" in causes


def test_alarm_rule_matches_the_prefix_only(sandbox: Sandbox) -> None:
    # GIVEN a registered cluster
    cluster_id = sandbox.create_cluster()
    before = len(sandbox.invocations)
    alarm = {
        "alarmName": f"emr-autoscaler-{cluster_id}-ContainerPendingRatio",
        "state": {"value": "ALARM", "reason": "Threshold Crossed", "timestamp": "2026-11-26T02:01:00.000+0000"},
        "previousState": {"value": "OK"},
        "configuration": {"metrics": []},
    }
    # WHEN our alarm and someone else's fire
    sandbox.emit("aws.cloudwatch", "CloudWatch Alarm State Change", alarm)
    sandbox.emit("aws.cloudwatch", "CloudWatch Alarm State Change", {**alarm, "alarmName": "billing-alarm"})
    # THEN only ours invoked the scaler (to enqueue), and the queue's batch evaluated that cluster for that alarm
    new = [i for i in sandbox.invocations[before:] if i.function == "ScalerFunction"]
    enqueued = [i for i in new if "Records" not in i.event]
    batches = [i for i in new if "Records" in i.event]
    assert [i.result["enqueued"] for i in enqueued] == [1]
    assert [json.loads(r["body"])["cause"] for i in batches for r in i.event["Records"]] == [
        f"alarm emr-autoscaler-{cluster_id}-ContainerPendingRatio"
    ]
    assert [d["cluster_id"] for i in batches for d in i.result["decisions"]] == [cluster_id]


def test_handler_failure_sends_the_event_to_the_dead_letter_queue(sandbox: Sandbox) -> None:
    # GIVEN a registered cluster whose evaluation queue then disappears
    cluster_id = sandbox.create_cluster()
    queue_url = sandbox.functions["ScalerFunction"].environment["EMR_AUTOSCALER_EVALUATION_QUEUE_URL"]
    sandbox.client("sqs").delete_queue(QueueUrl=queue_url)
    # WHEN an instance group event for it arrives
    sandbox.emit(
        "aws.emr",
        "EMR Instance Group State Change",
        {"clusterId": cluster_id, "state": "RUNNING", "instanceGroupId": "ig-1", "instanceGroupType": "TASK"},
    )
    # THEN the handler's one failure is recorded with its event and the missing queue, and that event, alone,
    # waits in the dead-letter queue
    [failure] = sandbox.failures
    assert (failure.function, failure.event["detail"]["clusterId"]) == ("ScalerFunction", cluster_id)
    assert "NonExistentQueue" in (failure.error or "") or "QueueDoesNotExist" in (failure.error or "")
    dead = [e for messages in sandbox.dead_letters().values() for e in messages]
    assert [(e["detail-type"], e["detail"]["clusterId"]) for e in dead] == [
        ("EMR Instance Group State Change", cluster_id)
    ]


def test_unknown_resource_types_are_named_at_start(tmp_path: Path) -> None:
    # GIVEN a template with a resource the sandbox cannot emulate
    template = load_template(ROOT / "template.yaml")
    text = (ROOT / "template.yaml").read_text(encoding="utf-8")
    text = text.replace("\nResources:\n", "\nResources:\n  Network:\n    Type: AWS::EC2::VPC\n", 1)
    broken = tmp_path / "template.yaml"
    broken.write_text(text, encoding="utf-8")
    assert "Network" not in template["Resources"]
    # WHEN the sandbox starts, THEN it refuses, naming the resource
    with pytest.raises(SandboxError, match=r"Network \(AWS::EC2::VPC\)"), Sandbox(template=broken):
        pass


def _config_with_channels(sandbox: Sandbox) -> str:
    """The example configuration, its SNS channel on a topic of the sandbox."""
    text = (ROOT / "config" / "autoscaler.yaml").read_text(encoding="utf-8")
    topic = sandbox.client("sns").create_topic(Name="emr-autoscaler-ops-email")["TopicArn"]
    return text.replace("arn:aws:sns:eu-west-1:123456789012:emr-autoscaler-ops-email", topic)


def test_transient_failure_restarts_once_after_backoff_with_followers_in_order(sandbox: Sandbox) -> None:
    # GIVEN a cluster running three steps that cancel their followers on failure
    sandbox.set_config(_config_with_channels(sandbox))
    cluster_id = sandbox.create_cluster()
    first, _second, _third = sandbox.add_steps(cluster_id, "ingest", "aggregate", "publish")
    # WHEN the first fails with S3's 503 Slow Down, and the FAILED event is delivered twice
    sandbox.fail_step(cluster_id, first, "Slow Down (Service: Amazon S3; Status Code: 503)")
    duplicate = next(i.event for i in sandbox.invocations if i.function == "StepRetryFunction")
    sandbox.put_event(duplicate)
    before_backoff = [s["Name"] for s in sandbox.steps(cluster_id)]
    sandbox.advance(3)  # the backoff: 120 s, shortened by up to 20 % jitter
    # THEN nothing was added before the backoff, then exactly one restart, followed by the cancelled steps in order
    assert len(before_backoff) == 3
    names = [s["Name"] for s in sandbox.steps(cluster_id)]
    assert names[3:] == ["ingest (retry 1/2)", "aggregate", "publish"]
    assert sandbox.failures == []


def test_permanent_failure_is_not_restarted_and_the_channels_hear_of_it(sandbox: Sandbox) -> None:
    # GIVEN a cluster with a step, and the example routing (critical → pager webhook, Slack, e-mail)
    sandbox.set_config(_config_with_channels(sandbox))
    cluster_id = sandbox.create_cluster()
    (step_id,) = sandbox.add_steps(cluster_id, "aggregate")
    # WHEN it fails permanently
    sandbox.fail_step(cluster_id, step_id, "java.lang.ClassNotFoundException: com.example.Aggregate")
    sandbox.advance(5)
    # THEN no restart, and Slack, the signed webhook and SNS got the notice naming the step
    assert [s["Name"] for s in sandbox.steps(cluster_id)] == ["aggregate"]
    paths = {m.path for m in sandbox.notifications}
    assert {"/slack/oncall-slack", "/webhook/pager"} <= paths
    pager = next(m for m in sandbox.notifications if m.path == "/webhook/pager")
    assert "aggregate" in pager.body.decode()
    assert any(h.lower() == "x-emr-autoscaler-signature" for h in pager.headers)
    assert any("aggregate" in str(m["subject"]) for m in sandbox.sns_messages())


def test_a_broken_pattern_in_the_template_breaks_the_routing(tmp_path: Path) -> None:
    # GIVEN the template with the scaler's instance-group rule mistyped
    text = (ROOT / "template.yaml").read_text(encoding="utf-8")
    assert "detail-type: [EMR Instance Group State Change]" in text
    broken = tmp_path / "template.yaml"
    broken.write_text(text.replace("[EMR Instance Group State Change]", "[EMR Instance Group State Changed]"))
    with Sandbox(template=broken) as sandbox:
        cluster_id = sandbox.create_cluster()
        # WHEN EMR reports an instance group change
        sandbox.emit("aws.emr", "EMR Instance Group State Change", {"clusterId": cluster_id, "state": "RUNNING"})
        # THEN the scaler is never invoked: the sandbox routes by the template's own patterns, so a broken one shows
        assert not [i for i in sandbox.invocations if i.function == "ScalerFunction"]


RUNTIME_ROLE = "arn:aws:iam::123456789012:role/emr-step-etl"
LOST_NODE_DIAGNOSTICS = (
    "User class threw exception: org.apache.spark.SparkException: Job aborted due to stage failure: Task 3 in stage "
    "2.0 failed 4 times, most recent failure: Lost task 3.3 in stage 2.0 (TID 45) (ip-10-0-1-12.ec2.internal executor "
    "7): ExecutorLostFailure (executor 7 exited caused by one of the running tasks) Reason: Container marked as "
    "failed: container_1772589600000_0007_01_000008 on host: ip-10-0-1-12.ec2.internal. Exit status: -100. "
    "Diagnostics: Container released on a *lost* node."
)


def _step_retry_results(sandbox: Sandbox) -> list[dict[str, object]]:
    results: list[dict[str, object]] = []
    for invocation in sandbox.invocations:
        if invocation.function != "StepRetryFunction" or not isinstance(invocation.result, dict):
            continue
        results.append(invocation.result)
    return results


def test_unknown_error_with_lost_node_diagnostics_restarts_once_with_its_runtime_role(sandbox: Sandbox) -> None:
    # GIVEN a step that runs with a runtime role the profile names, on a cluster that cancels followers on failure
    sandbox.set_config(_config_with_channels(sandbox))
    cluster_id = sandbox.create_cluster()
    (step_id,) = sandbox.add_steps(cluster_id, "aggregate", execution_role_arn=RUNTIME_ROLE)
    # WHEN it fails with EMR's "Unknown Error." while YARN's diagnostics say the node was lost (logs not in S3 yet),
    # and the FAILED event is delivered twice
    sandbox.fail_step(cluster_id, step_id, "Unknown Error.", diagnostics=LOST_NODE_DIAGNOSTICS)
    duplicate = next(i.event for i in sandbox.invocations if i.function == "StepRetryFunction")
    sandbox.put_event(duplicate)
    sandbox.advance(3)  # the backoff: 120 s, shortened by up to 20 % jitter
    sandbox.advance(10)
    # THEN it was restarted once, with its runtime role, classified from the YARN diagnostics
    restarts = [s for s in sandbox.steps(cluster_id) if s["Name"] == "aggregate (retry 1/2)"]
    assert len(restarts) == 1
    described = sandbox.emr.describe_step(ClusterId=cluster_id, StepId=restarts[0]["Id"])["Step"]
    assert described["ExecutionRoleArn"] == RUNTIME_ROLE
    # ... (the duplicate event got the first decision back from Idempotency: the same result, not a second one)
    scheduled = [r for r in _step_retry_results(sandbox) if r.get("outcome") == "scheduled"]
    assert len(scheduled) == 2
    assert scheduled[0] == scheduled[1]
    assert scheduled[0]["evidence_source"] == "yarn"
    assert "Container released on a *lost* node" in str(scheduled[0]["evidence_line"])
    assert sandbox.failures == []


def test_class_not_found_in_late_logs_waits_for_them_then_gives_up_quoting_the_line(sandbox: Sandbox) -> None:
    # GIVEN a step whose failure EMR could not classify and whose YARN diagnostics say only "exitCode: 13"
    sandbox.set_config(_config_with_channels(sandbox))
    cluster_id = sandbox.create_cluster()
    (step_id,) = sandbox.add_steps(cluster_id, "aggregate")
    stderr = (
        'Exception in thread "main" org.apache.spark.SparkException: Application finished with failed status\n'
        "Caused by: java.lang.ClassNotFoundException: com.acme.etl.AggregateDaily\n"
    )
    diagnostics = "AM Container for appattempt exited with  exitCode: 13\nFailing this attempt."
    # WHEN it fails, and its logs reach S3 only after EMR's archive delay (5 minutes)
    sandbox.fail_step(cluster_id, step_id, "Unknown Error.", stderr=stderr, diagnostics=diagnostics)
    first = [r for r in _step_retry_results(sandbox) if r.get("step_id") == step_id]
    # THEN the first decision waits for the logs, and nothing is told yet
    assert [(r["outcome"], r["reason"]) for r in first] == [("waiting", "WAIT_FOR_EVIDENCE")]
    assert not [m for m in sandbox.notifications if m.path == "/webhook/pager"]
    # WHEN the wait passes (the logs are archived meanwhile)
    sandbox.advance(6)
    # THEN it is given up once: the pager gets one critical notice quoting the log's line and linking the log object
    pager = [json.loads(m.body) for m in sandbox.notifications if m.path == "/webhook/pager"]
    assert len(pager) == 1
    assert (pager[0]["severity"], pager[0]["reason"]["code"]) == ("critical", "GIVE_UP_PERMANENT_FAILURE")
    assert '"Caused by: java.lang.ClassNotFoundException: com.acme.etl.AggregateDaily"' in pager[0]["reason"]["message"]
    assert pager[0]["log_location"] == (
        f"s3://aws-logs-123456789012-eu-west-1/elasticmapreduce/{cluster_id}/steps/{step_id}/stderr.gz"
    )
    assert [s["Name"] for s in sandbox.steps(cluster_id)] == ["aggregate"]
    assert sandbox.failures == []


def test_step_logs_reach_s3_only_after_the_archive_delay(sandbox: Sandbox) -> None:
    cluster_id = sandbox.create_cluster()
    (step_id,) = sandbox.add_steps(cluster_id, "aggregate")
    sandbox.fail_step(cluster_id, step_id, "Unknown Error.", stderr="boom", archive_delay_s=240)
    prefix = f"elasticmapreduce/{cluster_id}/steps/{step_id}/"
    assert sandbox.s3_objects("aws-logs-123456789012-eu-west-1", prefix) == {}
    sandbox.advance(4)
    logs = sandbox.s3_objects("aws-logs-123456789012-eu-west-1", prefix)
    assert sorted(logs) == [prefix + "controller.gz", prefix + "stderr.gz"]
    assert logs[prefix + "stderr.gz"][:2] == b"\x1f\x8b"


# --- instance fleets: scaled in units through ModifyInstanceFleet; a Spot shortage falls back and is given back

MAX_ON_DEMAND_UNITS = 20  # fleets.task.max_on_demand_units' default
MAX_UNITS = 80  # fleets.task.max_units' default


def _watch(sandbox: Sandbox, cluster_id: str, seen: list[dict[str, Any]]) -> Any:
    return lambda _minute: seen.append(sandbox.fleet(cluster_id))


def test_fleet_cluster_scales_out_and_back_in_through_modify_instance_fleet(sandbox: Sandbox) -> None:
    # GIVEN a fleet cluster (a TASK fleet of 8 Spot units) and a spike of YARN demand
    cluster_id = sandbox.create_cluster(collection="fleet")
    sandbox.set_yarn(cluster_id, demand_mb=100_000, apps=5)
    seen: list[dict[str, Any]] = []
    # WHEN 20 minutes pass
    sandbox.advance(20, each_minute=_watch(sandbox, cluster_id, seen))
    # THEN the TASK fleet grew on Spot, within its unit limits, and got what it asked for
    task = sandbox.fleet(cluster_id)
    assert _reasons(sandbox, cluster_id)[0] == "SCALE_OUT_PENDING_DEMAND"
    assert task["TargetSpotCapacity"] > 8
    assert task["TargetOnDemandCapacity"] == 0
    assert task["ProvisionedSpotCapacity"] == task["TargetSpotCapacity"]
    assert all(f["TargetOnDemandCapacity"] + f["TargetSpotCapacity"] <= MAX_UNITS for f in seen)
    # WHEN the load goes away for 40 minutes
    sandbox.set_yarn(cluster_id, demand_mb=0, apps=0)
    sandbox.advance(40)
    # THEN the fleet is back at its minimum (0 units), and no invocation failed or held the cluster as unreadable
    task = sandbox.fleet(cluster_id)
    assert (task["TargetOnDemandCapacity"], task["TargetSpotCapacity"]) == (0, 0)
    assert any(r.startswith("SCALE_IN") for r in _reasons(sandbox, cluster_id))
    assert "HOLD_CLUSTER_UNREADABLE" not in _reasons(sandbox, cluster_id)
    assert sandbox.failures == []


def test_starved_spot_falls_back_to_on_demand_within_the_cap_and_gives_it_back(sandbox: Sandbox) -> None:
    # GIVEN a fleet cluster whose Spot side is short for 40 minutes, and demand for more units
    cluster_id = sandbox.create_cluster(collection="fleet")
    sandbox.starve_spot(cluster_id, 40)
    sandbox.set_yarn(cluster_id, demand_mb=60_000, apps=5)
    seen: list[dict[str, Any]] = []
    # WHEN 90 minutes pass
    sandbox.advance(90, each_minute=_watch(sandbox, cluster_id, seen))
    reasons = _reasons(sandbox, cluster_id)
    # THEN the scale-out asked Spot, the shortage made it ask On-Demand (never above the cap), and once Spot came
    # back the On-Demand units were given back
    assert reasons.index("SCALE_OUT_PENDING_DEMAND") < reasons.index("SCALE_SPOT_FALLBACK")
    assert reasons.index("SCALE_SPOT_FALLBACK") < reasons.index("SCALE_SPOT_GIVE_BACK")
    assert max(f["TargetOnDemandCapacity"] for f in seen) > 0
    assert all(f["TargetOnDemandCapacity"] <= MAX_ON_DEMAND_UNITS for f in seen)
    task = sandbox.fleet(cluster_id)
    assert task["TargetOnDemandCapacity"] == 0
    assert task["ProvisionedSpotCapacity"] == task["TargetSpotCapacity"] > 8
    # AND EMR's own fleet events reached the scaler through the template's rule
    causes = {i.event.get("detail-type") for i in sandbox.invocations if i.function == "ScalerFunction"}
    assert {"EMR Instance Fleet State Change", "EMR Instance Fleet Provisioning"} <= causes
    assert sandbox.failures == []


def test_spot_interruption_is_replaced_once_then_the_target_comes_back(sandbox: Sandbox) -> None:
    # GIVEN a busy fleet cluster that has settled
    cluster_id = sandbox.create_cluster(collection="fleet")
    sandbox.set_yarn(cluster_id, demand_mb=45_000, apps=5)
    sandbox.advance(15)
    before = sandbox.fleet(cluster_id)["TargetSpotCapacity"]
    # WHEN EC2 warns that one of its Spot nodes (an m5.xlarge: 4 units) goes in two minutes, and the warning is
    # delivered twice
    (instance_id,) = sandbox.interrupt_spot(cluster_id, 1)
    sandbox.emit(
        "aws.ec2",
        "EC2 Spot Instance Interruption Warning",
        {"instance-id": instance_id, "instance-action": "terminate"},
    )
    sandbox.deliver()
    after_warning = sandbox.fleet(cluster_id)["TargetSpotCapacity"]
    sandbox.advance(10)
    # THEN its units were asked for at once, once; after the loss the target came back (EMR's own replenishment
    # would otherwise add them a second time), and the fleet again has what it asks for
    reasons = _reasons(sandbox, cluster_id)
    assert reasons.count("SCALE_REPLACE_INTERRUPTED") == 2  # the replacement, then the target back
    assert "HOLD_INTERRUPTION_NOT_REPLACED" in reasons  # the duplicate warning
    assert after_warning == before + 4
    task = sandbox.fleet(cluster_id)
    assert task["TargetSpotCapacity"] == before
    assert task["ProvisionedSpotCapacity"] == before
    assert sandbox.failures == []


def test_spot_warnings_for_instances_of_no_opted_in_cluster_are_ignored_without_listing_instances(
    sandbox: Sandbox,
) -> None:
    # GIVEN an opted-in fleet cluster and one that is not (no opt-in tag), and in the account a plain EC2 Spot instance
    # (no EMR tag) and a Spot instance of the cluster that is not opted in, tagged by EMR with its cluster
    cluster_id = sandbox.create_cluster(collection="fleet")
    other_id = sandbox.create_cluster(collection="fleet", name="not-ours", tags={})
    sandbox.advance(2)
    ec2 = sandbox.client("ec2")
    plain = ec2.run_instances(ImageId=SANDBOX_AMI, MinCount=1, MaxCount=1, InstanceType="m5.xlarge")
    (foreign,) = sandbox.emr_emulator.launch_instances(other_id, "TASK", "m5.xlarge", 1)
    tagged = ec2.describe_instances(InstanceIds=[foreign])["Reservations"][0]["Instances"][0]["Tags"]
    assert {"Key": "aws:elasticmapreduce:job-flow-id", "Value": other_id} in tagged
    calls: list[str] = []
    from moto.emr import responses  # EMR's ListInstances, counted on the local AWS whoever calls it

    listed = responses.ElasticMapReduceResponse.list_instances

    def counting(self: Any) -> Any:
        calls.append(self._get_param("ClusterId"))
        return listed(self)

    responses.ElasticMapReduceResponse.list_instances = counting  # type: ignore[method-assign]
    try:
        # WHEN EC2 warns of both
        for instance_id in (plain["Instances"][0]["InstanceId"], foreign):
            sandbox.emit(
                "aws.ec2",
                "EC2 Spot Instance Interruption Warning",
                {"instance-id": instance_id, "instance-action": "terminate"},
            )
        sandbox.deliver()
    finally:
        responses.ElasticMapReduceResponse.list_instances = listed  # type: ignore[method-assign]
    # THEN both are ignored with their reason, no cluster's instances were listed, and nothing failed
    warned = [
        i.result
        for i in sandbox.invocations
        if i.function == "ScalerFunction" and i.event.get("detail-type") == "EC2 Spot Instance Interruption Warning"
    ]
    assert [w["ignored"] for w in warned] == [True, True]
    assert "no EMR instance" in warned[0]["reason"]
    assert f"runs in {other_id}, which is not registered" in warned[1]["reason"]
    assert calls == []
    assert _reasons(sandbox, cluster_id).count("SCALE_REPLACE_INTERRUPTED") == 0
    assert sandbox.failures == []


def test_a_starved_spot_group_falls_back_to_the_on_demand_group_and_gets_its_nodes_back(sandbox: Sandbox) -> None:
    # GIVEN an instance-group cluster with an On-Demand TASK group of 0 nodes and a Spot TASK group of 2, whose Spot
    # capacity is short for 40 minutes, and demand for more nodes
    cluster_id = sandbox.create_cluster(task=0, spot_task=2)
    sandbox.starve_spot(cluster_id, 40)
    sandbox.set_yarn(cluster_id, demand_mb=70_000, apps=5)
    groups: list[dict[str, tuple[int, int]]] = []

    def watch(_minute: int) -> None:
        listed = sandbox.client("emr").list_instance_groups(ClusterId=cluster_id)["InstanceGroups"]
        groups.append(
            {
                g["Market"]: (g["RunningInstanceCount"], g["RequestedInstanceCount"])
                for g in listed
                if g["InstanceGroupType"] == "TASK"
            }
        )

    # WHEN 100 minutes pass
    sandbox.advance(100, each_minute=watch)
    reasons = _reasons(sandbox, cluster_id)
    # THEN the Spot group grew and stayed RESIZING, unfilled, EMR said so, and the shortage moved its missing nodes
    # to the On-Demand group (within groups.task.max_nodes); once Spot was back they were given back
    assert reasons.index("SCALE_OUT_PENDING_DEMAND") < reasons.index("SCALE_SPOT_FALLBACK")
    assert reasons.index("SCALE_SPOT_FALLBACK") < reasons.index("SCALE_SPOT_GIVE_BACK")
    assert max(g["ON_DEMAND"][1] for g in groups) > 0
    assert all(g["ON_DEMAND"][1] <= 20 and g["SPOT"][1] <= 20 for g in groups)
    # EMR's insufficient-capacity event started the fallback: On-Demand was asked well before the 15-minute timeout
    first_on_demand = next(minute for minute, g in enumerate(groups) if g["ON_DEMAND"][1] > 0)
    assert first_on_demand < 15, first_on_demand
    final = groups[-1]
    assert final["ON_DEMAND"] == (0, 0)
    assert final["SPOT"][0] == final["SPOT"][1] > 2
    causes = {i.event.get("detail-type") for i in sandbox.invocations if i.function == "ScalerFunction"}
    assert "EMR Instance Group Provisioning" in causes
    assert sandbox.failures == []
