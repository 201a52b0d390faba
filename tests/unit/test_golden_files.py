"""The golden-file helper can fail: a missing file fails (nothing is written), a different one fails, and only
UPDATE_GOLDEN=1 writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.golden_files import UPDATE_ENV, assert_matches_golden


@pytest.fixture(autouse=True)
def _not_updating(monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer may run the whole suite with UPDATE_GOLDEN=1; these cases set it themselves.
    monkeypatch.delenv(UPDATE_ENV, raising=False)


def test_a_missing_golden_file_fails_and_writes_nothing(tmp_path: Path) -> None:
    # GIVEN no golden file
    path = tmp_path / "notify" / "slack_step_failed.json"

    # WHEN a message is compared with it
    with pytest.raises(pytest.fail.Exception) as failed:
        assert_matches_golden(path, '{"text": "hello"}\n')

    # THEN the test fails, says how to write the file, and wrote nothing
    assert "no golden file" in str(failed.value)
    assert "UPDATE_GOLDEN=1" in str(failed.value)
    assert not path.exists()


def test_a_different_message_fails(tmp_path: Path) -> None:
    # GIVEN a golden file
    path = tmp_path / "sns_step_failed.txt"
    path.write_text("Subject: step failed\n", encoding="utf-8")

    # WHEN another message is compared with it
    # THEN the test fails, naming the file, and the file is unchanged
    with pytest.raises(AssertionError, match=r"sns_step_failed\.txt differs from its golden file"):
        assert_matches_golden(path, "Subject: step FAILED\n")
    assert path.read_text(encoding="utf-8") == "Subject: step failed\n"


def test_the_same_message_passes(tmp_path: Path) -> None:
    # GIVEN a golden file
    path = tmp_path / "teams_step_failed.json"
    path.write_text("{}\n", encoding="utf-8")

    # WHEN the same message is compared with it / THEN nothing is raised
    assert_matches_golden(path, "{}\n")


@pytest.mark.parametrize("existing", [None, "old\n"], ids=["missing file", "outdated file"])
def test_update_golden_writes_the_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, existing: str | None
) -> None:
    # GIVEN UPDATE_GOLDEN=1, and no golden file or an outdated one
    monkeypatch.setenv(UPDATE_ENV, "1")
    path = tmp_path / "golden" / "webhook_step_failed.json"
    if existing is not None:
        path.parent.mkdir()
        path.write_text(existing, encoding="utf-8")

    # WHEN a message is compared with it
    assert_matches_golden(path, "new\n")

    # THEN the file now holds the message
    assert path.read_text(encoding="utf-8") == "new\n"
