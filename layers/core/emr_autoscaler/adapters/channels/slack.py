"""SlackChannel: a Block Kit message to a Slack incoming webhook."""

from __future__ import annotations

from emr_autoscaler.adapters.channels.webhook import WebhookChannel, json_body
from emr_autoscaler.notifications.domain.notice import Notice
from emr_autoscaler.notifications.domain.renderers import render_slack


class SlackChannel(WebhookChannel):
    """SlackChannel posts a Block Kit message to a Slack incoming webhook."""

    type_name = "slack"

    def send(self, notice: Notice) -> int:
        """Send delivers the notice; returns the number of HTTP requests; raises DeliveryFailedError."""
        return self._post(self._secret(), json_body(render_slack(notice)), {})
