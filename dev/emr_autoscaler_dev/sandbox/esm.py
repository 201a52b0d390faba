"""SqsEventSourceMapping: Lambda's SQS event source mapping, emulated on moto's SQS and the sandbox's clock.

What Lambda does, and so what this does (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html,
https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html):
- it polls batches of up to `BatchSize` messages (FIFO: at most 10) and runs up to `ScalingConfig.MaximumConcurrency`
  of them at once (without it, the sandbox runs one batch at a time); a FIFO batch may hold several message groups,
  and SQS never hands out a group's message while another of that group is in flight (moto implements this), so
  concurrent invocations never share a group;
- with `ReportBatchItemFailures` it deletes the records the function did not report as failed; a function error
  fails the whole batch;
- a failed message stays in flight until its queue's visibility timeout has passed on the *simulated* clock (moto's
  own timer runs on wall time), blocking the rest of its FIFO group meanwhile; it is then received again, and after
  `maxReceiveCount` receives SQS moves it to the queue's dead-letter queue (moto does, at the next receive);
- a FIFO deduplication id is remembered for 5 simulated minutes even after its message was deleted, as SQS does
  (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-key-terms.html; moto forgets it
  with the message): see `remember_deduplication_ids`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from emr_autoscaler_dev.sandbox.clock import Clock
from emr_autoscaler_dev.sandbox.functions import EventSource
from emr_autoscaler_dev.sandbox.local_aws import LocalAws, moto_backends
from emr_autoscaler_dev.sandbox.runtime import Invocation, LambdaRuntime
from emr_autoscaler_dev.sandbox.template import REGION

DEDUPLICATION_WINDOW = timedelta(minutes=5)


@dataclass(frozen=True)
class Poll:
    """Poll is one invocation of the mapping: the batch's message ids and groups, and what the function failed."""

    invocation: Invocation
    message_ids: tuple[str, ...]
    groups: tuple[str, ...]
    failed_ids: frozenset[str]


@dataclass
class SqsEventSourceMapping:
    """SqsEventSourceMapping delivers one queue to one function as Lambda would (see the module's docstring).

    `polls` keeps every invocation it made, in order, with the wall-clock interval it ran in; `sqs_calls` counts
    the poller's own ReceiveMessage and DeleteMessageBatch calls (Lambda's, not the function's).
    """

    function: str
    source: EventSource
    runtime: LambdaRuntime
    aws: LocalAws
    clock: Clock
    arn: str
    polls: list[Poll] = field(default_factory=list)
    sqs_calls: int = 0
    _in_flight: dict[str, datetime] = field(default_factory=dict)

    @property
    def concurrency(self) -> int:
        """Concurrency is how many batches run at once: the MaximumConcurrency, else one."""
        return max(1, self.source.maximum_concurrency)

    def drain(self) -> int:
        """Drain delivers every visible message, concurrency batches at a time, and returns how many it handed over.

        Failed messages stay in flight until their visibility timeout passes on the simulated clock.
        """
        self._release_timed_out()
        sqs = self.aws.client("sqs")
        delivered = 0
        while True:
            batches: list[list[dict[str, Any]]] = []
            for _ in range(self.concurrency):
                try:
                    messages = sqs.receive_message(
                        QueueUrl=self.source.queue_url,
                        MaxNumberOfMessages=min(self.source.batch_size, 10),
                        AttributeNames=["All"],
                        MessageSystemAttributeNames=["All"],
                    ).get("Messages", [])
                except sqs.exceptions.QueueDoesNotExist:
                    return delivered  # Lambda's poller finds nothing to read either (and reports the mapping's error)
                self.sqs_calls += 1
                if not messages:
                    break
                batches.append(messages)
            if not batches:
                return delivered
            invocations = self.runtime.invoke_many(self.function, [self._event(batch) for batch in batches])
            for batch, invocation in zip(batches, invocations, strict=True):
                self._settle(sqs, batch, invocation)
                delivered += len(batch)

    def _event(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m.get("Attributes", {}),
                    "messageAttributes": {},
                    "md5OfBody": m.get("MD5OfBody", ""),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self.arn,
                    "awsRegion": REGION,
                }
                for m in messages
            ]
        }

    def _settle(self, sqs: Any, messages: list[dict[str, Any]], invocation: Invocation) -> None:
        """Delete what succeeded; keep what failed in flight until its visibility timeout (simulated) passes."""
        ids = [m["MessageId"] for m in messages]
        if invocation.error is not None:
            failed = set(ids)
        elif isinstance(invocation.result, dict):
            failed = {str(f.get("itemIdentifier")) for f in invocation.result.get("batchItemFailures", []) or []}
        else:
            failed = set()
        due = self.clock.now + timedelta(seconds=self.source.visibility_timeout_s)
        done = [m for m in messages if m["MessageId"] not in failed]
        for message in messages:
            if message["MessageId"] in failed:
                self._in_flight[message["MessageId"]] = due
        if done:
            sqs.delete_message_batch(
                QueueUrl=self.source.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
            self.sqs_calls += 1
        groups = tuple(str(m.get("Attributes", {}).get("MessageGroupId", "")) for m in messages)
        self.polls.append(Poll(invocation, tuple(ids), groups, frozenset(failed)))

    def _release_timed_out(self) -> None:
        """Make visible again (in moto, in process) the failed messages whose visibility timeout has passed.

        All of a group's released messages become visible together, so moto hands them out in their order.
        """
        due = {m for m, at in self._in_flight.items() if at <= self.clock.now}
        if not due:
            return
        queue = _moto_queue(self.source.queue_url)
        if queue is None:
            return
        for message in list(queue._messages):
            if message.id in due:
                message.visible_at = 0
                queue.pending_messages.discard(message)
        for message_id in due:
            del self._in_flight[message_id]


def _moto_queue(queue_url: str) -> Any:
    name = queue_url.rsplit("/", 1)[1]
    return next((b.queues[name] for b in moto_backends("sqs") if name in b.queues), None)


def remember_deduplication_ids(clock: Clock) -> Callable[[], None]:
    """Make moto's FIFO queues drop a message whose deduplication id was sent in the last 5 simulated minutes, even
    when the first message was already deleted (moto only compares with the messages still queued).

    Returns the function that restores moto.
    """
    from moto.sqs.models import Queue

    original = Queue.add_message
    seen: dict[tuple[str, str], datetime] = {}

    def add_message(self: Any, message: Any) -> None:
        dedup_id = getattr(message, "deduplication_id", None)
        if self.fifo_queue and dedup_id:
            key = (self.name, dedup_id)
            first = seen.get(key)
            if first is not None and clock.now - first < DEDUPLICATION_WINDOW:
                return  # accepted, never delivered: as SQS does with a duplicate
            seen[key] = clock.now
        original(self, message)

    Queue.add_message = add_message  # type: ignore[method-assign]

    def restore() -> None:
        Queue.add_message = original  # type: ignore[method-assign]

    return restore


def peak_parallelism(polls: list[Poll]) -> int:
    """Peak_parallelism is the most invocations whose wall-clock intervals overlapped at one instant."""
    edges = sorted(
        [(p.invocation.started_s, 1) for p in polls] + [(p.invocation.ended_s, -1) for p in polls],
        key=lambda edge: (edge[0], edge[1]),
    )
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak
