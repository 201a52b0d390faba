"""Fuzzed input: events of every handled type with hostile values (wrong types, huge strings, unicode, missing and
extra keys), random JSON, and random configuration documents. No unhandled exception, and every case ends one known
way, asserted case by case: a refusal logged with its reason, or a decision that acts on nothing (the scaler holds,
the step retrier gives up or ignores, the notifier sends once to its fallback or recognises a repeat). The handlers
run on fakes that record every mutating call.

The default run generates 10,200 cases (4,500 + 1,500 × 3 + 1,200; each test asserts its own count);
`derandomize` keeps runs reproducible.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emr_autoscaler.eventbridge import Ignored
from emr_autoscaler.kernel.config.document import ConfigDocument, ConfigInvalidError, parse_config, parse_config_text
from emr_autoscaler.kernel.models import OPT_IN_TAG, ClusterSnapshot, ClusterState
from emr_autoscaler.notifications.domain.notice import Notice
from emr_autoscaler.notifications.service import Notifier
from emr_autoscaler.notifications.triggers import parse_notice_event
from emr_autoscaler.scaling.service import Scaler, handle_trigger
from emr_autoscaler.scaling.triggers import ClusterTrigger, ScheduledTick, parse_scaler_trigger
from emr_autoscaler.steps.domain.models import FailedStep, FailureDetails, StepConfig
from emr_autoscaler.steps.service import StepRetrier, handle_step_retry_invocation
from emr_autoscaler.steps.triggers import StepFailure, parse_step_failure
from emr_autoscaler.watch.triggers import ClusterStateChange, WatchTick, parse_watch_trigger
from tests.conftest import load_event
from tests.fakes import (
    FakeEmr,
    FakeMetrics,
    InMemoryStateStore,
    RecordingPublisher,
    RecordingSink,
    StaticConfig,
    no_log_context,
)
from tests.notify_fakes import FakeChannels, InMemoryDedup, RecordingChannel, RecordingDeadLetters, StaticContext
from tests.step_fakes import FakeEmrSteps, FakeRetryQueue, InMemoryLineageStore, LoggingStepRetrySink, NoGuard

NOW = datetime(2026, 3, 4, 3, 0, tzinfo=UTC)
CLUSTER = "j-2AXXXXXXGAPLF"  # the samples' cluster
STEP = "s-1K4B2GJ7W9QXZ"  # step_failed.json's step
SAMPLES = [
    "scheduled_tick.json",
    "alarm_state_change.json",
    "instance_group_state_change.json",
    "instance_fleet_state_change.json",
    "cluster_state_change_running.json",
    "cluster_state_change_terminated.json",
    "cluster_terminated_with_errors.json",
    "step_failed.json",
    "app_scaling_decision.json",
    "app_step_retry_given_up.json",
    "health_alarm_state_change.json",
]
EVENTS = {name: load_event(name) for name in SAMPLES}
HOSTILE_TEXT = st.sampled_from(
    [
        "",
        " ",
        "j-",
        "j-AAAA\n",
        "s-ÄÖÜ",
        "\u202e\u0000\ud7ff",
        "<!channel> @here https://evil.example/x",
        "http://169.254.169.254/latest/meta-data/",
        "../../etc/passwd",
        "' OR 1=1 --",
        "${jndi:ldap://x}",
        "x" * 100_000,
        "🔥" * 5000,
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=300),
    HOSTILE_TEXT,
)
JSON = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=20), children, max_size=4)
    ),
    max_leaves=12,
)

SETTINGS = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


@st.composite
def hostile_events(draw: st.DrawFn) -> Any:
    """A real-shaped event with some fields replaced, removed or added; sometimes random JSON instead."""
    if draw(st.integers(0, 9)) == 0:
        return draw(JSON)
    event = copy.deepcopy(EVENTS[draw(st.sampled_from(SAMPLES))])
    for _ in range(draw(st.integers(1, 4))):
        target = event
        if isinstance(event.get("detail"), dict) and draw(st.booleans()):
            target = event["detail"]
        keys = sorted(target)
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "add" or not keys:
            target[draw(st.text(max_size=20))] = draw(JSON)
        elif action == "delete":
            del target[draw(st.sampled_from(keys))]
        else:
            target[draw(st.sampled_from(keys))] = draw(JSON)
    return event


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def logged() -> Any:
    # The package's loggers, and the step-retry fake sink's (it logs each outcome as the Powertools sink does).
    handler = _Records()
    loggers = [logging.getLogger("emr_autoscaler"), logging.getLogger("tests.step_fakes")]
    previous = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    yield handler
    for lg, level in zip(loggers, previous, strict=True):
        lg.removeHandler(handler)
        lg.setLevel(level)


def _run(examples: int, strategy: st.SearchStrategy[Any], check: Callable[[Any], None]) -> int:
    seen = [0]

    @settings(SETTINGS, max_examples=examples)
    @given(value=strategy)
    def run(value: Any) -> None:
        seen[0] += 1
        check(value)

    run()
    assert seen[0] >= examples * 0.9, f"only {seen[0]} of {examples} cases generated"
    return seen[0]


def test_parsers_never_raise_and_always_give_a_reason() -> None:
    # GIVEN hostile events of every handled type, and random JSON
    def check(event: Any) -> None:
        # WHEN each parser reads it
        results = [
            parse_scaler_trigger(event, "emr-autoscaler-"),
            parse_watch_trigger(event),
            parse_step_failure(event),
            parse_notice_event(event),
        ]
        # THEN each is one of its parser's results: a trigger naming a well-formed cluster id, or an explicit
        # refusal with a bounded reason; never an exception
        for result, kinds in zip(results, PARSER_RESULTS, strict=True):
            assert isinstance(result, kinds), type(result)
            if isinstance(result, Ignored):
                assert 0 < len(result.reason) < 1000
            elif (cluster_id := getattr(result, "cluster_id", None)) is not None:
                assert CLUSTER_ID.fullmatch(cluster_id), cluster_id

    _run(4500, hostile_events(), check)


PARSER_RESULTS = (
    (ScheduledTick, ClusterTrigger, Ignored),
    (ClusterStateChange, WatchTick, Ignored),
    (StepFailure, Ignored),
    (Notice, Ignored),
)
CLUSTER_ID = re.compile(r"j-[0-9A-Z]{1,64}")


CONFIG_KEYS = ["version", "defaults", "profiles", "notifications", "metrics", "scale_out", "scale_in", "groups"]


@st.composite
def config_documents(draw: st.DrawFn) -> Any:
    """A configuration document: random JSON, or known sections with hostile values."""
    if draw(st.booleans()):
        return draw(JSON)
    section = st.dictionaries(st.sampled_from([*CONFIG_KEYS, "cooldown_s", "min_nodes", "sources", "x"]), JSON)
    return {"version": draw(st.sampled_from([1, 2, "1", None])), "defaults": draw(section), "profiles": draw(JSON)}


def test_configuration_is_validated_or_refused_with_a_message() -> None:
    # GIVEN random configuration documents, as data and as text
    def check(document: Any) -> None:
        # YAML reads the text form, cut at 5,000 characters (the data form keeps the huge strings)
        for parse in (lambda: parse_config(document), lambda: parse_config_text(str(document)[:5000])):
            # WHEN validated, THEN it is a document, or a refusal naming the problem, never another exception
            try:
                document_read = parse()
            except ConfigInvalidError as error:
                message = str(error)
                assert message
            else:
                assert isinstance(document_read, ConfigDocument)

    _run(1500, config_documents(), check)


def _scaler() -> tuple[Scaler, FakeEmr, RecordingSink]:
    emr, sink = FakeEmr(), RecordingSink()
    snapshot = ClusterSnapshot(
        cluster_id=CLUSTER,
        name="etl-nightly",
        state=ClusterState.RUNNING,
        tags={"emr-autoscaler:enabled": "true"},
        read_at=NOW,
    )
    emr.add(snapshot)
    scaler = Scaler(
        emr=emr,
        metrics=FakeMetrics(None),
        store=InMemoryStateStore(),
        config=StaticConfig(),
        sink=sink,
        clock=lambda: NOW,
        events=RecordingPublisher(),
        log_context=no_log_context,
    )
    return scaler, emr, sink


def test_scaler_handler_acts_on_no_hostile_event(logged: _Records) -> None:
    # GIVEN the scaler on fakes (one opted-in cluster, no metrics)
    scaler, emr, sink = _scaler()

    def check(event: Any) -> None:
        # WHEN a hostile event reaches the handler's path
        logged.messages.clear()
        already_published = len(sink.published)
        summary = handle_trigger(parse_scaler_trigger(event, "emr-autoscaler-"), scaler)
        # THEN nothing raised and EMR was never asked to resize: a refusal was logged with its reason, or the one
        # opted-in cluster was evaluated once and held (it has no metrics and no group), and the decision published
        published = sink.published[already_published:]
        if summary["ignored"]:
            assert any(summary["reason"] in m for m in logged.messages)
            assert (summary["decisions"], published) == ([], [])
        else:
            [decision] = summary["decisions"]
            assert (decision["cluster_id"], decision["outcome"], decision["commands"]) == (CLUSTER, "held", [])
            assert published == [(CLUSTER, decision["reason"], "held")]
        assert emr.resizes == []

    _run(1500, hostile_events(), check)


def test_step_retry_handler_acts_on_no_hostile_event(logged: _Records) -> None:
    # GIVEN the step-retry function on fakes that know the sample's cluster (opted in) and its failed step, which
    # failed for good (a missing class): however an event is bent, no restart may follow
    emr, queue = FakeEmrSteps(), FakeRetryQueue()
    emr.clusters[CLUSTER] = ClusterSnapshot(
        cluster_id=CLUSTER, name="etl-nightly", state=ClusterState.WAITING, tags={OPT_IN_TAG: "true"}, read_at=NOW
    )
    emr.steps[STEP] = FailedStep(
        cluster_id=CLUSTER,
        step_id=STEP,
        name="nightly-aggregate",
        action_on_failure="CANCEL_AND_WAIT",
        failure=FailureDetails(reason="java.lang.ClassNotFoundException: com.acme.Aggregate"),
        config=StepConfig(name="nightly-aggregate", action_on_failure="CANCEL_AND_WAIT", jar="command-runner.jar"),
    )
    retrier = StepRetrier(
        emr=emr,
        lineage=InMemoryLineageStore(),
        queue=queue,
        config=StaticConfig(),
        clock=lambda: NOW,
        jitter=lambda: 0.0,
        events=RecordingPublisher(),
        sink=LoggingStepRetrySink(),
        guard=NoGuard(),
    )

    def check(event: Any) -> None:
        # WHEN a hostile event reaches the handler
        logged.messages.clear()
        result = handle_step_retry_invocation(event, None, retrier)
        # THEN nothing raised, nothing was queued nor added: a refusal was logged with its reason, or the failure
        # was decided (given up on the known step, ignored for a step EMR does not know) and explained in the log
        if result.get("ignored"):
            assert any(result["reason"] in m for m in logged.messages)
        else:
            known = (result["cluster_id"], result["step_id"]) == (CLUSTER, STEP)
            want = ("given_up", "GIVE_UP_PERMANENT_FAILURE") if known else ("ignored", "IGNORED_UNKNOWN_STEP")
            assert (result["outcome"], result["reason"]) == want
            assert any(result["explanation"] in m for m in logged.messages)
        assert queue.messages == []
        assert emr.added == []

    _run(1500, hostile_events().filter(lambda e: not (isinstance(e, dict) and "Records" in e)), check)


def test_notifier_handler_survives_hostile_events(logged: _Records) -> None:
    # GIVEN the notifier on fakes with one channel and no route to it: every notice goes to the fallback topic
    channels, fallback = FakeChannels(), RecordingChannel("fallback", "sns")
    notifier = Notifier(
        config=StaticConfig(
            parse_config({"notifications": {"channels": {"oncall": {"type": "slack", "secret": "x/y"}}}})
        ),
        dedup=InMemoryDedup(),
        channels=channels,
        dead_letters=RecordingDeadLetters(),
        context=StaticContext(),
        clock=lambda: NOW,
        count=lambda name, value: None,
        fallback=fallback,
    )

    def check(event: Any) -> None:
        # WHEN a hostile event reaches the handler
        logged.messages.clear()
        already_sent = len(fallback.sent)
        summary = notifier.handle(event)
        # THEN nothing raised: a refusal was logged with its reason and nothing sent, a repeat of an event already
        # notified sent nothing, or the notice went out once on the fallback topic (none lost, none sent twice)
        sent = [notice.event_id for notice in fallback.sent[already_sent:]]
        if summary["ignored"]:
            assert any(summary["reason"] in m for m in logged.messages)
            assert sent == []
        elif summary.get("duplicate") or summary["folded"]:
            assert (summary["deliveries"], sent) == ([], [])
        else:
            assert summary["deliveries"] == [
                {"channel": "fallback", "delivered": True, "requests": 1, "error": None, "dead_lettered": False}
            ]
            assert sent == [summary["event_id"]]
        assert channels.built == {}

    _run(1200, hostile_events(), check)
