"""One pure renderer per channel: a Notice in, the channel's message out (Slack, Teams, webhook, SNS).

Every text field of a notice may carry user-controlled text (cluster and step names, failure messages): each
renderer escapes it for its channel and truncates it to the channel's limits, keeping the log location.
"""

from emr_autoscaler.notifications.domain.renderers.common import facts, plain_text
from emr_autoscaler.notifications.domain.renderers.slack import render_slack
from emr_autoscaler.notifications.domain.renderers.sns import SnsMessage, render_sns
from emr_autoscaler.notifications.domain.renderers.teams import render_teams
from emr_autoscaler.notifications.domain.renderers.webhook import render_webhook, sign_webhook, verify_webhook

__all__ = [
    "SnsMessage",
    "facts",
    "plain_text",
    "render_slack",
    "render_sns",
    "render_teams",
    "render_webhook",
    "sign_webhook",
    "verify_webhook",
]
