"""Sandbox: the whole SAM application running locally from template.yaml on an embedded AWS (moto server).

It creates what the template declares, routes events through the template's own EventBridge patterns (moto's
EventBridge matches them and delivers to local queues), invokes `functions/<name>/app.lambda_handler` with the
function's template environment, fires schedules on a simulated clock, and emulates what moto's EMR lacks:
resizes that take time (requested != running meanwhile), EMR's state-change events, and a YARN ResourceManager
per cluster on its own loopback address (so the scaler finds it through DescribeCluster, as in AWS).
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import logging
import os
import re
import socket
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any

from emr_autoscaler import bootstrap
from emr_autoscaler.kernel.config.scaling import DEFAULT_NODE_CAPACITY
from emr_autoscaler_dev.sandbox import steps as emr_steps
from emr_autoscaler_dev.sandbox.local_aws import LocalAws
from emr_autoscaler_dev.sandbox.provision import create_cluster as _run_job_flow
from emr_autoscaler_dev.sandbox.sink import HttpSink, ReceivedMessage
from emr_autoscaler_dev.sandbox.template import ACCOUNT_ID, REGION, Resolver, TemplateError, load_template
from emr_autoscaler_dev.sandbox.yarn import YarnResourceManagerEmulator, cluster_metrics

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[3]
START = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
# Resource types the sandbox does not need to emulate for the application to behave as deployed: permissions,
# log groups, the shared layer, alarms on the stack's own health, dashboards.
NOT_EMULATED = frozenset(
    {
        "AWS::Serverless::LayerVersion",
        "AWS::IAM::Role",
        "AWS::IAM::Policy",
        "AWS::IAM::ManagedPolicy",
        "AWS::Logs::LogGroup",
        "AWS::SQS::QueuePolicy",
        "AWS::SNS::TopicPolicy",
        "AWS::CloudWatch::Alarm",
        "AWS::CloudWatch::Dashboard",
        "AWS::Lambda::Permission",
        "AWS::Events::EventBusPolicy",
    }
)
_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours)\)$")


class SandboxError(RuntimeError):
    """SandboxError: the sandbox cannot run the template as asked (the message names the resource)."""


@dataclass
class EventSource:
    """EventSource is one trigger of a function, as the template declares it."""

    name: str
    kind: str
    every_min: int = 0
    queue_url: str = ""
    dead_letter_url: str | None = None
    batch_size: int = 10


@dataclass
class SandboxFunction:
    """SandboxFunction is a template function: its handler file, resolved environment and triggers."""

    logical_id: str
    path: Path
    handler: str
    environment: dict[str, str]
    sources: list[EventSource] = field(default_factory=list)
    on_failure_url: str | None = None
    module: ModuleType | None = None


@dataclass
class _GroupResize:
    group: Any
    running: int
    target: int
    due: datetime


@dataclass
class _EmuCluster:
    cluster_id: str
    name: str
    address: str
    yarn: YarnResourceManagerEmulator
    demand_mb: int = 0
    apps: int = 0


@dataclass(frozen=True)
class Invocation:
    """Invocation is one handler call: when, which function, what it got, what it returned or raised."""

    at: datetime
    function: str
    event: Any
    result: Any = None
    error: str | None = None


@dataclass
class _Context:
    function_name: str
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = ""
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    timeout_s: int = 60

    def get_remaining_time_in_millis(self) -> int:
        """Get_remaining_time_in_millis: the sandbox never cuts an invocation short."""
        return self.timeout_s * 1000


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class Sandbox:
    """Sandbox runs the application locally; use it as a context manager (or a pytest fixture).

    `config_text` replaces the configuration parameter's value; `channel_urls` maps Secrets Manager secret names
    to the sink paths their webhook URLs should point at (the notifier reads them as in AWS).
    """

    def __init__(
        self,
        template: Path = ROOT / "template.yaml",
        stack_name: str = "emr-autoscaler",
        config_text: str | None = None,
        start: datetime = START,
        start_delay_s: int = 360,
        decommission_s: int = 120,
        on_line: Callable[[str], None] | None = None,
    ) -> None:
        self.template_path = template
        self.stack_name = stack_name
        self.config_text = config_text
        self.now = start
        self.start_delay = timedelta(seconds=start_delay_s)
        self.decommission = timedelta(seconds=decommission_s)
        self.on_line = on_line or (lambda _line: None)
        self.functions: dict[str, SandboxFunction] = {}
        self.invocations: list[Invocation] = []
        self.failures: list[Invocation] = []
        self._stack = ExitStack()
        self._resizes: dict[str, _GroupResize] = {}
        self._clusters: dict[str, _EmuCluster] = {}
        self._addresses = (f"127.0.0.{n}" for n in itertools.count(2))
        self._queue_arn_to_url: dict[str, str] = {}
        self._rule_queues: list[tuple[str, str]] = []
        self._delayed: dict[str, datetime] = {}
        self._env_base: dict[str, str] = {}
        self._rm_port = 0
        self._minute = 0
        self.aws: LocalAws
        self.sink: HttpSink
        self.resolver: Resolver

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> Sandbox:
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        bootstrap.set_clock(None)
        bootstrap.reset()
        self._stack.close()

    def _start(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        template = load_template(self.template_path)
        unknown = sorted(
            f"{name} ({spec.get('Type')})"
            for name, spec in template["Resources"].items()
            if spec.get("Type") not in NOT_EMULATED and spec.get("Type") not in _CREATORS
        )
        if unknown:
            raise SandboxError(f"the sandbox cannot emulate these template resources: {', '.join(unknown)}")
        self.aws = self._stack.enter_context(LocalAws())
        self.sink = self._stack.enter_context(HttpSink())
        self._stack.callback(_patch_moto_emr(self))
        self.resolver = Resolver(template, self.stack_name)
        self._create_resources(template)
        self._rm_port = _free_port("127.0.0.1")
        bootstrap.set_clock(lambda: self.now)
        bootstrap.reset()

    @property
    def emr(self) -> Any:
        """Emr is a boto3 EMR client bound to the sandbox."""
        return self.aws.client("emr")

    def client(self, service: str) -> Any:
        """Client is a boto3 client for any service, bound to the sandbox."""
        return self.aws.client(service)

    # ------------------------------------------------------------------ resources
    def _create_resources(self, template: dict[str, Any]) -> None:
        for name, spec in template["Resources"].items():
            if spec.get("Type") in NOT_EMULATED:
                # Referenced (a role's ARN, a layer) but not needed to behave as deployed: a placeholder id.
                self.resolver.physical[name] = f"{self.stack_name}-{name}"
                self.resolver.attributes[(name, "Arn")] = self._arn("sandbox", f"{self.stack_name}-{name}")
        pending = {n: s for n, s in template["Resources"].items() if s.get("Type") in _CREATORS}
        while pending:
            progressed = False
            for name, spec in list(pending.items()):
                try:
                    _CREATORS[spec["Type"]](self, name, spec)
                except TemplateError as error:
                    if "names nothing" in str(error) or "not known to the sandbox" in str(error):
                        continue  # depends on a resource not created yet
                    raise SandboxError(f"{name}: {error}") from error
                del pending[name]
                progressed = True
            if not progressed:
                raise SandboxError(f"cannot resolve the references of: {', '.join(sorted(pending))}")
        for function in self.functions.values():
            self._wire_function(template, function)
        if self.config_text is not None:
            self.set_config(self.config_text)

    def _props(self, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        props: dict[str, Any] = self.resolver.resolve(spec.get("Properties") or {}, f"Resources.{name}.Properties")
        return props

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{REGION}:{ACCOUNT_ID}:{resource}"

    def _table(self, name: str, spec: dict[str, Any]) -> None:
        props = self._props(name, spec)
        table = props.get("TableName") or f"{self.stack_name}-{name}"
        dynamodb = self.aws.client("dynamodb")
        dynamodb.create_table(
            TableName=table,
            AttributeDefinitions=props["AttributeDefinitions"],
            KeySchema=props["KeySchema"],
            BillingMode="PAY_PER_REQUEST",
        )
        if ttl := props.get("TimeToLiveSpecification"):
            dynamodb.update_time_to_live(TableName=table, TimeToLiveSpecification=ttl)
        self.resolver.physical[name] = table
        self.resolver.attributes[(name, "Arn")] = self._arn("dynamodb", f"table/{table}")

    def _queue(self, name: str, spec: dict[str, Any]) -> None:
        props = self._props(name, spec)
        queue_name = props.get("QueueName") or f"{self.stack_name}-{name}"
        attributes = {
            k: json.dumps(v) if isinstance(v, dict) else str(v)
            for k, v in props.items()
            if k in ("DelaySeconds", "VisibilityTimeout", "MessageRetentionPeriod", "RedrivePolicy")
        }
        url = self.aws.client("sqs").create_queue(QueueName=queue_name, Attributes=attributes)["QueueUrl"]
        arn = self._arn("sqs", queue_name)
        self.resolver.physical[name] = url
        self.resolver.attributes.update({(name, "Arn"): arn, (name, "QueueUrl"): url, (name, "QueueName"): queue_name})
        self._queue_arn_to_url[arn] = url

    def _topic(self, name: str, spec: dict[str, Any]) -> None:
        props = self._props(name, spec)
        arn = self.aws.client("sns").create_topic(Name=props.get("TopicName") or f"{self.stack_name}-{name}")[
            "TopicArn"
        ]
        self.resolver.physical[name] = arn
        self.resolver.attributes.update({(name, "TopicArn"): arn, (name, "TopicName"): arn.rsplit(":", 1)[1]})

    def _bus(self, name: str, spec: dict[str, Any]) -> None:
        props = self._props(name, spec)
        bus = props.get("Name") or f"{self.stack_name}-{name}"
        arn = self.aws.client("events").create_event_bus(Name=bus)["EventBusArn"]
        self.resolver.physical[name] = bus
        self.resolver.attributes.update({(name, "Arn"): arn, (name, "Name"): bus})

    def _parameter(self, name: str, spec: dict[str, Any]) -> None:
        props = self._props(name, spec)
        parameter = props.get("Name") or f"{self.stack_name}-{name}"
        self.aws.client("ssm").put_parameter(
            Name=parameter, Value=str(props["Value"]), Type=props.get("Type", "String"), Overwrite=True
        )
        self.resolver.physical[name] = parameter

    def _secret(self, name: str, spec: dict[str, Any]) -> None:
        props = self._props(name, spec)
        secret = props.get("Name") or f"{self.stack_name}-{name}"
        value = props.get("SecretString") or uuid.uuid4().hex
        arn = self.aws.client("secretsmanager").create_secret(Name=secret, SecretString=str(value))["ARN"]
        self.resolver.physical[name] = arn
        self.resolver.attributes[(name, "Id")] = arn

    def _function(self, name: str, spec: dict[str, Any]) -> None:
        function_name = f"{self.stack_name}-{name}"
        self.resolver.physical[name] = function_name
        self.resolver.attributes[(name, "Arn")] = self._arn("lambda", f"function:{function_name}")
        # Completed in _wire_function, once every resource its properties refer to exists.
        self.functions[name] = SandboxFunction(logical_id=name, path=ROOT, handler="", environment={})

    def _wire_function(self, template: dict[str, Any], function: SandboxFunction) -> None:
        name = function.logical_id
        spec = template["Resources"][name]
        raw = dict(spec.get("Properties") or {})
        events = raw.pop("Events", {}) or {}
        raw.pop("VpcConfig", None)  # the sandbox's functions run on the loopback network
        props = self.resolver.resolve(raw, f"Resources.{name}.Properties")
        globals_fn = self.resolver.resolve(((template.get("Globals") or {}).get("Function") or {}), "Globals.Function")
        env = {
            **(globals_fn.get("Environment", {}).get("Variables", {}) or {}),
            **(props.get("Environment", {}).get("Variables", {}) or {}),
        }
        module_name, handler = str(props.get("Handler", globals_fn.get("Handler", "app.lambda_handler"))).rsplit(".", 1)
        function.path = ROOT / str(props["CodeUri"]) / f"{module_name}.py"
        function.handler = handler
        function.environment = {k: str(v) for k, v in env.items()}
        destination = (((props.get("EventInvokeConfig") or {}).get("DestinationConfig") or {}).get("OnFailure")) or {}
        function.on_failure_url = self._queue_arn_to_url.get(str(destination.get("Destination", "")))
        for event_name, event in events.items():
            function.sources.append(self._wire_event(name, event_name, event))

    def _wire_event(self, function: str, event_name: str, event: dict[str, Any]) -> EventSource:
        where = f"Resources.{function}.Properties.Events.{event_name}"
        props = self.resolver.resolve(event.get("Properties") or {}, where)
        dlq_arn = str((props.get("DeadLetterConfig") or {}).get("Arn", ""))
        dead_letter_url = self._queue_arn_to_url.get(dlq_arn)
        kind = event.get("Type")
        if kind == "Schedule":
            match = _RATE.match(str(props.get("Schedule", "")))
            if not match:
                raise SandboxError(f"{where}: only rate(N minutes|hours) schedules are emulated")
            minutes = int(match.group(1)) * (60 if match.group(2).startswith("hour") else 1)
            return EventSource(event_name, "Schedule", every_min=minutes, dead_letter_url=dead_letter_url)
        if kind in ("EventBridgeRule", "CloudWatchEvent"):
            bus = str(props.get("EventBusName") or "default")
            events = self.aws.client("events")
            rule = f"{function}{event_name}"[:64]
            events.put_rule(Name=rule, EventPattern=json.dumps(props["Pattern"]), EventBusName=bus, State="ENABLED")
            sqs = self.aws.client("sqs")
            url = sqs.create_queue(QueueName=f"sandbox-{rule}"[:80])["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "sandbox", "Arn": arn}])
            self._rule_queues.append((function, url))
            return EventSource(event_name, "EventBridgeRule", queue_url=url, dead_letter_url=dead_letter_url)
        if kind == "SQS":
            url = self._queue_arn_to_url.get(str(props.get("Queue", "")))
            if url is None:
                raise SandboxError(f"{where}: the queue {props.get('Queue')} is not a template queue")
            return EventSource(event_name, "SQS", queue_url=url, batch_size=int(props.get("BatchSize", 10)))
        raise SandboxError(f"{where}: event type {kind} is not emulated")

    # ------------------------------------------------------------------ invocation
    @contextmanager
    def _environment(self, function: SandboxFunction) -> Iterator[None]:
        env = {**function.environment, "EMR_AUTOSCALER_RESOURCEMANAGER_PORT": str(self._rm_port)}
        env.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
        env.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def _module(self, function: SandboxFunction) -> ModuleType:
        if function.module is None:
            spec = importlib.util.spec_from_file_location(f"sandbox_{function.logical_id}", function.path)
            if spec is None or spec.loader is None:
                raise SandboxError(f"{function.logical_id}: cannot load {function.path}")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            function.module = module
        return function.module

    def invoke(self, logical_id: str, event: Any, dead_letter_url: str | None = None) -> Invocation:
        """Invoke calls a function's handler with `event` under its template environment.

        An exception is recorded, shown with the event, and the event goes to the function's dead-letter
        queue (the trigger's DeadLetterConfig, else its EventInvokeConfig OnFailure), as in AWS.
        """
        function = self.functions[logical_id]
        with self._environment(function):
            handler = getattr(self._module(function), function.handler)
            try:
                result = handler(event, _Context(function_name=f"{self.stack_name}-{logical_id}"))
            except Exception as error:
                invocation = Invocation(self.now, logical_id, event, error=f"{type(error).__name__}: {error}")
                self.invocations.append(invocation)
                self.failures.append(invocation)
                self.on_line(
                    f"{self.now:%H:%M} {logical_id} FAILED: {invocation.error}\n"
                    f"      event: {json.dumps(event, default=str)[:400]}\n"
                    f"      {traceback.format_exc(limit=3).strip().splitlines()[-1]}"
                )
                target = dead_letter_url or function.on_failure_url
                if target:
                    self.aws.client("sqs").send_message(QueueUrl=target, MessageBody=json.dumps(event, default=str))
                return invocation
        invocation = Invocation(self.now, logical_id, event, result=result)
        self.invocations.append(invocation)
        return invocation

    # ------------------------------------------------------------------ events
    def put_event(self, event: dict[str, Any], bus: str = "default") -> None:
        """Put_event puts an EventBridge event (EventBridge's JSON shape) on a bus; the template's rules route it."""
        entry = {
            "Source": event["source"],
            "DetailType": event["detail-type"],
            "Detail": json.dumps(event.get("detail") or {}),
            "Resources": event.get("resources", []),
            "Time": self.now,
            "EventBusName": bus,
        }
        response = self.aws.client("events").put_events(Entries=[entry])
        if response.get("FailedEntryCount"):
            raise SandboxError(f"EventBridge refused the event: {response['Entries']}")
        self.deliver()

    def emit(self, source: str, detail_type: str, detail: dict[str, Any]) -> None:
        """Emit puts an AWS-service-shaped event (e.g. aws.emr) on the default bus."""
        self.put_event({"source": source, "detail-type": detail_type, "detail": detail})

    def deliver(self) -> int:
        """Deliver hands every event waiting in a rule's queue (and every due SQS message) to its function."""
        delivered = 0
        sqs = self.aws.client("sqs")
        for _ in range(20):  # handlers may emit events that other rules route; stop once quiet
            moved = 0
            for function in self.functions.values():
                for source in function.sources:
                    if source.kind == "EventBridgeRule":
                        moved += self._drain_rule(sqs, function, source)
                    elif source.kind == "SQS":
                        moved += self._drain_sqs(sqs, function, source)
            delivered += moved
            if not moved:
                break
        return delivered

    def _drain_rule(self, sqs: Any, function: SandboxFunction, source: EventSource) -> int:
        count = 0
        while True:
            messages = sqs.receive_message(QueueUrl=source.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return count
            for message in messages:
                sqs.delete_message(QueueUrl=source.queue_url, ReceiptHandle=message["ReceiptHandle"])
                self.invoke(function.logical_id, self._envelope(json.loads(message["Body"])), source.dead_letter_url)
                count += 1

    def _envelope(self, event: dict[str, Any]) -> dict[str, Any]:
        """Complete the envelope as EventBridge delivers it (moto's targets get a shorter one)."""
        envelope = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "account": ACCOUNT_ID,
            "time": self.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": REGION,
            "resources": [],
        }
        return {**envelope, **event}

    def _drain_sqs(self, sqs: Any, function: SandboxFunction, source: EventSource) -> int:
        self._release_due_messages(source.queue_url)
        messages = sqs.receive_message(
            QueueUrl=source.queue_url, MaxNumberOfMessages=min(source.batch_size, 10), AttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            return 0
        records = [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": next((a for a, u in self._queue_arn_to_url.items() if u == source.queue_url), ""),
                "awsRegion": REGION,
            }
            for m in messages
        ]
        invocation = self.invoke(function.logical_id, {"Records": records})
        failed = set()
        if invocation.error is not None:
            failed = {r["messageId"] for r in records}
        elif isinstance(invocation.result, dict):
            failed = {f.get("itemIdentifier") for f in invocation.result.get("batchItemFailures", [])}
        for message in messages:
            if message["MessageId"] not in failed:  # as Lambda's event source mapping deletes successes
                sqs.delete_message(QueueUrl=source.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return len(messages)

    def _release_due_messages(self, queue_url: str) -> None:
        """Map SQS DelaySeconds onto the simulated clock: a delayed message becomes visible when its time comes."""
        queue_name = queue_url.rsplit("/", 1)[1]
        queue = next((b.queues[queue_name] for b in _backends("sqs") if queue_name in b.queues), None)
        if queue is None:
            return
        for message in list(getattr(queue, "_messages", [])):
            delayed_until = getattr(message, "delayed_until", 0) or 0
            sent = getattr(message, "sent_timestamp", 0) or 0
            if delayed_until <= sent:
                continue
            due = self._delayed.setdefault(message.id, self.now + timedelta(milliseconds=delayed_until - sent))
            if due <= self.now:
                message.delayed_until = 0

    # ------------------------------------------------------------------ EMR and YARN emulation
    def create_cluster(
        self,
        name: str = "etl-nightly",
        core: int = 2,
        task: int = 2,
        instance_type: str = "m5.xlarge",
        tags: dict[str, str] | None = None,
    ) -> str:
        """Create_cluster starts an opted-in cluster with a YARN ResourceManager and announces it (RUNNING)."""
        cluster_id = _run_job_flow(self.emr, name=name, core=core, task=task, instance_type=instance_type, tags=tags)
        address = next(self._addresses)
        yarn = self._stack.enter_context(YarnResourceManagerEmulator(host=address, port=self._rm_port))
        self._clusters[cluster_id] = _EmuCluster(cluster_id, name, address, yarn)
        self._refresh_yarn(cluster_id)
        self.emit(
            "aws.emr",
            "EMR Cluster State Change",
            {
                "severity": "INFO",
                "stateChangeReason": '{"code":""}',
                "name": name,
                "clusterId": cluster_id,
                "state": "RUNNING",
                "message": f"Amazon EMR cluster {cluster_id} ({name}) is ready for work.",
            },
        )
        return cluster_id

    def master_address(self, cluster_id: str) -> str | None:
        """Master_address is the loopback address the cluster's ResourceManager emulator listens on."""
        cluster = self._clusters.get(cluster_id)
        return cluster.address if cluster else None

    def set_yarn(self, cluster_id: str, demand_mb: int, apps: int | None = None) -> None:
        """Set_yarn sets the YARN demand (memory asked for, allocated as capacity allows, the rest pending)."""
        cluster = self._clusters[cluster_id]
        cluster.demand_mb = demand_mb
        cluster.apps = apps if apps is not None else (1 if demand_mb else 0)
        self._refresh_yarn(cluster_id)

    def nodes(self, cluster_id: str) -> dict[str, tuple[int, int]]:
        """Nodes returns (running, requested) per group role, as EMR reports them."""
        groups = self.emr.list_instance_groups(ClusterId=cluster_id)["InstanceGroups"]
        return {g["InstanceGroupType"]: (g["RunningInstanceCount"], g["RequestedInstanceCount"]) for g in groups}

    def yarn_metrics(self, cluster_id: str) -> dict[str, Any]:
        """Yarn_metrics is the `clusterMetrics` the cluster's emulated ResourceManager serves now."""
        cluster = self._clusters[cluster_id]
        return dict(cluster.yarn._body["clusterMetrics"])

    def _refresh_yarn(self, cluster_id: str) -> None:
        # Read the emulation's own state (in process) rather than call EMR: this runs every simulated minute.
        cluster = self._clusters[cluster_id]
        workers = [
            g
            for backend in _backends("emr")
            for g in backend.instance_groups.values()
            if g.cluster_id == cluster_id and g.role in ("CORE", "TASK")
        ]
        nodes = sum(self.running_count(g) for g in workers)
        capacity = DEFAULT_NODE_CAPACITY.get(workers[0].instance_type) if workers else None
        cluster.yarn.set_body(
            cluster_metrics(
                nodes=nodes,
                node_memory_mb=capacity.memory_mb if capacity else 12288,
                node_vcores=capacity.vcores if capacity else 4,
                demand_memory_mb=cluster.demand_mb,
                apps_running=cluster.apps,
            )
        )

    def _resized(self, group: Any, old: int, new: int) -> None:
        delay = self.start_delay if new > old else self.decommission
        self._resizes[group.id] = _GroupResize(group=group, running=old, target=new, due=self.now + delay)
        group.state = "RESIZING"
        self.on_line(
            f"{self.now:%H:%M} EMR      {group.name} resizing {old} → {new} (done at {self.now + delay:%H:%M})"
        )

    def _complete_resizes(self) -> None:
        for group_id, resize in list(self._resizes.items()):
            if resize.due > self.now:
                continue
            del self._resizes[group_id]
            group = resize.group
            group.state = "RUNNING"
            self.on_line(f"{self.now:%H:%M} EMR      {group.name} now runs {resize.target} node(s)")
            self._refresh_yarn(group.cluster_id)
            self.emit(
                "aws.emr",
                "EMR Instance Group State Change",
                {
                    "market": "ON_DEMAND",
                    "severity": "INFO",
                    "requestedInstanceCount": str(resize.target),
                    "instanceType": group.instance_type,
                    "instanceGroupType": group.role,
                    "instanceGroupId": group_id,
                    "clusterId": group.cluster_id,
                    "runningInstanceCount": str(resize.target),
                    "state": "RUNNING",
                    "message": f"Instance group {group_id} in Amazon EMR cluster {group.cluster_id} is complete.",
                },
            )

    def running_count(self, group: Any) -> int:
        """Running_count is what EMR reports as running for a moto group (lagging its request while resizing)."""
        resize = self._resizes.get(group.id)
        return resize.running if resize is not None else int(group.num_instances)

    # ------------------------------------------------------------------ steps
    def add_steps(self, cluster_id: str, *names: str, action_on_failure: str = "CANCEL_AND_WAIT") -> list[str]:
        """Add_steps submits Spark steps (PENDING, in order) and returns their ids."""
        ids: list[str] = []
        for name in names:
            response = self.emr.add_job_flow_steps(
                JobFlowId=cluster_id,
                Steps=[
                    {
                        "Name": name,
                        "ActionOnFailure": action_on_failure,
                        "HadoopJarStep": {
                            "Jar": "command-runner.jar",
                            "Args": ["spark-submit", "--deploy-mode", "cluster", f"s3://jobs/{name}.py"],
                        },
                    }
                ],
            )
            ids.extend(response["StepIds"])
        emr_steps.space_creation_times(cluster_id)
        return ids

    def steps(self, cluster_id: str) -> list[dict[str, Any]]:
        """Steps lists the cluster's steps as EMR's ListSteps returns them, oldest first."""
        listed: list[dict[str, Any]] = self.emr.list_steps(ClusterId=cluster_id)["Steps"]
        return list(reversed(listed))  # EMR lists the newest first

    def _step_event(self, cluster_id: str, step_id: str, state: str, severity: str) -> None:
        found = emr_steps.step(cluster_id, step_id)
        name = self._clusters[cluster_id].name if cluster_id in self._clusters else cluster_id
        self.emit(
            "aws.emr",
            "EMR Step Status Change",
            {
                "severity": severity,
                "actionOnFailure": found.action_on_failure,
                "stepId": step_id,
                "name": found.name,
                "clusterId": cluster_id,
                "state": state,
                "message": f"Step {step_id} ({found.name}) in Amazon EMR cluster {cluster_id} ({name}) "
                f"{state.lower()} at {self.now:%Y-%m-%d %H:%M} UTC.",
            },
        )

    def complete_step(self, cluster_id: str, step_id: str) -> None:
        """Complete_step marks a step COMPLETED and emits its state change."""
        emr_steps.step(cluster_id, step_id).state = "COMPLETED"
        self._step_event(cluster_id, step_id, "COMPLETED", "INFO")

    def fail_step(
        self, cluster_id: str, step_id: str, reason: str, message: str = "", log_file: str | None = None
    ) -> list[str]:
        """Fail_step makes a step FAILED with FailureDetails (and cancels its pending followers under
        CANCEL_AND_WAIT), then emits EMR's `EMR Step Status Change` event; returns the cancelled step ids."""
        log = log_file or f"s3://aws-logs-{ACCOUNT_ID}-{REGION}/elasticmapreduce/{cluster_id}/steps/{step_id}/"
        cancelled = emr_steps.fail(cluster_id, step_id, reason, message or reason, log)
        self.on_line(f"{self.now:%H:%M} EMR      step {step_id} FAILED: {reason}")
        self._step_event(cluster_id, step_id, "FAILED", "ERROR")
        return cancelled

    # ------------------------------------------------------------------ configuration
    def set_config(self, text: str) -> None:
        """Set_config stores a configuration document in the template's parameter (validated by the functions, as
        in AWS) and points each notification channel's secret at the local sink (`/<type>/<channel>`)."""
        from emr_autoscaler.kernel.config.document import ConfigInvalidError, parse_config_text

        ssm = self.aws.client("ssm")
        names = {f.environment.get("EMR_AUTOSCALER_CONFIG_PARAMETER") for f in self.functions.values()} - {None}
        for parameter in names:
            ssm.put_parameter(Name=parameter, Value=text, Type="String", Overwrite=True)
        try:
            document = parse_config_text(text)
        except ConfigInvalidError:
            return  # the functions will refuse it and say so; there are no channels to wire
        secrets = self.aws.client("secretsmanager")
        for name, channel in document.notifications.channels.items():
            secret_name = getattr(channel, "secret", None)
            if not secret_name:
                continue
            url = self.sink.url(f"/{channel.type}/{name}")
            value = json.dumps({"url": url, "signing_secret": uuid.uuid4().hex}) if channel.type == "webhook" else url
            try:
                secrets.create_secret(Name=secret_name, SecretString=value)
            except secrets.exceptions.ResourceExistsException:
                secrets.put_secret_value(SecretId=secret_name, SecretString=value)

    # ------------------------------------------------------------------ time
    def advance(self, minutes: int = 1, each_minute: Callable[[int], None] | None = None) -> None:
        """Advance moves the simulated clock minute by minute: resizes complete, schedules fire, events flow."""
        for _ in range(minutes):
            self.now += timedelta(minutes=1)
            self._minute += 1
            self._complete_resizes()
            for cluster_id in self._clusters:
                self._refresh_yarn(cluster_id)
            if each_minute is not None:
                each_minute(self._minute)
            for function in self.functions.values():
                for source in function.sources:
                    if source.kind == "Schedule" and self._minute % source.every_min == 0:
                        self.invoke(
                            function.logical_id, self._scheduled_event(function, source), source.dead_letter_url
                        )
            self.deliver()

    def _scheduled_event(self, function: SandboxFunction, source: EventSource) -> dict[str, Any]:
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": ACCOUNT_ID,
            "time": self.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": REGION,
            "resources": [self._arn("events", f"rule/{function.logical_id}{source.name}")],
            "detail": {},
        }

    # ------------------------------------------------------------------ what happened
    @property
    def notifications(self) -> list[ReceivedMessage]:
        """Notifications is what the local HTTP sink received (Slack, Teams, webhook channels)."""
        return list(self.sink.received)

    def sns_messages(self) -> list[dict[str, Any]]:
        """Sns_messages is what was published to the template's SNS topics."""
        return [
            {"topic": arn, "subject": sent[2], "message": sent[1]}
            for backend in _backends("sns")
            for arn, topic in backend.topics.items()
            for sent in topic.sent_notifications
        ]

    @property
    def decisions(self) -> list[dict[str, Any]]:
        """Decisions are the scaler's decisions, in order, each with the simulated time it was made."""
        found = []
        for invocation in self.invocations:
            if isinstance(invocation.result, dict):
                for decision in invocation.result.get("decisions", []) or []:
                    found.append({"at": invocation.at.isoformat(), "function": invocation.function, **decision})
        return found

    def dead_letters(self) -> dict[str, list[Any]]:
        """Dead_letters returns, per template queue used as a dead-letter queue, the messages it holds."""
        sqs = self.aws.client("sqs")
        found: dict[str, list[Any]] = {}
        urls = {s.dead_letter_url for f in self.functions.values() for s in f.sources if s.dead_letter_url}
        urls |= {f.on_failure_url for f in self.functions.values() if f.on_failure_url}
        for url in sorted(u for u in urls if u):
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0).get(
                "Messages", []
            )
            found[url.rsplit("/", 1)[1]] = [json.loads(m["Body"]) for m in messages]
        return found


def _backends(service: str) -> list[Any]:
    """The moto backends of `service` in every region used: moto server picks the region from the request."""
    from moto.backends import get_backend

    backends = get_backend(service)  # type: ignore[call-overload]
    return [backends[account][region] for account in backends for region in backends[account]]


def _patch_moto_emr(sandbox: Sandbox) -> Callable[[], None]:
    """Make moto's EMR behave like EMR where the autoscaler can tell: resizes take time, masters have addresses."""
    from moto.emr import models

    group_cls = models.InstanceGroup
    cluster_cls = models.Cluster
    backend_cls = models.ElasticMapReduceBackend
    saved = {
        "running": group_cls.__dict__["running_instance_count"],
        "instance_running": group_cls.__dict__["instance_running_count"],
        "dns": cluster_cls.__dict__["master_public_dns_name"],
        "modify": backend_cls.__dict__["modify_instance_groups"],
    }

    def running(self: Any) -> int:
        return sandbox.running_count(self)

    def dns(self: Any) -> str:
        return sandbox.master_address(self.id) or saved["dns"].fget(self)

    def modify(self: Any, instance_groups: list[dict[str, Any]]) -> None:
        before = {
            g["instance_group_id"]: self.instance_groups[g["instance_group_id"]].num_instances for g in instance_groups
        }
        saved["modify"](self, instance_groups)
        for item in instance_groups:
            group = self.instance_groups[item["instance_group_id"]]
            if group.num_instances != before[group.id]:
                sandbox._resized(group, before[group.id], group.num_instances)

    group_cls.running_instance_count = property(running)  # type: ignore[assignment,method-assign]
    group_cls.instance_running_count = property(running)  # type: ignore[assignment,method-assign]
    cluster_cls.master_public_dns_name = property(dns)  # type: ignore[assignment,method-assign]
    backend_cls.modify_instance_groups = modify  # type: ignore[method-assign]

    def restore() -> None:
        group_cls.running_instance_count = saved["running"]  # type: ignore[method-assign]
        group_cls.instance_running_count = saved["instance_running"]  # type: ignore[method-assign]
        cluster_cls.master_public_dns_name = saved["dns"]  # type: ignore[method-assign]
        backend_cls.modify_instance_groups = saved["modify"]  # type: ignore[method-assign]

    return restore


_CREATORS: dict[str, Callable[[Sandbox, str, dict[str, Any]], None]] = {
    "AWS::DynamoDB::Table": Sandbox._table,
    "AWS::SQS::Queue": Sandbox._queue,
    "AWS::SNS::Topic": Sandbox._topic,
    "AWS::Events::EventBus": Sandbox._bus,
    "AWS::SSM::Parameter": Sandbox._parameter,
    "AWS::SecretsManager::Secret": Sandbox._secret,
    "AWS::Serverless::Function": Sandbox._function,
}
