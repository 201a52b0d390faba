"""Which channels hear of a notice: the rules of the `notifications` configuration section, applied. Pure."""

from __future__ import annotations

from emr_autoscaler.kernel.config.notifications import NotificationsConfig
from emr_autoscaler.notifications.domain.notice import Notice

DEFAULT_PROFILE = "default"


def route_notice(notice: Notice, config: NotificationsConfig) -> tuple[str, ...]:
    """Route_notice returns the names of the channels that should hear of `notice`, in rule order, each once.

    Every matching rule contributes its channels; when none matches, the default channels get it.
    """
    chosen: list[str] = []
    for rule in config.rules:
        if rule.matches(notice.kind, notice.severity, notice.profile):
            chosen.extend(c for c in rule.channels if c not in chosen)
    if not chosen:
        chosen = list(config.default_channels)
    return tuple(chosen)
