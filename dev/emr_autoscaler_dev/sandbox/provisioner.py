"""Provisioner: creates on the local AWS what template.yaml declares, and wires each function to its triggers.

Resources are created in dependency order (a resource waits until every `!Ref`/`!GetAtt` it uses names something
created). A function's EventBridge rule is put on the local EventBridge with the template's exact pattern, its target
a local queue the router drains; resource types that change nothing of how the application behaves (permissions, log
groups, the layer, alarms on the stack's own health) get a placeholder id. Any other type stops the sandbox.

(`provision.py`, beside it, creates the few resources the in-process moto tests need, without a template.)
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from emr_autoscaler_dev.sandbox.clock import schedule_minutes
from emr_autoscaler_dev.sandbox.functions import EventSource, SandboxError, SandboxFunction
from emr_autoscaler_dev.sandbox.local_aws import LocalAws
from emr_autoscaler_dev.sandbox.sink import HttpSink
from emr_autoscaler_dev.sandbox.template import ACCOUNT_ID, REGION, Resolver, TemplateError

ROOT = Path(__file__).resolve().parents[3]
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


def check_emulated(template: dict[str, Any]) -> None:
    """Check_emulated raises SandboxError naming every template resource whose type the sandbox cannot emulate."""
    unknown = sorted(
        f"{name} ({spec.get('Type')})"
        for name, spec in template["Resources"].items()
        if spec.get("Type") not in NOT_EMULATED and spec.get("Type") not in _CREATORS
    )
    if unknown:
        raise SandboxError(f"the sandbox cannot emulate these template resources: {', '.join(unknown)}")


def _arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT_ID}:{resource}"


class Provisioner:
    """Provisioner creates the stack `stack_name` from `template` and fills `functions` (by logical id).

    `queue_urls` maps each template queue's ARN to its URL once created.
    """

    def __init__(
        self,
        template: dict[str, Any],
        stack_name: str,
        aws: LocalAws,
        sink: HttpSink,
        functions: dict[str, SandboxFunction],
    ) -> None:
        self.template = template
        self.stack_name = stack_name
        self.aws = aws
        self.sink = sink
        self.functions = functions
        self.resolver = Resolver(template, stack_name)
        self.queue_urls: dict[str, str] = {}
        self.queue_props: dict[str, dict[str, Any]] = {}

    def create(self) -> None:
        """Create creates every emulated resource, then wires each function to its triggers."""
        resources: dict[str, dict[str, Any]] = self.template["Resources"]
        for name, spec in resources.items():
            if spec.get("Type") in NOT_EMULATED:
                # Referenced (a role's ARN, a layer) but not needed to behave as deployed: a placeholder id.
                self.resolver.physical[name] = f"{self.stack_name}-{name}"
                self.resolver.attributes[(name, "Arn")] = _arn("sandbox", f"{self.stack_name}-{name}")
        pending = {n: s for n, s in resources.items() if s.get("Type") in _CREATORS}
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
            self._wire_function(function)

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

    # ------------------------------------------------------------------ resources
    def _props(self, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        props: dict[str, Any] = self.resolver.resolve(spec.get("Properties") or {}, f"Resources.{name}.Properties")
        return props

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
        self.resolver.attributes[(name, "Arn")] = _arn("dynamodb", f"table/{table}")

    def _queue(self, name: str, spec: dict[str, Any]) -> None:
        props = self._props(name, spec)
        fifo = str(props.get("FifoQueue", "false")).lower() == "true"
        # CloudFormation names a FIFO queue it names itself with the mandatory .fifo suffix.
        queue_name = props.get("QueueName") or f"{self.stack_name}-{name}" + (".fifo" if fifo else "")
        attributes = {
            k: json.dumps(v) if isinstance(v, dict) else str(v).lower() if isinstance(v, bool) else str(v)
            for k, v in props.items()
            if k
            in (
                "DelaySeconds",
                "VisibilityTimeout",
                "MessageRetentionPeriod",
                "RedrivePolicy",
                "FifoQueue",
                "ContentBasedDeduplication",
            )
        }
        url = self.aws.client("sqs").create_queue(QueueName=queue_name, Attributes=attributes)["QueueUrl"]
        arn = _arn("sqs", queue_name)
        self.resolver.physical[name] = url
        self.resolver.attributes.update({(name, "Arn"): arn, (name, "QueueUrl"): url, (name, "QueueName"): queue_name})
        self.queue_urls[arn] = url
        self.queue_props[url] = props

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
        self.resolver.attributes[(name, "Arn")] = _arn("lambda", f"function:{function_name}")
        # Completed in _wire_function, once every resource its properties refer to exists.
        self.functions[name] = SandboxFunction(logical_id=name, path=ROOT, handler="", environment={})

    # ------------------------------------------------------------------ functions and their triggers
    def _wire_function(self, function: SandboxFunction) -> None:
        name = function.logical_id
        spec = self.template["Resources"][name]
        raw = dict(spec.get("Properties") or {})
        events = raw.pop("Events", {}) or {}
        raw.pop("VpcConfig", None)  # the sandbox's functions run on the loopback network
        props = self.resolver.resolve(raw, f"Resources.{name}.Properties")
        globals_fn = self.resolver.resolve(
            ((self.template.get("Globals") or {}).get("Function") or {}), "Globals.Function"
        )
        env = {
            **(globals_fn.get("Environment", {}).get("Variables", {}) or {}),
            **(props.get("Environment", {}).get("Variables", {}) or {}),
        }
        module_name, handler = str(props.get("Handler", globals_fn.get("Handler", "app.lambda_handler"))).rsplit(".", 1)
        function.path = ROOT / str(props["CodeUri"]) / f"{module_name}.py"
        function.handler = handler
        function.environment = {k: str(v) for k, v in env.items()}
        destination = (((props.get("EventInvokeConfig") or {}).get("DestinationConfig") or {}).get("OnFailure")) or {}
        function.on_failure_url = self.queue_urls.get(str(destination.get("Destination", "")))
        for event_name, event in events.items():
            function.sources.append(self._wire_event(name, event_name, event))

    def _wire_event(self, function: str, event_name: str, event: dict[str, Any]) -> EventSource:
        where = f"Resources.{function}.Properties.Events.{event_name}"
        props = self.resolver.resolve(event.get("Properties") or {}, where)
        dlq_arn = str((props.get("DeadLetterConfig") or {}).get("Arn", ""))
        dead_letter_url = self.queue_urls.get(dlq_arn)
        kind = event.get("Type")
        if kind == "Schedule":
            minutes = schedule_minutes(str(props.get("Schedule", "")))
            if minutes is None:
                raise SandboxError(f"{where}: only rate(N minutes|hours) schedules are emulated")
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
            return EventSource(event_name, "EventBridgeRule", queue_url=url, dead_letter_url=dead_letter_url)
        if kind == "SQS":
            url = self.queue_urls.get(str(props.get("Queue", "")))
            if url is None:
                raise SandboxError(f"{where}: the queue {props.get('Queue')} is not a template queue")
            queue = self.queue_props.get(url, {})
            redrive = queue.get("RedrivePolicy") or {}
            return EventSource(
                event_name,
                "SQS",
                queue_url=url,
                dead_letter_url=self.queue_urls.get(str(redrive.get("deadLetterTargetArn", ""))),
                batch_size=int(props.get("BatchSize", 10)),
                maximum_concurrency=int((props.get("ScalingConfig") or {}).get("MaximumConcurrency", 0)),
                visibility_timeout_s=int(queue.get("VisibilityTimeout", 30)),
                fifo=str(queue.get("FifoQueue", "false")).lower() == "true",
            )
        raise SandboxError(f"{where}: event type {kind} is not emulated")


_CREATORS: dict[str, Callable[[Provisioner, str, dict[str, Any]], None]] = {
    "AWS::DynamoDB::Table": Provisioner._table,
    "AWS::SQS::Queue": Provisioner._queue,
    "AWS::SNS::Topic": Provisioner._topic,
    "AWS::Events::EventBus": Provisioner._bus,
    "AWS::SSM::Parameter": Provisioner._parameter,
    "AWS::SecretsManager::Secret": Provisioner._secret,
    "AWS::Serverless::Function": Provisioner._function,
}
