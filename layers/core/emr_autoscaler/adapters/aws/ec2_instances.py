"""Ec2InstanceDirectory: which EMR cluster runs an EC2 instance, from one EC2 DescribeInstances call.

EC2's "Spot Instance Interruption Warning" names the instance only. EMR tags every EC2 instance of a cluster with the
system tags `aws:elasticmapreduce:job-flow-id` (the cluster id) and `aws:elasticmapreduce:instance-group-role`
("Tag clusters", https://docs.aws.amazon.com/emr/latest/ManagementGuide/emr-plan-tags.html), so one
DescribeInstances with the instance id says whether it is an EMR instance, and of which cluster
(https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstances.html: an unknown id is an error,
`InvalidInstanceID.NotFound` or `InvalidInstanceID.Malformed`; an instance of another account is left out of the
answer). `ec2:DescribeInstances` takes no resource-level permission (its Resource types column is empty in
https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html), so its IAM statement is on
Resource "*" (template.yaml, `Ec2DescribeInstances`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from emr_autoscaler.scaling.ports import InstanceUnresolvedError

logger = logging.getLogger(__name__)

CLUSTER_TAG = "aws:elasticmapreduce:job-flow-id"
_UNKNOWN = ("InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed")


class Ec2InstanceDirectory:
    """Ec2InstanceDirectory reads an instance's EMR cluster tag with one DescribeInstances (an InstanceDirectory).

    `client` makes the boto3 EC2 client, on first use only: EC2's service model is large, and most containers never
    see a Spot warning, so a cold start does not pay for it.
    """

    def __init__(self, client: Callable[[], Any]) -> None:
        self._make_client = client
        self._client: Any = None

    def cluster_of(self, ec2_instance_id: str) -> str | None:
        """Cluster_of is the instance's `aws:elasticmapreduce:job-flow-id` tag, None when it has none or EC2 does not
        know the instance; raises InstanceUnresolvedError when EC2 does not answer (throttled, refused, timed out)."""
        if self._client is None:
            self._client = self._make_client()
        try:
            answer = self._client.describe_instances(InstanceIds=[ec2_instance_id])
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in _UNKNOWN:
                logger.info("EC2 does not know instance %s (%s)", ec2_instance_id, code)
                return None
            raise InstanceUnresolvedError(f"EC2 DescribeInstances failed: {code or error}") from error
        except BotoCoreError as error:
            raise InstanceUnresolvedError(f"EC2 DescribeInstances failed: {type(error).__name__}") from error
        for reservation in answer.get("Reservations", []):
            for instance in reservation.get("Instances", []):
                if instance.get("InstanceId") != ec2_instance_id:
                    continue
                for tag in instance.get("Tags", []):
                    if tag.get("Key") == CLUSTER_TAG and tag.get("Value"):
                        return str(tag["Value"])
        return None
