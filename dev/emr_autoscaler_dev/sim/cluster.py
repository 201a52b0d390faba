"""The simulated EMR cluster: instance groups of nodes, YARN containers placed on them, graceful decommission.

The model (defaults in `ClusterSpec`, documented in docs/simulator.md):

- a node offers YARN the memory and vcores of its instance type (EMR's defaults, `DEFAULT_NODE_CAPACITY`);
- a requested node starts after `start_delay_s` ± `start_jitter_s` (uniform, seeded) and is billed from the
  request: EMR bills from the instance's launch, and provisioning plus bootstrap are most of the delay;
- pending containers are placed as capacity frees, on any running node with room; with the `fair` scheduler
  (default) the job using the least memory is served first, as under the Fair Scheduler the FB cluster ran
  (YARN's `fair` ordering policy): a small job does not wait behind a 50,000-map one; with `fifo` (the
  Capacity Scheduler's default ordering) the oldest job is served first and smaller requests fill the gaps;
- shrinking a group first cancels nodes that are still starting, then gracefully decommissions the running
  nodes with the fewest containers: they take no new container, leave when their containers finish, and at
  the decommission timeout are terminated, their containers killed and queued again (the work is lost);
- a group's running count includes decommissioning nodes until they are gone, as EMR reports it, so a group
  is settled only when no node starts and none drains;
- a job with an ApplicationMaster (`Job.am_memory_mb` > 0) first waits for its AM container; its maps are
  requested when the AM runs, and the AM's room is freed when the job ends. An AM killed by a decommission
  timeout is requested again; its tasks keep running meanwhile (MapReduce's AM recovery keeps finished tasks);
- AMs may hold at most `max_am_share` of the cluster's memory and of its vcores (the Fair Scheduler's
  `maxAMShare`, default 0.5, checked on every resource; the Capacity Scheduler's `maximum-am-resource-percent`
  plays the same part), but one AM always may run: without the limit, a queue of small jobs fills every node with
  AMs whose tasks then find no room (a deadlock);
- with `am_label="CORE"` (EMR 5.19+'s YARN node labels) an AM is placed on CORE nodes only, whatever room TASK
  nodes have; maps and reduces go anywhere (EMR's CORE partition is non-exclusive).

Cython compiles this module as it is (compiled.py; C types in cluster.pxd): the methods declared there hold no
lambda or generator expression (Cython compiles no closure in them), and the module stays valid, checked Python.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import IntEnum
from math import inf
from operator import attrgetter

from emr_autoscaler.kernel.config.scaling import DEFAULT_NODE_CAPACITY, NodeCapacity
from emr_autoscaler.kernel.models import GroupRole
from emr_autoscaler_dev.sim.heaps import EventQueue
from emr_autoscaler_dev.sim.waiting import AM, HEAP_ABOVE, MAP, REDUCE, InOrder, Request, TaskQueue
from emr_autoscaler_dev.sim.workload import Job

ON_DEMAND = "ON_DEMAND"
SPOT = "SPOT"

FAIR = "fair"
FIFO = "fifo"
SCHEDULERS = (FAIR, FIFO)

# On-demand EC2 plus the EMR uplift, USD per instance-hour (us-east-1 list prices): a relative cost, not a quote.
DEFAULT_PRICE_PER_HOUR: dict[str, float] = {
    "m5.xlarge": 0.240,
    "m5.2xlarge": 0.480,
    "m5.4xlarge": 0.960,
    "m6g.xlarge": 0.193,
    "m6g.2xlarge": 0.385,
    "r5.xlarge": 0.315,
    "r5.2xlarge": 0.630,
    "c5.xlarge": 0.213,
    "c5.2xlarge": 0.425,
}


@dataclass(frozen=True, slots=True)
class ClusterSpec:
    """ClusterSpec is the simulated cluster's shape and timing (times in s, memory in MB, prices in USD/hour).

    `core_nodes` and `task_nodes` are the initial counts; the policies' limits come from the configuration.
    The MASTER node is the same for every policy and left out of node-hours.
    """

    instance_type: str = "m5.2xlarge"
    core_nodes: int = 2
    task_nodes: int = 0
    start_delay_s: float = 360.0
    start_jitter_s: float = 60.0
    scheduler: str = "fair"
    hdfs_utilization_pct: float = 30.0
    max_am_share: float = 0.5
    node_capacity: NodeCapacity | None = None
    price_per_hour: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_PRICE_PER_HOUR))
    # Spot (see docs/simulator.md): with `spot_task` the TASK side is a fleet of one unit per node, a Spot group
    # (`task`) and an On-Demand one (`task_od`). Spot requests made during a `spot_short` window (start, end in s)
    # fill only after it ends; a running Spot node is reclaimed at `spot_interruptions_per_node_hour` (Poisson),
    # its containers killed, and EMR starts another in its place. Spot costs `spot_price_factor` of On-Demand.
    # EC2 warns `spot_warning_s` before it reclaims a node (its two-minute notice; 0: no warning): the warned nodes
    # wait in `SimCluster.warnings` for a policy that reacts to them (`SimPolicy.on_warning`).
    spot_task: bool = False
    spot_short: tuple[tuple[float, float], ...] = ()
    spot_interruptions_per_node_hour: float = 0.0
    spot_price_factor: float = 0.4
    spot_warning_s: float = 120.0
    # "CORE": ApplicationMasters run on CORE nodes only (YARN node labels, as EMR 5.19+ sets them); None: anywhere.
    am_label: str | None = None

    @property
    def capacity(self) -> NodeCapacity:
        """Capacity is one node's YARN memory (MB) and vcores: explicit, else EMR's default for the type."""
        if self.node_capacity is not None:
            return self.node_capacity
        default = DEFAULT_NODE_CAPACITY.get(self.instance_type)
        if default is None:
            raise ValueError(f"no YARN capacity known for {self.instance_type}; pass node_capacity")
        return default

    @property
    def price(self) -> float:
        """Price is one node's USD per hour (0 when the type has no price)."""
        return self.price_per_hour.get(self.instance_type, 0.0)


class NodeState(IntEnum):
    """NodeState is a node's life: starting, running (takes containers), draining, gone."""

    STARTING = 0
    RUNNING = 1
    DRAINING = 2
    GONE = 3


# The scheduler's hot paths compare against these (one lookup, not two).
_RUNNING = NodeState.RUNNING
_DRAINING = NodeState.DRAINING
_BY_KEY = attrgetter("key")
_BY_AGE = attrgetter("order")  # nodes, oldest in YARN first


class Node:
    """Node is one instance: its YARN capacity (MB, vcores), what is free, and its life times (s)."""

    __slots__ = (
        "batches",
        "deadline_s",
        "free_mb",
        "free_vcores",
        "gone_s",
        "group",
        "memory_mb",
        "node_id",
        "order",
        "requested_s",
        "state",
        "vcores",
    )

    def __init__(self, node_id: int, group: SimGroup, capacity: NodeCapacity, requested_s: float) -> None:
        self.node_id = node_id
        self.group = group
        self.memory_mb = capacity.memory_mb
        self.vcores = capacity.vcores
        self.free_mb = capacity.memory_mb
        self.free_vcores = capacity.vcores
        self.state = NodeState.STARTING
        self.requested_s = requested_s
        self.gone_s: float | None = None
        self.batches: set[Batch] = set()
        self.order = 0  # when it joined YARN: the scheduler tries nodes oldest first
        self.deadline_s = inf  # when its graceful decommission times out, while it drains


class Batch:
    """Batch is `count` identical containers of one job phase started together on one node, ending at `end_s`.

    An AM batch ends with its job, not at a known time (`end_s` is infinite).
    """

    __slots__ = ("alive", "count", "end_s", "job", "job_index", "memory_mb", "node", "phase", "vcores")

    def __init__(self, node: Node, request: Request, count: int, end_s: float) -> None:
        self.node = node
        self.job = request.job
        self.job_index = request.job_index
        self.phase = request.phase
        self.count = count
        self.memory_mb = request.memory_mb
        self.vcores = request.vcores
        self.end_s = end_s
        self.alive = True

    @property
    def reduce(self) -> bool:
        """Reduce is true for a batch of reduces."""
        return self.phase == REDUCE


def _idlest_first(node: Node) -> tuple[int, int]:
    """The order in which a shrink drains running nodes: fewest containers first, then the newest."""
    return sum([b.count for b in node.batches]), -node.node_id


class _Merged:
    """_Merged yields the waiting AMs' and tasks' requests merged in the scheduler's order, as a generator would.

    An iterator object rather than a generator (cheaper, compiled), lazy as one: each request is taken from its
    source only when the next one is asked for, so the task queue pops exactly what the pass reaches.
    """

    __slots__ = ("_am", "_am_entries", "_next_am", "_next_task", "_started", "_task", "_task_usage", "_tasks")

    def __init__(self, tasks: InOrder, am_entries: Iterator[tuple[int, tuple[int, int], Request]]) -> None:
        self._tasks = tasks
        self._am_entries = am_entries
        self._am: tuple[int, tuple[int, int], Request] | None = None
        self._task: Request | None = None
        self._task_usage = 0
        self._started = self._next_am = self._next_task = False

    def __iter__(self) -> _Merged:
        return self

    def __next__(self) -> Request:
        if not self._started:
            self._started = True
            self._am = next(self._am_entries, None)
            self._next_task = True
        if self._next_am:
            self._next_am = False
            self._am = next(self._am_entries, None)
        if self._next_task:
            self._next_task = False
            self._task = next(self._tasks, None)
            self._task_usage = self._tasks.usage
        am, task = self._am, self._task
        if am is not None and (task is None or (am[0], am[1]) < (self._task_usage, task.key)):
            self._next_am = True
            return am[2]
        if task is None:
            raise StopIteration
        self._next_task = True
        return task


class SimGroup:
    """SimGroup is one instance group: its role, its nodes, and the count EMR was last asked for."""

    __slots__ = ("group_id", "instance_type", "market", "name", "nodes", "requested", "role")

    def __init__(self, group_id: str, name: str, role: GroupRole, instance_type: str, market: str = ON_DEMAND) -> None:
        self.market = market
        self.group_id = group_id
        self.name = name
        self.role = role
        self.instance_type = instance_type
        self.requested = 0
        self.nodes: list[Node] = []

    @property
    def running_count(self) -> int:
        """Running_count counts running and draining nodes, as EMR's RunningInstanceCount does."""
        return len([n for n in self.nodes if n.state is NodeState.RUNNING or n.state is NodeState.DRAINING])

    @property
    def starting(self) -> int:
        """Starting counts nodes requested but not yet running."""
        return len([n for n in self.nodes if n.state is NodeState.STARTING])

    @property
    def settled(self) -> bool:
        """Settled is true when the group has exactly what it asked for: nothing starts, nothing drains."""
        return self.requested == self.running_count


# Event kinds, in the order they are handled at one instant: containers free room before nodes join or leave.
_COMPLETE = 0
_READY = 1
_DEADLINE = 2
_INTERRUPT = 3
_WARNING = 4


class SimCluster:
    """SimCluster is the YARN cluster state and its mechanics; the engine drives it through time.

    Counters (`allocated_mb`, `pending_mb`, ...) are kept incrementally so metrics are O(1) to read.
    """

    def __init__(self, spec: ClusterSpec, rng: random.Random, min_container: tuple[int, int] = (1, 1)) -> None:
        self.spec = spec
        self.min_container = min_container
        # Read from `spec` and `min_container` once: the scheduler's passes read them as C fields (cluster.pxd).
        self._min_mb, self._min_vcores = min_container
        self._fair = spec.scheduler == FAIR
        self._max_am_share = spec.max_am_share
        self._am_core_only = spec.am_label == "CORE"
        self.capacity = spec.capacity
        self.rng = rng
        self.core = SimGroup("ig-core", "Core", GroupRole.CORE, spec.instance_type)
        self.task = SimGroup(
            "ig-task", "Task", GroupRole.TASK, spec.instance_type, SPOT if spec.spot_task else ON_DEMAND
        )
        self.task_od: SimGroup | None = None
        self.groups: tuple[SimGroup, ...] = (self.core, self.task)
        if spec.spot_task:
            self.task_od = SimGroup("ig-task-od", "Task On-Demand", GroupRole.TASK, spec.instance_type)
            self.groups = (self.core, self.task, self.task_od)
        self.interrupted_nodes = 0
        # Nodes EC2 warned of (two minutes before it reclaims them) and no policy has read yet, with the time.
        self.warnings: list[tuple[Node, float]] = []
        self.nodes: list[Node] = []
        self.accepting: list[Node] = []
        self.events = EventQueue()
        self.pending: list[Request] = []
        # Waiting AMs apart from waiting tasks: behind the AM share limit thousands may wait, and each pass of the
        # scheduler needs only the few that fit (tasks wait only for jobs whose AM runs, so they stay few).
        self.pending_am: list[Request] = []
        self.allocated_mb = 0
        self.am_mb = 0
        self.am_vcores = 0
        self.allocated_vcores = 0
        self.containers_allocated = 0
        self.pending_mb = 0
        self.pending_vcores = 0
        self.containers_pending = 0
        self.total_mb = 0
        self.total_vcores = 0
        self.active_nodes = 0
        self.billed_nodes = 0
        self.peak_nodes = 0
        self.apps_pending = 0
        self.apps_running = 0
        self.dirty = False
        self.requeued = False
        # What changed since the last pass of the scheduler. A pass ends only when no waiting container fits any
        # node with room, so the next one need only look at the nodes whose room grew (`_grown`), unless the
        # waiting containers changed (`_asked`: a request queued, or the AM share limit moved).
        self._grown: set[Node] = set()
        self._asked = True
        # The free memory of the nodes that can take a container (running, room for the smallest): the fair share.
        self._room_mb = 0
        self._roomy_nodes: set[Node] = set()
        self._joined = itertools.count()
        self.started: set[int] = set()
        self.outstanding: dict[int, int] = {}
        self.job_mb: dict[int, int] = {}
        self.tasks: TaskQueue | None = None  # the waiting tasks in order, kept while many wait
        # Sizes of the waiting AMs, and the jobs whose AM waits again after a kill (their usage orders them).
        self._am_sizes: dict[tuple[int, int], int] = {}
        self._reasked: set[int] = set()
        self.finished_s: dict[int, float] = {}
        self.am_batches: dict[int, Batch] = {}
        self.reducing: set[int] = set()
        self.killed_containers = 0
        self.initial_nodes = spec.core_nodes + spec.task_nodes
        for group, count in ((self.core, spec.core_nodes), (self.task, spec.task_nodes)):
            for _ in range(count):
                node = self._new_node(group, 0.0)
                self._node_ready(node)
            group.requested = count

    # --- nodes -------------------------------------------------------------------------------------------------

    def _push(self, at_s: float, kind: int, payload: object) -> None:
        self.events.push(at_s, kind, payload)

    def _new_node(self, group: SimGroup, now_s: float) -> Node:
        node = Node(len(self.nodes), group, self.capacity, now_s)
        self.nodes.append(node)
        group.nodes.append(node)
        self.billed_nodes += 1
        self.peak_nodes = max(self.peak_nodes, self.billed_nodes)
        return node

    def _start_node(self, group: SimGroup, now_s: float) -> None:
        node = self._new_node(group, now_s)
        jitter = self.rng.uniform(-self.spec.start_jitter_s, self.spec.start_jitter_s)
        delay = max(0.0, self.spec.start_delay_s + jitter)
        if group.market == SPOT:
            # No Spot capacity in a shortage window: the request fills once it ends (and is billed from then).
            for start, end in self.spec.spot_short:
                if start <= now_s + delay and now_s < end:
                    node.requested_s = end
                    delay = end - now_s + delay
                    break
        self._push(now_s + delay, _READY, node)

    def _interrupt(self, node: Node, now_s: float) -> None:
        """EC2 reclaims a Spot node: its containers are killed and asked again, and EMR starts one in its place."""
        if node.state is not NodeState.RUNNING and node.state is not NodeState.DRAINING:
            return
        if node.state is NodeState.RUNNING:
            if node in self._roomy_nodes:
                self._room_mb -= node.free_mb
                self._roomy_nodes.discard(node)
            self.accepting.remove(node)
            node.state = NodeState.DRAINING
        self._kill(node)
        self._node_gone(node, now_s)
        self.interrupted_nodes += 1
        group = node.group
        if len(group.nodes) < group.requested:
            self._start_node(group, now_s)

    @property
    def pending_am_mb(self) -> int:
        """Pending_am_mb is the memory (MB) of the ApplicationMasters waiting to be placed."""
        return sum([r.count * r.memory_mb for r in self.pending_am])

    def take_warnings(self) -> list[tuple[Node, float]]:
        """Take_warnings hands over the nodes EC2 warned of since the last call (and forgets them)."""
        warned, self.warnings = self.warnings, []
        return warned

    def cost_usd(self, end_s: float) -> float:
        """Cost_usd is the billed node time up to `end_s` at each node's market price (Spot at its factor)."""
        price, factor = self.spec.price, self.spec.spot_price_factor
        return (
            sum([self._billed_s(n, end_s) * (factor if n.group.market == SPOT else 1.0) for n in self.nodes])
            * price
            / 3600.0
        )

    def market_node_seconds(self, end_s: float, market: str) -> float:
        """Market_node_seconds is the billed node time of one market up to `end_s` (s)."""
        return sum([self._billed_s(n, end_s) for n in self.nodes if n.group.market == market])

    def _roomy(self, node: Node) -> bool:
        """Roomy is true for a running node with room for the smallest container."""
        return node.state is _RUNNING and node.free_mb >= self._min_mb and node.free_vcores >= self._min_vcores

    def _node_ready(self, node: Node, *, rejoin: bool = False) -> None:
        node.state = NodeState.RUNNING
        node.order = next(self._joined)
        if self._roomy(node):
            self._room_mb += node.free_mb
            self._roomy_nodes.add(node)
        self.accepting.append(node)
        if not rejoin:  # a draining node never left YARN's totals
            self.total_mb += node.memory_mb
            self.total_vcores += node.vcores
            self.active_nodes += 1
        self.dirty = True
        self._asked = True  # more memory: the AM share limit lets more AMs run

    def _node_gone(self, node: Node, now_s: float) -> None:
        if node.state is not NodeState.STARTING:
            self.total_mb -= node.memory_mb
            self.total_vcores -= node.vcores
            self.active_nodes -= 1
        node.state = NodeState.GONE
        node.gone_s = now_s
        node.group.nodes.remove(node)
        self.billed_nodes -= 1

    def resize(self, group: SimGroup, to_count: int, decommission_timeout_s: float, now_s: float) -> None:
        """Resize sets a group's requested count: starts nodes, or cancels starting ones then drains the idlest."""
        delta = to_count - group.requested
        group.requested = to_count
        members = group.nodes
        if delta > 0:
            # Nodes still draining are taken back first (YARN recommissions a DECOMMISSIONING node): they run now.
            for node in [n for n in members if n.state is NodeState.DRAINING][::-1][:delta]:
                node.deadline_s = inf
                self._node_ready(node, rejoin=True)
                delta -= 1
            for _ in range(delta):
                self._start_node(group, now_s)
            return
        remove = -delta
        # Nodes still starting hold no container: cancelling them (newest first) loses nothing.
        starting = [n for n in members if n.state is NodeState.STARTING]
        for node in starting[::-1][:remove]:
            self._node_gone(node, now_s)
            remove -= 1
        if remove <= 0:
            return
        running = sorted([n for n in members if n.state is NodeState.RUNNING], key=_idlest_first)
        for node in running[:remove]:
            if node in self._roomy_nodes:
                self._room_mb -= node.free_mb
                self._roomy_nodes.discard(node)
            node.state = NodeState.DRAINING
            self.accepting.remove(node)
            if not node.batches:
                self._node_gone(node, now_s)
            else:
                node.deadline_s = now_s + decommission_timeout_s
                self._push(node.deadline_s, _DEADLINE, node)

    # --- jobs and containers -----------------------------------------------------------------------------------

    def submit(self, job: Job) -> None:
        """Submit queues a job's AM (or its maps when it has none); the job is a pending application until it runs."""
        self.apps_pending += 1
        if job.am_memory_mb:
            self._queue(Request(job, AM, 1))
            return
        self.outstanding[job.index] = job.maps
        self._queue(Request(job, MAP, job.maps))

    def _queue(self, request: Request) -> None:
        if request.phase == AM:
            bisect.insort(self.pending_am, request, key=_BY_KEY)
            size = (request.memory_mb, request.vcores)
            self._am_sizes[size] = self._am_sizes.get(size, 0) + request.count
        else:
            bisect.insort(self.pending, request, key=_BY_KEY)
            if self.tasks is not None:
                self.tasks.add(request)
        self.pending_mb += request.count * request.memory_mb
        self.pending_vcores += request.count * request.vcores
        self.containers_pending += request.count
        self.dirty = True
        self.requeued = True
        self._asked = True

    def allocate(self, now_s: float) -> None:
        """Allocate places pending containers on the running nodes with room (oldest node first).

        Fair ordering serves first the job using the least memory now (then the oldest); FIFO the oldest job.
        A pass places nothing on a node that could take nothing at the end of the previous pass unless the waiting
        containers changed since, so only the nodes whose room grew are tried (the same placements, found faster).
        """
        self.dirty = False
        self.requeued = False
        grown, asked = self._grown, self._asked
        self._grown = set()
        self._asked = False
        if not (self.pending or self.pending_am):
            return
        if asked:
            nodes = sorted(self._roomy_nodes, key=_BY_AGE)
        elif len(grown) == 1:  # most often: one container ended
            nodes = [node for node in grown if node in self._roomy_nodes]
        else:
            nodes = sorted(self._roomy_nodes.intersection(grown), key=_BY_AGE)
        fair = self._fair
        min_mb = self._min_mb
        waiting = len(self.pending)
        if self.tasks is None and waiting > HEAP_ABOVE:
            self.tasks = TaskQueue(self.job_mb, self.pending, fair=fair)
        elif self.tasks is not None and waiting < HEAP_ABOVE // 2:
            self.tasks = None
        while nodes and (self.pending or self.pending_am):
            ams = self._am_limit()
            candidates = len(self.pending) + ams
            if not candidates:
                break
            # Max-min sharing: each waiting request gets at most an equal share of the free room per pass,
            # so one huge job cannot take every freed slot while others wait (YARN re-sorts per container).
            share = max(1, -(-(self._room_mb // min_mb) // candidates)) if fair else 0
            # Only requests that fit the roomiest node can be placed in this pass: the others are not ordered.
            if len(nodes) == 1:
                most_mb, most_vcores = nodes[0].free_mb, nodes[0].free_vcores
            else:
                most_mb = most_vcores = 0
                for node in nodes:
                    most_mb = max(most_mb, node.free_mb)
                    most_vcores = max(most_vcores, node.free_vcores)
            if self.tasks is not None:
                order: Iterator[Request] = self._in_order(self.tasks, ams, most_mb, most_vcores)
            else:
                fitting = [r for r in self.pending if r.memory_mb <= most_mb and r.vcores <= most_vcores]
                if ams:
                    fitting += [r for r in self.pending_am[:ams] if r.memory_mb <= most_mb and r.vcores <= most_vcores]
                usage = self.job_mb if fair else {}
                # Decorated with the position: sorted is stable, and a request's own key may repeat (a requeue).
                ranked = sorted([(usage.get(r.key[0], 0), r.key, i, r) for i, r in enumerate(fitting)])
                order = iter([entry[3] for entry in ranked])
            placed_any, capped, nodes = self._place(order, nodes, now_s, share)
            if self.tasks is not None:
                self.tasks.settle()
            # Another pass places more only if a request stopped at its share, or a placed AM queued its maps
            # (placed in this same instant, as YARN's next heartbeat would, on any node with room).
            if not placed_any or not (capped or self.requeued):
                break
            if self.requeued:
                nodes = sorted(self._roomy_nodes, key=_BY_AGE)
            self.requeued = False
        self._asked = False

    def _am_limit(self) -> int:
        """How many of the oldest waiting AMs the AM share limit lets run now (one always may, when none runs).

        The share bounds the AMs' memory and their vcores, as the Fair Scheduler's `canRunAppAM` does (its
        `Resources.fitsIn` compares every resource): on a memory share alone, small AMs could take every vcore and
        leave their tasks none, a deadlock YARN does not have.
        """
        if not self.pending_am:
            return 0
        first = self.pending_am[0]
        mem, vc = first.memory_mb, first.vcores
        room = self._max_am_share * self.total_mb - self.am_mb
        fit = int(room // mem) if mem else len(self.pending_am)
        if vc:
            fit = min(fit, int((self._max_am_share * self.total_vcores - self.am_vcores) // vc))
        if not self.am_mb:
            fit = max(1, fit)
        return min(max(0, fit), len(self.pending_am))

    def _am_over_share(self, mem: int, vc: int) -> bool:
        """Whether one more AM of `mem` MB and `vc` vcores would take the AMs beyond their share of either."""
        share = self._max_am_share
        return self.am_mb + mem > share * self.total_mb or self.am_vcores + vc > share * self.total_vcores

    def _in_order(self, tasks: TaskQueue, ams: int, most_mb: int, most_vcores: int) -> Iterator[Request]:
        """The pass's requests, best first: the first `ams` waiting AMs merged with the waiting tasks.

        Only requests that fit the roomiest node are yielded: the others could not be placed in this pass.
        """
        task_requests = tasks.in_order(most_mb, most_vcores)
        if not self._ams_may_fit(ams, most_mb, most_vcores):
            return task_requests
        return _Merged(task_requests, self._am_entries(ams, most_mb, most_vcores))

    def _ams_may_fit(self, ams: int, most_mb: int, most_vcores: int) -> bool:
        """Whether any of the first `ams` waiting AMs may be placed on a node with the given room."""
        if ams:
            for (mb, vc), n in self._am_sizes.items():
                if n and mb <= most_mb and vc <= most_vcores:
                    return True
        return False

    def _am_entries(self, ams: int, most_mb: int, most_vcores: int) -> Iterator[tuple[int, tuple[int, int], Request]]:
        """The first `ams` waiting AMs that may fit, as (usage, key, request) in the scheduler's order.

        `_in_order` asks for them only when one may fit (`_ams_may_fit`).
        """
        waiting = self.pending_am
        if self._reasked and self._fair:
            # An AM asked again after a kill belongs to a job that may still use memory: order by usage.
            usage = self.job_mb
            yield from sorted(((usage.get(r.key[0], 0), r.key, r) for r in waiting[:ams]), key=lambda e: e[:2])
            return
        for i in range(ams):
            request = waiting[i]
            if request.memory_mb <= most_mb and request.vcores <= most_vcores:
                yield 0, request.key, request

    def _place(
        self, order: Iterator[Request], nodes: list[Node], now_s: float, share: int
    ) -> tuple[bool, bool, list[Node]]:
        """Place requests in `order` on `nodes`, at most `share` containers each (0: no limit).

        Returns whether any was placed, whether a request stopped at its share with containers left, and the nodes
        that still have room.
        """
        min_mb = self._min_mb
        min_vcores = self._min_vcores
        emptied = placed_any = filled = capped = False
        for request in order:
            mem = request.memory_mb
            vc = request.vcores
            job = request.job
            job_index = request.job_index
            phase = request.phase
            end_s = now_s + request.duration_s
            want = min(request.count, share) if share else request.count
            if phase == AM and self.am_mb and self._am_over_share(mem, vc):
                continue
            placed = 0
            core_only = phase == AM and self._am_core_only
            for node in nodes:
                if core_only and node.group.role is not GroupRole.CORE:
                    continue
                fit = min(want - placed, node.free_mb // mem, node.free_vcores // vc)
                if fit <= 0:
                    continue
                batch = Batch(node, request, fit, end_s)
                node.batches.add(batch)
                before_mb = node.free_mb
                node.free_mb -= fit * mem
                node.free_vcores -= fit * vc
                placed += fit
                if phase == AM:
                    self.am_batches[job_index] = batch
                    self.am_mb += mem
                    self.am_vcores += vc
                else:
                    self._push(end_s, _COMPLETE, batch)
                if node.free_mb < min_mb or node.free_vcores < min_vcores:
                    filled = True
                    self._room_mb -= before_mb
                    self._roomy_nodes.discard(node)
                else:
                    self._room_mb -= fit * mem
                if placed == want:
                    break
            if not placed:
                continue
            placed_any = True
            capped = capped or placed == want < request.count
            request.count -= placed
            emptied = emptied or request.count == 0
            self.pending_mb -= placed * mem
            self.pending_vcores -= placed * vc
            self.containers_pending -= placed
            self.allocated_mb += placed * mem
            self.allocated_vcores += placed * vc
            self.containers_allocated += placed
            self.job_mb[job_index] = self.job_mb.get(job_index, 0) + placed * mem
            if self.tasks is not None:
                self.tasks.placed(job_index)
            if job_index not in self.started:
                self.started.add(job_index)
                self.apps_pending -= 1
                self.apps_running += 1
            if phase == AM:
                size = (mem, vc)
                self._am_sizes[size] -= placed
                self._reasked.discard(job_index)
                if job_index not in self.outstanding:
                    self.outstanding[job_index] = job.maps
                    self._queue(Request(job, MAP, job.maps))
            # Rebuilding the list costs a scan of every node: only worth it when one of them just filled up.
            if filled:
                nodes = [n for n in nodes if n.free_mb >= min_mb and n.free_vcores >= min_vcores]
                filled = False
                if not nodes:
                    break
        if emptied:
            self.pending = [r for r in self.pending if r.count]
            self.pending_am = [r for r in self.pending_am if r.count]
        return placed_any, capped, nodes

    def _release(self, batch: Batch) -> None:
        node = batch.node
        node.batches.discard(batch)
        node.free_mb += batch.count * batch.memory_mb
        node.free_vcores += batch.count * batch.vcores
        if node.state is _RUNNING:
            if node in self._roomy_nodes:
                self._room_mb += batch.count * batch.memory_mb
            elif self._roomy(node):
                self._room_mb += node.free_mb
                self._roomy_nodes.add(node)
        self._grown.add(node)
        self.allocated_mb -= batch.count * batch.memory_mb
        if batch.phase == AM:
            self.am_mb -= batch.count * batch.memory_mb
            self.am_vcores -= batch.count * batch.vcores
            self._asked = True  # the AM share limit lets another AM run
        self.job_mb[batch.job_index] -= batch.count * batch.memory_mb
        if self.tasks is not None:
            self.tasks.usage_changed(batch.job_index)
        self.allocated_vcores -= batch.count * batch.vcores
        self.containers_allocated -= batch.count

    def _complete(self, batch: Batch, now_s: float) -> None:
        if not batch.alive:
            return
        self._release(batch)
        job = batch.job
        job_index = batch.job_index
        left = self.outstanding[job_index] - batch.count
        if left == 0 and batch.phase == MAP and job.reduces:
            self.outstanding[job_index] = job.reduces
            self.reducing.add(job_index)
            self._queue(Request(job, REDUCE, job.reduces))
        elif left == 0:
            del self.outstanding[job_index]
            self._finish_am(job_index, now_s)
            del self.job_mb[job_index]
            self.finished_s[job_index] = now_s
            self.apps_running -= 1
        else:
            self.outstanding[job_index] = left
        node = batch.node
        if node.state is _DRAINING and not node.batches:
            self._node_gone(node, now_s)
        else:
            self.dirty = True

    def _finish_am(self, job_index: int, now_s: float) -> None:
        am = self.am_batches.pop(job_index, None)
        if am is not None:
            self._release(am)
            node = am.node
            if node.state is NodeState.DRAINING and not node.batches:
                self._node_gone(node, now_s)
        else:
            # The AM was killed and is waiting again: the job ended without it, so it is no longer needed.
            for request in self.pending_am:
                if request.job.index == job_index:
                    self.pending_mb -= request.memory_mb
                    self.pending_vcores -= request.vcores
                    self.containers_pending -= 1
                    self._am_sizes[request.memory_mb, request.vcores] -= request.count
                    request.count = 0
            self._reasked.discard(job_index)
            self.pending_am = [r for r in self.pending_am if r.count]

    def _deadline(self, node: Node, now_s: float) -> None:
        if node.state is not NodeState.DRAINING or now_s < node.deadline_s:
            return  # taken back (and maybe drained again later, with a later deadline)
        # The decommission timeout ran out: YARN kills what still runs and the application asks again.
        self._kill(node)
        self._node_gone(node, now_s)

    def _kill(self, node: Node) -> None:
        for batch in sorted(node.batches, key=lambda b: (b.job.index, b.phase)):
            batch.alive = False
            self._release(batch)
            self.killed_containers += batch.count
            if batch.phase == AM:
                del self.am_batches[batch.job.index]
                self._reasked.add(batch.job.index)
            self._queue(Request(batch.job, batch.phase, batch.count))

    # --- time --------------------------------------------------------------------------------------------------

    @property
    def next_event_s(self) -> float | None:
        """Next_event_s is when the next container ends or node starts or drain times out (s), if any."""
        return self.events.head_s() if self.events else None

    def advance(self, now_s: float) -> None:
        """Advance handles every event due at or before `now_s` (containers end first, then nodes change)."""
        events = self.events
        while events and events.head_s() <= now_s:
            at_s = events.head_s()
            kind = events.head_kind()
            payload = events.pop()
            if kind == _COMPLETE:
                assert isinstance(payload, Batch)
                self._complete(payload, at_s)
            elif kind == _READY:
                assert isinstance(payload, Node)
                if payload.state is NodeState.STARTING:
                    self._node_ready(payload)
                    rate = self.spec.spot_interruptions_per_node_hour
                    if payload.group.market == SPOT and rate > 0:
                        reclaimed_s = at_s + self.rng.expovariate(rate / 3600.0)
                        self._push(reclaimed_s, _INTERRUPT, payload)
                        if self.spec.spot_warning_s > 0:
                            self._push(max(at_s, reclaimed_s - self.spec.spot_warning_s), _WARNING, payload)
            elif kind == _INTERRUPT:
                assert isinstance(payload, Node)
                self._interrupt(payload, at_s)
            elif kind == _WARNING:
                assert isinstance(payload, Node)
                if payload.state is NodeState.RUNNING or payload.state is NodeState.DRAINING:
                    self.warnings.append((payload, at_s))
            else:
                assert isinstance(payload, Node)
                self._deadline(payload, at_s)

    def node_seconds(self, end_s: float) -> float:
        """Node_seconds is the billed node time up to `end_s` (s): from each request until the node is gone."""
        return sum([self._billed_s(n, end_s) for n in self.nodes])

    @staticmethod
    def _billed_s(node: Node, end_s: float) -> float:
        # A Spot request cancelled before it ever filled (its `requested_s` is when it would have) costs nothing.
        return max(0.0, (node.gone_s if node.gone_s is not None else end_s) - node.requested_s)
