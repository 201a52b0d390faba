"""Golden files: a rendered message compared exactly with the reviewed copy kept under tests/golden/.

A missing golden file fails the test, as a different one does: nothing is written unless asked. After an intended
change to a message, rewrite the files and review the diff before committing:

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/adapters/test_notify_channels.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

UPDATE_ENV = "UPDATE_GOLDEN"


def assert_matches_golden(path: Path, actual: str) -> None:
    """Assert_matches_golden fails unless the file at `path` holds exactly `actual`.

    With `UPDATE_GOLDEN=1` in the environment it writes `actual` to `path` instead (creating the directory).
    """
    if os.environ.get(UPDATE_ENV) == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    if not path.exists():
        pytest.fail(f"{path.name}: no golden file at {path}; write it with {UPDATE_ENV}=1, then review it")
    assert actual == path.read_text(encoding="utf-8"), f"{path.name} differs from its golden file"
