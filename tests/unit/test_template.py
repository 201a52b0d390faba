"""The SAM template keeps its promises: arm64 Python 3.12, retried events with a DLQ, least-privilege IAM."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from emr_autoscaler.settings import ENV_PREFIX, Settings

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
EVENTBRIDGE_EVENT_TYPES = {"Schedule", "EventBridgeRule", "CloudWatchEvent"}
CLUSTER_ARN = "arn:${AWS::Partition}:elasticmapreduce:${AWS::Region}:${AWS::AccountId}:cluster/*"


class CfnLoader(yaml.SafeLoader):
    """CfnLoader reads CloudFormation short tags (!Ref, !Sub, !GetAtt, !If, ...) as their long forms."""


def _construct_short_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:  # pragma: no cover - YAML has no other node kinds
        raise yaml.constructor.ConstructorError(None, None, f"unexpected node {node!r}", node.start_mark)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


CfnLoader.add_multi_constructor("!", _construct_short_tag)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(TEMPLATE.read_text(encoding="utf-8"), Loader=CfnLoader)  # noqa: S506 (safe)
    return loaded


def _resources(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template["Resources"].items() if res["Type"] == resource_type}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _iam_statements(template: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """_iam_statements yields every identity-policy statement: SAM function Policies and IAM roles/policies."""
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function":
            for policy in _as_list(props.get("Policies", [])):
                if isinstance(policy, dict) and "Statement" in policy:
                    yield from policy["Statement"]
        elif resource["Type"] == "AWS::IAM::Role":
            for policy in props.get("Policies", []):
                yield from policy["PolicyDocument"]["Statement"]
        elif resource["Type"] in {"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"}:
            yield from props["PolicyDocument"]["Statement"]


def test_functions_run_python312_on_arm64(template: dict[str, Any]) -> None:
    # GIVEN the function globals
    function_globals = template["Globals"]["Function"]

    # WHEN reading runtime and architectures, globally and per function
    functions = _resources(template, "AWS::Serverless::Function")

    # THEN every function runs python3.12 on arm64, and the layer is built for the same
    assert function_globals["Runtime"] == "python3.12"
    assert function_globals["Architectures"] == ["arm64"]
    assert functions
    for props in (f["Properties"] for f in functions.values()):
        assert props.get("Runtime", "python3.12") == "python3.12"
        assert props.get("Architectures", ["arm64"]) == ["arm64"]
    layer = template["Resources"]["CoreLayer"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    assert layer["Metadata"] == {"BuildMethod": "python3.12", "BuildArchitecture": "arm64"}


def test_every_eventbridge_event_retries_then_dead_letters(template: dict[str, Any]) -> None:
    # GIVEN every EventBridge-backed event of every function
    events = [
        (name, event_name, event)
        for name, function in _resources(template, "AWS::Serverless::Function").items()
        for event_name, event in function["Properties"].get("Events", {}).items()
        if event["Type"] in EVENTBRIDGE_EVENT_TYPES
    ]

    # WHEN reading their delivery settings
    missing = [
        f"{name}.{event_name}"
        for name, event_name, event in events
        if not {"RetryPolicy", "DeadLetterConfig"} <= event["Properties"].keys()
        or not {"MaximumRetryAttempts", "MaximumEventAgeInSeconds"} <= event["Properties"]["RetryPolicy"].keys()
    ]

    # THEN there are some, and each has a retry policy and a dead-letter queue
    assert events
    assert missing == []


def test_scaler_triggers_on_schedule_alarms_and_instance_groups_and_fleets(template: dict[str, Any]) -> None:
    # GIVEN the scaler's events
    events = template["Resources"]["ScalerFunction"]["Properties"]["Events"]

    # WHEN looking at schedule and patterns
    patterns = [e["Properties"]["Pattern"] for e in events.values() if e["Type"] == "EventBridgeRule"]
    schedules = [e["Properties"]["Schedule"] for e in events.values() if e["Type"] == "Schedule"]

    # THEN it runs every minute, on its own alarms going to ALARM, and on instance group and fleet state changes
    assert schedules == ["rate(1 minute)"]
    alarm = next(p for p in patterns if p["source"] == ["aws.cloudwatch"])
    assert alarm["detail-type"] == ["CloudWatch Alarm State Change"]
    assert alarm["detail"]["alarmName"] == [{"prefix": {"Ref": "AlarmPrefix"}}]
    assert alarm["detail"]["state"]["value"] == ["ALARM"]
    emr = sorted(t for p in patterns if p["source"] == ["aws.emr"] for t in p["detail-type"])
    assert emr == ["EMR Instance Fleet State Change", "EMR Instance Group State Change"]


def test_scaler_async_failures_go_to_the_dead_letter_queue(template: dict[str, Any]) -> None:
    # GIVEN the scaler's async invoke configuration
    config = template["Resources"]["ScalerFunction"]["Properties"]["EventInvokeConfig"]

    # WHEN reading its failure destination
    on_failure = config["DestinationConfig"]["OnFailure"]

    # THEN retries are bounded and failures land in the DLQ
    assert "MaximumRetryAttempts" in config
    assert on_failure == {"Type": "SQS", "Destination": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}}


def test_modify_instance_groups_needs_the_opt_in_tag(template: dict[str, Any]) -> None:
    # GIVEN every IAM statement of the template
    statements = list(_iam_statements(template))

    # WHEN picking the ones that allow ModifyInstanceGroups
    modify = [s for s in statements if "elasticmapreduce:ModifyInstanceGroups" in _as_list(s["Action"])]

    # THEN each is limited to clusters of this account and region that carry the opt-in tag
    assert modify
    for statement in modify:
        assert "*" not in _as_list(statement["Resource"])
        assert statement["Resource"] == {"Fn::Sub": CLUSTER_ARN}
        assert statement["Condition"] == {"StringEquals": {"aws:ResourceTag/emr-autoscaler:enabled": "true"}}


def test_no_statement_allows_every_action(template: dict[str, Any]) -> None:
    # GIVEN every IAM statement of the template
    statements = list(_iam_statements(template))

    # WHEN collecting their actions
    actions = {action for s in statements for action in _as_list(s["Action"])}

    # THEN none is a wildcard, and only actions without resource-level permissions use Resource "*"
    assert statements
    assert not {a for a in actions if a == "*" or a.endswith(":*")}
    star_actions = {a for s in statements if "*" in _as_list(s["Resource"]) for a in _as_list(s["Action"])}
    assert star_actions <= {
        "elasticmapreduce:ListClusters",
        "cloudwatch:GetMetricData",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }


def test_state_table_is_encrypted_and_expires_items(template: dict[str, Any]) -> None:
    # GIVEN the state table
    props = template["Resources"]["StateTable"]["Properties"]

    # WHEN reading its keys and protections
    keys = {k["AttributeName"]: k["KeyType"] for k in props["KeySchema"]}

    # THEN it is keyed pk/sk, encrypted, recoverable and expires items on expires_at
    assert keys == {"pk": "HASH", "sk": "RANGE"}
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_dead_letter_queue_is_encrypted_and_accepts_the_rules(template: dict[str, Any]) -> None:
    # GIVEN the queue, its policy and the rules SAM generates from the functions' EventBridge events
    queue = template["Resources"]["DeadLetterQueue"]["Properties"]
    statement = template["Resources"]["DeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    rules = {
        f"{name}{event_name}"
        for name, function in _resources(template, "AWS::Serverless::Function").items()
        for event_name, event in function["Properties"].get("Events", {}).items()
        if event["Type"] in EVENTBRIDGE_EVENT_TYPES
    }

    # WHEN reading which rules may send to the queue
    allowed = {ref["Fn::GetAtt"][0] for ref in statement["Condition"]["ArnEquals"]["aws:SourceArn"]}

    # THEN the queue is encrypted and exactly those rules may dead-letter into it
    assert queue["SqsManagedSseEnabled"] is True
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert allowed == rules


def test_logs_are_retained_for_a_bounded_time(template: dict[str, Any]) -> None:
    # GIVEN the log groups and the functions
    log_groups = _resources(template, "AWS::Logs::LogGroup")
    functions = _resources(template, "AWS::Serverless::Function")

    # WHEN matching each function to its log group
    targets = {f["Properties"]["LoggingConfig"]["LogGroup"]["Ref"] for f in functions.values()}

    # THEN every log group has a retention, and every function logs into one of them
    assert log_groups
    assert all("RetentionInDays" in g["Properties"] for g in log_groups.values())
    assert targets <= log_groups.keys()


def test_scaler_has_reserved_concurrency(template: dict[str, Any]) -> None:
    # GIVEN the scaler
    props = template["Resources"]["ScalerFunction"]["Properties"]

    # WHEN reading its concurrency
    reserved = props.get("ReservedConcurrentExecutions")

    # THEN it is bounded by the parameter, which defaults to 5
    assert reserved == {"Ref": "ScalerReservedConcurrency"}
    assert template["Parameters"]["ScalerReservedConcurrency"]["Default"] == 5


def test_environment_names_are_settings_fields(template: dict[str, Any]) -> None:
    # GIVEN the environment of the globals and of every function
    functions = _resources(template, "AWS::Serverless::Function").values()
    environments = [template["Globals"]["Function"]["Environment"]["Variables"]]
    environments += [f["Properties"].get("Environment", {}).get("Variables", {}) for f in functions]

    # WHEN taking the app's EMR_AUTOSCALER_* names
    names = {name for env in environments for name in env if name.startswith(ENV_PREFIX)}

    # THEN each names a Settings field (Settings refuses unknown ones at start)
    assert names
    assert {name[len(ENV_PREFIX) :].lower() for name in names} <= Settings.model_fields.keys()
    assert environments[0]["POWERTOOLS_SERVICE_NAME"] == "emr-autoscaler"
    assert environments[0]["POWERTOOLS_LOG_LEVEL"] == {"Ref": "LogLevel"}


def test_config_parameter_holds_a_yaml_document(template: dict[str, Any]) -> None:
    # GIVEN the configuration parameter
    props = template["Resources"]["ConfigParameter"]["Properties"]

    # WHEN parsing its value
    document = yaml.safe_load(props["Value"])

    # THEN it is a String parameter with a versioned document
    assert props["Type"] == "String"
    assert document == {"version": 1, "defaults": {}, "profiles": {}}


def test_cluster_watch_only_manages_alarms_under_the_prefix(template: dict[str, Any]) -> None:
    # GIVEN the cluster watch's role and events
    statements = template["Resources"]["ClusterWatchRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    events = template["Resources"]["ClusterWatchFunction"]["Properties"]["Events"]
    # WHEN reading the alarm statement
    alarm = next(s for s in statements if "cloudwatch:PutMetricAlarm" in s["Action"])
    # THEN it covers only alarms named with the autoscaler's prefix, and every trigger has a DLQ and retries
    assert alarm["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:${AlarmPrefix}*"
    }
    assert set(events) == {"ClusterStateChange", "EveryFiveMinutes"}
    for event in events.values():
        assert event["Properties"]["DeadLetterConfig"]
        assert event["Properties"]["RetryPolicy"]


def test_step_retry_triggers_on_failed_steps_and_its_queue(template: dict[str, Any]) -> None:
    # GIVEN the step-retry function
    function = template["Resources"]["StepRetryFunction"]["Properties"]
    events = function["Events"]
    # THEN it runs on EMR step FAILED events (retried, then dead-lettered) and on its retry queue with partial
    # batch failure reporting; async failures go to the DLQ
    pattern = events["StepFailed"]["Properties"]["Pattern"]
    assert pattern == {
        "source": ["aws.emr"],
        "detail-type": ["EMR Step Status Change"],
        "detail": {"state": ["FAILED"]},
    }
    assert events["StepFailed"]["Properties"]["RetryPolicy"]["MaximumRetryAttempts"] >= 1
    assert events["StepFailed"]["Properties"]["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    assert events["RetryDue"]["Type"] == "SQS"
    assert events["RetryDue"]["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    on_failure = function["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
    assert on_failure["Destination"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    variables = function["Environment"]["Variables"]
    assert {k[len(ENV_PREFIX) :].lower() for k in variables if k.startswith(ENV_PREFIX)} <= set(Settings.model_fields)


def test_retry_queue_is_encrypted_redrives_and_outlives_the_function(template: dict[str, Any]) -> None:
    # GIVEN the retry queue
    queue = template["Resources"]["StepRetryQueue"]["Properties"]
    # THEN it is encrypted, dead-letters poison messages, and its visibility timeout covers six invocations
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    assert queue["VisibilityTimeout"] >= 6 * template["Globals"]["Function"]["Timeout"]
    policy = template["Resources"]["DeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert {"Fn::GetAtt": ["StepRetryFunctionStepFailed", "Arn"]} in policy["Condition"]["ArnEquals"]["aws:SourceArn"]


def test_add_job_flow_steps_needs_the_opt_in_tag_and_reads_are_scoped(template: dict[str, Any]) -> None:
    # GIVEN the step-retry role's statements
    role = template["Resources"]["StepRetryRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    by_sid = {s["Sid"]: s for s in role}
    # THEN AddJobFlowSteps is only allowed on opted-in clusters, and EMR reads are on the cluster ARN pattern
    add = by_sid["EmrAddStepsOnOptedInClusters"]
    assert add["Action"] == "elasticmapreduce:AddJobFlowSteps"
    assert add["Condition"] == {"StringEquals": {"aws:ResourceTag/emr-autoscaler:enabled": "true"}}
    assert add["Resource"] == {"Fn::Sub": CLUSTER_ARN}
    assert by_sid["EmrReadStepsAndClusters"]["Resource"] == {"Fn::Sub": CLUSTER_ARN}
    assert by_sid["PublishApplicationEvents"]["Resource"] == {"Fn::GetAtt": ["AppEventBus", "Arn"]}
    assert all(s["Resource"] != "*" for s in role if s["Sid"] != "WriteTraces")


def _notifier_statements(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    role = template["Resources"]["NotifierRole"]["Properties"]
    return {s["Sid"]: s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]}


def test_notifier_triggers_on_failures_and_app_events(template: dict[str, Any]) -> None:
    # GIVEN the notifier's events
    events = template["Resources"]["NotifierFunction"]["Properties"]["Events"]

    # WHEN reading their patterns
    cluster = events["ClusterFailed"]["Properties"]
    step = events["StepFailed"]["Properties"]
    app = events["AppEvents"]["Properties"]

    # THEN it hears dead clusters and failed steps on the default bus, and every app event on the app bus
    assert cluster["Pattern"]["detail"]["state"] == ["TERMINATED_WITH_ERRORS", "TERMINATED"]
    assert step["Pattern"]["detail"]["state"] == ["FAILED"]
    assert "EventBusName" not in cluster
    assert "EventBusName" not in step
    assert app["EventBusName"] == {"Ref": "AppEventBus"}
    assert app["Pattern"] == {"source": ["emr-autoscaler"]}
    failure = template["Resources"]["NotifierFunction"]["Properties"]["EventInvokeConfig"]["DestinationConfig"]
    assert failure["OnFailure"]["Destination"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}


def test_notifier_rules_may_dead_letter_into_the_shared_queue(template: dict[str, Any]) -> None:
    # GIVEN the shared dead-letter queue's policy
    policy = template["Resources"]["DeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]
    sources = policy["Statement"][0]["Condition"]["ArnEquals"]["aws:SourceArn"]

    # WHEN / THEN every notifier rule is allowed to send its undeliverable events there
    for rule in ("NotifierFunctionClusterFailed", "NotifierFunctionStepFailed", "NotifierFunctionAppEvents"):
        assert {"Fn::GetAtt": [rule, "Arn"]} in sources


def test_notifier_role_is_least_privilege(template: dict[str, Any]) -> None:
    # GIVEN the notifier's role
    statements = _notifier_statements(template)

    # WHEN reading what it may do
    # THEN secrets are limited to the stack's prefix, topics to the fallback and the stack's own, the table to
    # conditional updates, and SQS to its two queues
    assert statements["ReadWebhookSecrets"]["Action"] == "secretsmanager:GetSecretValue"
    assert statements["ReadWebhookSecrets"]["Resource"]["Fn::Sub"].endswith(":secret:${AWS::StackName}/*")
    assert statements["PublishToTopics"]["Resource"] == [
        {"Ref": "NotificationFallbackTopic"},
        {"Fn::Sub": "arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:${AWS::StackName}-*"},
    ]
    assert statements["StateTableDedup"]["Action"] == "dynamodb:UpdateItem"
    assert statements["SendUndeliveredNotices"]["Resource"] == {"Fn::GetAtt": ["NotificationDeadLetterQueue", "Arn"]}
    assert statements["EmrReadNamesAndFailures"]["Resource"] == {"Fn::Sub": CLUSTER_ARN}


def test_notification_queue_and_fallback_topic_are_encrypted(template: dict[str, Any]) -> None:
    # GIVEN the notification dead-letter queue and the fallback topic
    resources = template["Resources"]

    # WHEN / THEN both are encrypted, and the function is told where they are
    assert resources["NotificationDeadLetterQueue"]["Properties"]["SqsManagedSseEnabled"] is True
    assert resources["NotificationFallbackTopic"]["Properties"]["KmsMasterKeyId"] == "alias/aws/sns"
    env = resources["NotifierFunction"]["Properties"]["Environment"]["Variables"]
    assert env["EMR_AUTOSCALER_NOTIFICATION_DLQ_URL"] == {"Ref": "NotificationDeadLetterQueue"}
    assert env["EMR_AUTOSCALER_FALLBACK_TOPIC_ARN"] == {"Ref": "NotificationFallbackTopic"}


def test_scaler_publishes_notices_on_the_app_bus(template: dict[str, Any]) -> None:
    # GIVEN the scaler function and its role
    scaler = template["Resources"]["ScalerFunction"]["Properties"]
    statements = {
        s["Sid"]: s
        for p in template["Resources"]["ScalerRole"]["Properties"]["Policies"]
        for s in p["PolicyDocument"]["Statement"]
    }

    # WHEN / THEN it is told the app bus and may put events on it (and only there)
    assert scaler["Environment"]["Variables"]["EMR_AUTOSCALER_EVENT_BUS"] == {"Ref": "AppEventBus"}
    assert statements["PublishApplicationEvents"]["Resource"] == {"Fn::GetAtt": ["AppEventBus", "Arn"]}
