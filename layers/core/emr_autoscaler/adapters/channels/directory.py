"""ChannelDirectory: builds each configured channel once per warm container (the ChannelFactory port)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from emr_autoscaler.adapters.aws.secrets import WebhookSecrets
from emr_autoscaler.adapters.channels.http import HttpPoster
from emr_autoscaler.adapters.channels.slack import SlackChannel
from emr_autoscaler.adapters.channels.sns import SnsChannel
from emr_autoscaler.adapters.channels.teams import TeamsChannel
from emr_autoscaler.adapters.channels.webhook import SignedWebhookChannel
from emr_autoscaler.kernel.config.notifications import ChannelConfig, ChannelType
from emr_autoscaler.notifications.ports import Channel


class ChannelDirectory:
    """ChannelDirectory maps a (name, ChannelConfig) to its channel; a changed config builds a new one."""

    def __init__(
        self,
        secrets: WebhookSecrets,
        poster: HttpPoster,
        sns_client: Any,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secrets = secrets
        self._poster = poster
        self._sns = sns_client
        self._clock = clock
        self._built: dict[tuple[str, ChannelConfig], Channel] = {}

    def channel(self, name: str, config: ChannelConfig) -> Channel:
        """Channel returns the channel for this configuration entry (validated: secret or topic present)."""
        key = (name, config)
        if key not in self._built:
            self._built[key] = self._build(name, config)
        return self._built[key]

    def _build(self, name: str, config: ChannelConfig) -> Channel:
        if config.type is ChannelType.SNS:
            assert config.topic_arn is not None  # ChannelConfig's validator guarantees it
            return SnsChannel(name, config.topic_arn, self._sns)
        assert config.secret is not None
        if config.type is ChannelType.SLACK:
            return SlackChannel(name, config.secret, self._secrets, self._poster)
        if config.type is ChannelType.TEAMS:
            return TeamsChannel(name, config.secret, self._secrets, self._poster)
        return SignedWebhookChannel(name, config.secret, self._secrets, self._poster, clock=self._clock)
