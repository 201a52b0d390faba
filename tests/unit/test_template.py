"""The SAM template keeps its promises: arm64 Python 3.12, each function's triggers and wiring, the state table,
least-privilege roles per function. Cross-cutting security rules (wildcards, opt-in tag, dead-letter paths,
encryption, logs, alarms) are in test_template_security.py; both read the `template` fixture (tests/unit/conftest.py,
one loader: tests/template_loader.py)."""

from __future__ import annotations

from typing import Any

import yaml

from emr_autoscaler.settings import ENV_PREFIX, Settings
from tests.template_loader import CLUSTER_ARN, eventbridge_events, functions


def test_functions_run_python312_on_arm64(template: dict[str, Any]) -> None:
    # GIVEN the function globals
    function_globals = template["Globals"]["Function"]

    # WHEN reading runtime and architectures, globally and per function
    declared = functions(template)

    # THEN every function runs python3.12 on arm64, and the layer is built for the same
    assert function_globals["Runtime"] == "python3.12"
    assert function_globals["Architectures"] == ["arm64"]
    assert declared
    for props in (f["Properties"] for f in declared.values()):
        assert props.get("Runtime", "python3.12") == "python3.12"
        assert props.get("Architectures", ["arm64"]) == ["arm64"]
    layer = template["Resources"]["CoreLayer"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    assert layer["Metadata"] == {"BuildMethod": "python3.12", "BuildArchitecture": "arm64"}


def test_scaler_triggers_on_schedule_alarms_and_instance_groups(template: dict[str, Any]) -> None:
    # GIVEN the scaler's events
    events = template["Resources"]["ScalerFunction"]["Properties"]["Events"]

    # WHEN looking at schedule and patterns
    patterns = [e["Properties"]["Pattern"] for e in events.values() if e["Type"] == "EventBridgeRule"]
    schedules = [e["Properties"]["Schedule"] for e in events.values() if e["Type"] == "Schedule"]

    # THEN it runs every minute, on its own alarms going to ALARM, and on instance group state changes
    assert schedules == ["rate(1 minute)"]
    alarm = next(p for p in patterns if p["source"] == ["aws.cloudwatch"])
    assert alarm["detail-type"] == ["CloudWatch Alarm State Change"]
    assert alarm["detail"]["alarmName"] == [{"prefix": {"Ref": "AlarmPrefix"}}]
    assert alarm["detail"]["state"]["value"] == ["ALARM"]
    emr = next(p for p in patterns if p["source"] == ["aws.emr"])
    assert emr["detail-type"] == ["EMR Instance Group State Change"]


def test_state_table_is_keyed_recoverable_and_expires_items(template: dict[str, Any]) -> None:
    # GIVEN the state table
    props = template["Resources"]["StateTable"]["Properties"]

    # WHEN reading its keys and protections
    keys = {k["AttributeName"]: k["KeyType"] for k in props["KeySchema"]}

    # THEN it is keyed pk/sk, recoverable and expires items on expires_at (encrypted: test_template_security.py)
    assert keys == {"pk": "HASH", "sk": "RANGE"}
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_dead_letter_queue_accepts_exactly_the_rules(template: dict[str, Any]) -> None:
    # GIVEN the queue's policy and the rules SAM generates from the functions' EventBridge events (the notifier's
    # and the step retry's FAILED-event rules among them)
    statement = template["Resources"]["DeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    rules = {f"{name}{event_name}" for name, event_name, _ in eventbridge_events(template)}

    # WHEN reading which rules may send to the queue
    allowed = {ref["Fn::GetAtt"][0] for ref in statement["Condition"]["ArnEquals"]["aws:SourceArn"]}

    # THEN exactly those rules may dead-letter into it
    assert {
        "NotifierFunctionClusterFailed",
        "NotifierFunctionStepFailed",
        "NotifierFunctionAppEvents",
        "StepRetryFunctionStepFailed",
    } <= rules
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert allowed == rules


def test_scaler_has_reserved_concurrency(template: dict[str, Any]) -> None:
    # GIVEN the scaler
    props = template["Resources"]["ScalerFunction"]["Properties"]

    # WHEN reading its concurrency
    reserved = props.get("ReservedConcurrentExecutions")

    # THEN it is bounded by the parameter, whose default leaves room above the evaluations' maximum concurrency
    # for the triggers that enqueue (Lambda throttles an SQS source whose maximum exceeds the reserved concurrency)
    assert reserved == {"Ref": "ScalerReservedConcurrency"}
    parameters = template["Parameters"]
    assert parameters["ScalerReservedConcurrency"]["Default"] == 7
    assert parameters["ScalerMaximumConcurrency"]["Default"] == 5
    assert parameters["ScalerReservedConcurrency"]["Default"] > parameters["ScalerMaximumConcurrency"]["Default"]
    assert (parameters["ScalerMaximumConcurrency"]["MinValue"], parameters["ScalerMaximumConcurrency"]["MaxValue"]) == (
        2,
        1000,
    )


def test_scaler_consumes_its_fifo_evaluation_queue_by_cluster(template: dict[str, Any]) -> None:
    # GIVEN the scaler's SQS event source and its queues
    resources = template["Resources"]
    scaler = resources["ScalerFunction"]["Properties"]
    [source] = [e["Properties"] for e in scaler["Events"].values() if e["Type"] == "SQS"]
    queue = resources["EvaluationQueue"]["Properties"]
    dead = resources["EvaluationDeadLetterQueue"]["Properties"]

    # THEN it reads the FIFO evaluation queue in batches of at most 10 (FIFO's limit), reports partial failures,
    # and runs at most ScalerMaximumConcurrency batches at once
    assert source["Queue"] == {"Fn::GetAtt": ["EvaluationQueue", "Arn"]}
    assert source["BatchSize"] <= 10
    assert source["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert source["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "ScalerMaximumConcurrency"}}
    assert scaler["Environment"]["Variables"]["EMR_AUTOSCALER_EVALUATION_QUEUE_URL"] == {"Ref": "EvaluationQueue"}
    assert scaler["Environment"]["Variables"]["EMR_AUTOSCALER_MAX_CONCURRENCY"] == {"Ref": "ScalerMaximumConcurrency"}
    # AND a message that keeps failing goes, after three receives, to a dead-letter queue that is FIFO too
    assert queue["FifoQueue"] is True
    assert queue["VisibilityTimeout"] >= 6 * template["Globals"]["Function"]["Timeout"]
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["EvaluationDeadLetterQueue", "Arn"]},
        "maxReceiveCount": 3,
    }
    assert dead["FifoQueue"] is True
    # AND both the dead letters and a queue falling behind the tick are alarmed
    behind = resources["EvaluationsBehindAlarm"]["Properties"]
    assert (behind["MetricName"], behind["Threshold"]) == ("ApproximateAgeOfOldestMessage", 60)
    depth = resources["EvaluationDeadLetterQueueAlarm"]["Properties"]
    assert depth["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["EvaluationDeadLetterQueue", "QueueName"]}}
    ]


def test_environment_names_are_settings_fields(template: dict[str, Any]) -> None:
    # GIVEN the environment of the globals and of every function
    environments = [template["Globals"]["Function"]["Environment"]["Variables"]]
    environments += [f["Properties"].get("Environment", {}).get("Variables", {}) for f in functions(template).values()]

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
    # THEN it covers only alarms named with the autoscaler's prefix, and it runs on cluster state changes and every
    # five minutes (their retries and dead letters: test_template_security.py)
    assert alarm["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:${AlarmPrefix}*"
    }
    assert set(events) == {"ClusterStateChange", "EveryFiveMinutes"}


def test_step_retry_triggers_on_failed_steps_and_its_queue(template: dict[str, Any]) -> None:
    # GIVEN the step-retry function
    function = template["Resources"]["StepRetryFunction"]["Properties"]
    events = function["Events"]
    # THEN it runs on EMR step FAILED events and on its retry queue with partial batch failure reporting (retries
    # and dead letters of both: test_template_security.py)
    pattern = events["StepFailed"]["Properties"]["Pattern"]
    assert pattern == {
        "source": ["aws.emr"],
        "detail-type": ["EMR Step Status Change"],
        "detail": {"state": ["FAILED"]},
    }
    assert set(events) == {"StepFailed", "RetryDue"}
    assert events["RetryDue"]["Type"] == "SQS"
    assert events["RetryDue"]["Properties"]["Queue"] == {"Fn::GetAtt": ["StepRetryQueue", "Arn"]}
    assert events["RetryDue"]["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_retry_queue_outlives_the_function(template: dict[str, Any]) -> None:
    # GIVEN the retry queue (its encryption and redrive: test_template_security.py)
    queue = template["Resources"]["StepRetryQueue"]["Properties"]
    # THEN its visibility timeout covers six invocations (AWS's advice for an SQS event source)
    assert queue["VisibilityTimeout"] >= 6 * template["Globals"]["Function"]["Timeout"]


def test_step_retry_role_is_least_privilege(template: dict[str, Any]) -> None:
    # GIVEN the step-retry role's statements
    (policy,) = [p for p in template["Resources"]["StepRetryRole"]["Properties"]["Policies"] if "PolicyName" in p]
    role = policy["PolicyDocument"]["Statement"]
    by_sid = {s["Sid"]: s for s in role}
    # THEN it may add steps (only on opted-in clusters: test_template_security.py), EMR reads are on the cluster
    # ARN pattern, it publishes only on the app bus, and only traces use Resource "*"
    assert by_sid["EmrAddStepsOnOptedInClusters"]["Action"] == "elasticmapreduce:AddJobFlowSteps"
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


def test_notifier_is_told_its_dead_letter_queue_and_fallback_topic(template: dict[str, Any]) -> None:
    # GIVEN the notifier's environment (the queue's and the topic's encryption: test_template_security.py)
    env = template["Resources"]["NotifierFunction"]["Properties"]["Environment"]["Variables"]

    # WHEN / THEN it names the notification dead-letter queue and the fallback topic of the template
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
