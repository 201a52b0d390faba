"""The decision sink's EMF metrics: a tuned managed scaling policy is counted as such, never as a scale-in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emr_autoscaler.adapters.powertools.metrics import metrics
from emr_autoscaler.adapters.powertools.sinks import PowertoolsDecisionSink
from emr_autoscaler.kernel.models import ManagedScalingLimits, ManagedScalingUnit
from emr_autoscaler.scaling.domain.decisions import (
    Outcome,
    ReasonCode,
    ResizePlan,
    ScalingState,
    TuneManagedScaling,
)
from tests.unit.domain_builders import CLUSTER_ID, NOW


@pytest.fixture
def metric_set() -> Iterator[dict[str, object]]:
    metrics.clear_metrics()
    yield metrics.metric_set
    metrics.clear_metrics()


def test_tuned_managed_scaling_counts_as_tuned_not_as_a_resize(metric_set: dict[str, object]) -> None:
    # GIVEN an applied decision that wrote managed scaling limits instead of resizing
    limits = ManagedScalingLimits(unit_type=ManagedScalingUnit.INSTANCES, minimum_units=2, maximum_units=20)
    plan = ResizePlan(
        cluster_id=CLUSTER_ID,
        decided_at=NOW,
        reason=ReasonCode.SCALE_MANAGED_SCALING_LIMITS,
        explanation="Tuning EMR Managed Scaling of cluster 'x' (j-1), managed scaling max 20 → 9 Instances.",
        next_state=ScalingState(cluster_id=CLUSTER_ID),
        managed_scaling=TuneManagedScaling(
            from_limits=limits, to_limits=limits.model_copy(update={"maximum_units": 9}), desired_units=9
        ),
    )
    # WHEN published
    PowertoolsDecisionSink().publish(plan, Outcome.APPLIED, 12.0)
    # THEN it counts as tuned, and no node is said to be added or removed
    assert "ManagedScalingTuned" in metric_set
    assert "Decision_SCALE_MANAGED_SCALING_LIMITS" in metric_set
    assert not {"ScaleIn", "ScaleOut", "NodesAdded", "NodesRemoved", "Hold"} & set(metric_set)
