"""ActiveResourceManagers: which of a cluster's primary nodes runs the active ResourceManager, found and remembered.

A cluster with three primary nodes runs a ResourceManager on each; one is active, the others standby (EMR's
"Features that support high availability", https://docs.aws.amazon.com/emr/latest/ManagementGuide/
emr-plan-ha-applications.html). A standby answers a REST call with HTTP 307 and a Location naming the active RM, except
`/ws/v1/cluster/info`, which it answers itself with `haState: STANDBY` (Hadoop's RMWebAppFilter; `haState` is
documented in "ResourceManager REST API's", Cluster Information API,
https://hadoop.apache.org/docs/current/hadoop-yarn/hadoop-yarn-site/ResourceManagerRest.html). With no active RM the
standby answers 307 without a Location.

So, per cluster, in this container's memory: ask the RM last found active (at first, the master DNS name
DescribeCluster gave). A redirect is followed once, and only to another primary node of the same cluster on the RM
port and the same path: the addresses come from EMR's ListInstances (`primaries`), never from the redirect itself,
so a compromised or misconfigured node cannot send the scaler elsewhere; any other redirect is refused and logged.
When the RM asked does not answer (its node is gone), the other primaries are asked `/ws/v1/cluster/info` and the
one that says ACTIVE is used. A cold container finds the active RM again within one evaluation.

When the primaries cannot be listed (ListInstances throttled past botocore's retries, refused, or answered in a shape
the scaler cannot read), the RM counts as unanswered, with that cause: the metrics chain then falls back to
CloudWatch (or the core holds on missing metrics); the evaluation never fails for it.
"""

from __future__ import annotations

import logging
import threading
import urllib.parse
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from emr_autoscaler.adapters.yarn.rest import ResourceManagerUnansweredError, get_json
from emr_autoscaler.kernel.models import ClusterSnapshot, GroupRole
from emr_autoscaler.scaling.ports import ClusterUnreadableError

logger = logging.getLogger(__name__)

INFO_PATH = "/ws/v1/cluster/info"
# A cluster's primary nodes, each by its names (private IP address first, then private DNS name).
Primaries = Callable[[ClusterSnapshot], tuple[tuple[str, ...], ...]]


class PrimariesUnlistedError(ResourceManagerUnansweredError):
    """PrimariesUnlistedError: the cluster's primary nodes could not be listed (EMR ListInstances failed), so the
    active RM cannot be found; asking again within this evaluation would not help."""


def _host_of(url: str) -> tuple[str, int | None, str]:
    parts = urllib.parse.urlsplit(url)
    return (parts.hostname or "").lower(), parts.port, parts.path


def several_primaries(snapshot: ClusterSnapshot) -> bool:
    """Several_primaries is true when EMR shows more than one primary node (a high-availability cluster)."""
    groups = [g.requested_count for g in snapshot.groups if g.role is GroupRole.MASTER]
    fleets = [f.target_units for f in snapshot.fleets if f.role is GroupRole.MASTER]
    return any(n > 1 for n in groups + fleets)


class ActiveResourceManagers:
    """ActiveResourceManagers sends GETs to a cluster's active ResourceManager (see the module's doc).

    `primaries` lists a cluster's primary node addresses (EmrPrimaryNodes.addresses); without it, only the master
    DNS name is asked and no redirect is followed. `port` is the RM web port.
    """

    def __init__(self, port: int, primaries: Primaries | None = None) -> None:
        self._port = port
        self._primaries = primaries
        self._active: dict[str, str] = {}
        self._known: dict[str, tuple[tuple[str, ...], ...]] = {}
        self._lock = threading.Lock()

    def active(self, cluster_id: str) -> str | None:
        """Active is the host last found active for the cluster in this container, if any."""
        with self._lock:
            return self._active.get(cluster_id)

    def get(self, snapshot: ClusterSnapshot, path: str, timeout_s: float) -> Any:
        """Get GETs `path` from the cluster's active RM and returns its JSON; raises ResourceManagerUnansweredError."""
        first = self.active(snapshot.cluster_id) or snapshot.master_private_dns
        if not first:
            raise ResourceManagerUnansweredError(
                "no ResourceManager address (the cluster has no master private DNS name yet)"
            )
        try:
            return self._get_following(snapshot, first, path, timeout_s)
        except PrimariesUnlistedError:
            raise  # ListInstances failed: asking it again for the other primaries would fail alike
        except ResourceManagerUnansweredError as error:
            if error.status is not None and error.location is None and error.status not in (307, 503):
                raise  # the RM answered (a 404, a 500): another primary would not answer better
            if self._primaries is None or not several_primaries(snapshot):
                raise
            found = self._find_active(snapshot, exclude=first, timeout_s=timeout_s)
            if found is None:
                raise
            return self._get_following(snapshot, found, path, timeout_s)

    def _url(self, host: str, path: str) -> str:
        return f"http://{host}:{self._port}{path}"

    def _get_following(self, snapshot: ClusterSnapshot, host: str, path: str, timeout_s: float) -> Any:
        try:
            document = get_json(self._url(host, path), timeout_s)
        except ResourceManagerUnansweredError as error:
            if error.location is None:
                raise
            target = self._redirect_target(snapshot, error.location, path)
            if target is None:
                raise ResourceManagerUnansweredError(
                    f"{error.reason}; its redirect to {error.location!r} was refused", error.status
                ) from None
            logger.info("ResourceManager on %s is standby; following to the active one on %s", host, target)
            document = get_json(self._url(target, path), timeout_s)  # once: a second redirect is not followed
            host = target
        self._remember(snapshot.cluster_id, host)
        return document

    def _redirect_target(self, snapshot: ClusterSnapshot, location: str, path: str) -> str | None:
        """The primary node a redirect may be followed to, or None (refused, logged)."""
        host, port, target_path = _host_of(location)
        scheme = urllib.parse.urlsplit(location).scheme
        why = None
        if self._primaries is None:
            why = "this scaler does not look up primary nodes"
        elif scheme != "http" or port != self._port or target_path.rstrip("/") != path.rstrip("/"):
            why = f"only http://<primary>:{self._port}{path} is followed"
        elif not any(host in names for names in self._primary_nodes(snapshot, must_include=host)):
            why = "it is not a primary node of the cluster (EMR ListInstances)"
        if why is not None:
            logger.warning("Refused a ResourceManager redirect for %s to %r: %s", snapshot.cluster_id, location, why)
            return None
        return host

    def _primary_nodes(
        self, snapshot: ClusterSnapshot, must_include: str | None = None, fresh: bool = False
    ) -> tuple[tuple[str, ...], ...]:
        """The cluster's primary nodes (names in lower case), re-read from EMR when asked `fresh` or when
        `must_include` is none of the known names (EMR replaces a failed primary with a new node)."""
        assert self._primaries is not None
        with self._lock:
            known = self._known.get(snapshot.cluster_id)
        if known is None or fresh or (must_include is not None and not any(must_include in n for n in known)):
            try:
                listed = self._primaries(snapshot)
            except (ClientError, BotoCoreError, ClusterUnreadableError) as error:
                raise PrimariesUnlistedError(
                    f"the primary nodes could not be listed (EMR ListInstances): {error}"
                ) from error
            known = tuple(tuple(name.lower() for name in node) for node in listed if node)
            with self._lock:
                self._known[snapshot.cluster_id] = known
        return known

    def _find_active(self, snapshot: ClusterSnapshot, exclude: str, timeout_s: float) -> str | None:
        """Ask each other primary's `/ws/v1/cluster/info` (never redirected) which one is ACTIVE."""
        for names in self._primary_nodes(snapshot, fresh=True):
            if exclude.lower() in names:
                continue
            host = names[0]
            try:
                info = get_json(self._url(host, INFO_PATH), timeout_s)
            except ResourceManagerUnansweredError as error:
                logger.info("ResourceManager on %s did not say its state: %s", host, error.reason)
                continue
            state = ((info or {}).get("clusterInfo") or {}).get("haState") if isinstance(info, dict) else None
            if state == "ACTIVE":
                logger.warning(
                    "The active ResourceManager of %s is now on %s (was %s)", snapshot.cluster_id, host, exclude
                )
                return host
        return None

    def _remember(self, cluster_id: str, host: str) -> None:
        with self._lock:
            self._active[cluster_id] = host
