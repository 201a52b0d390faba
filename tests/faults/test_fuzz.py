"""Fuzzed input: events of every handled type with hostile values (wrong types, huge strings, unicode, missing and
extra keys), random JSON, and random configuration documents. No unhandled exception, every refusal is logged with
its reason, and nothing is acted on: the handlers run on fakes that record every mutating call.

The default run generates 10,200 cases (4,500 + 1,500 × 3 + 1,200; each test asserts its own count);
`derandomize` keeps runs reproducible.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emr_autoscaler.adapters.aws.dynamodb.idempotency import NoGuard
from emr_autoscaler.eventbridge import Ignored
from emr_autoscaler.kernel.config.document import ConfigDocument, ConfigInvalidError, parse_config, parse_config_text
from emr_autoscaler.kernel.models import ClusterSnapshot, ClusterState
from emr_autoscaler.notifications.service import Notifier
from emr_autoscaler.notifications.triggers import parse_notice_event
from emr_autoscaler.scaling.service import Scaler, handle_trigger
from emr_autoscaler.scaling.triggers import parse_scaler_trigger
from emr_autoscaler.steps.service import StepRetrier, handle_step_retry_invocation
from emr_autoscaler.steps.triggers import parse_step_failure
from emr_autoscaler.watch.triggers import parse_watch_trigger
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
from tests.step_fakes import FakeEmrSteps, FakeRetryQueue, InMemoryLineageStore, LoggingStepRetrySink

NOW = datetime(2026, 3, 4, 3, 0, tzinfo=UTC)
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
    handler = _Records()
    root = logging.getLogger("emr_autoscaler")
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(previous)


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
        # THEN it is a trigger or an explicit refusal with a bounded reason, never an exception
        for result in results:
            if isinstance(result, Ignored):
                assert result.reason
                assert len(result.reason) < 1000

    _run(4500, hostile_events(), check)


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


def _scaler() -> tuple[Scaler, FakeEmr]:
    emr = FakeEmr()
    snapshot = ClusterSnapshot(
        cluster_id="j-2AXXXXXXGAPLF",
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
        sink=RecordingSink(),
        clock=lambda: NOW,
        events=RecordingPublisher(),
        log_context=no_log_context,
    )
    return scaler, emr


def test_scaler_handler_acts_on_no_hostile_event(logged: _Records) -> None:
    # GIVEN the scaler on fakes (one opted-in cluster, no metrics)
    scaler, emr = _scaler()

    def check(event: Any) -> None:
        # WHEN a hostile event reaches the handler's path
        logged.messages.clear()
        summary = handle_trigger(parse_scaler_trigger(event, "emr-autoscaler-"), scaler, 2)
        # THEN nothing raised, a refusal was logged with its reason, and EMR was never asked to resize
        if summary["ignored"]:
            assert any(summary["reason"] in m for m in logged.messages)
        assert emr.resizes == []

    _run(1500, hostile_events(), check)


def test_step_retry_handler_acts_on_no_hostile_event(logged: _Records) -> None:
    # GIVEN the step-retry function on fakes that know the sample's cluster and step
    emr, queue = FakeEmrSteps(), FakeRetryQueue()
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
        # THEN nothing raised, a refusal was logged with its reason, nothing was queued nor added
        if result.get("ignored"):
            assert any(result["reason"] in m for m in logged.messages)
        assert queue.messages == []
        assert emr.added == []

    _run(1500, hostile_events().filter(lambda e: not (isinstance(e, dict) and "Records" in e)), check)


def test_notifier_handler_survives_hostile_events(logged: _Records) -> None:
    # GIVEN the notifier on fakes with one channel
    channels = FakeChannels()
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
        fallback=RecordingChannel("fallback", "sns"),
    )

    def check(event: Any) -> None:
        # WHEN a hostile event reaches the handler
        logged.messages.clear()
        summary = notifier.handle(event)
        # THEN nothing raised, and a refusal was logged with its reason
        if summary["ignored"]:
            assert any(summary["reason"] in m for m in logged.messages)

    _run(1200, hostile_events(), check)
