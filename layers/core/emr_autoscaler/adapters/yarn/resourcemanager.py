"""ResourceManagerMetrics: YARN metrics read live from the ResourceManager REST API on the master node.

`GET http://<master private DNS>:8088/ws/v1/cluster/metrics` answers with the `clusterMetrics` object documented
in Hadoop's "ResourceManager REST API's" (memory in MB, CPU in vcores). It is fresh, but needs network access to
the master (a Lambda in the cluster's VPC). Any failure is logged and answered with None, so the metrics chain
can fall back to CloudWatch and the core can hold.
"""

from __future__ import annotations

import http.client
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from emr_autoscaler.adapters.direct_http import direct_opener
from emr_autoscaler.kernel.config.scaling import MetricsConfig
from emr_autoscaler.kernel.models import ClusterSnapshot, MetricsSource, YarnMetrics

logger = logging.getLogger(__name__)

DEFAULT_PORT = 8088
METRICS_PATH = "/ws/v1/cluster/metrics"
# A clusterMetrics answer is about 1 KB; anything far larger is not the ResourceManager.
_MAX_BODY_BYTES = 1 << 20


# Only the address EMR gave for the master: no redirect followed, no proxy.
_OPENER = direct_opener()


class _ClusterMetrics(BaseModel):
    """_ClusterMetrics is the part of the RM's `clusterMetrics` object the scaler uses (memory in MB).

    Strict: a string or float where the REST API documents an int means a broken or foreign answer.
    `pendingMB`/`pendingVirtualCores` are absent on older Hadoop 2 ResourceManagers.
    """

    model_config = ConfigDict(frozen=True, extra="ignore", strict=True, defer_build=True)

    apps_pending: int = Field(alias="appsPending", ge=0)
    apps_running: int = Field(alias="appsRunning", ge=0)
    containers_allocated: int = Field(alias="containersAllocated", ge=0)
    containers_pending: int = Field(alias="containersPending", ge=0)
    allocated_mb: int = Field(alias="allocatedMB", ge=0)
    available_mb: int = Field(alias="availableMB", ge=0)
    total_mb: int = Field(alias="totalMB", ge=0)
    pending_mb: int | None = Field(default=None, alias="pendingMB", ge=0)
    allocated_vcores: int = Field(alias="allocatedVirtualCores", ge=0)
    available_vcores: int = Field(alias="availableVirtualCores", ge=0)
    total_vcores: int = Field(alias="totalVirtualCores", ge=0)
    pending_vcores: int | None = Field(default=None, alias="pendingVirtualCores", ge=0)
    active_nodes: int = Field(alias="activeNodes", ge=0)


class _MetricsResponse(BaseModel):
    """_MetricsResponse is the body of `/ws/v1/cluster/metrics`: one `clusterMetrics` object."""

    model_config = ConfigDict(frozen=True, extra="ignore", strict=True, defer_build=True)

    cluster_metrics: _ClusterMetrics = Field(alias="clusterMetrics")


class ResourceManagerUnansweredError(Exception):
    """ResourceManagerUnansweredError: the RM gave no usable answer; `reason` says why, `status` is its HTTP code."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def get_json(url: str, timeout_s: float, max_bytes: int = _MAX_BODY_BYTES) -> Any:
    """Get_json GETs a ResourceManager REST URL (http only, no redirect, no proxy) and parses its JSON body.

    Times out after `timeout_s` per connect and per read; raises ResourceManagerUnansweredError for anything but a
    200 with at most `max_bytes` of JSON.
    """
    if urllib.parse.urlsplit(url).scheme != "http":
        raise ResourceManagerUnansweredError(f"refusing non-http URL {url!r}")
    request = urllib.request.Request(url, headers={"Accept": "application/json"}, method="GET")  # noqa: S310
    try:
        # The scheme was checked to be http above, so no file:// or other handler can be reached.
        with _OPENER.open(request, timeout=timeout_s) as response:
            status = response.status
            body: bytes = response.read(max_bytes + 1)
    except urllib.error.HTTPError as error:
        raise ResourceManagerUnansweredError(f"{url} answered HTTP {error.code}", error.code) from None
    except (OSError, http.client.HTTPException, ValueError) as error:
        # OSError covers URLError, refused connections and timeouts (TimeoutError).
        raise ResourceManagerUnansweredError(f"{url} could not be read ({type(error).__name__}: {error})") from None
    if status != 200:
        raise ResourceManagerUnansweredError(f"{url} answered HTTP {status}", status)
    if len(body) > max_bytes:
        raise ResourceManagerUnansweredError(f"{url} answered with more than {max_bytes} bytes")
    try:
        return json.loads(body)
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
        raise ResourceManagerUnansweredError(f"{url} answered with something that is not JSON ({error})") from None


class ResourceManagerMetrics:
    """ResourceManagerMetrics reads YARN metrics from the cluster's ResourceManager REST API (a YarnMetricsReader).

    `port` is the RM web port (8088 on EMR). `url_for` overrides where the metrics are read (the sandbox's RM
    emulator, tests); it returns the full URL of `/ws/v1/cluster/metrics`, or None when there is none. Only
    `http://` URLs are followed, never a redirect.
    """

    def __init__(self, port: int = DEFAULT_PORT, url_for: Callable[[ClusterSnapshot], str | None] | None = None):
        self._port = port
        self._url_for = url_for or self._master_url

    def read(self, snapshot: ClusterSnapshot, config: MetricsConfig, now: datetime) -> YarnMetrics | None:
        """Read returns the RM's live metrics stamped `now`, or None (logged) when the RM cannot answer.

        The RM request times out after `config.resourcemanager_timeout_s` seconds (per connect and per read).
        Without `pendingMB` (Hadoop 2), pending memory is estimated as containersPending times
        `config.estimated_container_memory_mb`.
        """
        url = self._url_for(snapshot)
        if url is None:
            self._warn_unavailable(snapshot, "no ResourceManager URL (the cluster has no master private DNS name yet)")
            return None
        try:
            document = get_json(url, config.resourcemanager_timeout_s)
        except ResourceManagerUnansweredError as error:
            self._warn_unavailable(snapshot, error.reason)
            return None
        if not isinstance(document, dict) or "clusterMetrics" not in document:
            self._warn_unavailable(snapshot, f"{url} answered without a clusterMetrics object")
            return None
        try:
            metrics = _MetricsResponse.model_validate(document).cluster_metrics
        except ValidationError as error:
            self._warn_unavailable(snapshot, f"{url} answered with invalid clusterMetrics: {_brief(error)}")
            return None
        return _to_yarn_metrics(metrics, config, now)

    def _master_url(self, snapshot: ClusterSnapshot) -> str | None:
        if not snapshot.master_private_dns:
            return None
        return f"http://{snapshot.master_private_dns}:{self._port}{METRICS_PATH}"

    @staticmethod
    def _warn_unavailable(snapshot: ClusterSnapshot, reason: str) -> None:
        logger.warning("ResourceManager metrics unavailable for %s: %s", snapshot.cluster_id, reason)


def _to_yarn_metrics(metrics: _ClusterMetrics, config: MetricsConfig, now: datetime) -> YarnMetrics:
    pending_estimated = metrics.pending_mb is None
    pending_memory_mb = (
        metrics.containers_pending * config.estimated_container_memory_mb
        if metrics.pending_mb is None
        else metrics.pending_mb
    )
    return YarnMetrics(
        source=MetricsSource.RESOURCE_MANAGER,
        observed_at=now,
        apps_running=metrics.apps_running,
        apps_pending=metrics.apps_pending,
        containers_allocated=metrics.containers_allocated,
        containers_pending=metrics.containers_pending,
        allocated_memory_mb=metrics.allocated_mb,
        available_memory_mb=metrics.available_mb,
        total_memory_mb=metrics.total_mb,
        pending_memory_mb=pending_memory_mb,
        allocated_vcores=metrics.allocated_vcores,
        available_vcores=metrics.available_vcores,
        total_vcores=metrics.total_vcores,
        pending_vcores=metrics.pending_vcores,
        active_nodes=metrics.active_nodes,
        pending_estimated=pending_estimated,
    )


def _brief(error: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors())
