"""EventRouter: events reach the functions the way the template's own EventBridge rules and queues route them.

Nothing is routed by the sandbox's own logic: moto's EventBridge matches each event against the template's exact
patterns and drops it into the matching rule's local queue, and the router hands what those queues hold to the
functions, as EventBridge targets do; the template's SQS event sources are drained by emulated event source mappings
(`esm.py`: batches, maximum concurrency, partial batch failures, visibility timeouts, redrive).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from emr_autoscaler_dev.sandbox.clock import Clock
from emr_autoscaler_dev.sandbox.esm import SqsEventSourceMapping
from emr_autoscaler_dev.sandbox.functions import EventSource, SandboxError, SandboxFunction
from emr_autoscaler_dev.sandbox.local_aws import LocalAws, moto_backends
from emr_autoscaler_dev.sandbox.runtime import LambdaRuntime
from emr_autoscaler_dev.sandbox.template import ACCOUNT_ID, REGION


class EventRouter:
    """EventRouter puts events on the local EventBridge and delivers what the template routes to `runtime`.

    `queue_urls` maps the template's queue ARNs to their URLs (an SQS record names its queue by ARN).
    """

    def __init__(self, runtime: LambdaRuntime, aws: LocalAws, clock: Clock, queue_urls: dict[str, str]) -> None:
        self.runtime = runtime
        self.aws = aws
        self.clock = clock
        self.queue_urls = queue_urls
        self._delayed: dict[str, datetime] = {}
        self.mappings: dict[tuple[str, str], SqsEventSourceMapping] = {}

    def put_event(self, event: dict[str, Any], bus: str = "default", deliver: bool = True) -> None:
        """Put_event puts an EventBridge event (EventBridge's JSON shape) on a bus; the template's rules route it
        (and, unless `deliver` is False, the functions get what they route at once)."""
        entry = {
            "Source": event["source"],
            "DetailType": event["detail-type"],
            "Detail": json.dumps(event.get("detail") or {}),
            "Resources": event.get("resources", []),
            "Time": self.clock.now,
            "EventBusName": bus,
        }
        response = self.aws.client("events").put_events(Entries=[entry])
        if response.get("FailedEntryCount"):
            raise SandboxError(f"EventBridge refused the event: {response['Entries']}")
        if deliver:
            self.deliver()

    def emit(self, source: str, detail_type: str, detail: dict[str, Any], deliver: bool = True) -> None:
        """Emit puts an AWS-service-shaped event (e.g. aws.emr) on the default bus."""
        self.put_event({"source": source, "detail-type": detail_type, "detail": detail}, deliver=deliver)

    def fire_schedules(self) -> None:
        """Fire_schedules invokes every function whose schedule is due at the clock's current minute."""
        for function, source in self.clock.due(self.runtime.functions.values()):
            self.runtime.invoke(
                function.logical_id, self.clock.scheduled_event(function, source), source.dead_letter_url
            )

    def deliver(self) -> int:
        """Deliver hands every event waiting in a rule's queue (and every due SQS message) to its function."""
        delivered = 0
        sqs = self.aws.client("sqs")
        for _ in range(20):  # handlers may emit events that other rules route; stop once quiet
            moved = 0
            for function in self.runtime.functions.values():
                for source in function.sources:
                    if source.kind == "EventBridgeRule":
                        moved += self._drain_rule(sqs, function, source)
                    elif source.kind == "SQS":
                        moved += self._drain_sqs(function, source)
            delivered += moved
            if not moved:
                break
        return delivered

    def discard_rule_events(self, function: str) -> int:
        """Discard_rule_events drops what the function's rules routed and no one delivered yet; returns how many."""
        sqs = self.aws.client("sqs")
        dropped = 0
        for source in self.runtime.functions[function].sources:
            if source.kind != "EventBridgeRule":
                continue
            while messages := sqs.receive_message(QueueUrl=source.queue_url, MaxNumberOfMessages=10).get("Messages"):
                for message in messages:
                    sqs.delete_message(QueueUrl=source.queue_url, ReceiptHandle=message["ReceiptHandle"])
                dropped += len(messages)
        return dropped

    def _drain_rule(self, sqs: Any, function: SandboxFunction, source: EventSource) -> int:
        count = 0
        while True:
            messages = sqs.receive_message(QueueUrl=source.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not messages:
                return count
            for message in messages:
                sqs.delete_message(QueueUrl=source.queue_url, ReceiptHandle=message["ReceiptHandle"])
                self.runtime.invoke(
                    function.logical_id, self._envelope(json.loads(message["Body"])), source.dead_letter_url
                )
                count += 1

    def _envelope(self, event: dict[str, Any]) -> dict[str, Any]:
        """Complete the envelope as EventBridge delivers it (moto's targets get a shorter one)."""
        envelope = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "account": ACCOUNT_ID,
            "time": self.clock.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": REGION,
            "resources": [],
        }
        return {**envelope, **event}

    def _drain_sqs(self, function: SandboxFunction, source: EventSource) -> int:
        self._release_due_messages(source.queue_url)
        return self.mapping(function.logical_id, source.name).drain()

    def mapping(self, function: str, source_name: str) -> SqsEventSourceMapping:
        """Mapping is the SQS event source mapping of `function`'s event `source_name` (made on first use)."""
        key = (function, source_name)
        if key not in self.mappings:
            source = next(s for s in self.runtime.functions[function].sources if s.name == source_name)
            arn = next((a for a, u in self.queue_urls.items() if u == source.queue_url), "")
            self.mappings[key] = SqsEventSourceMapping(function, source, self.runtime, self.aws, self.clock, arn)
        return self.mappings[key]

    def _release_due_messages(self, queue_url: str) -> None:
        """Map SQS DelaySeconds onto the simulated clock: a delayed message becomes visible when its time comes."""
        queue_name = queue_url.rsplit("/", 1)[1]
        queue = next((b.queues[queue_name] for b in moto_backends("sqs") if queue_name in b.queues), None)
        if queue is None:
            return
        for message in list(getattr(queue, "_messages", [])):
            delayed_until = getattr(message, "delayed_until", 0) or 0
            sent = getattr(message, "sent_timestamp", 0) or 0
            if delayed_until <= sent:
                continue
            due = self._delayed.setdefault(message.id, self.clock.now + timedelta(milliseconds=delayed_until - sent))
            if due <= self.clock.now:
                message.delayed_until = 0
