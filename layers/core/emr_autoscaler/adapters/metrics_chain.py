"""MetricsChain: one YarnMetricsReader over several sources, tried in the configured order."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from emr_autoscaler.kernel.config.scaling import MetricsConfig
from emr_autoscaler.kernel.models import ClusterSnapshot, MetricsSource, YarnMetrics
from emr_autoscaler.scaling.ports import YarnMetricsReader

logger = logging.getLogger(__name__)

# Same tolerance as the core's freshness guard: a timestamp this far ahead of `now` is clock skew, further is a
# broken source, so such an answer does not stop the chain.
_FUTURE_TOLERANCE = timedelta(seconds=60)


class MetricsChain:
    """MetricsChain reads `config.sources` in order and returns the first fresh answer (a YarnMetricsReader).

    An answer is fresh when its age (`now - observed_at`) is within `config.max_age_s(source)` seconds. A source
    that answers None or stale data falls through to the next. When every answer is stale, the freshest stale one
    is returned, so the core holds with HOLD_METRICS_STALE and says how old the data was; when none answers, None.
    A source without a reader is skipped.
    """

    def __init__(self, readers: Mapping[MetricsSource, YarnMetricsReader]):
        self._readers = dict(readers)

    def read(self, snapshot: ClusterSnapshot, config: MetricsConfig, now: datetime) -> YarnMetrics | None:
        """Read returns the first fresh metrics of the configured sources, else the freshest stale ones, else None."""
        stale: list[YarnMetrics] = []
        for source in config.sources:
            reader = self._readers.get(source)
            if reader is None:
                logger.warning("No %s metrics reader is configured; skipping it for %s", source, snapshot.cluster_id)
                continue
            metrics = reader.read(snapshot, config, now)
            if metrics is None:
                logger.info("The %s metrics source did not answer for %s", source, snapshot.cluster_id)
                continue
            age_s = (now - metrics.observed_at).total_seconds()
            max_age_s = config.max_age_s(metrics.source)  # the core judges by the same rule
            if -_FUTURE_TOLERANCE.total_seconds() <= age_s <= max_age_s:
                logger.info("Metrics for %s from %s, %.0f s old", snapshot.cluster_id, source, age_s)
                return metrics
            logger.warning(
                "The %s metrics for %s are %.0f s old (limit %d s); trying the next source",
                source,
                snapshot.cluster_id,
                age_s,
                max_age_s,
            )
            stale.append(metrics)
        if not stale:
            logger.warning("No metrics source answered for %s", snapshot.cluster_id)
            return None
        freshest = min(stale, key=lambda m: abs((now - m.observed_at).total_seconds()))
        logger.warning(
            "Every metrics source is stale for %s; passing on the freshest (%s, observed %s) so the core holds",
            snapshot.cluster_id,
            freshest.source,
            freshest.observed_at.isoformat(),
        )
        return freshest
