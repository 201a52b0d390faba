"""Use cases of the scale job: gather inputs, ask the pure core, apply its plan at most once.

`Scaler.reconcile_cluster` is the one path every evaluation takes (schedule, alarm, instance group change, the
simulator's and the sandbox's clocks): read the cluster, its groups, metrics, state and configuration; call
`plan_resize`; claim the decision with a conditional write; re-read and act; record what happened.

Fan-out: with an evaluation queue (the deployed function), a trigger only enqueues one request per cluster on an
SQS FIFO queue whose message group is the cluster id, and the function consumes the queue in batches
(`EvaluationBatch`): one cluster is never evaluated twice at once, and clusters run in parallel across invocations
up to the event source mapping's maximum concurrency. Without a queue (tests, the CLI) a trigger is evaluated
inline, one cluster after the other.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from emr_autoscaler.eventbridge import Ignored
from emr_autoscaler.kernel.clusters import ClusterNotFoundError
from emr_autoscaler.kernel.config.document import ConfigInvalidError
from emr_autoscaler.kernel.config.scaling import ManagedScalingMode, Mode
from emr_autoscaler.kernel.config.source import ConfigSource
from emr_autoscaler.kernel.events import AppDetailType, AppEvent, AppEventDetail, AppReason, EventPublisher
from emr_autoscaler.kernel.models import (
    ACTIVE_CLUSTER_STATES,
    ClusterSnapshot,
    InstanceCollection,
    InstanceLocation,
    ManagedScalingLimits,
    YarnMetrics,
)
from emr_autoscaler.kernel.notices import Severity
from emr_autoscaler.scaling.domain.decisions import (
    Outcome,
    ReasonCode,
    ResizeInstanceFleet,
    ResizeInstanceGroup,
    ResizePlan,
    ScalingState,
    TuneManagedScaling,
)
from emr_autoscaler.scaling.domain.fleets import plan_fleet_resize
from emr_autoscaler.scaling.domain.guards import (
    hold_cluster_not_found,
    hold_cluster_unreadable,
    hold_config_invalid,
    hold_paused,
)
from emr_autoscaler.scaling.domain.interruptions import count_losses, plan_group_interruption, plan_interruption
from emr_autoscaler.scaling.domain.mode import resolve_mode
from emr_autoscaler.scaling.domain.notices import scaling_notice_severity
from emr_autoscaler.scaling.domain.other_scalers import check_other_scalers, hold_other_scaler_unreadable, plan_tune
from emr_autoscaler.scaling.domain.plan import plan_resize
from emr_autoscaler.scaling.domain.shortage import short_now
from emr_autoscaler.scaling.domain.spot_groups import plan_group_resize
from emr_autoscaler.scaling.ports import (
    BatchMetrics,
    ClusterRegistry,
    ClusterUnreadableError,
    DecisionSink,
    EmrClusters,
    EmrFleets,
    EvaluationQueue,
    GroupMovedError,
    InstanceDirectory,
    InstanceUnresolvedError,
    ManagedScaling,
    OtherScalerUnreadableError,
    StateStore,
    YarnMetricsReader,
)
from emr_autoscaler.scaling.triggers import (
    TICK_CAUSE,
    EvaluationBatch,
    EvaluationRequest,
    NodeLoss,
    ScheduledTick,
    SpotInterruption,
    Trigger,
    evaluation_request,
    parse_evaluation_request,
)

logger = logging.getLogger(__name__)

# How far back EMR's node-loss notification looks for the instances it lost (it comes minutes after the loss).
LOSS_LOOKBACK = timedelta(minutes=15)
# A "no managed scaling" answer is trusted this long by a steady tick (which then costs three AWS calls, not four);
# a tick that would resize reads it again first, so the scaler never resizes on a cached answer.
MANAGED_RECHECK = timedelta(minutes=5)


@dataclass(frozen=True)
class Occasion:
    """Occasion is what an evaluation is for besides the tick: a Spot instance EC2 reclaims (`interrupted`), the
    group or fleet EMR says lost nodes (`lost_from`), or the one EMR says is short of capacity (`short_of`)."""

    interrupted: InstanceLocation | None = None
    lost_from: str | None = None
    short_of: str | None = None


TICK = Occasion()


@dataclass(frozen=True)
class Evaluation:
    """Evaluation is one decision with what it was made from (what `explain` shows); nothing was written."""

    plan: ResizePlan
    snapshot: ClusterSnapshot | None = None
    metrics: YarnMetrics | None = None
    state: ScalingState | None = None
    profile: str | None = None
    mode: Mode = Mode.ACTIVE
    mode_source: str = "profile"
    managed_scaling: ManagedScalingLimits | None = None
    managed_scaling_mode: ManagedScalingMode = ManagedScalingMode.HOLD


@dataclass(frozen=True)
class DecisionSummary:
    """DecisionSummary is one evaluation's result, as the handler returns it and the CLI prints it."""

    cluster_id: str
    reason: ReasonCode
    explanation: str
    outcome: Outcome
    commands: tuple[ResizeInstanceGroup, ...] = ()
    latency_ms: float = 0.0
    managed_scaling: TuneManagedScaling | None = None
    # Where the decision's YARN metrics came from (resourcemanager, cloudwatch), None when none were read.
    metrics_source: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """As_dict is the JSON-ready form."""
        found: dict[str, Any] = {
            "cluster_id": self.cluster_id,
            "reason": self.reason.value,
            "explanation": self.explanation,
            "outcome": self.outcome.value,
            "commands": [c.model_dump(mode="json") for c in self.commands],
            "latency_ms": round(self.latency_ms, 2),
            "metrics_source": self.metrics_source,
        }
        if self.managed_scaling is not None:
            found["managed_scaling"] = self.managed_scaling.model_dump(mode="json")
        return found


class ReconcileFailedError(RuntimeError):
    """ReconcileFailedError: at least one cluster could not be evaluated; the invocation fails so it is retried."""


@dataclass
class Scaler:
    """Scaler wires the ports to the core. Build it once per cold start (see bootstrap).

    `log_context(cluster_id)` wraps one cluster's evaluation so every log line meanwhile names the cluster.
    `queue` fans triggers out (None: evaluate inline); `api_calls()` is the running count of AWS calls its clients
    made, `budget` the event source mapping's maximum concurrency, both reported per batch through `batch_metrics`.
    """

    emr: EmrClusters
    metrics: YarnMetricsReader
    store: StateStore
    config: ConfigSource
    sink: DecisionSink
    clock: Callable[[], datetime]
    events: EventPublisher
    log_context: Callable[[str], AbstractContextManager[object]]
    registry: ClusterRegistry | None = None
    fleets: EmrFleets | None = None
    # Which cluster runs an EC2 instance (EC2's Spot warning names the instance only); see locate_interrupted.
    instances: InstanceDirectory | None = None
    managed_scaling: ManagedScaling | None = None
    queue: EvaluationQueue | None = None
    batch_metrics: BatchMetrics | None = None
    api_calls: Callable[[], int] = lambda: 0
    budget: int = 1
    _stateless_reasons: dict[str, ReasonCode] = field(default_factory=dict, repr=False)
    _sink_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _labels_warned: set[str] = field(default_factory=set, repr=False)
    # When this container last read "no managed scaling" for each cluster (see MANAGED_RECHECK).
    _unmanaged_at: dict[str, datetime] = field(default_factory=dict, repr=False)

    def _finish(
        self, plan: ResizePlan, outcome: Outcome, started: float, previous: ReasonCode | None = None
    ) -> DecisionSummary:
        latency_ms = (time.perf_counter() - started) * 1000.0
        with self._sink_lock:  # Powertools Metrics keeps one buffer per invocation; evaluations run in threads.
            self.sink.publish(plan, outcome, latency_ms)
        self._notify(plan, outcome, previous)
        return DecisionSummary(
            plan.cluster_id, plan.reason, plan.explanation, outcome, plan.commands, latency_ms, plan.managed_scaling
        )

    def _notify(self, plan: ResizePlan, outcome: Outcome, previous: ReasonCode | None) -> None:
        severity = scaling_notice_severity(plan.reason, outcome, previous)
        if severity is None:
            return
        steps = "; ".join(f"{c.group_name} {c.from_count} → {c.to_count}" for c in plan.commands)
        data: dict[str, Any] = {"commands": [c.model_dump(mode="json") for c in plan.commands]}
        if plan.managed_scaling is not None:
            steps = plan.managed_scaling.describe()
            data["managed_scaling"] = plan.managed_scaling.model_dump(mode="json")
        event = AppEvent(
            detail_type=AppDetailType.SCALING_DECISION,
            detail=AppEventDetail(
                reason_code=plan.reason.value,
                explanation=plan.explanation,
                severity=severity,
                cluster_id=plan.cluster_id,
                action=f"{outcome.value}: {steps}" if steps else outcome.value,
                data={**data, **({"spot": plan.spot.model_dump(mode="json")} if plan.spot else {})},
            ),
        )
        try:
            self.events.publish([event])
        except Exception:
            # The decision itself stands; a lost notice is logged and counted, never a reason to act again.
            logger.exception("could not publish the scaling notice for %s", plan.cluster_id)

    def _warn_unreadable_labels(self, snapshot: ClusterSnapshot | None) -> None:
        """A label configuration the scaler cannot read is ignored (scaling as before labels); ops hear of it once per
        cluster in this container, as a warning notice, not every minute; only for clusters it scales (opted in)."""
        if snapshot is None or not snapshot.opted_in or snapshot.node_labels.unreadable is None:
            return
        if snapshot.cluster_id in self._labels_warned:
            return
        self._labels_warned.add(snapshot.cluster_id)
        message = (
            f"Cluster {snapshot.name!r} ({snapshot.cluster_id}): its YARN node label configuration cannot be read "
            f"({snapshot.node_labels.unreadable}); the scaler ignores node labels for it, so pending "
            "ApplicationMasters pinned to a label may wait on nodes it adds elsewhere."
        )
        logger.warning(message, extra={"cluster_id": snapshot.cluster_id})
        event = AppEvent(
            detail_type=AppDetailType.SCALING_DECISION,
            detail=AppEventDetail(
                reason_code=AppReason.NODE_LABELS_UNREADABLE,
                explanation=message,
                severity=Severity.WARNING,
                cluster_id=snapshot.cluster_id,
                cluster_name=snapshot.name,
                action="scaling as if the cluster had no node labels",
            ),
        )
        try:
            self.events.publish([event])
        except Exception:
            logger.exception("could not publish the node-label notice for %s", snapshot.cluster_id)

    def evaluate(self, cluster_id: str, now: datetime, occasion: Occasion = TICK) -> Evaluation:
        """Evaluate reads everything the decision needs and asks the core; it writes and acts never.

        Clusters that did not opt in, are not RUNNING/WAITING, or are paused cost one DescribeCluster: the
        decision needs neither their groups, metrics nor state.
        """
        try:
            snapshot = self.emr.describe(cluster_id)
        except ClusterNotFoundError:
            return Evaluation(plan=hold_cluster_not_found(cluster_id, now))
        try:
            document = self.config.current()
        except ConfigInvalidError as error:
            return Evaluation(plan=hold_config_invalid(cluster_id, now, str(error)), snapshot=snapshot)
        profile, policy, unknown = document.policy_for(snapshot.profile_name)
        if unknown:
            logger.warning(
                "cluster %s asks for unknown profile %r; using %r",
                cluster_id,
                snapshot.profile_name,
                profile,
                extra={"cluster_id": cluster_id},
            )
        mode, mode_source = resolve_mode(snapshot.tags, policy.mode)

        def evaluation(plan: ResizePlan, **found: Any) -> Evaluation:
            context = {
                "snapshot": snapshot,
                "profile": profile,
                "mode": mode,
                "mode_source": mode_source,
                "managed_scaling_mode": policy.managed_scaling,
            }
            return Evaluation(plan=plan, **{**context, **found})

        if not (snapshot.opted_in and snapshot.state in ACTIVE_CLUSTER_STATES):
            plan = plan_resize(snapshot, None, policy, ScalingState(cluster_id=cluster_id), now)
            return evaluation(plan)
        if mode is Mode.PAUSED:
            return evaluation(hold_paused(snapshot, now, mode_source))
        try:
            snapshot = self._with_capacity(snapshot)
        except ClusterUnreadableError as error:
            state = self.store.load(cluster_id)
            plan = hold_cluster_unreadable(snapshot, state, now, str(error))
            return evaluation(_remember_reason(plan), state=state)
        cached = policy.managed_scaling is not ManagedScalingMode.TUNE and self._unmanaged_fresh(cluster_id, now)
        try:
            managed = None if cached else self._managed_limits(cluster_id, now)
        except OtherScalerUnreadableError as error:
            state = self.store.load(cluster_id)
            plan = hold_other_scaler_unreadable(snapshot, state, now, str(error))
            return evaluation(_remember_reason(plan), state=state, snapshot=snapshot)
        state = self.store.load(cluster_id)
        held = check_other_scalers(snapshot, managed, policy, state, now)
        if held is not None:
            # Another scaler resizes it: no metrics are read, nothing is decided but the hold.
            return evaluation(_remember_reason(held), state=state, snapshot=snapshot, managed_scaling=managed)
        # EMR said nodes of a group or fleet were lost: their Spot instances are counted (once each) before deciding.
        interrupted, lost_from, short_of = occasion.interrupted, occasion.lost_from, occasion.short_of
        seen = count_losses(state, self._lost(cluster_id, lost_from, now), now) if lost_from else state
        if short_of is not None:
            # EMR said this group or fleet is short of EC2 capacity: its Spot fallback need not wait the timeout.
            seen = short_now(seen, short_of, now)
        metrics = self.metrics.read(snapshot, policy.metrics, now)
        # Managed scaling attached (and tuned, or the cluster was held above) picks the markets itself: the Spot
        # fallback, give-back and interruption replacement are not decided, only the total it is limited to.
        steer_spot = managed is None
        if interrupted is not None and snapshot.collection is InstanceCollection.INSTANCE_FLEET:
            plan = plan_interruption(snapshot, metrics, policy, seen, interrupted, now, steer_spot=steer_spot)
        elif snapshot.collection is InstanceCollection.INSTANCE_FLEET:
            plan = plan_fleet_resize(snapshot, metrics, policy, seen, now, steer_spot=steer_spot)
        elif interrupted is not None:
            plan = plan_group_interruption(snapshot, metrics, policy, seen, interrupted, now, steer_spot=steer_spot)
        else:
            plan = plan_group_resize(snapshot, metrics, policy, seen, now, steer_spot=steer_spot)
        if cached and plan.acts:
            # About to resize on a cached "no managed scaling": read it again, it may have been attached since.
            try:
                managed = self._managed_limits(cluster_id, now)
            except OtherScalerUnreadableError as error:
                held = hold_other_scaler_unreadable(snapshot, state, now, str(error))
                return evaluation(_remember_reason(held), metrics=metrics, state=state, snapshot=snapshot)
            held = check_other_scalers(snapshot, managed, policy, state, now)
            if held is not None:
                return evaluation(
                    _remember_reason(held), metrics=metrics, state=state, snapshot=snapshot, managed_scaling=managed
                )
        plan = _remember_reason(plan_tune(plan, snapshot, managed, policy, seen, now))
        return evaluation(plan, metrics=metrics, state=state, snapshot=snapshot, managed_scaling=managed)

    def _unmanaged_fresh(self, cluster_id: str, now: datetime) -> bool:
        """True when this container read "no managed scaling" for the cluster within MANAGED_RECHECK."""
        seen = self._unmanaged_at.get(cluster_id)
        return seen is not None and timedelta(0) <= now - seen < MANAGED_RECHECK

    def _managed_limits(self, cluster_id: str, now: datetime) -> ManagedScalingLimits | None:
        """The cluster's managed scaling limits, read from EMR now (None: it has none, remembered for a while).

        Raises OtherScalerUnreadableError (logged) when the answer cannot be read: the caller holds.
        """
        if self.managed_scaling is None:
            return None
        try:
            managed = self.managed_scaling.limits(cluster_id)
        except OtherScalerUnreadableError as error:
            self._unmanaged_at.pop(cluster_id, None)
            logger.warning(
                "cluster %s: managed scaling unreadable (%s); holding",
                cluster_id,
                error,
                extra={"cluster_id": cluster_id},
            )
            raise
        if managed is None:
            self._unmanaged_at[cluster_id] = now
        else:
            self._unmanaged_at.pop(cluster_id, None)
        return managed

    def _lost(self, cluster_id: str, owner_id: str, now: datetime) -> tuple[InstanceLocation, ...]:
        """The Spot instances of a group or fleet that ended within LOSS_LOOKBACK (none when they cannot be read:
        the evaluation goes on, only the count is missed)."""
        if self.fleets is None:
            return ()
        try:
            return self.fleets.lost_instances(cluster_id, owner_id, now - LOSS_LOOKBACK)
        except ClusterUnreadableError as error:
            logger.warning("lost instances of %s unreadable: %s", owner_id, error, extra={"cluster_id": cluster_id})
            return ()

    def _with_capacity(self, snapshot: ClusterSnapshot) -> ClusterSnapshot:
        """The snapshot with its groups, or its fleets (in units) for an instance-fleet cluster."""
        if snapshot.collection is InstanceCollection.INSTANCE_FLEET:
            if self.fleets is None:
                raise ClusterUnreadableError("it runs instance fleets, and this scaler was built without fleet support")
            return snapshot.model_copy(update={"fleets": self.fleets.instance_fleets(snapshot.cluster_id)})
        return snapshot.model_copy(update={"groups": self.emr.instance_groups(snapshot.cluster_id)})

    def reconcile_cluster(
        self,
        cluster_id: str,
        interrupted: InstanceLocation | None = None,
        lost_from: str | None = None,
        short_of: str | None = None,
    ) -> DecisionSummary:
        """Reconcile_cluster evaluates one cluster (or, with `interrupted`, the Spot interruption of one of its
        instances; with `lost_from`, EMR's node loss in one of its groups or fleets) and applies the decision at
        most once (see `_reconcile`); every log line meanwhile carries the cluster id."""
        with self.log_context(cluster_id):
            return self._reconcile(cluster_id, Occasion(interrupted, lost_from, short_of))

    def locate_interrupted(self, ec2_instance_id: str) -> InstanceLocation | str:
        """Locate_interrupted finds where the EC2 instance of a Spot warning runs, or says why the warning is ignored.

        EC2's warning names the instance only, and comes for every Spot instance of the account. One question to EC2
        (`instances`: DescribeInstances, EMR's cluster tag) names its cluster; an instance of no EMR cluster, or of a
        cluster the scaler does not evaluate (not registered: not opted in), is ignored without any EMR call. Only
        then is that one cluster's ListInstances read, for the instance's fleet or group. When EC2 cannot answer
        (throttled past botocore's retries, the permission refused), the warning is ignored with a logged warning,
        not failed: the instance may be no EMR one at all, and the minute's tick and EMR's own node-loss event still
        see a loss. An EMR error on a registered cluster raises, so the trigger is retried as before.
        """
        if self.fleets is None or self.instances is None:
            return f"Spot instance {ec2_instance_id}: this scaler cannot locate instances (no fleet support)"
        try:
            cluster_id = self.instances.cluster_of(ec2_instance_id)
        except InstanceUnresolvedError as error:
            reason = f"Spot instance {ec2_instance_id} could not be resolved to a cluster: {error}"
            logger.warning("Spot interruption warning ignored: %s", reason)
            return reason
        if cluster_id is None:
            return f"Spot instance {ec2_instance_id} is no EMR instance (EC2 names no EMR cluster for it)"
        if cluster_id not in self.registered_ids():
            return f"Spot instance {ec2_instance_id} runs in {cluster_id}, which is not registered (not opted in)"
        try:
            found = self.fleets.locate_instance(cluster_id, ec2_instance_id)
        except ClusterUnreadableError as error:
            return f"Spot instance {ec2_instance_id} runs in {cluster_id}, whose instances cannot be read: {error}"
        if found is None:
            return f"Spot instance {ec2_instance_id} is not among the running instances of {cluster_id}"
        return found

    def _reconcile(self, cluster_id: str, occasion: Occasion = TICK) -> DecisionSummary:
        """_Reconcile evaluates one cluster and applies the decision at most once.

        In `observe` mode the decision is claimed and recorded as if applied (so cooldowns and notices follow
        what the scaler would have done) but EMR is never called. Raises on AWS errors that survive botocore's
        retries, after undoing its claim, so the trigger is retried or reaches the dead-letter queue.
        """
        started = time.perf_counter()
        evaluation = self.evaluate(cluster_id, self.clock(), occasion)
        self._warn_unreadable_labels(evaluation.snapshot)
        summary = self._apply(evaluation, started)
        source = evaluation.metrics.source.value if evaluation.metrics is not None else None
        return replace(summary, metrics_source=source)

    def _apply(self, evaluation: Evaluation, started: float) -> DecisionSummary:
        """_Apply claims, acts on and records one evaluation's decision (see `_reconcile`)."""
        cluster_id = evaluation.plan.cluster_id
        plan, state = evaluation.plan, evaluation.state
        if plan.reason is ReasonCode.HOLD_CLUSTER_NOT_FOUND:
            self._forget(cluster_id)
        if state is None:
            # Decided before any state was read (no configuration, not opted in, paused, gone): this warm container
            # remembers the reason, so an outage is notified once per episode, not every minute.
            previous = self._stateless_reasons.get(cluster_id)
            self._stateless_reasons[cluster_id] = plan.reason
            return self._finish(plan, Outcome.HELD, started, previous=previous)
        self._stateless_reasons.pop(cluster_id, None)
        if not plan.acts and plan.next_state == state:
            return self._finish(plan, Outcome.HELD, started, state.last_reason)
        decision_id = f"{cluster_id}:{state.version + 1}"
        plan = plan.model_copy(
            update={"next_state": plan.next_state.model_copy(update={"last_decision_id": decision_id})}
        )
        if not self.store.save(plan.next_state, state.version):
            skipped = plan.model_copy(
                update={
                    "reason": ReasonCode.SKIPPED_ALREADY_DECIDED,
                    "explanation": f"Skipping {cluster_id}: another evaluation decided first; its decision stands.",
                    "commands": (),
                }
            )
            return self._finish(skipped, Outcome.SKIPPED, started)
        if not plan.acts:
            self.store.record(plan, Outcome.HELD)
            return self._finish(plan, Outcome.HELD, started, state.last_reason)
        if evaluation.mode is Mode.OBSERVE:
            observed = plan.model_copy(update={"explanation": f"Observe mode, not acting: {plan.explanation}"})
            self.store.record(observed, Outcome.OBSERVED)
            return self._finish(observed, Outcome.OBSERVED, started)
        return self._act(plan, state, started)

    def _act(self, plan: ResizePlan, prior: ScalingState, started: float) -> DecisionSummary:
        cluster_id = plan.cluster_id
        try:
            fleet_commands = [c for c in plan.commands if isinstance(c, ResizeInstanceFleet)]
            if plan.managed_scaling is not None:
                if self.managed_scaling is None:
                    raise RuntimeError("a managed scaling plan needs the managed scaling port")
                self.managed_scaling.tune(cluster_id, plan.managed_scaling)
            elif fleet_commands and self.fleets is not None:
                self.fleets.resize_fleets(cluster_id, fleet_commands)
            else:
                self.emr.resize(cluster_id, plan.commands)
        except GroupMovedError as error:
            self._release(plan, prior)
            moved = plan.model_copy(
                update={
                    "reason": ReasonCode.SKIPPED_GROUP_MOVED,
                    "explanation": f"Skipping {cluster_id}: {error}; the next evaluation decides afresh.",
                }
            )
            self.store.record(moved, Outcome.SKIPPED)
            return self._finish(moved, Outcome.SKIPPED, started)
        except Exception:
            self._release(plan, prior)
            self.store.record(plan, Outcome.FAILED)
            self._finish(plan, Outcome.FAILED, started)
            raise
        self.store.record(plan, Outcome.APPLIED)
        return self._finish(plan, Outcome.APPLIED, started)

    def _release(self, plan: ResizePlan, prior: ScalingState) -> None:
        """Undo the claim's cooldown clocks: nothing was resized, so nothing should cool down."""
        restored = prior.model_copy(update={"last_decision_id": plan.next_state.last_decision_id})
        if not self.store.save(restored, prior.version + 1):
            logger.warning("could not release the claim on %s: state moved on", plan.cluster_id)

    def _forget(self, cluster_id: str) -> None:
        """Drop the registry entry of a cluster EMR does not know, so no later tick asks for it again."""
        self._unmanaged_at.pop(cluster_id, None)
        if self.registry is None:
            return
        try:
            self.registry.unregister(cluster_id)
            logger.warning("cluster %s is unknown to EMR: removed from the registry", cluster_id)
        except Exception:
            # The hold stands; the cluster watch's quarter-hour sync removes the entry if this did not.
            logger.exception("could not remove the unknown cluster %s from the registry", cluster_id)

    def reconcile_many(self, cluster_ids: Sequence[str]) -> list[DecisionSummary]:
        """Reconcile_many evaluates clusters one after the other; one failure does not stop the others.

        Raises ReconcileFailedError after all clusters were tried if any failed. (Parallelism is the evaluation
        queue's: see `enqueue`.)
        """
        results: list[DecisionSummary] = []
        failures: list[str] = []
        for cluster_id in cluster_ids:
            try:
                results.append(self.reconcile_cluster(cluster_id))
            except Exception as error:
                logger.exception("evaluation of %s failed", cluster_id, extra={"cluster_id": cluster_id})
                failures.append(f"{cluster_id}: {type(error).__name__}: {error}")
        if failures:
            raise ReconcileFailedError(
                f"{len(failures)} of {len(cluster_ids)} cluster(s) failed: " + "; ".join(failures)
            )
        return results

    def handle(self, trigger: Trigger) -> dict[str, Any]:
        """Handle runs or enqueues the evaluation a trigger asks for and returns the invocation's summary."""
        return handle_trigger(trigger, self)

    def registered_ids(self) -> list[str]:
        """Registered_ids are the clusters a tick evaluates: the registry's (one Query), or without a registry every
        RUNNING or WAITING cluster in the account (ListClusters; non-opted-in ones hold after one DescribeCluster)."""
        if self.registry is not None:
            return [c.cluster_id for c in self.registry.registered()]
        return self.emr.list_active_cluster_ids()

    def reconcile_all(self) -> list[DecisionSummary]:
        """Reconcile_all evaluates every registered cluster inline (see `registered_ids`)."""
        return self.reconcile_many(self.registered_ids())

    def enqueue(
        self,
        cluster_ids: Sequence[str],
        cause: str,
        event_id: str,
        ec2_instance_id: str | None = None,
        lost_from: str | None = None,
        short_of: str | None = None,
    ) -> int:
        """Enqueue sends one evaluation request per cluster to the queue and returns how many it sent.

        Raises when the queue refused any (the trigger is then retried; deduplication ids make the retry's
        repeats harmless for 5 minutes).
        """
        if self.queue is None:
            raise RuntimeError("enqueue needs an evaluation queue")
        now = self.clock()
        self.queue.send(
            [evaluation_request(c, cause, event_id, now, ec2_instance_id, lost_from, short_of) for c in cluster_ids]
        )
        return len(cluster_ids)

    def evaluate_request(self, request: EvaluationRequest) -> DecisionSummary:
        """Evaluate_request runs one queued evaluation (reconcile_cluster); errors raise so the message is retried."""
        with self.log_context(request.cluster_id):
            logger.debug(
                "evaluating %s: %s (enqueued %s)",
                request.cluster_id,
                request.cause,
                request.enqueued_at.isoformat(),
                extra={"cluster_id": request.cluster_id},
            )
            interrupted = None
            if request.ec2_instance_id is not None and self.fleets is not None:
                # Found once when enqueued; read again, fresh, right before the decision.
                interrupted = self.fleets.locate_instance(request.cluster_id, request.ec2_instance_id)
            return self._reconcile(request.cluster_id, Occasion(interrupted, request.lost_from, request.short_of))

    def consume(self, batch: EvaluationBatch) -> dict[str, Any]:
        """Consume evaluates a batch of the evaluation queue and reports the failed records (partial batch response).

        Powertools' SqsFifoPartialProcessor with `skip_group_on_error`: a failed record fails the records after it
        in its own message group (FIFO order: Lambda must not run them before it), and no other group's
        (https://docs.aws.amazon.com/powertools/python/latest/utilities/batch/#fifo-queues). The event source mapping
        deletes the successes and redelivers the failures after the visibility timeout; after maxReceiveCount
        receives SQS moves a message to the FIFO dead-letter queue, its body naming the cluster.
        """
        from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response

        decisions: list[DecisionSummary] = []

        def record_handler(record: Any) -> None:
            try:
                request = parse_evaluation_request(record.body)
            except ValueError as error:
                logger.error("queue message %s refused: %s", record.message_id, error)
                raise
            try:
                decisions.append(self.evaluate_request(request))
            except Exception as error:
                logger.exception(
                    "evaluation of %s failed: %s; the queue retries it",
                    request.cluster_id,
                    type(error).__name__,
                    extra={"cluster_id": request.cluster_id},
                )
                raise

        started, calls_before = time.perf_counter(), self.api_calls()
        processor = SqsFifoPartialProcessor(skip_group_on_error=True)
        response: dict[str, Any] = dict(
            process_partial_response(event=batch.event, record_handler=record_handler, processor=processor)
        )
        api_calls = self.api_calls() - calls_before
        failures: list[Any] = list(response.get("batchItemFailures") or [])
        if self.batch_metrics is not None:
            self.batch_metrics.batch(
                evaluated=len(decisions),
                failed=len(failures),
                api_calls=api_calls,
                elapsed_s=time.perf_counter() - started,
                budget=self.budget,
            )
        return {**response, "decisions": [d.as_dict() for d in decisions], "api_calls": api_calls}


def _remember_reason(plan: ResizePlan) -> ResizePlan:
    """The plan whose next state remembers its reason (a trouble hold is notified when it changes)."""
    return plan.model_copy(update={"next_state": plan.next_state.model_copy(update={"last_reason": plan.reason})})


def handle_trigger(trigger: Trigger, scaler: Scaler) -> dict[str, Any]:
    """Handle_trigger runs the evaluation a trigger asks for, or enqueues it when the scaler has a queue, and returns
    the invocation's summary."""
    if isinstance(trigger, Ignored):
        logger.warning("event ignored: %s", trigger.reason)
        return {"ignored": True, "reason": trigger.reason, "decisions": []}
    if isinstance(trigger, EvaluationBatch):
        return scaler.consume(trigger)
    if isinstance(trigger, ScheduledTick):
        if scaler.queue is not None:
            calls_before = scaler.api_calls()
            enqueued = scaler.enqueue(scaler.registered_ids(), TICK_CAUSE, trigger.event_id)
            calls = scaler.api_calls() - calls_before
            return {
                "ignored": False,
                "event_id": trigger.event_id,
                "enqueued": enqueued,
                "decisions": [],
                "api_calls": calls,
            }
        decisions = scaler.reconcile_all()
    elif isinstance(trigger, SpotInterruption):
        location = scaler.locate_interrupted(trigger.ec2_instance_id)
        if isinstance(location, str):
            logger.info("event ignored: %s", location)
            return {"ignored": True, "reason": location, "decisions": []}
        if scaler.queue is not None:
            cause = f"Spot interruption of {trigger.ec2_instance_id}"
            scaler.enqueue([location.cluster_id], cause, trigger.event_id, location.ec2_instance_id)
            return {"ignored": False, "event_id": trigger.event_id, "enqueued": 1, "decisions": []}
        decisions = [scaler.reconcile_cluster(location.cluster_id, location)]
    elif isinstance(trigger, NodeLoss):
        logger.info("evaluating %s: %s", trigger.cluster_id, trigger.cause, extra={"cluster_id": trigger.cluster_id})
        if scaler.queue is not None:
            scaler.enqueue([trigger.cluster_id], trigger.cause, trigger.event_id, lost_from=trigger.owner_id)
            return {"ignored": False, "event_id": trigger.event_id, "enqueued": 1, "decisions": []}
        decisions = [scaler.reconcile_cluster(trigger.cluster_id, lost_from=trigger.owner_id)]
    else:
        logger.info("evaluating %s: %s", trigger.cluster_id, trigger.cause, extra={"cluster_id": trigger.cluster_id})
        if scaler.queue is not None:
            scaler.enqueue([trigger.cluster_id], trigger.cause, trigger.event_id, short_of=trigger.short_of)
            return {"ignored": False, "event_id": trigger.event_id, "enqueued": 1, "decisions": []}
        decisions = [scaler.reconcile_cluster(trigger.cluster_id, short_of=trigger.short_of)]
    return {
        "ignored": False,
        "event_id": trigger.event_id,
        "decisions": [d.as_dict() for d in decisions],
        "applied": sum(d.outcome is Outcome.APPLIED for d in decisions),
    }
