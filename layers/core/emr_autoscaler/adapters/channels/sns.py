"""SnsChannel: publish a notice to an SNS topic (email and SMS subscribers), and the fallback topic."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from emr_autoscaler.notifications.domain.notice import Notice
from emr_autoscaler.notifications.domain.renderers import render_sns
from emr_autoscaler.notifications.ports import DeliveryFailedError


class SnsChannel:
    """SnsChannel publishes the notice's subject and plain text to one topic (botocore retries throttling)."""

    type_name = "sns"

    def __init__(self, name: str, topic_arn: str, client: Any) -> None:
        """`client` is a boto3 SNS client (no type stubs are installed for SNS)."""
        self.name = name
        self._topic_arn = topic_arn
        self._client = client

    def send(self, notice: Notice) -> int:
        """Send publishes the notice; returns 1 (one Publish call); raises DeliveryFailedError."""
        message = render_sns(notice)
        try:
            self._client.publish(TopicArn=self._topic_arn, Subject=message.subject, Message=message.message)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "?")
            raise DeliveryFailedError(f"SNS Publish refused ({code})", 1) from None
        except BotoCoreError as error:
            raise DeliveryFailedError(f"SNS Publish failed ({type(error).__name__})", 1) from None
        return 1
