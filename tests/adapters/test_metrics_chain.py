"""MetricsChain: sources tried in the configured order, falling through on no answer or stale data."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from emr_autoscaler.adapters.metrics_chain import MetricsChain
from emr_autoscaler.kernel.config.scaling import MetricsConfig
from emr_autoscaler.kernel.models import ClusterSnapshot, ClusterState, MetricsSource, YarnMetrics

NOW = datetime(2025, 3, 14, 12, 0, 0, tzinfo=UTC)
RM = MetricsSource.RESOURCE_MANAGER
CW = MetricsSource.CLOUDWATCH
# RM data may be 120 s old, CloudWatch data 900 s.
CONFIG = MetricsConfig(sources=(RM, CW), resourcemanager_max_age_s=120, cloudwatch_max_age_s=900)
SNAPSHOT = ClusterSnapshot(cluster_id="j-TESTCLUSTER01", name="nightly-etl", state=ClusterState.RUNNING, read_at=NOW)


def _metrics(source: MetricsSource, age_s: float) -> YarnMetrics:
    return YarnMetrics(
        source=source,
        observed_at=NOW - timedelta(seconds=age_s),
        apps_running=1,
        apps_pending=0,
        containers_allocated=2,
        containers_pending=0,
        allocated_memory_mb=4096,
        available_memory_mb=8192,
        total_memory_mb=12288,
        pending_memory_mb=0,
    )


@dataclass
class FakeReader:
    """FakeReader answers with fixed metrics (or None) and counts how often it was asked."""

    answer: YarnMetrics | None
    calls: int = 0
    seen: list[tuple[ClusterSnapshot, MetricsConfig, datetime]] = field(default_factory=list)

    def read(self, snapshot: ClusterSnapshot, config: MetricsConfig, now: datetime) -> YarnMetrics | None:
        self.calls += 1
        self.seen.append((snapshot, config, now))
        return self.answer


def test_first_source_that_answers_fresh_wins_and_the_rest_are_not_asked() -> None:
    # GIVEN both sources answer fresh data
    rm, cw = FakeReader(_metrics(RM, age_s=0)), FakeReader(_metrics(CW, age_s=300))
    chain = MetricsChain({RM: rm, CW: cw})

    # WHEN the chain reads
    metrics = chain.read(SNAPSHOT, CONFIG, NOW)

    # THEN the first configured source answers, with the inputs passed through, and CloudWatch is not called
    assert metrics is rm.answer
    assert rm.seen == [(SNAPSHOT, CONFIG, NOW)]
    assert cw.calls == 0


def test_configured_order_is_followed_not_the_mapping_order() -> None:
    # GIVEN a profile that prefers CloudWatch
    rm, cw = FakeReader(_metrics(RM, age_s=0)), FakeReader(_metrics(CW, age_s=300))
    chain = MetricsChain({RM: rm, CW: cw})
    config = CONFIG.model_copy(update={"sources": (CW, RM)})

    # WHEN the chain reads
    metrics = chain.read(SNAPSHOT, config, NOW)

    # THEN CloudWatch answers and the RM is not called
    assert metrics is cw.answer
    assert rm.calls == 0


def test_no_answer_falls_back_to_the_next_source(caplog: pytest.LogCaptureFixture) -> None:
    # GIVEN the RM cannot be reached
    rm, cw = FakeReader(None), FakeReader(_metrics(CW, age_s=300))
    chain = MetricsChain({RM: rm, CW: cw})

    # WHEN the chain reads
    with caplog.at_level(logging.INFO, logger="emr_autoscaler.adapters.metrics_chain"):
        metrics = chain.read(SNAPSHOT, CONFIG, NOW)

    # THEN CloudWatch answers, and the log says which source did
    assert metrics is cw.answer
    assert rm.calls == 1
    assert "from cloudwatch" in caplog.text


def test_stale_answer_falls_back_to_the_next_source() -> None:
    # GIVEN the RM answers with data older than its 120 s limit
    rm, cw = FakeReader(_metrics(RM, age_s=121)), FakeReader(_metrics(CW, age_s=600))
    chain = MetricsChain({RM: rm, CW: cw})

    # WHEN the chain reads
    metrics = chain.read(SNAPSHOT, CONFIG, NOW)

    # THEN the fresh CloudWatch data answers, judged by CloudWatch's own (longer) limit
    assert metrics is cw.answer


def test_answer_exactly_at_the_limit_is_fresh() -> None:
    # GIVEN the RM's data is exactly 120 s old
    rm, cw = FakeReader(_metrics(RM, age_s=120)), FakeReader(_metrics(CW, age_s=0))
    chain = MetricsChain({RM: rm, CW: cw})

    # WHEN the chain reads
    metrics = chain.read(SNAPSHOT, CONFIG, NOW)

    # THEN it is still used
    assert metrics is rm.answer
    assert cw.calls == 0


def test_answer_far_in_the_future_falls_back() -> None:
    # GIVEN the RM's data is stamped ten minutes ahead (a clock problem, not fresh data)
    rm, cw = FakeReader(_metrics(RM, age_s=-600)), FakeReader(_metrics(CW, age_s=300))
    chain = MetricsChain({RM: rm, CW: cw})

    # WHEN the chain reads
    metrics = chain.read(SNAPSHOT, CONFIG, NOW)

    # THEN CloudWatch answers
    assert metrics is cw.answer


def test_all_stale_returns_the_freshest_so_the_core_holds(caplog: pytest.LogCaptureFixture) -> None:
    # GIVEN both sources answer, both beyond their limits; CloudWatch's data is the newer
    rm, cw = FakeReader(_metrics(RM, age_s=1800)), FakeReader(_metrics(CW, age_s=1000))
    chain = MetricsChain({RM: rm, CW: cw})

    # WHEN the chain reads
    with caplog.at_level(logging.WARNING, logger="emr_autoscaler.adapters.metrics_chain"):
        metrics = chain.read(SNAPSHOT, CONFIG, NOW)

    # THEN the freshest stale answer is passed on (the core will hold with HOLD_METRICS_STALE), and the log says so
    assert metrics is cw.answer
    assert "stale" in caplog.text


def test_one_stale_answer_and_one_missing_returns_the_stale_one() -> None:
    # GIVEN the RM answers stale data and CloudWatch does not answer
    rm, cw = FakeReader(_metrics(RM, age_s=300)), FakeReader(None)
    chain = MetricsChain({RM: rm, CW: cw})

    # WHEN the chain reads
    metrics = chain.read(SNAPSHOT, CONFIG, NOW)

    # THEN the stale data is passed on, so the core explains the hold by its age rather than by silence
    assert metrics is rm.answer


def test_no_source_answers_is_none(caplog: pytest.LogCaptureFixture) -> None:
    # GIVEN neither source answers
    rm, cw = FakeReader(None), FakeReader(None)
    chain = MetricsChain({RM: rm, CW: cw})

    # WHEN the chain reads
    with caplog.at_level(logging.WARNING, logger="emr_autoscaler.adapters.metrics_chain"):
        metrics = chain.read(SNAPSHOT, CONFIG, NOW)

    # THEN there are no metrics (the core holds with HOLD_METRICS_MISSING), and both were asked
    assert metrics is None
    assert (rm.calls, cw.calls) == (1, 1)
    assert "No metrics source answered" in caplog.text


def test_source_without_a_reader_is_skipped() -> None:
    # GIVEN a deployment without VPC access, so only a CloudWatch reader, under the default order (RM first)
    cw = FakeReader(_metrics(CW, age_s=300))
    chain = MetricsChain({CW: cw})

    # WHEN the chain reads
    metrics = chain.read(SNAPSHOT, CONFIG, NOW)

    # THEN CloudWatch answers
    assert metrics is cw.answer
