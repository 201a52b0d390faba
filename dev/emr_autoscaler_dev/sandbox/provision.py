"""Provision creates, on a local AWS, the resources one deployment of the scaler needs (table, parameter)."""

from __future__ import annotations

from typing import Any

from emr_autoscaler.settings import Settings


def provision(session: Any, settings: Settings, config_text: str) -> None:
    """Provision creates the state table (pk/sk, TTL on expires_at) and the configuration parameter."""
    dynamodb = session.client("dynamodb")
    dynamodb.create_table(
        TableName=settings.state_table,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.update_time_to_live(
        TableName=settings.state_table,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"},
    )
    session.client("ssm").put_parameter(
        Name=settings.config_parameter, Value=config_text, Type="String", Overwrite=True
    )


def create_cluster(
    emr: Any,
    name: str = "etl-nightly",
    core: int = 2,
    task: int = 2,
    instance_type: str = "m5.xlarge",
    tags: dict[str, str] | None = None,
    log_uri: str | None = None,
    primaries: int = 1,
    configurations: list[dict[str, Any]] | None = None,
    spot_task: int | None = None,
) -> str:
    """Create_cluster starts an instance-group cluster (MASTER, CORE, TASK) and returns its id; `primaries` is the
    MASTER group's count (1 or 3), `configurations` EMR's Configurations (e.g. a yarn-site classification); with
    `spot_task`, a second TASK group, "Spot task", of that many nodes on `Market: SPOT` (the On-Demand TASK group
    stays)."""
    tags = {"emr-autoscaler:enabled": "true"} if tags is None else tags
    extra: dict[str, Any] = {"LogUri": log_uri} if log_uri else {}
    if configurations:
        extra["Configurations"] = configurations
    spot = (
        [
            {
                "Name": "Spot task",
                "InstanceRole": "TASK",
                "InstanceType": instance_type,
                "InstanceCount": spot_task,
                "Market": "SPOT",
            }
        ]
        if spot_task is not None
        else []
    )
    response = emr.run_job_flow(
        Name=name,
        **extra,
        ReleaseLabel="emr-7.5.0",
        Instances={
            "InstanceGroups": [
                {"Name": "Master", "InstanceRole": "MASTER", "InstanceType": instance_type, "InstanceCount": primaries},
                {"Name": "Core", "InstanceRole": "CORE", "InstanceType": instance_type, "InstanceCount": core},
                {"Name": "Task", "InstanceRole": "TASK", "InstanceType": instance_type, "InstanceCount": task},
                *spot,
            ],
            "KeepJobFlowAliveWhenNoSteps": True,
        },
        JobFlowRole="EMR_EC2_DefaultRole",
        ServiceRole="EMR_DefaultRole",
        Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
    )
    return str(response["JobFlowId"])


def create_fleet_cluster(
    emr: Any,
    name: str = "etl-fleet",
    core: int = 2,
    task: int = 2,
    tags: dict[str, str] | None = None,
    log_uri: str | None = None,
) -> str:
    """Create_fleet_cluster starts an instance-fleet cluster: a master, `core` On-Demand m5.xlarge CORE nodes and a
    TASK fleet of m5.xlarge (4 units) or m5.2xlarge (8 units) asking `task` m5.xlarge nodes' worth of Spot units,
    with a 15-minute Spot timeout falling back to On-Demand at launch (LaunchSpecifications) and on resize."""
    tags = {"emr-autoscaler:enabled": "true"} if tags is None else tags
    logging = {"LogUri": log_uri} if log_uri else {}
    task_types = [
        {"InstanceType": "m5.xlarge", "WeightedCapacity": 4},
        {"InstanceType": "m5.2xlarge", "WeightedCapacity": 8},
    ]
    response = emr.run_job_flow(
        Name=name,
        **logging,
        ReleaseLabel="emr-7.5.0",
        Instances={
            "InstanceFleets": [
                {
                    "Name": "Master",
                    "InstanceFleetType": "MASTER",
                    "TargetOnDemandCapacity": 1,
                    "InstanceTypeConfigs": [{"InstanceType": "m5.xlarge"}],
                },
                {
                    "Name": "Core",
                    "InstanceFleetType": "CORE",
                    "TargetOnDemandCapacity": 4 * core,
                    "InstanceTypeConfigs": [{"InstanceType": "m5.xlarge", "WeightedCapacity": 4}],
                },
                {
                    "Name": "Task",
                    "InstanceFleetType": "TASK",
                    "TargetSpotCapacity": 4 * task,
                    "InstanceTypeConfigs": task_types,
                    "LaunchSpecifications": {
                        "SpotSpecification": {"TimeoutDurationMinutes": 15, "TimeoutAction": "SWITCH_TO_ON_DEMAND"}
                    },
                    "ResizeSpecifications": {"SpotResizeSpecification": {"TimeoutDurationMinutes": 15}},
                },
            ],
            "KeepJobFlowAliveWhenNoSteps": True,
        },
        JobFlowRole="EMR_EC2_DefaultRole",
        ServiceRole="EMR_DefaultRole",
        Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
    )
    return str(response["JobFlowId"])


def provision_step_retry(session: Any, settings: Settings, queue_name: str = "step-retry") -> Settings:
    """Provision_step_retry creates the retry queue and the application bus; returns settings naming them.

    Idempotency records and lineage live in the state table `provision` created.
    """
    url = session.client("sqs").create_queue(QueueName=queue_name)["QueueUrl"]
    bus = f"{queue_name}-events"
    events = session.client("events")
    if not any(b["Name"] == bus for b in events.list_event_buses().get("EventBuses", [])):
        events.create_event_bus(Name=bus)
    return settings.model_copy(update={"retry_queue_url": url, "event_bus": bus})


def provision_notifier(
    session: Any, settings: Settings, secrets: dict[str, str] | None = None, prefix: str = "notifier"
) -> Settings:
    """Provision_notifier creates the notification dead-letter queue, the fallback topic and webhook secrets.

    Returns `settings` with `notification_dlq_url` and `fallback_topic_arn` set to what was created.
    """
    sqs = session.client("sqs")
    queue_url = sqs.create_queue(QueueName=f"{prefix}-dlq")["QueueUrl"]
    topic_arn = session.client("sns").create_topic(Name=f"{prefix}-fallback")["TopicArn"]
    secretsmanager = session.client("secretsmanager")
    for name, value in (secrets or {}).items():
        secretsmanager.create_secret(Name=name, SecretString=value)
    return settings.model_copy(update={"notification_dlq_url": queue_url, "fallback_topic_arn": topic_arn})
