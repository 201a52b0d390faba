"""Bootstrap: the one composition root. Builds clients and adapters once per cold start.

Clients honour AWS_ENDPOINT_URL (boto3's own setting), so the sandbox and tests point every call at a local
AWS without code changes. Retries are botocore's adaptive mode.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime

import boto3
from botocore.config import Config

from emr_autoscaler.adapters.cloudwatch import CloudWatchMetrics
from emr_autoscaler.adapters.cloudwatch_alarms import CloudWatchAlarms
from emr_autoscaler.adapters.dynamodb_registry import DynamoRegistry
from emr_autoscaler.adapters.dynamodb_state import DynamoStateStore
from emr_autoscaler.adapters.emr import EmrInstanceGroups
from emr_autoscaler.adapters.metrics_chain import MetricsChain
from emr_autoscaler.adapters.resourcemanager import ResourceManagerMetrics
from emr_autoscaler.adapters.ssm_config import SsmConfigSource
from emr_autoscaler.app_events import EventBridgePublisher, configuration_refused_event
from emr_autoscaler.cluster_watch import ClusterWatch
from emr_autoscaler.domain.models import ClusterSnapshot, MetricsSource
from emr_autoscaler.observability import PowertoolsDecisionSink, config_invalid
from emr_autoscaler.ports import YarnMetricsReader
from emr_autoscaler.service import Scaler
from emr_autoscaler.settings import Settings

CLIENT_CONFIG = Config(
    retries={"mode": "adaptive", "max_attempts": 5},
    connect_timeout=3,
    read_timeout=10,
    user_agent_extra="emr-autoscaler",
)


def utcnow() -> datetime:
    """Utcnow is the production clock (timezone-aware UTC)."""
    return datetime.now(UTC)


def build_scaler(
    settings: Settings,
    session: boto3.Session | None = None,
    clock: Callable[[], datetime] = utcnow,
    resourcemanager_url_for: Callable[[ClusterSnapshot], str | None] | None = None,
) -> Scaler:
    """Build_scaler wires real adapters for one deployment's settings.

    `resourcemanager_url_for` overrides where the ResourceManager is reached (the sandbox's emulator); by default
    it is the master node's DNS name from DescribeCluster, never an address taken from an event.
    """
    from aws_lambda_powertools.utilities.parameters import SSMProvider

    session = session or boto3.Session()
    emr = session.client("emr", config=CLIENT_CONFIG)
    events = EventBridgePublisher(session.client("events", config=CLIENT_CONFIG), settings.event_bus)

    def refused(message: str) -> None:
        config_invalid(message)
        events.publish([configuration_refused_event(message)])

    readers: dict[MetricsSource, YarnMetricsReader] = {
        MetricsSource.RESOURCE_MANAGER: ResourceManagerMetrics(
            port=settings.resourcemanager_port, url_for=resourcemanager_url_for
        ),
        MetricsSource.CLOUDWATCH: CloudWatchMetrics(session.client("cloudwatch", config=CLIENT_CONFIG)),
    }
    return Scaler(
        emr=EmrInstanceGroups(emr, clock=clock),
        metrics=MetricsChain(readers),
        store=DynamoStateStore(
            session.client("dynamodb", config=CLIENT_CONFIG), settings.state_table, settings.audit_ttl_days
        ),
        config=SsmConfigSource(
            SSMProvider(boto3_client=session.client("ssm", config=CLIENT_CONFIG)),
            settings.config_parameter,
            max_age_s=settings.config_cache_s,
            on_invalid=refused,
        ),
        sink=PowertoolsDecisionSink(),
        clock=clock,
        events=events,
        registry=DynamoRegistry(session.client("dynamodb", config=CLIENT_CONFIG), settings.state_table),
    )


def build_cluster_watch(
    settings: Settings, session: boto3.Session | None = None, clock: Callable[[], datetime] = utcnow
) -> ClusterWatch:
    """Build_cluster_watch wires the registry, the alarms and the configuration for the cluster watch."""
    from aws_lambda_powertools.utilities.parameters import SSMProvider

    session = session or boto3.Session()
    events = EventBridgePublisher(session.client("events", config=CLIENT_CONFIG), settings.event_bus)
    return ClusterWatch(
        emr=EmrInstanceGroups(session.client("emr", config=CLIENT_CONFIG), clock=clock),
        registry=DynamoRegistry(session.client("dynamodb", config=CLIENT_CONFIG), settings.state_table),
        alarms=CloudWatchAlarms(session.client("cloudwatch", config=CLIENT_CONFIG), settings.alarm_prefix),
        config=SsmConfigSource(
            SSMProvider(boto3_client=session.client("ssm", config=CLIENT_CONFIG)),
            settings.config_parameter,
            max_age_s=settings.config_cache_s,
            on_invalid=config_invalid,
        ),
        alarm_prefix=settings.alarm_prefix,
        clock=clock,
        events=events,
    )


@functools.cache
def cluster_watch() -> ClusterWatch:
    """Cluster_watch of this process, built on first use."""
    return build_cluster_watch(settings())


@functools.cache
def settings() -> Settings:
    """Settings of this process, read once from the environment."""
    return Settings.from_env()


@functools.cache
def scaler() -> Scaler:
    """Scaler of this process, built on first use and reused by every warm invocation."""
    return build_scaler(settings())


def reset() -> None:
    """Reset forgets the cached settings and scaler (tests, and the sandbox between scenarios)."""
    settings.cache_clear()
    scaler.cache_clear()
    cluster_watch.cache_clear()
