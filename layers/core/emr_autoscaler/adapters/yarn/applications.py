"""ResourceManagerApplications: the YarnApplications port over the ResourceManager REST API on the master node.

`GET http://<master>:8088/ws/v1/cluster/apps/{appid}` answers `{"app": {...}}` with `state`, `finalStatus`,
`diagnostics`, `startedTime` and `finishedTime` (ms since the epoch), or 404 with a `RemoteException` for an id the
RM does not know; `GET /ws/v1/cluster/apps?startedTimeBegin=&startedTimeEnd=` lists apps as `{"apps": {"app": [...]}}`
(or `{"apps": null}` when none). Hadoop's "ResourceManager REST API's", Cluster Application(s) API:
https://hadoop.apache.org/docs/current/hadoop-yarn/hadoop-yarn-site/ResourceManagerRest.html

Which applications are the step's: the ids its logs name (spark-submit prints "Submitted application …"), else,
on a cluster that runs one step at a time, the applications that started while the step ran and did not succeed.
The RM is reached at the master's address from DescribeCluster, through the same VPC placement as the metrics call.
Every failure (no answer, 404, foreign or out-of-window application, bad JSON) is a SKIPPED evidence with a note.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from emr_autoscaler.adapters.yarn.resourcemanager import DEFAULT_PORT
from emr_autoscaler.adapters.yarn.rest import ResourceManagerUnansweredError, get_json
from emr_autoscaler.kernel.config.steps import MAX_EVIDENCE_CHARS
from emr_autoscaler.kernel.models import ClusterSnapshot
from emr_autoscaler.steps.domain.evidence import MAX_APPLICATIONS, Evidence, EvidenceSource, EvidenceState
from emr_autoscaler.steps.domain.models import FailedStep

logger = logging.getLogger(__name__)

APPS_PATH = "/ws/v1/cluster/apps"
_APPLICATION_ID = re.compile(r"^application_\d{10,16}_\d{1,10}$")
# Applications start a little after their step and are reported a little after it ends.
_WINDOW_SLACK = timedelta(seconds=120)
_UNSUCCESSFUL = {"FAILED", "KILLED"}
_APPS_LIST_MAX_BYTES = 4 << 20


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _from_ms(value: Any) -> datetime | None:
    return datetime.fromtimestamp(value / 1000, tz=UTC) if isinstance(value, int) and value > 0 else None


def _within_run(step: FailedStep, moment: datetime) -> bool:
    """True when `moment` falls in the step's run (with slack), or the run's times are unknown."""
    if step.started_at is None or step.ended_at is None:
        return True
    return step.started_at - _WINDOW_SLACK <= moment <= step.ended_at + _WINDOW_SLACK


class ResourceManagerApplications:
    """ResourceManagerApplications reads YARN applications' diagnostics (a YarnApplications).

    `port` is the RM web port (8088 on EMR); `base_url_for` overrides the RM's `http://host:port` (tests);
    `timeout_s` bounds each connect and each read.
    """

    def __init__(
        self,
        port: int = DEFAULT_PORT,
        base_url_for: Callable[[ClusterSnapshot], str | None] | None = None,
        timeout_s: float = 3.0,
    ) -> None:
        self._port = port
        self._base_url_for = base_url_for or self._master_base
        self._timeout_s = timeout_s

    def _master_base(self, cluster: ClusterSnapshot) -> str | None:
        return f"http://{cluster.master_private_dns}:{self._port}" if cluster.master_private_dns else None

    def diagnostics(
        self, cluster: ClusterSnapshot, step: FailedStep, application_ids: Sequence[str]
    ) -> tuple[Evidence, ...]:
        """Diagnostics returns one `diagnostics` Evidence per application of the step (SKIPPED ones with a note)."""
        base = self._base_url_for(cluster)
        if base is None:
            return (self._skipped(None, "no ResourceManager address (the cluster has no master DNS name)"),)
        try:
            ids = tuple(application_ids) or self._applications_in_window(base, cluster, step)
        except ResourceManagerUnansweredError as error:
            return (self._skipped(None, f"the ResourceManager did not list the step's applications: {error.reason}"),)
        if not ids:
            return (self._skipped(None, "no YARN application of the step was found"),)
        return tuple(self._application(base, step, app_id) for app_id in ids[:MAX_APPLICATIONS])

    def _applications_in_window(self, base: str, cluster: ClusterSnapshot, step: FailedStep) -> tuple[str, ...]:
        if cluster.step_concurrency_level > 1:
            logger.info("step %s: concurrent steps, so the RM's apps are not attributed by time", step.step_id)
            return ()
        if step.started_at is None or step.ended_at is None:
            return ()
        begin, end = step.started_at - _WINDOW_SLACK, step.ended_at + _WINDOW_SLACK
        url = f"{base}{APPS_PATH}?startedTimeBegin={_ms(begin)}&startedTimeEnd={_ms(end)}"
        document = get_json(url, self._timeout_s, _APPS_LIST_MAX_BYTES)
        apps = ((document or {}).get("apps") or {}).get("app") or [] if isinstance(document, dict) else []
        unsuccessful = [
            a
            for a in apps
            if isinstance(a, dict) and a.get("finalStatus") in _UNSUCCESSFUL and isinstance(a.get("id"), str)
        ]
        unsuccessful.sort(key=lambda a: a.get("startedTime") or 0, reverse=True)
        return tuple(a["id"] for a in unsuccessful)

    def _application(self, base: str, step: FailedStep, app_id: str) -> Evidence:
        if not _APPLICATION_ID.match(app_id):
            return self._skipped(app_id, "not a YARN application id")
        try:
            document = get_json(f"{base}{APPS_PATH}/{app_id}", self._timeout_s)
        except ResourceManagerUnansweredError as error:
            if error.status == 404:
                return self._skipped(app_id, "the cluster's ResourceManager does not know it (not this cluster's)")
            return self._skipped(app_id, f"the ResourceManager did not answer: {error.reason}")
        app = document.get("app") if isinstance(document, dict) else None
        if not isinstance(app, dict) or app.get("id") != app_id:
            return self._skipped(app_id, "the ResourceManager answered without this application")
        started = _from_ms(app.get("startedTime"))
        if started is not None and not _within_run(step, started):
            return self._skipped(app_id, f"it started at {started:%Y-%m-%d %H:%M:%S}, outside the step's run")
        diagnostics = app.get("diagnostics") if isinstance(app.get("diagnostics"), str) else ""
        text = f"state {app.get('state')}, finalStatus {app.get('finalStatus')}\n{diagnostics}"
        return Evidence(
            source=EvidenceSource.YARN, field="diagnostics", text=text[-MAX_EVIDENCE_CHARS:], location=app_id
        )

    @staticmethod
    def _skipped(app_id: str | None, note: str) -> Evidence:
        logger.info("YARN evidence %s: %s", app_id or "", note)
        return Evidence(
            source=EvidenceSource.YARN, field="diagnostics", state=EvidenceState.SKIPPED, location=app_id, note=note
        )
