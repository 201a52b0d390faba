"""Labels: where pending ApplicationMasters can start when the cluster pins them to a YARN node label.

EMR pins AMs to CORE nodes (5.19+ by default) or to On-Demand nodes (7.2+, the ON_DEMAND label); a pending AM can
then start only on a node that carries the label, and TASK nodes added for it would not run it. The ResourceManager's
`/ws/v1/cluster/metrics` reports the default partition only (YARN-11965), so what the AMs wait for is read from the
label's partition (the scheduler's per-partition usage) when the RM gives it, else, only where the profile sets
`node_labels.am_memory_mb`, counted as `appsPending` AMs of that size (an app may be pending for reasons nodes do not
cure, such as a queue's maximum applications, so the estimate is opt-in). That memory grows the groups that carry
the label; the rest of the demand (executors, default partition) grows TASK first, as before.

Labels the scaler cannot map to groups here (unreadable configuration, ON_DEMAND on an instance-fleet cluster, whose
fleets mix markets) leave it as it was before it knew of labels.
"""

from __future__ import annotations

from dataclasses import dataclass

from emr_autoscaler.kernel.config.scaling import ScalingPolicy
from emr_autoscaler.kernel.models import (
    ClusterSnapshot,
    GroupRole,
    InstanceCollection,
    InstanceGroupCapacity,
    YarnMetrics,
)


@dataclass(frozen=True)
class AmPlacement:
    """AmPlacement is the label pending AMs need (`label`), the memory they wait for (MB), and why, in a sentence."""

    label: str
    waiting_mb: int
    detail: str


def carries_label(snapshot: ClusterSnapshot, group: InstanceGroupCapacity, label: str) -> bool:
    """Carries_label is true when the group's nodes carry the node label EMR puts on them."""
    if label == "CORE":
        return group.role is GroupRole.CORE
    if label == "ON_DEMAND":
        return group.role is not GroupRole.MASTER and group.market == "ON_DEMAND"
    return False


def am_placement(snapshot: ClusterSnapshot, metrics: YarnMetrics, policy: ScalingPolicy) -> AmPlacement | None:
    """Am_placement says what pending AMs wait for on their label, or None when labels do not apply here."""
    labels = snapshot.node_labels
    label = labels.am_label
    if not policy.node_labels.follow or label is None or labels.unreadable is not None:
        return None
    if label == "ON_DEMAND" and snapshot.collection is InstanceCollection.INSTANCE_FLEET:
        return None
    if metrics.am_pending_memory_mb is not None:
        return AmPlacement(
            label, metrics.am_pending_memory_mb, f"{metrics.am_pending_memory_mb} MB pending in partition {label}"
        )
    am_mb = policy.node_labels.am_memory_mb
    if am_mb is None:
        return None  # no partition figure, and no estimate asked for: demand is scaled as before labels
    return AmPlacement(
        label,
        metrics.apps_pending * am_mb,
        f"{metrics.apps_pending} application(s) waiting for an AM on {label} nodes (~{am_mb} MB each)",
    )


def labels_detail(snapshot: ClusterSnapshot, policy: ScalingPolicy) -> str:
    """Labels_detail says, for `explain` and the checks, how the cluster's node labels are followed."""
    labels = snapshot.node_labels
    if labels.unreadable is not None:
        return f"label configuration unreadable ({labels.unreadable}); labels ignored"
    if labels.am_label is None:
        return "AMs not pinned to a node label"
    if not policy.node_labels.follow:
        return f"AMs pinned to {labels.am_label}; node_labels.follow is off"
    if labels.am_label == "ON_DEMAND" and snapshot.collection is InstanceCollection.INSTANCE_FLEET:
        return "AMs pinned to ON_DEMAND; fleets mix markets, so labels are ignored"
    return f"AMs pinned to {labels.am_label}"
