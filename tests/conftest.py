"""Shared fixtures: fake AWS credentials and a region, so no test can reach a real account."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from emr_autoscaler import bootstrap
from emr_autoscaler.settings import Settings
from emr_autoscaler_dev.sandbox.provision import provision

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"


@pytest.fixture(autouse=True)
def _fake_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "EmrAutoscaler")


@pytest.fixture(autouse=True, scope="session")
def _moto_managed_scaling() -> Iterator[None]:
    """Moto 5 has no managed scaling (GetManagedScalingPolicy raises NotImplementedError): the sandbox's emulator
    answers for every moto-backed test, with no policy attached unless a test attaches one. The Sandbox lays its own
    on top while it runs."""
    from emr_autoscaler_dev.sandbox.managed_scaling import ManagedScalingEmulator, patch_managed_scaling

    restore = patch_managed_scaling(ManagedScalingEmulator())
    yield
    restore()


def load_event(name: str) -> dict[str, Any]:
    """Load_event reads a sample event from events/."""
    data: dict[str, Any] = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    return data


@dataclass
class FakeContext:
    """FakeContext is the Lambda context the handlers' Powertools decorators read."""

    function_name: str = "emr-autoscaler-function"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:emr-autoscaler-function"
    aws_request_id: str = "52fdfc07-2182-154f-163f-5f0f9a621d72"

    def get_remaining_time_in_millis(self) -> int:
        """Get_remaining_time_in_millis: a minute left, always."""
        return 60_000


def load_handler(function: str) -> ModuleType:
    """Load_handler imports `functions/<function>/app.py` as Lambda would (each function has its own app.py)."""
    spec = importlib.util.spec_from_file_location(f"{function}_app", ROOT / "functions" / function / "app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextmanager
def moto_app(monkeypatch: pytest.MonkeyPatch, settings: Settings, config_text: str, **env: str) -> Iterator[Any]:
    """Moto_app is an in-process AWS (moto) with the deployment's table and configuration parameter, the
    functions' environment pointing at them, and the composition and parameter caches cleared around it."""
    monkeypatch.setenv("EMR_AUTOSCALER_CONFIG_PARAMETER", settings.config_parameter)
    monkeypatch.setenv("EMR_AUTOSCALER_STATE_TABLE", settings.state_table)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    bootstrap.reset()
    parameters.clear_caches()
    try:
        with mock_aws():
            session = boto3.Session(region_name="eu-west-1")
            provision(session, settings, config_text)
            yield session
    finally:
        bootstrap.reset()
        parameters.clear_caches()
