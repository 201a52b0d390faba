"""Ports of the notify job: channels, the dedup store, dead letters and what EMR knows. Adapters implement them.

Only domain values cross a port: a `Notice` in, a `DedupClaim` or a count out; HTTP and boto3 stay in adapters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from emr_autoscaler.kernel.config.notifications import ChannelConfig
from emr_autoscaler.notifications.domain.notice import ClusterFacts, Notice, StepFailure


class DeliveryFailedError(RuntimeError):
    """DeliveryFailedError: the channel did not accept the message; `reason` is safe to log (no URL, no secret)."""

    def __init__(self, reason: str, requests: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.requests = requests


@dataclass(frozen=True)
class DedupClaim:
    """DedupClaim says whether to send; `folded_before` is how many were folded in the window before this one."""

    send: bool
    folded_before: int = 0
    duplicate: bool = False


FALLBACK_CHANNEL = "fallback"


class Channel(Protocol):
    """Channel delivers a notice to one destination."""

    name: str
    type_name: str

    def send(self, notice: Notice) -> int:
        """Send delivers the notice; returns the requests made; raises DeliveryFailedError."""
        ...


class ChannelFactory(Protocol):
    """ChannelFactory builds (or reuses) the channel a configuration entry describes."""

    def channel(self, name: str, config: ChannelConfig) -> Channel:
        """Channel returns the channel called `name` for `config`."""
        ...


class DedupStore(Protocol):
    """DedupStore decides whether a notice opens a window (send) or folds into the open one."""

    def claim(self, notice: Notice, window_s: int, now: datetime) -> DedupClaim:
        """Claim returns send-or-fold, and how many were folded before this one."""
        ...

    def delivered(self, notice: Notice) -> None:
        """Delivered marks the claimed window's message as sent."""
        ...

    def release(self, notice: Notice) -> None:
        """Release ends a claim whose delivery failed, so the event's retry sends again."""
        ...


class DeadLetters(Protocol):
    """DeadLetters keeps notices a channel could not take."""

    def send(self, channel: str, channel_type: str, notice: Notice, reason: str) -> None:
        """Send records the undelivered notice; raises when it cannot (the invocation is then retried)."""
        ...


class NoticeContext(Protocol):
    """NoticeContext answers what EMR knows about a cluster and a failed step (None when it cannot)."""

    def cluster(self, cluster_id: str) -> ClusterFacts | None:
        """Cluster returns the cluster's name, profile and log URI."""
        ...

    def step_failure(self, cluster_id: str, step_id: str) -> StepFailure | None:
        """Step_failure returns the step's name and failure details."""
        ...
