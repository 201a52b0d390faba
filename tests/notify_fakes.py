"""Fakes of the notifier's ports: in-memory, recording every call, able to fail on demand (no mocks)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from emr_autoscaler.kernel.config.notifications import ChannelConfig
from emr_autoscaler.notifications.domain.notice import ClusterFacts, Notice, StepFailure
from emr_autoscaler.notifications.ports import DedupClaim, DeliveryFailedError


@dataclass
class RecordingChannel:
    """RecordingChannel keeps every notice it is sent; `fail_with` makes every send fail with that reason."""

    name: str
    type_name: str = "slack"
    fail_with: str | None = None
    sent: list[Notice] = field(default_factory=list)

    def send(self, notice: Notice) -> int:
        if self.fail_with is not None:
            raise DeliveryFailedError(self.fail_with, 3)
        self.sent.append(notice)
        return 1


@dataclass
class FakeChannels:
    """FakeChannels hands out one RecordingChannel per configured name."""

    built: dict[str, RecordingChannel] = field(default_factory=dict)
    failing: dict[str, str] = field(default_factory=dict)

    def channel(self, name: str, config: ChannelConfig) -> RecordingChannel:
        if name not in self.built:
            self.built[name] = RecordingChannel(name, config.type.value, self.failing.get(name))
        return self.built[name]


@dataclass
class InMemoryDedup:
    """InMemoryDedup has the DynamoDB store's semantics: one window per key, folds counted, retries resend."""

    windows: dict[tuple[str | None, str, str], tuple[datetime, int, str]] = field(default_factory=dict)
    done: set[tuple[str | None, str, str]] = field(default_factory=set)

    def claim(self, notice: Notice, window_s: int, now: datetime) -> DedupClaim:
        key = (notice.cluster_id, notice.kind.value, notice.dedup_reason)
        opened = self.windows.get(key)
        same = opened is not None and opened[2] == notice.event_id
        if same and key in self.done:
            return DedupClaim(send=False, duplicate=True)
        if opened is None or opened[0] <= now - timedelta(seconds=window_s) or same:
            folded = 0 if opened is None or same else opened[1]
            self.windows[key] = (now, 0, notice.event_id)
            self.done.discard(key)
            return DedupClaim(send=True, folded_before=folded)
        self.windows[key] = (opened[0], opened[1] + 1, opened[2])
        return DedupClaim(send=False)

    def delivered(self, notice: Notice) -> None:
        self.done.add((notice.cluster_id, notice.kind.value, notice.dedup_reason))

    def release(self, notice: Notice) -> None:
        self.done.discard((notice.cluster_id, notice.kind.value, notice.dedup_reason))


@dataclass
class RecordingDeadLetters:
    """RecordingDeadLetters keeps (channel, reason); `broken` makes it raise like an SQS outage."""

    letters: list[tuple[str, str]] = field(default_factory=list)
    broken: bool = False

    def send(self, channel: str, channel_type: str, notice: Notice, reason: str) -> None:
        if self.broken:
            raise RuntimeError("SQS is down")
        self.letters.append((channel, reason))


@dataclass
class StaticContext:
    """StaticContext answers fixed cluster facts and step failures, and counts the lookups."""

    facts: ClusterFacts | None = None
    failure: StepFailure | None = None
    lookups: list[str] = field(default_factory=list)

    def cluster(self, cluster_id: str) -> ClusterFacts | None:
        self.lookups.append(f"cluster {cluster_id}")
        return self.facts

    def step_failure(self, cluster_id: str, step_id: str) -> StepFailure | None:
        self.lookups.append(f"step {step_id}")
        return self.failure


@dataclass
class DictSecrets:
    """DictSecrets stands in for Powertools' SecretsProvider (`get(name, max_age=...)`)."""

    values: dict[str, str] = field(default_factory=dict)
    reads: list[str] = field(default_factory=list)

    def get(self, name: str, max_age: int = 0, **_: Any) -> str:
        self.reads.append(name)
        if name not in self.values:
            raise LookupError(name)
        return self.values[name]


@dataclass
class Counter:
    """Counter records metrics by name."""

    counts: dict[str, int] = field(default_factory=dict)

    def __call__(self, name: str, value: int) -> None:
        self.counts[name] = self.counts.get(name, 0) + value
