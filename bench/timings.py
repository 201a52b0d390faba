"""Wall-clock timings the tests deliberately do not assert (a loaded CI machine must not fail a correct build).

Prints one table:
- the demo's scripted hour (`make demo`, the Sandbox on a moto server): wall seconds, median of N runs;
- the notifier's warm Lambda handler per notice (two webhook channels on a local HTTP server, moto in-process),
  median of 20 notices after a first invocation;
- the ResourceManager reader giving up on a ResourceManager that does not answer (0.2 s timeout): wall ms, median.

The behaviour behind each row is asserted by tests/e2e/test_demo.py, tests/e2e/test_notifier_handler.py and
tests/adapters/test_resourcemanager.py. Run: `.venv/bin/python bench/timings.py [--repeat 3]`.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# No real account is ever reached: fake credentials, tracing off (as tests/conftest.py sets them).
for fake in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
    os.environ[fake] = "testing"
os.environ.update(
    AWS_DEFAULT_REGION="eu-west-1", POWERTOOLS_TRACE_DISABLED="true", POWERTOOLS_METRICS_NAMESPACE="EmrAutoscaler"
)
for unset in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL"):
    os.environ.pop(unset, None)


def demo_wall_s() -> float:
    """Demo_wall_s runs the demo's scripted hour once and returns its wall seconds."""
    from emr_autoscaler_dev.demo import run_demo

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = run_demo(minutes=60, json_lines=True, plot=None)
    if code != 0:
        raise SystemExit(f"the demo failed (exit {code}): {out.getvalue()[-500:]}")
    return float(json.loads(out.getvalue().strip().splitlines()[-1])["wall_s"])


def notifier_warm_ms(notices: int = 20) -> float:
    """Notifier_warm_ms is the median time of the warm notifier handler per notice (moto in-process)."""
    import boto3
    from aws_lambda_powertools.utilities import parameters
    from moto import mock_aws

    from emr_autoscaler import bootstrap
    from emr_autoscaler.settings import Settings
    from emr_autoscaler_dev.sandbox.provision import provision, provision_notifier
    from tests.conftest import FakeContext, load_event, load_handler
    from tests.faults.injection import ScriptedHttpServer

    config = """
version: 1
notifications:
  dedup_window_s: 0
  channels:
    oncall: {type: slack, secret: bench/slack}
    data-team: {type: teams, secret: bench/teams}
  default_channels: [oncall, data-team]
"""
    bootstrap.reset()
    parameters.clear_caches()
    with ScriptedHttpServer().running() as web, mock_aws():
        session = boto3.Session(region_name="eu-west-1")
        base = Settings(config_parameter="/bench/config", state_table="bench-state")
        provision(session, base, config)
        secrets = {"bench/slack": web.url("/slack"), "bench/teams": json.dumps({"url": web.url("/teams")})}
        settings = provision_notifier(session, base, secrets)
        for name in ("config_parameter", "state_table", "notification_dlq_url", "fallback_topic_arn"):
            os.environ[f"EMR_AUTOSCALER_{name.upper()}"] = str(getattr(settings, name))
        handler = load_handler("notifier")
        event = load_event("step_failed.json")
        timings = []
        with contextlib.redirect_stdout(io.StringIO()):  # Powertools prints each invocation's metrics (EMF)
            handler.lambda_handler(event, FakeContext())  # cold: clients, configuration, secrets
            for n in range(notices):
                event["id"] = f"warm-{n}"
                started = time.perf_counter()
                handler.lambda_handler(event, FakeContext())
                timings.append((time.perf_counter() - started) * 1000)
        if len(web.requests) != 2 * (notices + 1):
            raise SystemExit(f"expected {2 * (notices + 1)} webhook requests, got {len(web.requests)}")
    bootstrap.reset()
    parameters.clear_caches()
    return statistics.median(timings)


def resourcemanager_give_up_ms() -> float:
    """Resourcemanager_give_up_ms times one read against a ResourceManager that answers only after 5 s."""
    from emr_autoscaler.adapters.yarn.resourcemanager import ResourceManagerMetrics
    from emr_autoscaler.kernel.config.scaling import MetricsConfig
    from emr_autoscaler.kernel.models import ClusterSnapshot, ClusterState
    from tests.faults.injection import HttpAnswer, ScriptedHttpServer

    now = datetime.now(UTC)
    snapshot = ClusterSnapshot(
        cluster_id="j-BENCH", name="bench", state=ClusterState.RUNNING, master_private_dns="127.0.0.1", read_at=now
    )
    config = MetricsConfig(resourcemanager_timeout_s=0.2)
    with ScriptedHttpServer(fault=HttpAnswer(delay_s=5.0)).running() as rm:
        started = time.perf_counter()
        metrics = ResourceManagerMetrics(port=rm.port).read(snapshot, config, now)
        elapsed_ms = (time.perf_counter() - started) * 1000
    if metrics is not None:
        raise SystemExit("the ResourceManager reader waited for the late answer")
    return elapsed_ms


def main() -> int:
    """Main measures each timing `--repeat` times and prints the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)  # refusals and timeouts are logged on purpose; the table is the report
    rows: list[tuple[str, Callable[[], float], str]] = [
        ("demo: 60 simulated minutes (Sandbox)", demo_wall_s, "s"),
        ("notifier warm handler per notice (2 channels)", notifier_warm_ms, "ms"),
        ("ResourceManager reader gives up (0.2 s timeout)", resourcemanager_give_up_ms, "ms"),
    ]
    print(f"| {'what':<48} | {'median':>8} | {'min':>8} | {'max':>8} | unit |")
    print(f"|{'-' * 50}|{'-' * 10}|{'-' * 10}|{'-' * 10}|------|")
    for label, measure, unit in rows:
        values = [measure() for _ in range(args.repeat)]
        print(
            f"| {label:<48} | {statistics.median(values):>8.1f} | {min(values):>8.1f} | {max(values):>8.1f} "
            f"| {unit:<4} |"
        )
    print(f"\n{args.repeat} run(s) each on {os.cpu_count()} CPU(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
