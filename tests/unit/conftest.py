"""Unit tests of the core use no network: any socket connection fails the test. `template` is the SAM template."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from tests.template_loader import load_template


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("unit tests must not open network connections")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    """The SAM template, read once by the one CloudFormation loader (tests/template_loader.py)."""
    return load_template()
