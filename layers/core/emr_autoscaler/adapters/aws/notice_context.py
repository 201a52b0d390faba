"""EmrNoticeContext: what EMR knows that an event lacks: cluster name, profile tag, log URI, step failure details.

DescribeCluster answers are cached per warm container for `cache_s` seconds (names and tags rarely change);
DescribeStep is read once per failed step. Any failure is logged and answered with None: a notice with fewer
details is better than no notice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from emr_autoscaler.kernel.ids import PROFILE_TAG
from emr_autoscaler.notifications.domain.notice import ClusterFacts, StepFailure

if TYPE_CHECKING:
    from mypy_boto3_emr import EMRClient

logger = logging.getLogger(__name__)


class EmrNoticeContext:
    """EmrNoticeContext reads cluster facts and step failure details with DescribeCluster and DescribeStep."""

    def __init__(self, client: EMRClient, cache_s: float = 300.0, monotonic: Callable[[], float] = time.monotonic):
        self._client = client
        self._cache_s = cache_s
        self._monotonic = monotonic
        self._clusters: dict[str, tuple[float, ClusterFacts]] = {}

    def cluster(self, cluster_id: str) -> ClusterFacts | None:
        """Cluster returns the cluster's name, profile tag and log URI, or None when EMR cannot say."""
        cached = self._clusters.get(cluster_id)
        if cached is not None and self._monotonic() - cached[0] < self._cache_s:
            return cached[1]
        try:
            cluster = self._client.describe_cluster(ClusterId=cluster_id)["Cluster"]
        except Exception as error:  # any failure: the notice goes out with fewer details
            logger.warning("could not describe cluster %s for its notice: %s", cluster_id, type(error).__name__)
            return None
        tags = {t.get("Key"): t.get("Value", "") for t in cluster.get("Tags", [])}
        facts = ClusterFacts(
            name=cluster.get("Name") or None,
            profile=(tags.get(PROFILE_TAG) or "").strip() or None,
            log_uri=cluster.get("LogUri") or None,
        )
        self._clusters[cluster_id] = (self._monotonic(), facts)
        return facts

    def step_failure(self, cluster_id: str, step_id: str) -> StepFailure | None:
        """Step_failure returns the step's name and EMR's FailureDetails, or None when EMR cannot say."""
        try:
            step = self._client.describe_step(ClusterId=cluster_id, StepId=step_id)["Step"]
        except Exception as error:  # any failure: the notice goes out with fewer details
            logger.warning("could not describe step %s of %s: %s", step_id, cluster_id, type(error).__name__)
            return None
        details = step.get("Status", {}).get("FailureDetails", {})
        return StepFailure(
            step_name=step.get("Name") or None,
            reason=details.get("Reason") or None,
            message=details.get("Message") or None,
            log_file=details.get("LogFile") or None,
        )
