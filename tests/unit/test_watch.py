"""Cluster watch core: modes, the alarms a cluster should have, and the diff against what exists."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from emr_autoscaler.kernel.config.alarms import AlarmThresholds
from emr_autoscaler.kernel.config.scaling import Mode
from emr_autoscaler.kernel.ids import MODE_TAG
from emr_autoscaler.kernel.models import ClusterSnapshot, ClusterState
from emr_autoscaler.scaling.domain.mode import resolve_mode
from emr_autoscaler.watch.domain.alarms import alarm_name, desired_alarms, plan_alarm_changes
from emr_autoscaler.watch.domain.registry import WatchAction, sync_action

PREFIX = "emr-autoscaler-"


@pytest.mark.parametrize(
    ("tags", "profile_mode", "expected"),
    [
        pytest.param({}, Mode.ACTIVE, Mode.ACTIVE, id="profile decides without a tag"),
        pytest.param({}, Mode.OBSERVE, Mode.OBSERVE, id="observe profile"),
        pytest.param({MODE_TAG: "paused"}, Mode.ACTIVE, Mode.PAUSED, id="tag wins over profile"),
        pytest.param({MODE_TAG: " Observe "}, Mode.ACTIVE, Mode.OBSERVE, id="tag case and spaces"),
        pytest.param({MODE_TAG: "activ"}, Mode.ACTIVE, Mode.OBSERVE, id="typo falls back to observe, never acts"),
    ],
)
def test_resolve_mode(tags: dict[str, str], profile_mode: Mode, expected: Mode) -> None:
    # GIVEN tags and a profile mode, WHEN resolved, THEN the tag wins and a bad tag is the safe mode
    mode, source = resolve_mode(tags, profile_mode)
    assert mode is expected
    assert source


def test_default_thresholds_give_six_alarms_named_for_the_scaler_rule() -> None:
    # GIVEN the default thresholds
    alarms = desired_alarms("j-ABC", AlarmThresholds(), PREFIX)
    # WHEN listed, THEN six alarms, each named <prefix><cluster>-<metric> on a 5-minute period
    assert [a.metric_name for a in alarms] == [
        "ContainerPendingRatio",
        "YARNMemoryAvailablePercentage",
        "IsIdle",
        "HDFSUtilization",
        "MRUnhealthyNodes",
        "MRLostNodes",
    ]
    assert all(a.name == alarm_name(PREFIX, "j-ABC", a.metric_name) for a in alarms)
    assert all(a.name.startswith(PREFIX + "j-ABC-") for a in alarms)
    assert {a.period_s for a in alarms} == {300}
    idle = next(a for a in alarms if a.metric_name == "IsIdle")
    assert idle.evaluation_periods == 3
    memory = next(a for a in alarms if a.metric_name == "YARNMemoryAvailablePercentage")
    assert (memory.comparison, memory.threshold) == ("LessThanThreshold", 15.0)


def test_null_threshold_removes_the_alarm() -> None:
    # GIVEN thresholds with idle and HDFS alarms switched off
    thresholds = AlarmThresholds(idle_periods=None, hdfs_utilization_high_pct=None)
    # WHEN listed, THEN those two are absent
    names = {a.metric_name for a in desired_alarms("j-ABC", thresholds, PREFIX)}
    assert "IsIdle" not in names
    assert "HDFSUtilization" not in names
    assert len(names) == 4


def test_plan_puts_changed_and_missing_alarms_and_deletes_extra_ones() -> None:
    # GIVEN existing alarms from an older threshold, plus one the profile no longer wants
    old = {a.name: a for a in desired_alarms("j-ABC", AlarmThresholds(container_pending_ratio_high=0.9), PREFIX)}
    stray = alarm_name(PREFIX, "j-ABC", "Retired")
    old[stray] = next(iter(old.values())).model_copy(update={"name": stray})
    del old[alarm_name(PREFIX, "j-ABC", "MRLostNodes")]
    # WHEN diffed against the current thresholds
    changes = plan_alarm_changes(desired_alarms("j-ABC", AlarmThresholds(), PREFIX), old)
    # THEN the changed threshold and the missing alarm are put, the stray deleted, the rest left alone
    assert sorted(a.metric_name for a in changes.put) == ["ContainerPendingRatio", "MRLostNodes"]
    assert changes.delete == (stray,)


def test_nothing_changed_is_an_empty_plan() -> None:
    # GIVEN alarms exactly as desired, WHEN diffed, THEN nothing to do
    desired = desired_alarms("j-ABC", AlarmThresholds(), PREFIX)
    assert len(desired) == 6
    assert plan_alarm_changes(desired, {a.name: a for a in desired}).empty


@pytest.mark.parametrize(
    ("state", "opted_in", "registered", "expected"),
    [
        pytest.param(ClusterState.RUNNING, True, False, (WatchAction.REGISTERED, "cluster RUNNING"), id="new"),
        pytest.param(ClusterState.STARTING, True, False, (WatchAction.REGISTERED, "cluster STARTING"), id="starting"),
        pytest.param(ClusterState.WAITING, True, True, None, id="still watched: alarms reconciled"),
        pytest.param(ClusterState.WAITING, False, True, (WatchAction.UNREGISTERED, "opt-in tag removed"), id="tag off"),
        pytest.param(
            ClusterState.TERMINATING, True, True, (WatchAction.UNREGISTERED, "cluster TERMINATING"), id="ending"
        ),
        pytest.param(ClusterState.TERMINATED, True, False, None, id="ended, never watched"),
        pytest.param(ClusterState.RUNNING, False, False, None, id="never opted in"),
    ],
)
def test_a_full_sync_registers_and_forgets_by_the_registry_rules(
    state: ClusterState, opted_in: bool, registered: bool, expected: tuple[WatchAction, str] | None
) -> None:
    # GIVEN a cluster as EMR describes it, and whether the registry holds it
    cluster = ClusterSnapshot(
        cluster_id="j-ABC",
        name="etl",
        state=state,
        tags={"emr-autoscaler:enabled": "true"} if opted_in else {},
        read_at=datetime(2026, 11, 29, tzinfo=UTC),
    )
    # WHEN a full sync meets it, THEN it registers, forgets (saying why) or leaves it as the rules say
    assert sync_action(cluster, registered) == expected
