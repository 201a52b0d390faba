"""Template security: least privilege on mutating calls, a dead-letter path for every asynchronous invocation,
encryption at rest, bounded logs, health alarms routed to the notifier, the dashboard, justified checkov skips."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.template_loader import (
    CLUSTER_ARN,
    DEAD_LETTER_QUEUE,
    EVENTBRIDGE_EVENT_TYPES,
    OPT_IN,
    as_list,
    functions,
    iam_statements,
    resources,
)

MUTATING = re.compile(
    r"^(elasticmapreduce|iam):(Add|Modify|Put|Run|Terminate|Set|Cancel|Remove|Create|Delete|Pass|Attach|Update)"
)
HEALTH_PREFIX = {"Fn::Sub": "health/${AWS::StackName}/"}
# The only actions the template may allow on Resource "*": they have no resource-level permissions.
STAR_RESOURCE_ACTIONS = {
    "elasticmapreduce:ListClusters",
    "cloudwatch:GetMetricData",
    "ec2:DescribeInstances",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
}


def _dead_letter_queues(template: dict[str, Any]) -> set[str]:
    """Queues something dead-letters into: redrive targets, rule DLQs, OnFailure destinations, the notifier's DLQ."""
    text = json.dumps(template["Resources"])
    queues = set(resources(template, "AWS::SQS::Queue"))
    found = {q for q in queues if f'"deadLetterTargetArn": {{"Fn::GetAtt": ["{q}", "Arn"]}}' in text}
    found |= {q for q in queues if f'"Arn": {{"Fn::GetAtt": ["{q}", "Arn"]}}' in text}
    for function in functions(template).values():
        env = function["Properties"].get("Environment", {}).get("Variables", {})
        found |= {v["Ref"] for k, v in env.items() if k.endswith("_DLQ_URL") and isinstance(v, dict)}
    return found


def test_no_wildcard_action_and_resource_star_only_without_resource_level_permissions(template: dict[str, Any]) -> None:
    # GIVEN every identity-policy statement
    statements = list(iam_statements(template))

    # WHEN picking those that allow a mutating EMR or IAM call, and the actions allowed on Resource "*"
    mutating = [s for s in statements if any(MUTATING.match(a) for a in as_list(s["Action"]))]
    star_actions = {a for s in statements if "*" in as_list(s["Resource"]) for a in as_list(s["Action"])}

    # THEN no action is or holds a wildcard; only actions without resource-level permissions use Resource "*", so
    # no mutating call applies to every resource
    actions = [a for s in statements for a in as_list(s["Action"])]
    assert statements
    assert not [a for a in actions if "*" in a]
    assert star_actions <= STAR_RESOURCE_ACTIONS
    assert mutating
    assert not [s["Sid"] for s in mutating if "*" in as_list(s["Resource"])]


def test_emr_writes_require_the_opt_in_tag(template: dict[str, Any]) -> None:
    # GIVEN the statements allowing EMR writes (ModifyInstanceGroups, AddJobFlowSteps, any Modify/Add/Terminate)
    writes = [
        s
        for s in iam_statements(template)
        if any(re.match(r"^elasticmapreduce:(Add|Modify|Terminate|Cancel|Put|Set)", a) for a in as_list(s["Action"]))
    ]

    # WHEN / THEN each is conditioned on the cluster's opt-in tag (EMR supports aws:ResourceTag on these) and
    # limited to clusters of this account and region
    assert {a for s in writes for a in as_list(s["Action"])} >= {
        "elasticmapreduce:ModifyInstanceGroups",
        "elasticmapreduce:AddJobFlowSteps",
        "elasticmapreduce:PutManagedScalingPolicy",
    }
    for statement in writes:
        assert statement.get("Condition") == OPT_IN, statement.get("Sid")
        assert statement["Resource"] == {"Fn::Sub": CLUSTER_ARN}, statement.get("Sid")


def test_every_asynchronous_invocation_has_a_dead_letter_path(template: dict[str, Any]) -> None:
    # GIVEN every function, its asynchronous invoke configuration and its events
    declared = functions(template)
    assert declared
    for name, function in declared.items():
        props = function["Properties"]
        # WHEN / THEN failed async invocations are retried a bounded number of times, then go to the shared
        # dead-letter queue; every EventBridge/Schedule event has a bounded retry policy and that queue as its DLQ;
        # every standard SQS event source's queue redrives into it, a FIFO one into a FIFO dead-letter queue (SQS
        # requires it; test_every_function_and_every_dead_letter_queue_has_an_alarm checks it is alarmed)
        config = props["EventInvokeConfig"]
        assert "MaximumRetryAttempts" in config, name
        assert config["DestinationConfig"]["OnFailure"] == {"Type": "SQS", "Destination": DEAD_LETTER_QUEUE}, name
        assert props.get("Events"), name
        for event_name, event in props["Events"].items():
            where = f"{name}.{event_name}"
            if event["Type"] in EVENTBRIDGE_EVENT_TYPES:
                assert event["Properties"]["DeadLetterConfig"]["Arn"] == DEAD_LETTER_QUEUE, where
                assert event["Properties"]["RetryPolicy"]["MaximumRetryAttempts"] >= 1, where
                assert "MaximumEventAgeInSeconds" in event["Properties"]["RetryPolicy"], where
            elif event["Type"] == "SQS":
                queue = event["Properties"]["Queue"]["Fn::GetAtt"][0]
                queue_props = template["Resources"][queue]["Properties"]
                redrive = queue_props["RedrivePolicy"]
                if queue_props.get("FifoQueue"):
                    target = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
                    assert template["Resources"][target]["Properties"]["FifoQueue"] is True, where
                else:
                    assert redrive["deadLetterTargetArn"] == DEAD_LETTER_QUEUE, where
            else:
                pytest.fail(f"{where}: event type {event['Type']} has no dead-letter check")


def test_queues_topics_and_tables_are_encrypted(template: dict[str, Any]) -> None:
    # GIVEN every queue, topic and table
    queues = resources(template, "AWS::SQS::Queue")
    topics = resources(template, "AWS::SNS::Topic")
    tables = resources(template, "AWS::DynamoDB::Table")

    # WHEN / THEN each is encrypted at rest
    assert queues
    assert topics
    assert tables
    for name, queue in queues.items():
        props = queue["Properties"]
        assert props.get("SqsManagedSseEnabled") is True or props.get("KmsMasterKeyId"), name
    for name, topic in topics.items():
        assert topic["Properties"].get("KmsMasterKeyId"), name
    # The AWS managed key: the health alarms reach on-call through the notifier instead (docs/hardening.md).
    assert topics["NotificationFallbackTopic"]["Properties"]["KmsMasterKeyId"] == "alias/aws/sns"
    for name, table in tables.items():
        assert table["Properties"]["SSESpecification"]["SSEEnabled"] is True, name


def test_every_log_group_has_a_retention_and_every_function_uses_one(template: dict[str, Any]) -> None:
    # GIVEN the log groups and the functions
    groups = resources(template, "AWS::Logs::LogGroup")

    # WHEN / THEN each group expires logs, and each function writes to its own group of the template
    assert all(g["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"} for g in groups.values())
    used = [f["Properties"]["LoggingConfig"]["LogGroup"]["Ref"] for f in functions(template).values()]
    assert sorted(used) == sorted(groups)


def _alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: r["Properties"] for n, r in resources(template, "AWS::CloudWatch::Alarm").items()}


def test_every_function_and_every_dead_letter_queue_has_an_alarm(template: dict[str, Any]) -> None:
    # GIVEN the alarms
    alarms = _alarms(template).values()

    # WHEN collecting what they watch
    errors = {
        a["Dimensions"][0]["Value"]["Ref"]
        for a in alarms
        if (a["Namespace"], a["MetricName"]) == ("AWS/Lambda", "Errors")
    }
    depth = {
        a["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for a in alarms
        if (a["Namespace"], a["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    }

    # THEN every function's errors and every dead-letter queue's depth are alarmed, as soon as one appears
    assert errors == set(functions(template))
    assert depth == _dead_letter_queues(template)
    assert depth == {"DeadLetterQueue", "NotificationDeadLetterQueue", "EvaluationDeadLetterQueue"}
    counted = [a for a in alarms if a["MetricName"] in ("Errors", "ApproximateNumberOfMessagesVisible")]
    assert all(a["Threshold"] == 0 and a["ComparisonOperator"] == "GreaterThanThreshold" for a in counted)
    # AND the evaluation queue falling behind its one-minute tick is alarmed too
    [behind] = [a for a in alarms if a["MetricName"] == "ApproximateAgeOfOldestMessage"]
    assert behind["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["EvaluationQueue", "QueueName"]}
    assert (behind["Threshold"], behind["ComparisonOperator"]) == (60, "GreaterThanThreshold")


def test_health_alarms_reach_the_notifier(template: dict[str, Any]) -> None:
    # GIVEN the health alarms and the notifier's events
    names = [a["AlarmName"]["Fn::Sub"] for a in _alarms(template).values()]
    events = template["Resources"]["NotifierFunction"]["Properties"]["Events"]

    # WHEN finding the rule on CloudWatch alarm state changes
    rule = next(
        e["Properties"]
        for e in events.values()
        if e["Type"] == "EventBridgeRule" and e["Properties"]["Pattern"]["source"] == ["aws.cloudwatch"]
    )

    # THEN every health alarm is named under the stack's health prefix, which the rule matches on ALARM; the
    # prefix never collides with the scaler's alarm prefix (the rule's retries and dead letters: see above)
    assert all(n.startswith("health/${AWS::StackName}/") for n in names)
    assert rule["Pattern"]["detail-type"] == ["CloudWatch Alarm State Change"]
    assert rule["Pattern"]["detail"]["alarmName"] == [{"prefix": HEALTH_PREFIX}]
    assert rule["Pattern"]["detail"]["state"]["value"] == ["ALARM"]
    assert not template["Parameters"]["AlarmPrefix"]["Default"].startswith("health/")


def test_dashboard_shows_decisions_actions_errors_dead_letters_and_deliveries(template: dict[str, Any]) -> None:
    # GIVEN the dashboard body, with CloudFormation substitutions resolved to placeholders
    dashboard = resources(template, "AWS::CloudWatch::Dashboard")["Dashboard"]["Properties"]
    body = json.loads(re.sub(r"\$\{([^}]+)\}", r"<\1>", dashboard["DashboardBody"]["Fn::Sub"]))

    # WHEN collecting every metric and expression it plots
    plotted = json.dumps([w["properties"] for w in body["widgets"]])

    # THEN it has decisions by reason, actions, latency, refused configuration, step restarts, deliveries, the
    # Lambda errors of every function and the depth of every dead-letter queue
    for metric in ("Decision_", "StepRetry_", "ScaleOut", "ScaleIn", "NodesAdded", "NodesRemoved", "Hold"):
        assert metric in plotted
    for metric in ("DecisionLatency", "ConfigInvalid", "StepRetryScheduled", "StepRetryAdded", "StepRetryGivenUp"):
        assert metric in plotted
    for metric in ("NotificationSent", "NotificationFolded", "NotificationDeadLettered", "NotificationFallback"):
        assert metric in plotted
    for function in functions(template):
        assert f'"AWS/Lambda", "Errors", "FunctionName", "<{function}>"' in plotted
    for queue in _dead_letter_queues(template):
        assert f'"ApproximateNumberOfMessagesVisible", "QueueName", "<{queue}.QueueName>"' in plotted


def test_every_skipped_checkov_check_is_justified(template: dict[str, Any]) -> None:
    # GIVEN every checkov skip in the template
    skips = [
        (name, skip)
        for name, resource in template["Resources"].items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]

    # WHEN / THEN each names a check and says why, in a sentence
    assert skips
    for name, skip in skips:
        assert re.fullmatch(r"CKV_AWS_\d+", skip["id"]), name
        assert len(skip["comment"]) >= 40, f"{name} {skip['id']}"


def _step_retry_policies(template: dict[str, Any]) -> dict[str, tuple[str | None, list[dict[str, Any]]]]:
    """Policies of the step-retry role by name: (the condition they depend on, their statements)."""
    found: dict[str, tuple[str | None, list[dict[str, Any]]]] = {}
    for policy in template["Resources"]["StepRetryRole"]["Properties"]["Policies"]:
        condition = policy["Fn::If"][0] if "Fn::If" in policy else None
        body = policy["Fn::If"][1] if "Fn::If" in policy else policy
        found[body["PolicyName"]] = (condition, body["PolicyDocument"]["Statement"])
    return found


def _resolve(node: Any, parameters: dict[str, list[str]]) -> Any:
    """A small evaluator of Ref (list parameters), Join, Sub (with a variable map) and Split, as CloudFormation does."""
    if isinstance(node, str):
        return node
    (function, argument), *_ = node.items()
    if function == "Ref":
        return parameters[argument]
    if function == "Fn::Join":
        return argument[0].join(_resolve(argument[1], parameters))
    if function == "Fn::Split":
        return _resolve(argument[1], parameters).split(argument[0])
    if function == "Fn::Sub":
        text, variables = argument
        for name, value in variables.items():
            text = text.replace("${" + name + "}", _resolve(value, parameters))
        return text
    raise AssertionError(f"unexpected {function}")


def test_step_logs_are_read_only_in_the_buckets_the_stack_parameter_names(template: dict[str, Any]) -> None:
    # GIVEN the step-retry role's log-reading policy, and a deployment naming a bucket and a bucket/prefix
    condition, statements = _step_retry_policies(template)["step-logs"]
    by_sid = {s["Sid"]: s for s in statements}
    parameters = {"StepLogBuckets": ["aws-logs-123456789012-eu-west-1", "team-logs/emr"]}
    # THEN it exists only when buckets are named, allows only object reads and listings, and resolves to exactly
    # those buckets' objects: never s3:* and never every bucket
    assert condition == "ReadsStepLogs"
    assert template["Conditions"]["ReadsStepLogs"] == {
        "Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "StepLogBuckets"}]}, ""]}]
    }
    assert {s["Action"] for s in statements} == {"s3:GetObject", "s3:ListBucket"}
    assert _resolve(by_sid["ReadStepLogs"]["Resource"], parameters) == [
        "arn:*:s3:::aws-logs-123456789012-eu-west-1/*",
        "arn:*:s3:::team-logs/emr/*",
    ]
    assert _resolve(by_sid["TellMissingStepLogsFromDenied"]["Resource"], parameters) == [
        "arn:*:s3:::aws-logs-123456789012-eu-west-1",
        "arn:*:s3:::team-logs/emr",
    ]


def test_runtime_roles_are_passed_only_to_emr_and_only_those_the_stack_names(template: dict[str, Any]) -> None:
    # GIVEN the step-retry role's PassRole policy
    condition, (statement,) = _step_retry_policies(template)["step-runtime-roles"]
    # THEN it exists only when roles are named, covers exactly them, and only when passed to EMR
    assert condition == "PassesStepRoles"
    assert statement["Action"] == "iam:PassRole"
    assert statement["Resource"] == {"Ref": "StepExecutionRoleArns"}
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "elasticmapreduce.amazonaws.com"}}


def test_step_restarter_reaches_the_resourcemanager_as_the_scaler_does(template: dict[str, Any]) -> None:
    # GIVEN both functions that call the ResourceManager on the master node
    scaler = template["Resources"]["ScalerFunction"]["Properties"]
    restarter = template["Resources"]["StepRetryFunction"]["Properties"]
    # THEN they share the VPC placement, and the restarter's role gets the VPC policy under the same condition
    assert restarter["VpcConfig"] == scaler["VpcConfig"]
    managed = template["Resources"]["StepRetryRole"]["Properties"]["ManagedPolicyArns"]
    assert managed == template["Resources"]["ScalerRole"]["Properties"]["ManagedPolicyArns"]
