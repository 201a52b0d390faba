"""The `notifications` section of the configuration document: named channels and routing rules.

Channels are named; each says where its messages go: a Secrets Manager secret holding the webhook URL (and, for
the generic webhook, the signing secret), or an SNS topic ARN. Secrets never appear in the document itself.
Rules select notices by kind, minimum severity and cluster profile; every matching rule adds its channels; a
notice no rule matches goes to `default_channels`.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Self

from pydantic import Field, field_validator, model_validator

from emr_autoscaler.kernel.models import Frozen
from emr_autoscaler.kernel.notices import NoticeKind, Severity, severity_rank

DEFAULT_PROFILE = "default"


# Secrets Manager names: 1-512 of [A-Za-z0-9/_+=.@-]. The notifier may read only `<stack>/...` secrets (IAM).
_SECRET_NAME = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")


_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$")


_CHANNEL_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class ChannelType(StrEnum):
    """ChannelType is where a channel delivers: a Slack or Teams webhook, a signed generic webhook, an SNS topic."""

    SLACK = "slack"
    TEAMS = "teams"
    WEBHOOK = "webhook"
    SNS = "sns"


class ChannelConfig(Frozen):
    """ChannelConfig is one named channel: its type, and `secret` (webhooks) or `topic_arn` (SNS)."""

    type: ChannelType
    secret: str | None = None
    topic_arn: str | None = None

    @field_validator("secret")
    @classmethod
    def _secret_name(cls, value: str | None) -> str | None:
        if value is not None and not _SECRET_NAME.match(value):
            raise ValueError("must be a Secrets Manager secret name (never the URL itself)")
        return value

    @field_validator("topic_arn")
    @classmethod
    def _topic(cls, value: str | None) -> str | None:
        if value is not None and not _TOPIC_ARN.match(value):
            raise ValueError("must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)")
        return value

    @model_validator(mode="after")
    def _destination_fits_type(self) -> Self:
        if self.type is ChannelType.SNS:
            if self.topic_arn is None or self.secret is not None:
                raise ValueError("an sns channel needs topic_arn (and no secret)")
        elif self.secret is None or self.topic_arn is not None:
            raise ValueError(f"a {self.type.value} channel needs secret (a Secrets Manager name) and no topic_arn")
        return self


class RouteRule(Frozen):
    """RouteRule sends notices of `kinds` (all when empty), at least `min_severity`, about clusters of `profiles`
    (all when empty; `default` for clusters without a profile tag) to `channels`."""

    kinds: tuple[NoticeKind, ...] = ()
    min_severity: Severity = Severity.INFO
    profiles: tuple[str, ...] = ()
    channels: tuple[str, ...] = Field(min_length=1)

    def matches(self, kind: NoticeKind, severity: Severity, profile: str | None) -> bool:
        """Matches says whether the rule selects a notice of `kind` and `severity` about a cluster of `profile`."""
        if self.kinds and kind not in self.kinds:
            return False
        if severity_rank(severity) < severity_rank(self.min_severity):
            return False
        return not self.profiles or (profile or DEFAULT_PROFILE) in self.profiles


class NotificationsConfig(Frozen):
    """NotificationsConfig is the document's `notifications` section: channels, rules, default, dedup window.

    `dedup_window_s` (seconds): the same (cluster, kind, reason) within it sends one message; the next one after
    the window says how many were folded.
    """

    channels: dict[str, ChannelConfig] = Field(default_factory=dict)
    rules: tuple[RouteRule, ...] = ()
    default_channels: tuple[str, ...] = ()
    dedup_window_s: int = Field(default=600, ge=0, le=86400)

    @field_validator("channels")
    @classmethod
    def _channel_names(cls, value: dict[str, ChannelConfig]) -> dict[str, ChannelConfig]:
        for name in value:
            if not _CHANNEL_NAME.match(name):
                raise ValueError(f"channel name {name!r} must be 1-64 of a-z, 0-9, '-', '_' (starting alphanumeric)")
        return value

    @model_validator(mode="after")
    def _routes_name_known_channels(self) -> Self:
        known = set(self.channels)
        for index, rule in enumerate(self.rules):
            unknown = [c for c in rule.channels if c not in known]
            if unknown:
                raise ValueError(f"rules[{index}] names unknown channel(s): {', '.join(unknown)}")
        unknown = [c for c in self.default_channels if c not in known]
        if unknown:
            raise ValueError(f"default_channels names unknown channel(s): {', '.join(unknown)}")
        return self
