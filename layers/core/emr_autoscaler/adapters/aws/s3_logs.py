"""S3StepLogs: the StepLogs port over S3: the tail of a failed step's logs, read with bounded requests.

EMR archives a step's logs under `<LogUri>/<cluster id>/steps/<step id>/` (`controller.gz`, `stderr.gz`,
`stdout.gz`, `syslog.gz`) about every five minutes, so right after a failure they may not be there yet
(https://docs.aws.amazon.com/emr/latest/ManagementGuide/emr-manage-view-web-log-files.html). FailureDetails'
LogFile names the file EMR found the cause in (https://docs.aws.amazon.com/emr/latest/APIReference/
API_FailureDetails.html). With s3:ListBucket a missing object answers 404 NoSuchKey, without it 403
(https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html): the template grants ListBucket on the log
buckets so "not archived yet" and "not allowed" can be told apart.

What is read, and why it is bounded so:
- one ranged GET of the object's last 256 KiB (`Range: bytes=-262144`). A plain-text log is done: its tail is the
  text the rules read.
- a gzip object cannot be decompressed from the middle (a deflate stream has no sync points a reader can find,
  and back-references reach 32 KiB behind), so its last 256 KiB of *text* need the stream from its start. An
  object that fits in the first GET (most step logs: ≤ 256 KiB compressed) is gunzipped from it; a larger one is
  read again from the start, streamed, only when it is at most MAX_GZIP_OBJECT_BYTES compressed, and gunzipped as
  a stream keeping only the last 256 KiB of text; bigger ones are skipped with a logged reason. Inflated bytes
  stop at MAX_INFLATED_BYTES (a gzip bomb stops there), memory stays at a few chunks plus the 256 KiB tail.
- a binary object (NUL bytes) or a corrupt gzip is skipped with a reason; nothing here raises for a bad object.
"""

from __future__ import annotations

import logging
import re
import zlib
from collections.abc import Iterable, Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from emr_autoscaler.kernel.models import ClusterSnapshot
from emr_autoscaler.steps.domain.evidence import Evidence, EvidenceSource, EvidenceState
from emr_autoscaler.steps.domain.models import FailedStep

logger = logging.getLogger(__name__)

TAIL_BYTES = 256 * 1024
MAX_GZIP_OBJECT_BYTES = 8 * 1024 * 1024
MAX_INFLATED_BYTES = 128 * 1024 * 1024
LOG_FILES = ("stderr.gz", "controller.gz")
MAX_OBJECTS = 3
_CHUNK = 64 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
_S3_URI = re.compile(r"^s3[an]?://(?P<bucket>[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])/(?P<key>.*)$")
_CONTENT_RANGE = re.compile(r"^bytes (?P<start>\d+)-(?P<end>\d+)/(?P<total>\d+)$")
_MISSING = {"NoSuchKey", "404", "NotFound"}
_DENIED = {"AccessDenied", "403", "AllAccessDisabled", "InvalidObjectState"}


class _UnreadableError(ValueError):
    """_UnreadableError: the object is not a log this adapter reads (its message says why)."""


def split_s3_uri(uri: str) -> tuple[str, str] | None:
    """Split_s3_uri returns (bucket, key) of an s3://, s3n:// or s3a:// URI, or None."""
    match = _S3_URI.match(uri.strip())
    return (match.group("bucket"), match.group("key")) if match else None


def step_log_uris(cluster: ClusterSnapshot, step: FailedStep) -> tuple[str, ...]:
    """Step_log_uris are the log objects to read, most telling first: the LogFile EMR named, then stderr.gz and
    controller.gz under the step's log directory (the step's own LogUri, else the cluster's)."""
    uris: list[str] = []
    log_file = step.failure.log_file if step.failure else None
    directory: str | None = None
    if log_file and split_s3_uri(log_file):
        if log_file.endswith("/"):
            directory = log_file
        else:
            uris.append(log_file)
            directory = log_file.rsplit("/", 1)[0] + "/"
    root = step.log_uri or cluster.log_uri
    if directory is None and root and split_s3_uri(root.rstrip("/") + "/x"):
        directory = f"{root.rstrip('/')}/{cluster.cluster_id}/steps/{step.step_id}/"
    if directory is not None:
        uris.extend(directory + name for name in LOG_FILES)
    normalized = ["s3://" + uri.split("://", 1)[1] for uri in uris]
    return tuple(dict.fromkeys(normalized))[:MAX_OBJECTS]


def gunzip_tail(chunks: Iterable[bytes], keep: int = TAIL_BYTES, max_inflated: int = MAX_INFLATED_BYTES) -> bytes:
    """Gunzip_tail inflates a gzip stream (one or more members) chunk by chunk and returns its last `keep` bytes.

    Raises _UnreadableError when the stream is not gzip or inflates beyond `max_inflated` bytes. A stream cut short
    (an object still being written) yields what it held.
    """
    inflater = zlib.decompressobj(wbits=31)
    tail = bytearray()
    inflated = 0
    for chunk in chunks:
        pending = chunk
        while pending:
            try:
                out = inflater.decompress(pending, _CHUNK)
            except zlib.error as error:
                raise _UnreadableError(f"not a readable gzip stream ({error})") from None
            inflated += len(out)
            if inflated > max_inflated:
                raise _UnreadableError(f"inflates beyond {max_inflated // (1024 * 1024)} MiB: not a step log")
            tail += out
            if len(tail) > keep:
                del tail[:-keep]
            if inflater.eof:
                pending = inflater.unused_data.lstrip(b"\x00")
                inflater = zlib.decompressobj(wbits=31)
            else:
                pending = inflater.unconsumed_tail
    return bytes(tail)


def _text(data: bytes, cut: bool) -> str:
    """Bytes of a log tail as text; `cut`: the first line is partial and dropped."""
    if b"\x00" in data[:_CHUNK] or b"\x00" in data[-_CHUNK:]:
        raise _UnreadableError("binary content, not a text log")
    text = data.decode("utf-8", errors="replace")
    if cut and "\n" in text:
        text = text.split("\n", 1)[1]
    return text


class S3StepLogs:
    """S3StepLogs reads the last 256 KiB of text of a failed step's logs (a StepLogs); one S3 client, injected."""

    def __init__(self, client: Any) -> None:
        """`client` is a boto3 S3 client (typed Any: the project pins no mypy_boto3_s3 stubs)."""
        self._client = client

    def read(self, cluster: ClusterSnapshot, step: FailedStep) -> tuple[Evidence, ...]:
        """Read returns one Evidence per log object (FOUND, NOT_YET or SKIPPED with a note); never raises."""
        uris = step_log_uris(cluster, step)
        if not uris:
            return (
                Evidence(
                    source=EvidenceSource.STEP_LOG,
                    field="log",
                    state=EvidenceState.SKIPPED,
                    note=f"cluster {cluster.cluster_id} has no LogUri and EMR named no LogFile: no step log to read",
                ),
            )
        return tuple(self._read(uri) for uri in uris)

    def _read(self, uri: str) -> Evidence:
        def outcome(state: EvidenceState, note: str | None = None, text: str = "") -> Evidence:
            if note:
                logger.info("step log %s: %s", uri, note)
            return Evidence(
                source=EvidenceSource.STEP_LOG, field="log", state=state, text=text, location=uri, note=note
            )

        bucket, key = split_s3_uri(uri) or ("", "")
        try:
            response = self._client.get_object(Bucket=bucket, Key=key, Range=f"bytes=-{TAIL_BYTES}")
            body: bytes = response["Body"].read(TAIL_BYTES + 1)
            start, total = _range_of(response.get("ContentRange"), len(body))
            if start == 0 and body[:2] == _GZIP_MAGIC:
                return outcome(EvidenceState.FOUND, text=_text(gunzip_tail([body]), cut=False))
            if start > 0 and key.endswith(".gz"):
                inflated = self._gunzip_from_start(bucket, key, total)
                if inflated is not None:
                    return outcome(EvidenceState.FOUND, text=inflated)
            return outcome(EvidenceState.FOUND, text=_text(body[-TAIL_BYTES:], cut=start > 0))
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in _MISSING:
                return outcome(EvidenceState.NOT_YET, "not in S3 yet (EMR archives step logs about every 5 minutes)")
            if code in _DENIED:
                return outcome(EvidenceState.SKIPPED, f"access denied ({code}): is the bucket in StepLogBuckets?")
            if code == "InvalidRange":
                return outcome(EvidenceState.NOT_YET, "empty so far")
            return outcome(EvidenceState.SKIPPED, f"S3 answered {code or 'an error'}")
        except _UnreadableError as error:
            return outcome(EvidenceState.SKIPPED, str(error))
        except (BotoCoreError, OSError) as error:
            return outcome(EvidenceState.SKIPPED, f"could not be read ({type(error).__name__})")

    def _gunzip_from_start(self, bucket: str, key: str, total: int) -> str | None:
        """The last 256 KiB of text of a large .gz object, streamed from its start; None when it is not gzip (a
        plain-text object under a .gz name: its ranged tail is the text)."""
        limit = MAX_GZIP_OBJECT_BYTES
        response = self._client.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{limit - 1}")
        body = response["Body"]
        try:
            chunks = _chunks(body, limit)
            first = next(chunks, b"")
            if first[:2] != _GZIP_MAGIC:
                return None
            if total > limit:
                raise _UnreadableError(
                    f"{total} bytes of gzip: its last 256 KiB of text need the stream from its start, and more "
                    f"than {limit // (1024 * 1024)} MiB are not read"
                )
            tail = gunzip_tail(_prepend(first, chunks))
            return _text(tail, cut=len(tail) >= TAIL_BYTES)
        finally:
            body.close()


def _range_of(content_range: Any, length: int) -> tuple[int, int]:
    """(first byte, object size) from a Content-Range header; a whole-object answer has none."""
    match = _CONTENT_RANGE.match(str(content_range or ""))
    if match is None:
        return 0, length
    return int(match.group("start")), int(match.group("total"))


def _chunks(body: Any, limit: int) -> Iterator[bytes]:
    read = 0
    while read < limit:
        chunk: bytes = body.read(min(_CHUNK, limit - read))
        if not chunk:
            return
        read += len(chunk)
        yield chunk


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest
