"""Two triggers at the same moment, against a moto server over real HTTP: DynamoDB's conditional write lets one act."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_lambda_powertools.utilities import parameters

from emr_autoscaler.bootstrap import build_scaler
from emr_autoscaler.scaling.service import Outcome
from emr_autoscaler.settings import Settings
from emr_autoscaler_dev.sandbox.local_aws import LocalAws
from emr_autoscaler_dev.sandbox.provision import create_cluster, provision
from emr_autoscaler_dev.sandbox.yarn import YarnResourceManagerEmulator, cluster_metrics

pytestmark = pytest.mark.network

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


@pytest.fixture
def local() -> Iterator[tuple[LocalAws, YarnResourceManagerEmulator]]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    parameters.clear_caches()
    with LocalAws() as aws, YarnResourceManagerEmulator() as yarn:
        yield aws, yarn
    parameters.clear_caches()


def test_parallel_invocations_for_one_cluster_resize_once(local: tuple[LocalAws, YarnResourceManagerEmulator]) -> None:
    # GIVEN a cluster whose YARN waits for 20 containers, and 6 scaler instances (as 6 concurrent Lambdas)
    aws, yarn = local
    settings = Settings(config_parameter="/race/config", state_table="race-state")
    provision(aws.session(), settings, "version: 1\n")
    emr = aws.client("emr")
    cluster_id = create_cluster(emr, task=2)
    yarn.set_body(cluster_metrics(nodes=4, node_memory_mb=12288, node_vcores=4, demand_memory_mb=16 * 2048 + 40960))
    scalers = [
        build_scaler(settings, session=aws.session(), clock=lambda: NOW, resourcemanager_url_for=lambda _s: yarn.url)
        for _ in range(6)
    ]
    modify_calls: list[str] = []

    def count(**_kwargs: Any) -> None:
        modify_calls.append("ModifyInstanceGroups")

    for scaler in scalers:
        scaler.emr._client.meta.events.register("before-call.emr.ModifyInstanceGroups", count)  # type: ignore[attr-defined]
    barrier = threading.Barrier(len(scalers))
    outcomes: list[Outcome] = []

    def invoke(scaler: Any) -> None:
        barrier.wait()
        outcomes.append(scaler.reconcile_cluster(cluster_id).outcome)

    threads = [threading.Thread(target=invoke, args=(s,)) for s in scalers]
    # WHEN they all evaluate the cluster at the same moment
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # THEN exactly one resize reached EMR; the others held or skipped
    assert modify_calls == ["ModifyInstanceGroups"]
    assert outcomes.count(Outcome.APPLIED) == 1
    assert len(outcomes) == len(scalers)
