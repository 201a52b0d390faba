"""Bootstrap: the one composition root. Builds clients and adapters once per cold start, and injects every dependency.

Clients honour AWS_ENDPOINT_URL (boto3's own setting), so the sandbox and tests point every call at a local
AWS without code changes. Retries are botocore's adaptive mode. Each builder imports only its own job's modules,
so a function's cold start pays for what it runs, not for the other three jobs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from emr_autoscaler.settings import Settings

if TYPE_CHECKING:
    from emr_autoscaler.kernel.config.source import ConfigSource
    from emr_autoscaler.kernel.events import EventPublisher
    from emr_autoscaler.kernel.models import ClusterSnapshot
    from emr_autoscaler.notifications.service import Notifier
    from emr_autoscaler.scaling.service import Scaler
    from emr_autoscaler.steps.ports import OnceGuard
    from emr_autoscaler.steps.service import StepRetrier
    from emr_autoscaler.watch.service import ClusterWatch

CLIENT_CONFIG = Config(
    retries={"mode": "adaptive", "max_attempts": 5},
    connect_timeout=3,
    read_timeout=10,
    user_agent_extra="emr-autoscaler",
)

# AddJobFlowSteps has no idempotency token: botocore retrying a timeout or a 5xx could add a restart twice. Its
# failures go back to the step-retry service, which looks for the restart before the queue redelivers.
ADD_STEPS_CONFIG = CLIENT_CONFIG.merge(Config(retries={"mode": "standard", "total_max_attempts": 1}))

_clock_override: Callable[[], datetime] | None = None


def utcnow() -> datetime:
    """Utcnow is the clock every use case gets: UTC now, or the simulated time the sandbox set."""
    return _clock_override() if _clock_override is not None else datetime.now(UTC)


def set_clock(clock: Callable[[], datetime] | None) -> None:
    """Set_clock makes `utcnow` return simulated time (the sandbox); None restores the real clock."""
    global _clock_override  # the one process-wide clock, set by the sandbox only
    _clock_override = clock


class _Clients:
    """_Clients hands out one boto3 client per (service, config) for one builder: no service's client twice."""

    def __init__(self, session: boto3.Session | None) -> None:
        self._session = session or boto3.Session()
        self._clients: dict[tuple[str, int], Any] = {}

    def __call__(self, service: str, config: Config = CLIENT_CONFIG) -> Any:
        key = (service, id(config))
        if key not in self._clients:
            self._clients[key] = self._session.client(service, config=config)  # type: ignore[call-overload]
        return self._clients[key]


def _config_source(
    settings: Settings, clients: _Clients, on_invalid: Callable[[str], None] | None = None
) -> ConfigSource:
    """_Config_source reads the configuration parameter through Powertools Parameters (cached `config_cache_s`)."""
    from aws_lambda_powertools.utilities.parameters import SSMProvider

    from emr_autoscaler.adapters.aws.ssm_config import SsmConfigSource
    from emr_autoscaler.adapters.powertools.metrics import config_invalid

    return SsmConfigSource(
        SSMProvider(boto3_client=clients("ssm")),
        settings.config_parameter,
        max_age_s=settings.config_cache_s,
        on_invalid=on_invalid or config_invalid,
    )


def _publisher(settings: Settings, clients: _Clients) -> EventPublisher:
    """_Publisher puts the application's events on its bus."""
    from emr_autoscaler.adapters.aws.eventbridge import EventBridgePublisher

    return EventBridgePublisher(clients("events"), settings.event_bus)


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
    from emr_autoscaler.adapters.aws.call_meter import CallMeter
    from emr_autoscaler.adapters.aws.cloudwatch import CloudWatchMetrics
    from emr_autoscaler.adapters.aws.dynamodb.registry import DynamoRegistry
    from emr_autoscaler.adapters.aws.dynamodb.state import DynamoStateStore
    from emr_autoscaler.adapters.aws.ec2_instances import Ec2InstanceDirectory
    from emr_autoscaler.adapters.aws.emr import EmrInstanceGroups
    from emr_autoscaler.adapters.aws.emr_fleets import EmrInstanceFleets
    from emr_autoscaler.adapters.aws.emr_managed_scaling import EmrManagedScaling
    from emr_autoscaler.adapters.aws.emr_primaries import EmrPrimaryNodes
    from emr_autoscaler.adapters.aws.sqs_evaluation_queue import SqsEvaluationQueue
    from emr_autoscaler.adapters.metrics_chain import MetricsChain
    from emr_autoscaler.adapters.powertools.logging import cluster_log_context
    from emr_autoscaler.adapters.powertools.metrics import config_invalid
    from emr_autoscaler.adapters.powertools.sinks import PowertoolsBatchMetrics, PowertoolsDecisionSink
    from emr_autoscaler.adapters.yarn.resourcemanager import ResourceManagerMetrics
    from emr_autoscaler.kernel.events import configuration_refused_event
    from emr_autoscaler.kernel.models import MetricsSource
    from emr_autoscaler.scaling.ports import YarnMetricsReader
    from emr_autoscaler.scaling.service import Scaler

    clients = _Clients(session)
    events = _publisher(settings, clients)

    def refused(message: str) -> None:
        config_invalid(message)
        events.publish([configuration_refused_event(message)])

    readers: dict[MetricsSource, YarnMetricsReader] = {
        MetricsSource.RESOURCE_MANAGER: ResourceManagerMetrics(
            port=settings.resourcemanager_port,
            url_for=resourcemanager_url_for,
            primaries=EmrPrimaryNodes(clients("emr")).addresses,
        ),
        MetricsSource.CLOUDWATCH: CloudWatchMetrics(clients("cloudwatch")),
    }
    config = _config_source(settings, clients, on_invalid=refused)
    meter = CallMeter().watch(*(clients(s) for s in ("emr", "dynamodb", "cloudwatch", "ssm", "events", "sqs")))
    queue = SqsEvaluationQueue(clients("sqs"), settings.evaluation_queue_url) if settings.evaluation_queue_url else None
    return Scaler(
        emr=EmrInstanceGroups(clients("emr"), clock=clock),
        metrics=MetricsChain(readers),
        store=DynamoStateStore(clients("dynamodb"), settings.state_table, settings.audit_ttl_days),
        config=config,
        sink=PowertoolsDecisionSink(),
        clock=clock,
        events=events,
        log_context=cluster_log_context,
        registry=DynamoRegistry(clients("dynamodb"), settings.state_table),
        fleets=EmrInstanceFleets(clients("emr")),
        instances=Ec2InstanceDirectory(lambda: clients("ec2")),
        managed_scaling=EmrManagedScaling(clients("emr")),
        queue=queue,
        batch_metrics=PowertoolsBatchMetrics(),
        api_calls=meter.total,
        budget=settings.max_concurrency,
    )


def build_cluster_watch(
    settings: Settings, session: boto3.Session | None = None, clock: Callable[[], datetime] = utcnow
) -> ClusterWatch:
    """Build_cluster_watch wires the registry, the alarms and the configuration for the cluster watch."""
    from emr_autoscaler.adapters.aws.cloudwatch_alarms import CloudWatchAlarms
    from emr_autoscaler.adapters.aws.dynamodb.registry import DynamoRegistry
    from emr_autoscaler.adapters.aws.emr import EmrInstanceGroups
    from emr_autoscaler.watch.service import ClusterWatch

    clients = _Clients(session)
    return ClusterWatch(
        emr=EmrInstanceGroups(clients("emr"), clock=clock),
        registry=DynamoRegistry(clients("dynamodb"), settings.state_table),
        alarms=CloudWatchAlarms(clients("cloudwatch"), settings.alarm_prefix),
        config=_config_source(settings, clients),
        alarm_prefix=settings.alarm_prefix,
        clock=clock,
        events=_publisher(settings, clients),
    )


@functools.cache
def _cluster_watch_for(settings: Settings) -> ClusterWatch:
    return build_cluster_watch(settings)


def cluster_watch() -> ClusterWatch:
    """Cluster_watch for this environment's settings, built on first use and reused while they stay the same."""
    return _cluster_watch_for(settings())


def build_notifier(
    settings: Settings, session: boto3.Session | None = None, clock: Callable[[], datetime] = utcnow
) -> Notifier:
    """Build_notifier wires the notify job: configuration, dedup table, channels, dead letters, fallback topic.

    Webhook secrets are read through Powertools' SecretsProvider and cached for 5 minutes per warm container.
    """
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    from emr_autoscaler.adapters.aws.dynamodb.dedup import DynamoDedupStore
    from emr_autoscaler.adapters.aws.notice_context import EmrNoticeContext
    from emr_autoscaler.adapters.aws.secrets import WebhookSecrets
    from emr_autoscaler.adapters.aws.sqs_dead_letters import LoggingDeadLetters, SqsDeadLetters
    from emr_autoscaler.adapters.channels.directory import ChannelDirectory
    from emr_autoscaler.adapters.channels.http import HttpPoster
    from emr_autoscaler.adapters.channels.sns import SnsChannel
    from emr_autoscaler.adapters.powertools.metrics import count_metric
    from emr_autoscaler.notifications.ports import FALLBACK_CHANNEL, DeadLetters
    from emr_autoscaler.notifications.service import Notifier

    clients = _Clients(session)
    secrets = WebhookSecrets(SecretsProvider(boto3_client=clients("secretsmanager")))
    fallback = (
        SnsChannel(FALLBACK_CHANNEL, settings.fallback_topic_arn, clients("sns"))
        if settings.fallback_topic_arn
        else None
    )
    dead_letters: DeadLetters = (
        SqsDeadLetters(clients("sqs"), settings.notification_dlq_url)
        if settings.notification_dlq_url
        else LoggingDeadLetters()
    )
    return Notifier(
        config=_config_source(settings, clients),
        dedup=DynamoDedupStore(clients("dynamodb"), settings.state_table),
        channels=ChannelDirectory(secrets, HttpPoster(budget_s=settings.notification_budget_s), clients("sns")),
        dead_letters=dead_letters,
        context=EmrNoticeContext(clients("emr")),
        clock=clock,
        count=count_metric,
        fallback=fallback,
    )


@functools.cache
def _notifier_for(settings: Settings) -> Notifier:
    return build_notifier(settings)


def notifier() -> Notifier:
    """Notifier for this environment's settings, built on first use and reused by every warm invocation."""
    return _notifier_for(settings())


def settings() -> Settings:
    """Settings from the environment, read at every call (microseconds): each function's own variables apply,
    also where several functions share one process (the sandbox)."""
    return Settings.from_env()


@functools.cache
def _scaler_for(settings: Settings) -> Scaler:
    return build_scaler(settings)


def scaler() -> Scaler:
    """Scaler for this environment's settings, built on first use and reused by every warm invocation."""
    return _scaler_for(settings())


def build_step_retrier(
    settings: Settings,
    session: boto3.Session | None = None,
    clock: Callable[[], datetime] = utcnow,
    jitter: Callable[[], float] | None = None,
    guard: OnceGuard | None = None,
) -> StepRetrier:
    """Build_step_retrier wires EMR steps, the retry queue, lineage, Idempotency and the evidence sources (step logs
    in S3, the YARN ResourceManager on the master node) for the step-retry job.

    `jitter` defaults to `random.random` (backoff jitter in [0, 1)); `guard` defaults to Powertools Idempotency on
    the state table (a test may pass one that runs every call).
    """
    import random

    from emr_autoscaler.adapters.aws.dynamodb.idempotency import PowertoolsOnceGuard
    from emr_autoscaler.adapters.aws.dynamodb.lineage import DynamoLineageStore
    from emr_autoscaler.adapters.aws.emr_steps import EmrStepsClient
    from emr_autoscaler.adapters.aws.s3_logs import S3StepLogs
    from emr_autoscaler.adapters.aws.sqs_retry_queue import SqsRetryQueue
    from emr_autoscaler.adapters.powertools.sinks import PowertoolsStepRetrySink
    from emr_autoscaler.adapters.yarn.applications import ResourceManagerApplications
    from emr_autoscaler.steps.service import StepRetrier

    clients = _Clients(session)
    if guard is None:
        guard = PowertoolsOnceGuard(clients("dynamodb"), settings.state_table, settings.idempotency_ttl_s)
    return StepRetrier(
        emr=EmrStepsClient(clients("emr"), clock=clock, add_client=clients("emr", ADD_STEPS_CONFIG)),
        lineage=DynamoLineageStore(clients("dynamodb"), settings.state_table, settings.audit_ttl_days),
        queue=SqsRetryQueue(clients("sqs"), settings.retry_queue_url),
        config=_config_source(settings, clients),
        clock=clock,
        jitter=jitter or random.random,  # backoff jitter, not cryptography
        events=_publisher(settings, clients),
        sink=PowertoolsStepRetrySink(),
        guard=guard,
        logs=S3StepLogs(clients("s3")),
        yarn=ResourceManagerApplications(port=settings.resourcemanager_port),
    )


@functools.cache
def _step_retrier_for(settings: Settings) -> StepRetrier:
    return build_step_retrier(settings)


def step_retrier() -> StepRetrier:
    """Step_retrier for this environment's settings, built on first use and reused by every warm invocation."""
    return _step_retrier_for(settings())


def reset() -> None:
    """Reset forgets the cached settings and scaler (tests, and the sandbox between scenarios)."""
    _scaler_for.cache_clear()
    _step_retrier_for.cache_clear()
    _cluster_watch_for.cache_clear()
    _notifier_for.cache_clear()
