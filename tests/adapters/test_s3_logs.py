"""S3StepLogs under moto: ranged GETs, gzip streamed from the start, and the inconvenient objects (late, missing,
not gzip, binary, huge, a gzip bomb), each skipped with a reason and never raised."""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws

from emr_autoscaler.adapters.aws import s3_logs
from emr_autoscaler.adapters.aws.s3_logs import S3StepLogs, gunzip_tail, step_log_uris
from emr_autoscaler.kernel.models import ClusterSnapshot, ClusterState
from emr_autoscaler.steps.domain.evidence import EvidenceState
from emr_autoscaler.steps.domain.models import FailedStep, FailureDetails

BUCKET = "aws-logs-123456789012-eu-west-1"
CID, SID = "j-2AXXXXXXGAPLF", "s-1K4B2GJ7W9QXZ"
PREFIX = f"elasticmapreduce/{CID}/steps/{SID}"
FIXTURES = Path(__file__).parent.parent / "fixtures" / "evidence"
NOW = datetime(2026, 3, 4, 3, 20, tzinfo=UTC)


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        yield client


def _cluster(log_uri: str | None = f"s3n://{BUCKET}/elasticmapreduce/") -> ClusterSnapshot:
    return ClusterSnapshot(cluster_id=CID, name="etl", state=ClusterState.WAITING, read_at=NOW, log_uri=log_uri)


def _step(log_file: str | None = None) -> FailedStep:
    return FailedStep(
        cluster_id=CID,
        step_id=SID,
        name="aggregate",
        action_on_failure="CONTINUE",
        failure=FailureDetails(reason="Unknown Error.", log_file=log_file),
    )


def _by_name(evidence: Any) -> dict[str, Any]:
    return {e.location.rsplit("/", 1)[1]: e for e in evidence}


def test_log_locations_follow_emr_layout_log_file_first() -> None:
    # GIVEN EMR's LogUri (s3n://, as DescribeCluster gives it) and a LogFile naming stderr.gz
    step = _step(f"s3://{BUCKET}/{PREFIX}/syslog.gz")
    # THEN the LogFile comes first, then stderr.gz and controller.gz of the step, as s3:// URIs, at most three
    assert step_log_uris(_cluster(), step) == (
        f"s3://{BUCKET}/{PREFIX}/syslog.gz",
        f"s3://{BUCKET}/{PREFIX}/stderr.gz",
        f"s3://{BUCKET}/{PREFIX}/controller.gz",
    )
    assert step_log_uris(_cluster(), _step()) == (
        f"s3://{BUCKET}/{PREFIX}/stderr.gz",
        f"s3://{BUCKET}/{PREFIX}/controller.gz",
    )
    assert step_log_uris(_cluster(None), _step()) == ()


def test_gzip_logs_are_read_and_missing_ones_are_not_yet(s3: Any) -> None:
    # GIVEN stderr.gz archived (the real spark-submit stderr of a ClassNotFound), controller.gz not yet
    text = (FIXTURES / "stderr_class_not_found.txt").read_text()
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/stderr.gz", Body=gzip.compress(text.encode()))
    # WHEN read
    found = _by_name(S3StepLogs(s3).read(_cluster(), _step()))
    # THEN stderr's whole text is there, controller is NOT_YET with a note
    assert found["stderr.gz"].state is EvidenceState.FOUND
    assert found["stderr.gz"].text == text
    assert found["controller.gz"].state is EvidenceState.NOT_YET
    assert "not in S3 yet" in (found["controller.gz"].note or "")


def test_no_log_uri_is_skipped_with_a_reason(s3: Any) -> None:
    (only,) = S3StepLogs(s3).read(_cluster(None), _step())
    assert only.state is EvidenceState.SKIPPED
    assert "no LogUri" in (only.note or "")


def test_plain_text_log_is_read_with_one_ranged_get_of_its_tail(s3: Any) -> None:
    # GIVEN a 1 MiB plain-text stderr (not gzip, e.g. an object uploaded before compression) ending in the error
    lines = [f"26/03/04 03:00:{i % 60:02d} INFO TaskSetManager: Finished task {i}" for i in range(20_000)]
    body = "\n".join([*lines, "Caused by: java.lang.ClassNotFoundException: com.acme.Main"]).encode()
    assert len(body) > 4 * s3_logs.TAIL_BYTES
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/stderr.gz", Body=body)
    # WHEN read
    found = _by_name(S3StepLogs(s3).read(_cluster(), _step()))["stderr.gz"]
    # THEN the text is the last 256 KiB at most, starting on a whole line, ending in the error
    assert found.state is EvidenceState.FOUND
    assert len(found.text.encode()) <= s3_logs.TAIL_BYTES
    assert found.text.startswith("26/03/04")
    assert found.text.endswith("ClassNotFoundException: com.acme.Main")


def test_large_gzip_is_streamed_from_its_start_keeping_only_the_tail(s3: Any) -> None:
    # GIVEN a gzip log larger than 256 KiB compressed (incompressible noise lines), ending in the error
    noise = [os.urandom(48).hex() for _ in range(12_000)]
    text = "\n".join([*noise, "ExecutorLostFailure ... Container released on a *lost* node"])
    blob = gzip.compress(text.encode())
    assert len(blob) > s3_logs.TAIL_BYTES
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/stderr.gz", Body=blob)
    # WHEN read
    found = _by_name(S3StepLogs(s3).read(_cluster(), _step()))["stderr.gz"]
    # THEN the tail of the text is there, bounded to 256 KiB
    assert found.state is EvidenceState.FOUND
    assert len(found.text.encode()) <= s3_logs.TAIL_BYTES
    assert found.text.endswith("Container released on a *lost* node")


def test_gzip_too_large_to_read_from_its_start_is_skipped(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a gzip log larger than the bound of compressed bytes read (lowered for the test)
    monkeypatch.setattr(s3_logs, "MAX_GZIP_OBJECT_BYTES", 300 * 1024)
    blob = gzip.compress(os.urandom(400 * 1024))
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/stderr.gz", Body=blob)
    found = _by_name(S3StepLogs(s3).read(_cluster(), _step()))["stderr.gz"]
    assert found.state is EvidenceState.SKIPPED
    assert "not read" in (found.note or "")


@pytest.mark.parametrize(
    ("body", "note"),
    [
        (b"\x00\x01\x02binary\x00" * 100, "binary"),
        (b"\x1f\x8b\x08\x00garbage-not-deflate" * 10, "not a readable gzip stream"),
    ],
    ids=["binary", "corrupt gzip"],
)
def test_bad_objects_are_skipped_with_a_reason(s3: Any, body: bytes, note: str) -> None:
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/stderr.gz", Body=body)
    found = _by_name(S3StepLogs(s3).read(_cluster(), _step()))["stderr.gz"]
    assert found.state is EvidenceState.SKIPPED
    assert note in (found.note or "")


def test_a_gzip_bomb_stops_at_the_inflation_bound() -> None:
    # GIVEN 64 MiB of zeros in a tiny gzip, and a bound of 8 MiB inflated
    bomb = gzip.compress(b"\x00" * (64 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 100 * 1024
    with pytest.raises(ValueError, match="inflates beyond"):
        gunzip_tail([bomb], max_inflated=8 * 1024 * 1024)


def test_gunzip_tail_reads_concatenated_members_chunk_by_chunk() -> None:
    # GIVEN two gzip members back to back (what appending to a .gz produces), fed in 1 KiB chunks
    blob = gzip.compress(b"first member\n") + gzip.compress(b"second member\n")
    chunks = [blob[i : i + 1024] for i in range(0, len(blob), 1024)]
    assert gunzip_tail(chunks) == b"first member\nsecond member\n"
    assert gunzip_tail([zlib.compress(b"x")[:0]]) == b""


def test_access_denied_is_skipped_not_waited_for(s3: Any) -> None:
    # GIVEN a bucket the function may not read (an S3 error answer, as IAM gives it)
    from botocore.stub import Stubber

    client = boto3.client("s3", region_name="eu-west-1")
    stubber = Stubber(client)
    for _ in range(2):
        stubber.add_client_error("get_object", "AccessDenied", "Access Denied", 403)
    with stubber:
        found = S3StepLogs(client).read(_cluster(), _step())
    assert {e.state for e in found} == {EvidenceState.SKIPPED}
    assert all("StepLogBuckets" in (e.note or "") for e in found)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(blob=st.binary(max_size=4096))
def test_any_bytes_gunzip_to_a_tail_or_a_refusal(blob: bytes) -> None:
    # GIVEN any bytes where a gzip log is expected, WHEN inflated, THEN a bounded tail or a ValueError with a reason
    outcome: bytes | str
    try:
        outcome = gunzip_tail([blob[:100], blob[100:]], keep=1024)
    except ValueError as error:
        outcome = str(error)
    if isinstance(outcome, str):
        assert outcome
    else:
        assert len(outcome) <= 1024
