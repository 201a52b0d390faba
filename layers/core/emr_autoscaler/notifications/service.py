"""Use case of the notify job: an event becomes at most one message per channel, folded, routed, never lost.

`Notifier.handle` parses the event (unknown ones are ignored with a reason), folds it into an open dedup window
or claims one, fills in what EMR knows (names, profile, failure details), routes it by the configuration's
rules and delivers it to each channel. A channel that still fails after its retries gets a dead letter (SQS,
naming the channel) and the `NotificationDeadLettered` metric; a critical notice that missed any channel also
goes to the fallback SNS topic.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from emr_autoscaler.eventbridge import Ignored
from emr_autoscaler.kernel.config.document import ConfigInvalidError
from emr_autoscaler.kernel.config.notifications import NotificationsConfig
from emr_autoscaler.kernel.config.source import ConfigSource
from emr_autoscaler.kernel.notices import NoticeKind, Severity
from emr_autoscaler.notifications.domain.notice import Notice, enrich
from emr_autoscaler.notifications.domain.routing import route_notice
from emr_autoscaler.notifications.ports import (
    Channel,
    ChannelFactory,
    DeadLetters,
    DedupClaim,
    DedupStore,
    DeliveryFailedError,
    NoticeContext,
)
from emr_autoscaler.notifications.triggers import parse_notice_event

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    """Delivery is what became of a notice on one channel."""

    channel: str
    delivered: bool
    requests: int
    error: str | None = None
    dead_lettered: bool = False

    def as_dict(self) -> dict[str, Any]:
        """As_dict is the JSON-ready form."""
        return {
            "channel": self.channel,
            "delivered": self.delivered,
            "requests": self.requests,
            "error": self.error,
            "dead_lettered": self.dead_lettered,
        }


@dataclass
class Notifier:
    """Notifier wires the notify job's ports. Build it once per cold start (see bootstrap.build_notifier).

    `count(name, value)` adds a metric (Powertools EMF in Lambda); `fallback` is the SNS channel critical
    notices fall back to; `clock` gives the timezone-aware now.
    """

    config: ConfigSource
    dedup: DedupStore
    channels: ChannelFactory
    dead_letters: DeadLetters
    context: NoticeContext
    clock: Callable[[], datetime]
    count: Callable[[str, int], None]
    fallback: Channel | None = None

    def handle(self, event: Any) -> dict[str, Any]:
        """Handle turns one EventBridge event into deliveries and returns the invocation's summary.

        Raises only when a dead letter cannot be written (or the state table fails), so Lambda retries the
        event; that retry sends again, while a duplicate of an event already notified sends nothing.
        """
        started = time.perf_counter()
        parsed = parse_notice_event(event)
        if isinstance(parsed, Ignored):
            logger.info("event ignored: %s", parsed.reason)
            return {"ignored": True, "reason": parsed.reason}
        notice = parsed
        settings = self._settings()
        claim = (
            self.dedup.claim(notice, settings.dedup_window_s, self.clock())
            if settings.dedup_window_s > 0
            else DedupClaim(send=True)
        )
        base = {"ignored": False, "event_id": notice.event_id, "kind": notice.kind.value}
        if not claim.send:
            if claim.duplicate:
                logger.info("duplicate of an event already notified: %s", notice.event_id)
                return {**base, "folded": False, "duplicate": True, "deliveries": []}
            self.count("NotificationFolded", 1)
            logger.info(
                "notice folded into an open window: %s",
                notice.title,
                extra={"cluster_id": notice.cluster_id, "kind": notice.kind.value},
            )
            return {**base, "folded": True, "deliveries": []}
        claimed = settings.dedup_window_s > 0
        notice = self._enriched(notice).model_copy(
            update={"folded_count": claim.folded_before, "folded_window_s": settings.dedup_window_s}
        )
        try:
            deliveries = self._deliver(notice, settings)
        except Exception:
            if claimed:
                self.dedup.release(notice)  # the retry of this event must send again
            raise
        if claimed:
            self.dedup.delivered(notice)
        latency_ms = (time.perf_counter() - started) * 1000.0
        logger.info(
            notice.title,
            extra={
                "cluster_id": notice.cluster_id,
                "kind": notice.kind.value,
                "severity": notice.severity.value,
                "deliveries": [d.as_dict() for d in deliveries],
                "latency_ms": round(latency_ms, 2),
            },
        )
        return {
            **base,
            "folded": False,
            "severity": notice.severity.value,
            "title": notice.title,
            "folded_before": claim.folded_before,
            "deliveries": [d.as_dict() for d in deliveries],
            "latency_ms": round(latency_ms, 2),
        }

    def _settings(self) -> NotificationsConfig:
        try:
            return self.config.current().notifications
        except ConfigInvalidError as error:
            # No valid document yet: no routes, so every notice goes to the fallback topic rather than nowhere.
            logger.warning("no valid configuration (%s); notices go to the fallback topic", error)
            return NotificationsConfig()

    def _enriched(self, notice: Notice) -> Notice:
        if notice.cluster_id is None:
            return notice
        cluster = self.context.cluster(notice.cluster_id)
        failure = None
        if notice.kind is NoticeKind.STEP_FAILED and notice.step_id:
            failure = self.context.step_failure(notice.cluster_id, notice.step_id)
        return enrich(notice, cluster, failure)

    def _deliver(self, notice: Notice, settings: NotificationsConfig) -> list[Delivery]:
        names = route_notice(notice, settings)
        channels = [self.channels.channel(name, settings.channels[name]) for name in names]
        if not channels:
            if self.fallback is None:
                logger.error("notice %s has no channel and no fallback topic: %s", notice.event_id, notice.title)
                return []
            channels = [self.fallback]
        deliveries = [self._send(channel, notice) for channel in channels]
        missed = any(not d.delivered for d in deliveries)
        tried_fallback = any(c is self.fallback for c in channels)
        if missed and notice.severity is Severity.CRITICAL and self.fallback is not None and not tried_fallback:
            self.count("NotificationFallback", 1)
            deliveries.append(self._send(self.fallback, notice))
        return deliveries

    def _send(self, channel: Channel, notice: Notice) -> Delivery:
        try:
            requests = channel.send(notice)
        except DeliveryFailedError as error:
            return self._dead_letter(channel, notice, error.reason, error.requests)
        except Exception as error:
            # An unexpected failure of one channel must not cost the others their message.
            logger.exception("channel %s failed unexpectedly", channel.name)
            return self._dead_letter(channel, notice, f"unexpected {type(error).__name__}", 0)
        self.count("NotificationSent", 1)
        return Delivery(channel=channel.name, delivered=True, requests=requests)

    def _dead_letter(self, channel: Channel, notice: Notice, reason: str, requests: int) -> Delivery:
        logger.error(
            "notice could not be delivered to channel %s: %s",
            channel.name,
            reason,
            extra={"cluster_id": notice.cluster_id, "kind": notice.kind.value, "channel": channel.name},
        )
        self.dead_letters.send(channel.name, channel.type_name, notice, reason)
        self.count("NotificationDeadLettered", 1)
        return Delivery(channel=channel.name, delivered=False, requests=requests, error=reason, dead_lettered=True)
