"""TeamsChannel: an Adaptive Card to a Microsoft Teams workflow webhook."""

from __future__ import annotations

from emr_autoscaler.adapters.channels.webhook import WebhookChannel, json_body
from emr_autoscaler.notifications.domain.notice import Notice
from emr_autoscaler.notifications.domain.renderers import render_teams


class TeamsChannel(WebhookChannel):
    """TeamsChannel posts an Adaptive Card to a Microsoft Teams workflow (or connector) webhook."""

    type_name = "teams"

    def send(self, notice: Notice) -> int:
        """Send delivers the notice; returns the number of HTTP requests; raises DeliveryFailedError."""
        return self._post(self._secret(), json_body(render_teams(notice)), {})
