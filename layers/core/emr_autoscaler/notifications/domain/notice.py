"""Notice: one thing on-call should hear about, built from an event's structured fields. Pure: no I/O, no clock.

A builder per event type turns typed event fields into a `Notice`; `enrich` adds what EMR told the notifier
(cluster name and profile, step failure details). Renderers (`domain/renderers/`) turn a notice into one channel's
message; routing (`domain/notice_routing.py`) picks the channels.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from urllib.parse import quote

from pydantic import Field

from emr_autoscaler.kernel.models import Frozen
from emr_autoscaler.kernel.notices import NoticeKind, Severity, SpotAction, SpotEpisode

# EMR's cluster state change reason codes that mean nothing went wrong: a TERMINATED cluster with one of them
# ended as asked, and is no notice.
BENIGN_TERMINATION_CODES = frozenset({"USER_REQUEST", "ALL_STEPS_COMPLETED"})
_SAFE_KEY = re.compile(r"^[A-Za-z0-9_.:-]{1,120}$")


def console_url(region: str, cluster_id: str) -> str:
    """Console_url is the EMR console page of a cluster."""
    region_q, cluster_q = quote(region, safe=""), quote(cluster_id, safe="")
    return f"https://console.aws.amazon.com/emr/home?region={region_q}#/clusterDetails/{cluster_q}"


def format_duration(seconds: int) -> str:
    """Format_duration renders a window in seconds as a short human span (`45 s`, `10 min`, `2 h`, `1 d`)."""
    if seconds % 86400 == 0 and seconds >= 86400:
        return f"{seconds // 86400} d"
    if seconds % 3600 == 0 and seconds >= 3600:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0 and seconds >= 60:
        return f"{seconds // 60} min"
    return f"{seconds} s"


class Notice(Frozen):
    """Notice is what the channels are told. Text fields are user- or AWS-controlled: renderers escape them.

    `reason_code` is machine-readable (EMR's state change code, a scaler reason code, a step failure reason);
    `reason_message` the human text that came with it; `action` what the autoscaler did or will do.
    `folded_count` is how many identical notices were folded in the `folded_window_s` seconds before this one.
    """

    kind: NoticeKind
    severity: Severity
    title: str
    event_id: str
    region: str
    occurred_at: datetime
    cluster_id: str | None = None
    cluster_name: str | None = None
    profile: str | None = None
    step_id: str | None = None
    step_name: str | None = None
    state: str | None = None
    reason_code: str | None = None
    reason_message: str | None = None
    log_location: str | None = None
    action: str | None = None
    folded_count: int = Field(default=0, ge=0)
    folded_window_s: int = Field(default=0, ge=0)
    # A Spot fallback's, retry's or give-back's account: what was short, for how long, what was done.
    spot: SpotEpisode | None = None

    @property
    def console_url(self) -> str | None:
        """Console_url links the cluster's EMR console page (None for notices about no cluster)."""
        return console_url(self.region, self.cluster_id) if self.cluster_id else None

    @property
    def cluster_label(self) -> str:
        """Cluster_label names the cluster as people know it: `'etl-nightly' (j-…)`, or the id alone."""
        if self.cluster_name and self.cluster_id:
            return f"'{self.cluster_name}' ({self.cluster_id})"
        return self.cluster_id or "(no cluster)"

    @property
    def folded_text(self) -> str | None:
        """Folded_text says how many identical notices were folded, e.g. `and 4 more in 10 min`; None if none."""
        if not self.folded_count:
            return None
        return f"and {self.folded_count} more in {format_duration(self.folded_window_s)}"

    @property
    def dedup_reason(self) -> str:
        """Dedup_reason is what makes two notices of one kind on one cluster "the same" (bounded, key-safe).

        Step notices are the same when they concern the same step name (a step failing on every retry folds);
        the others when their reason code is the same (and, for a Spot episode, its action).
        """
        step = self.step_name or self.step_id or "-"
        raw = f"step:{step}" if self.kind in _STEP_KINDS else (self.reason_code or "-")
        if self.spot is not None:
            # A Spot retry and the give-back after it share a reason code, but are two things to hear of.
            raw = f"{raw}:{self.spot.action.value}"
        if _SAFE_KEY.match(raw):
            return raw
        return "h:" + hashlib.sha256(raw.encode()).hexdigest()[:32]


_STEP_KINDS = frozenset(
    {
        NoticeKind.STEP_FAILED,
        NoticeKind.STEP_RETRY_SCHEDULED,
        NoticeKind.STEP_RETRY_ADDED,
        NoticeKind.STEP_RETRY_GIVEN_UP,
    }
)


class ClusterFacts(Frozen):
    """ClusterFacts is what EMR says about a cluster that a notice needs: its name, profile tag and log URI."""

    name: str | None = None
    profile: str | None = None
    log_uri: str | None = None


class StepFailure(Frozen):
    """StepFailure is EMR's `FailureDetails` of a step (reason, message, log file), plus the step's name."""

    step_name: str | None = None
    reason: str | None = None
    message: str | None = None
    log_file: str | None = None


def cluster_terminated_notice(
    *,
    event_id: str,
    region: str,
    occurred_at: datetime,
    cluster_id: str,
    cluster_name: str | None,
    state: str,
    reason_code: str | None,
    reason_message: str | None,
) -> Notice | None:
    """Cluster_terminated_notice builds the notice of a cluster that died; None when it ended normally.

    TERMINATED_WITH_ERRORS always counts; TERMINATED only with a state change reason that is an error (anything
    but USER_REQUEST and ALL_STEPS_COMPLETED, e.g. STEP_FAILURE for a step whose ActionOnFailure ends the cluster).
    """
    if state == "TERMINATED_WITH_ERRORS":
        how = "terminated with errors"
    elif state == "TERMINATED" and reason_code and reason_code not in BENIGN_TERMINATION_CODES:
        how = f"terminated ({reason_code})"
    else:
        return None
    notice = Notice(
        kind=NoticeKind.CLUSTER_TERMINATED_WITH_ERRORS,
        severity=Severity.CRITICAL,
        title="",
        event_id=event_id,
        region=region,
        occurred_at=occurred_at,
        cluster_id=cluster_id,
        cluster_name=cluster_name,
        state=state,
        reason_code=reason_code,
        reason_message=reason_message,
        action="none: a terminated cluster cannot be resized; clone it from the console to run it again",
    )
    return notice.model_copy(update={"title": f"EMR cluster {notice.cluster_label} {how}"})


def step_failed_notice(
    *,
    event_id: str,
    region: str,
    occurred_at: datetime,
    cluster_id: str,
    step_id: str,
    step_name: str | None,
    action_on_failure: str | None,
) -> Notice:
    """Step_failed_notice builds the notice of a FAILED step (details come later from `enrich`)."""
    follow = {
        "TERMINATE_CLUSTER": "EMR terminates the cluster (the step's ActionOnFailure)",
        "TERMINATE_JOB_FLOW": "EMR terminates the cluster (the step's ActionOnFailure)",
        "CANCEL_AND_WAIT": "EMR cancels the steps after it and the cluster waits (ActionOnFailure CANCEL_AND_WAIT)",
    }.get(action_on_failure or "", "the cluster goes on with its next step; a restart, if configured, is announced")
    return _titled(
        Notice(
            kind=NoticeKind.STEP_FAILED,
            severity=Severity.WARNING,
            title="",
            event_id=event_id,
            region=region,
            occurred_at=occurred_at,
            cluster_id=cluster_id,
            step_id=step_id,
            step_name=step_name,
            state="FAILED",
            action=follow,
        )
    )


# The stack's own health alarms (function errors, dead-letter depth) are named `health/<stack>/<what>`.
HEALTH_ALARM_PREFIX = "health/"


def health_alarm_notice(
    *, event_id: str, region: str, occurred_at: datetime, alarm_name: str, state: str, reason: str | None
) -> Notice | None:
    """Health_alarm_notice builds the notice of one of the stack's health alarms going to ALARM; None otherwise.

    One notice per alarm episode: CloudWatch sends one state change per transition, and the notifier's dedup
    window (keyed on the alarm name) folds the rest.
    """
    if not alarm_name.startswith(HEALTH_ALARM_PREFIX) or state != "ALARM":
        return None
    return _titled(
        Notice(
            kind=NoticeKind.HEALTH_ALARM,
            severity=Severity.CRITICAL,
            title="",
            event_id=event_id,
            region=region,
            occurred_at=occurred_at,
            state=state,
            reason_code=alarm_name,
            reason_message=reason,
            action="failed events wait in the dead-letter queue; see the EMR Autoscaler dashboard and the logs",
        )
    )


# The application's own detail-types (emr_autoscaler.kernel.events.AppDetailType values), by the kind they mean.
_APP_KINDS = {
    "Configuration Refused": NoticeKind.CONFIGURATION_REFUSED,
    "Step Retry Scheduled": NoticeKind.STEP_RETRY_SCHEDULED,
    "Step Retry Added": NoticeKind.STEP_RETRY_ADDED,
    "Step Retry Given Up": NoticeKind.STEP_RETRY_GIVEN_UP,
    "Cluster Watch": NoticeKind.CLUSTER_WATCH,
}
SCALING_DECISION = "Scaling Decision"


def app_notice_kind(detail_type: str, reason_code: str, severity: Severity, nodes_delta: int = 0) -> NoticeKind | None:
    """App_notice_kind maps an application event's detail-type (and a scaling decision's reason) to a kind.

    `nodes_delta` is the decision's total change in nodes: it tells the direction of a resize whose reason does
    not (SCALE_TO_LIMITS).
    """
    if detail_type == SCALING_DECISION:
        if severity is Severity.CRITICAL:
            return NoticeKind.SCALING_FAILED
        # A fallback moves capacity between markets (often no node more or less): it is no scale-out nor a hold.
        if reason_code == "SCALE_SPOT_FALLBACK":
            return NoticeKind.SPOT_FALLBACK
        if reason_code == "SCALE_SPOT_GIVE_BACK":
            return NoticeKind.SPOT_GIVE_BACK
        if reason_code.startswith("SCALE_OUT"):
            return NoticeKind.SCALED_OUT
        if reason_code.startswith("SCALE_IN"):
            return NoticeKind.SCALED_IN
        if reason_code.startswith("SCALE_") and nodes_delta:
            return NoticeKind.SCALED_OUT if nodes_delta > 0 else NoticeKind.SCALED_IN
        return NoticeKind.SCALING_HELD
    return _APP_KINDS.get(detail_type)


def app_notice(
    *,
    kind: NoticeKind,
    severity: Severity,
    event_id: str,
    region: str,
    occurred_at: datetime,
    reason_code: str,
    explanation: str,
    cluster_id: str | None = None,
    cluster_name: str | None = None,
    step_id: str | None = None,
    step_name: str | None = None,
    state: str | None = None,
    log_location: str | None = None,
    action: str | None = None,
    attempt: int | None = None,
    max_attempts: int | None = None,
    spot: SpotEpisode | None = None,
) -> Notice:
    """App_notice builds the notice of one of the application's own events (source `emr-autoscaler`)."""
    return _titled(
        Notice(
            kind=kind,
            severity=severity,
            title="",
            event_id=event_id,
            region=region,
            occurred_at=occurred_at,
            cluster_id=cluster_id,
            cluster_name=cluster_name,
            step_id=step_id,
            step_name=step_name,
            state=state,
            reason_code=reason_code,
            reason_message=explanation,
            log_location=log_location,
            action=_attempts(action, attempt, max_attempts),
            spot=spot,
        )
    )


def _attempts(action: str | None, attempt: int | None, max_attempts: int | None) -> str | None:
    if attempt is None:
        return action
    count = f"attempt {attempt} of {max_attempts}" if max_attempts else f"attempt {attempt}"
    return f"{action} ({count})" if action else count


def _step_label(notice: Notice) -> str:
    if notice.step_name and notice.step_id:
        return f"'{notice.step_name}' ({notice.step_id})"
    return f"'{notice.step_name}'" if notice.step_name else (notice.step_id or "?")


def _spot_title(notice: Notice) -> str | None:
    """A Spot episode's title: what was short, for how long, what the scaler did; None for other notices."""
    spot, cluster = notice.spot, notice.cluster_label
    if spot is None:
        if notice.kind is NoticeKind.SPOT_FALLBACK:
            return f"Spot short on EMR cluster {cluster}: fell back to On-Demand"
        if notice.kind is NoticeKind.SPOT_GIVE_BACK:
            return f"Spot back on EMR cluster {cluster}: giving back On-Demand"
        return None
    lead = {
        SpotAction.FALLBACK: "Spot short",
        SpotAction.WITHDRAW: "Spot short",
        SpotAction.HOLD: "Spot short",
        SpotAction.RETRY: "Retrying Spot",
        SpotAction.GIVE_BACK: "Spot back",
    }[spot.action]
    return f"{lead} on EMR cluster {cluster}: {spot.summary}"


def _titled(notice: Notice) -> Notice:
    """Title every kind in one sentence a tired person reads at a glance (cluster and step by name)."""
    spot_title = _spot_title(notice)
    if spot_title is not None:
        return notice.model_copy(update={"title": spot_title})
    cluster, step = notice.cluster_label, _step_label(notice)
    titles = {
        NoticeKind.CLUSTER_TERMINATED_WITH_ERRORS: f"EMR cluster {cluster} terminated with errors",
        NoticeKind.STEP_FAILED: f"Step {step} failed on EMR cluster {cluster}",
        NoticeKind.SCALED_OUT: f"Scaled out EMR cluster {cluster}",
        NoticeKind.SCALED_IN: f"Scaled in EMR cluster {cluster}",
        NoticeKind.SCALING_HELD: f"Autoscaler is holding EMR cluster {cluster} ({notice.reason_code})",
        NoticeKind.SCALING_FAILED: f"Scaling EMR cluster {cluster} failed",
        NoticeKind.CONFIGURATION_REFUSED: "Autoscaler configuration refused; the last valid one stays in force",
        NoticeKind.STEP_RETRY_SCHEDULED: f"Step {step} on EMR cluster {cluster} will be restarted",
        NoticeKind.STEP_RETRY_ADDED: f"Step {step} restarted on EMR cluster {cluster}",
        NoticeKind.STEP_RETRY_GIVEN_UP: f"Gave up restarting step {step} on EMR cluster {cluster}",
        NoticeKind.CLUSTER_WATCH: f"Autoscaler watch on EMR cluster {cluster}: {notice.reason_code}",
        NoticeKind.HEALTH_ALARM: f"EMR Autoscaler health alarm {notice.reason_code} is {notice.state}",
    }
    return notice.model_copy(update={"title": titles[notice.kind]})


def enrich(notice: Notice, cluster: ClusterFacts | None, failure: StepFailure | None) -> Notice:
    """Enrich fills what the event lacked from EMR's answers; the event's own fields win over EMR's.

    The step failure's reason and message become the notice's reason (EMR's structured `FailureDetails`);
    the log location is the failure's log file, else the cluster's log URI. The title is rebuilt with the names.
    """
    update: dict[str, object] = {}
    if cluster is not None:
        update["cluster_name"] = notice.cluster_name or cluster.name
        update["profile"] = notice.profile or cluster.profile
    if failure is not None:
        update["step_name"] = notice.step_name or failure.step_name
        update["reason_code"] = notice.reason_code or failure.reason
        update["reason_message"] = notice.reason_message or failure.message
        update["log_location"] = notice.log_location or failure.log_file
    if not (update.get("log_location") or notice.log_location) and cluster is not None and cluster.log_uri:
        update["log_location"] = _cluster_log_location(cluster.log_uri, notice)
    enriched = notice.model_copy(update=update)
    if enriched.kind is NoticeKind.CLUSTER_TERMINATED_WITH_ERRORS:
        # Its title says how the cluster ended (state, reason): keep that wording, only name the cluster.
        return enriched.model_copy(update={"title": notice.title.replace(notice.cluster_label, enriched.cluster_label)})
    return _titled(enriched)


def _cluster_log_location(log_uri: str, notice: Notice) -> str:
    """EMR writes a cluster's logs under <LogUri>/<cluster id>/, and a step's under .../steps/<step id>/."""
    base = log_uri.rstrip("/") + "/" + (notice.cluster_id or "")
    return f"{base}/steps/{notice.step_id}/" if notice.step_id else f"{base}/"
