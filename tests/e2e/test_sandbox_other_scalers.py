"""End to end on the Sandbox: clusters another scaler resizes (EMR Managed Scaling, emulated; a group's custom
automatic scaling policy, moto's) are never resized by the autoscaler, `managed_scaling: tune` moves the policy's
maximum instead, unreadable answers hold, and `explain` says why."""

from __future__ import annotations

import json
from typing import Any

import pytest

from emr_autoscaler_dev.cli import main as cli_main
from emr_autoscaler_dev.sandbox.sandbox import Sandbox

pytestmark = pytest.mark.network

TUNE = json.dumps({"defaults": {"managed_scaling": "tune"}})


def _decisions(sandbox: Sandbox, cluster_id: str) -> list[dict[str, Any]]:
    return [d for d in sandbox.decisions if d["cluster_id"] == cluster_id]


def _scaling_notices(sandbox: Sandbox, cluster_id: str) -> list[str]:
    """The reason codes of the scaling decisions the notifier received for the cluster."""
    return [
        i.event["detail"]["reason_code"]
        for i in sandbox.invocations
        if i.function == "NotifierFunction"
        and i.event.get("detail-type") == "Scaling Decision"
        and i.event["detail"].get("cluster_id") == cluster_id
    ]


def _never_resized_by_the_scaler(decisions: list[dict[str, Any]]) -> None:
    assert decisions
    assert not [d for d in decisions if d["commands"]]
    assert not [d for d in decisions if d["outcome"] == "applied"]


def test_managed_scaling_attached_is_never_resized_one_notice_and_explain_says_why(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a busy cluster with EMR Managed Scaling attached (2..6 instances), the profile at its default (hold)
    cluster_id = sandbox.create_cluster(core=2, task=2)
    sandbox.attach_managed_scaling(cluster_id, minimum=2, maximum=6)
    sandbox.set_yarn(cluster_id, demand_mb=160_000, apps=10)
    # WHEN 15 minutes pass
    sandbox.advance(15)
    # THEN the autoscaler never resizes it: every decision a hold naming managed scaling, one notice for the episode
    decisions = _decisions(sandbox, cluster_id)
    _never_resized_by_the_scaler(decisions)
    assert {d["reason"] for d in decisions} == {"HOLD_OTHER_SCALER"}
    assert "EMR Managed Scaling (2..6 Instances)" in decisions[0]["explanation"]
    assert "managed_scaling: tune" in decisions[0]["explanation"]
    assert _scaling_notices(sandbox, cluster_id) == ["HOLD_OTHER_SCALER"]
    # ... while managed scaling itself grew the cluster to its maximum, never beyond
    assert sandbox.emr_emulator.managed.resizes
    assert sandbox.nodes(cluster_id)["TASK"] == (4, 4)
    assert sandbox.managed_scaling_puts() == [(cluster_id, {"ComputeLimits": sandbox.managed_scaling(cluster_id)})]
    assert sandbox.failures == []
    # AND explain says which scaler holds it and what to do
    for name, value in sandbox.functions["ScalerFunction"].environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("EMR_AUTOSCALER_RESOURCEMANAGER_PORT", str(sandbox.emr_emulator.rm_port))
    assert cli_main(["explain", "--cluster-id", cluster_id, "--endpoint-url", sandbox.aws.endpoint_url]) == 0
    table = capsys.readouterr().out
    assert "decision   HOLD_OTHER_SCALER" in table
    assert "FAIL other_scalers" in table
    assert "managed    2..6 Instances (managed_scaling: hold)" in table


def test_tune_moves_the_maximum_instead_of_resizing(sandbox: Sandbox) -> None:
    # GIVEN a profile that tunes managed scaling, a cluster with a 2..20 instance policy, and a demand spike
    sandbox.set_config(TUNE)
    cluster_id = sandbox.create_cluster(core=2, task=2)
    sandbox.attach_managed_scaling(cluster_id, minimum=2, maximum=20, maximum_on_demand=20)
    sandbox.set_yarn(cluster_id, demand_mb=160_000, apps=10)
    # WHEN 12 minutes pass
    sandbox.advance(12)
    # THEN the autoscaler resized no group: it wrote managed scaling's maximum (the capacity it decided: what managed
    # scaling had already asked for, plus its own step), never above 20, once per decision
    decisions = _decisions(sandbox, cluster_id)
    _never_resized_by_the_scaler([d for d in decisions if d["reason"] != "SCALE_MANAGED_SCALING_LIMITS"])
    tuned = [d for d in decisions if d["reason"] == "SCALE_MANAGED_SCALING_LIMITS"]
    assert tuned
    assert {d["outcome"] for d in tuned} == {"applied"}
    assert all(d["commands"] == [] for d in tuned)
    first = tuned[0]["managed_scaling"]
    assert first["from_limits"]["maximum_units"] == 20
    assert first["to_limits"]["maximum_units"] == first["desired_units"] < 20
    written = [p["ComputeLimits"]["MaximumCapacityUnits"] for c, p in sandbox.managed_scaling_puts() if c == cluster_id]
    assert written[1:] == [d["managed_scaling"]["to_limits"]["maximum_units"] for d in tuned]
    assert all(m <= 20 for m in written)
    # ... the On-Demand cap follows the maximum (never above it), and managed scaling grew the cluster within it
    limits = sandbox.managed_scaling(cluster_id)
    assert limits is not None
    assert limits["MaximumOnDemandCapacityUnits"] <= limits["MaximumCapacityUnits"]
    _running, requested = sandbox.nodes(cluster_id)["TASK"]
    assert 2 + requested <= limits["MaximumCapacityUnits"]
    assert requested > 2
    assert "HOLD_OTHER_SCALER" not in {d["reason"] for d in decisions}
    assert sandbox.failures == []


def test_tune_lowers_the_maximum_when_the_load_goes(sandbox: Sandbox) -> None:
    # GIVEN a tuned cluster whose spike has passed
    sandbox.set_config(TUNE)
    cluster_id = sandbox.create_cluster(core=2, task=2)
    sandbox.attach_managed_scaling(cluster_id, minimum=2, maximum=20)
    sandbox.set_yarn(cluster_id, demand_mb=100_000, apps=5)
    sandbox.advance(10)
    raised = sandbox.managed_scaling(cluster_id)
    assert raised is not None
    # WHEN the load goes for 30 minutes
    sandbox.set_yarn(cluster_id, demand_mb=0, apps=0)
    sandbox.advance(30)
    # THEN the maximum came down with the scaler's scale-in decisions, never below the policy's minimum
    limits = sandbox.managed_scaling(cluster_id)
    assert limits is not None
    assert 2 <= limits["MaximumCapacityUnits"] < raised["MaximumCapacityUnits"]
    assert sandbox.nodes(cluster_id)["TASK"][1] + 2 <= limits["MaximumCapacityUnits"]
    assert sandbox.failures == []


def test_a_group_with_an_automatic_scaling_policy_holds_the_cluster(sandbox: Sandbox) -> None:
    # GIVEN a busy cluster whose TASK group has a custom automatic scaling policy
    cluster_id = sandbox.create_cluster(core=2, task=2)
    group_id = sandbox.attach_auto_scaling_policy(cluster_id)
    sandbox.set_yarn(cluster_id, demand_mb=160_000, apps=10)
    # WHEN 5 minutes pass
    sandbox.advance(5)
    # THEN it is held, naming the group's policy and how to detach it, with one notice, and never resized
    decisions = _decisions(sandbox, cluster_id)
    _never_resized_by_the_scaler(decisions)
    assert {d["reason"] for d in decisions} == {"HOLD_OTHER_SCALER"}
    assert group_id in decisions[0]["explanation"]
    assert "remove-auto-scaling-policy" in decisions[0]["explanation"]
    assert _scaling_notices(sandbox, cluster_id) == ["HOLD_OTHER_SCALER"]
    assert sandbox.nodes(cluster_id)["TASK"] == (2, 2)


@pytest.mark.parametrize("code", ["AccessDeniedException", "ThrottlingException"])
def test_an_unreadable_managed_scaling_answer_holds(sandbox: Sandbox, code: str) -> None:
    # GIVEN a busy cluster whose GetManagedScalingPolicy EMR refuses
    cluster_id = sandbox.create_cluster(core=2, task=2)
    sandbox.fail_managed_scaling(cluster_id, code)
    sandbox.set_yarn(cluster_id, demand_mb=160_000, apps=10)
    # WHEN 3 minutes pass
    sandbox.advance(3)
    # THEN it holds every time (never a resize, never a failed invocation), one notice naming the refusal
    decisions = _decisions(sandbox, cluster_id)
    _never_resized_by_the_scaler(decisions)
    assert {d["reason"] for d in decisions} == {"HOLD_OTHER_SCALER_UNREADABLE"}
    assert code in decisions[0]["explanation"]
    assert _scaling_notices(sandbox, cluster_id) == ["HOLD_OTHER_SCALER_UNREADABLE"]
    assert sandbox.failures == []
    # WHEN EMR answers again (no policy attached), THEN the cluster is scaled as usual
    sandbox.fail_managed_scaling(cluster_id, None)
    sandbox.advance(1)
    assert _decisions(sandbox, cluster_id)[-1]["reason"] == "SCALE_OUT_PENDING_DEMAND"


def test_each_decision_names_its_metrics_source(sandbox: Sandbox) -> None:
    cluster_id = sandbox.create_cluster(core=2, task=2)
    sandbox.advance(2)
    decisions = _decisions(sandbox, cluster_id)
    assert decisions
    assert {d["metrics_source"] for d in decisions} == {"resourcemanager"}
