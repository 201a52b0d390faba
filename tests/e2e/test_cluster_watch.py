"""Cluster watch on moto: registration and alarms from thresholds, termination, config edits, sync, explain."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from emr_autoscaler import bootstrap
from emr_autoscaler.settings import Settings
from emr_autoscaler_dev.cli import main as cli_main
from emr_autoscaler_dev.sandbox.provision import create_cluster
from tests.conftest import FakeContext, load_event, load_handler, moto_app

SETTINGS = Settings(config_parameter="/watch/config", state_table="watch-state")
CONFIG = "version: 1\ndefaults:\n  metrics: {sources: [cloudwatch]}\n"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    # No parameter cache: a configuration edit is seen at once (deployed, it is seen within the 60 s cache).
    with moto_app(monkeypatch, SETTINGS, CONFIG, EMR_AUTOSCALER_CONFIG_CACHE_S="0") as session:
        yield session


def _state_event(cluster_id: str, state: str) -> dict[str, Any]:
    event = load_event("cluster_state_change_running.json")
    event["detail"].update(clusterId=cluster_id, state=state)
    return event


def _alarms(session: Any, cluster_id: str) -> dict[str, Any]:
    found = session.client("cloudwatch").describe_alarms(AlarmNamePrefix=f"emr-autoscaler-{cluster_id}-")
    return {a["MetricName"]: a for a in found["MetricAlarms"]}


def _registered(session: Any) -> list[str]:
    return [c.cluster_id for c in bootstrap.build_cluster_watch(SETTINGS, session=session).registry.registered()]


def test_running_cluster_gets_alarms_and_termination_removes_them(aws: Any) -> None:
    # GIVEN an opted-in cluster
    cluster_id = create_cluster(aws.client("emr"))
    # WHEN its RUNNING state change arrives
    result = load_handler("cluster_watch").lambda_handler(_state_event(cluster_id, "RUNNING"), FakeContext())
    # THEN it is registered and has its alarms, on its JobFlowId, with the profile's thresholds
    assert result["results"][0]["action"] == "registered"
    assert _registered(aws) == [cluster_id]
    alarms = _alarms(aws, cluster_id)
    assert len(alarms) == 6
    memory = alarms["YARNMemoryAvailablePercentage"]
    assert memory["Dimensions"] == [{"Name": "JobFlowId", "Value": cluster_id}]
    assert (memory["Namespace"], memory["Threshold"], memory["ComparisonOperator"]) == (
        "AWS/ElasticMapReduce",
        15.0,
        "LessThanThreshold",
    )
    assert alarms["IsIdle"]["EvaluationPeriods"] == 3
    # WHEN it terminates
    load_handler("cluster_watch").lambda_handler(_state_event(cluster_id, "TERMINATED"), FakeContext())
    # THEN its alarms and registry entry are gone
    assert _alarms(aws, cluster_id) == {}
    assert _registered(aws) == []


def test_cluster_without_opt_in_is_ignored(aws: Any) -> None:
    # GIVEN a cluster without the tag, WHEN it starts running, THEN nothing is registered or created
    cluster_id = create_cluster(aws.client("emr"), tags={})
    result = load_handler("cluster_watch").lambda_handler(_state_event(cluster_id, "RUNNING"), FakeContext())
    assert result["results"][0]["action"] == "ignored"
    assert _alarms(aws, cluster_id) == {}


def test_threshold_edit_reaches_the_alarm_at_the_next_reconcile(aws: Any) -> None:
    # GIVEN a registered cluster with default alarms
    cluster_id = create_cluster(aws.client("emr"))
    load_handler("cluster_watch").lambda_handler(_state_event(cluster_id, "RUNNING"), FakeContext())
    # WHEN ops raise the memory threshold and switch the idle alarm off
    edited = CONFIG + "  alarms: {yarn_memory_available_low_pct: 25, idle_periods: null}\n"
    aws.client("ssm").put_parameter(Name=SETTINGS.config_parameter, Value=edited, Type="String", Overwrite=True)
    tick = load_event("scheduled_tick.json") | {"time": "2026-11-26T08:07:00Z"}
    result = load_handler("cluster_watch").lambda_handler(tick, FakeContext())
    # THEN the schedule's reconcile updated one alarm and deleted another, with no deploy
    alarms = _alarms(aws, cluster_id)
    assert alarms["YARNMemoryAvailablePercentage"]["Threshold"] == 25.0
    assert "IsIdle" not in alarms
    assert result["results"][0]["action"] == "alarms-reconciled"
    # AND the next reconcile, with nothing changed, writes nothing
    again = load_handler("cluster_watch").lambda_handler(tick, FakeContext())
    assert again["results"][0]["alarms_put"] == []
    assert again["results"][0]["alarms_deleted"] == []


def test_full_sync_repairs_missed_events(aws: Any) -> None:
    # GIVEN a cluster whose RUNNING event was lost, and a registered one whose TERMINATED event was lost
    emr = aws.client("emr")
    missed = create_cluster(emr, name="missed")
    dead = create_cluster(emr, name="dead")
    load_handler("cluster_watch").lambda_handler(_state_event(dead, "RUNNING"), FakeContext())
    emr.terminate_job_flows(JobFlowIds=[dead])
    # WHEN the quarter-hour tick runs the full sync
    tick = load_event("scheduled_tick.json") | {"time": "2026-11-26T08:15:00Z"}
    load_handler("cluster_watch").lambda_handler(tick, FakeContext())
    # THEN the missed cluster is registered with alarms, and the dead one is gone with its alarms
    assert _registered(aws) == [missed]
    assert len(_alarms(aws, missed)) == 6
    assert _alarms(aws, dead) == {}


def test_unknown_profile_uses_defaults_and_warns(aws: Any) -> None:
    # GIVEN a cluster asking for a profile the configuration lacks
    tags = {"emr-autoscaler:enabled": "true", "emr-autoscaler:profile": "nope"}
    cluster_id = create_cluster(aws.client("emr"), tags=tags)
    watch = bootstrap.build_cluster_watch(SETTINGS, session=aws)
    from tests.fakes import RecordingPublisher

    watch.events = published = RecordingPublisher()
    # WHEN registered
    result = watch.on_state_change(cluster_id, "RUNNING")
    # THEN default alarms, and a warning notice
    assert "profile default" in result.detail
    assert [e.detail.reason_code for e in published.events] == ["PROFILE_UNKNOWN"]


def test_explain_prints_the_decision_and_its_checks(aws: Any, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN an opted-in cluster with no metrics yet
    cluster_id = create_cluster(aws.client("emr"))
    # WHEN explained, as a table and as JSON
    assert cli_main(["explain", "--cluster-id", cluster_id, "--region", "eu-west-1"]) == 0
    table = capsys.readouterr().out
    assert cli_main(["explain", "--cluster-id", cluster_id, "--region", "eu-west-1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    # THEN both say why it holds, with the checks it made, and nothing was resized
    assert "HOLD_METRICS_MISSING" in table
    assert "FAIL metrics_present" in table
    assert data["reason"] == "HOLD_METRICS_MISSING"
    assert data["would_act"] is False
    assert [c["name"] for c in data["checks"]][:2] == ["opted_in", "cluster_active"]
