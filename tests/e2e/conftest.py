"""The end-to-end tests' running sandbox (its logs at WARNING while it runs)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from emr_autoscaler.adapters.powertools.logging import logger as app_logger
from emr_autoscaler_dev.sandbox.sandbox import Sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    app_logger.setLevel(logging.WARNING)
    with Sandbox() as running:
        yield running
    app_logger.setLevel(logging.INFO)
