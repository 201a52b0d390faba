"""SWIM workload traces: one MapReduce job a line, as the SWIM project publishes them (`data/traces/README.md`).

Format: tab-separated, no header, six columns: job id, submit time since trace start (s), gap since the previous
submit (s), map input bytes, shuffle bytes, reduce output bytes. Any file in that format runs; a malformed line
stops the read with a TraceFormatError naming the line and the column.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

SWIM_FORMAT = "swim"
FORMATS = (SWIM_FORMAT,)

_COLUMNS = (
    "job id",
    "submit time (s)",
    "gap since previous submit (s)",
    "map input bytes",
    "shuffle bytes",
    "reduce output bytes",
)


class TraceError(ValueError):
    """TraceError is raised for a trace that cannot be replayed (unreadable, empty or malformed)."""


class TraceFormatError(TraceError):
    """TraceFormatError names the 1-based line and column (tab-separated field) of a malformed trace line."""

    def __init__(self, source: str, line: int, column: int, problem: str) -> None:
        self.source = source
        self.line = line
        self.column = column
        super().__init__(f"{source}: line {line}, column {column}: {problem}")


@dataclass(frozen=True, slots=True)
class TraceJob:
    """TraceJob is one job of a trace: when it was submitted (s since trace start) and its data sizes (bytes)."""

    job_id: str
    submit_s: float
    input_bytes: int
    shuffle_bytes: int
    output_bytes: int


def _number(text: str, source: str, line: int, column: int) -> float:
    try:
        value = float(text)
    except ValueError:
        raise TraceFormatError(source, line, column, f"{_COLUMNS[column - 1]} {text!r} is not a number") from None
    if not value >= 0 or value == float("inf"):
        raise TraceFormatError(source, line, column, f"{_COLUMNS[column - 1]} {text!r} is not a finite number >= 0")
    return value


def _size(text: str, source: str, line: int, column: int) -> int:
    try:
        value = int(text)
    except ValueError:
        # Some SWIM files write sizes as floats ("1.2E9"); accept them when integral.
        number = _number(text, source, line, column)
        if number != int(number):
            raise TraceFormatError(
                source, line, column, f"{_COLUMNS[column - 1]} {text!r} is not a whole number of bytes"
            ) from None
        return int(number)
    if value < 0:
        raise TraceFormatError(source, line, column, f"{_COLUMNS[column - 1]} {text!r} is negative")
    return value


def parse_swim(lines: Iterable[str], source: str = "<trace>") -> list[TraceJob]:
    """Parse_swim reads SWIM lines into jobs sorted by submit time (stable for equal times).

    Blank lines are skipped. Raises TraceFormatError for a malformed line and TraceError for a trace with no job.
    """
    jobs: list[TraceJob] = []
    for number, raw in enumerate(lines, start=1):
        text = raw.rstrip("\r\n")
        if not text.strip():
            continue
        fields = text.split("\t")
        if len(fields) != len(_COLUMNS):
            # The first missing column, or the first extra one.
            column = min(len(fields), len(_COLUMNS)) + 1
            raise TraceFormatError(
                source,
                number,
                column,
                f"expected {len(_COLUMNS)} tab-separated columns ({', '.join(_COLUMNS)}), found {len(fields)}",
            )
        job_id = fields[0].strip()
        if not job_id:
            raise TraceFormatError(source, number, 1, "job id is empty")
        submit_s = _number(fields[1].strip(), source, number, 2)
        _number(fields[2].strip(), source, number, 3)
        jobs.append(
            TraceJob(
                job_id=job_id,
                submit_s=submit_s,
                input_bytes=_size(fields[3].strip(), source, number, 4),
                shuffle_bytes=_size(fields[4].strip(), source, number, 5),
                output_bytes=_size(fields[5].strip(), source, number, 6),
            )
        )
    if not jobs:
        raise TraceError(f"{source}: the trace holds no job")
    jobs.sort(key=lambda job: job.submit_s)
    return jobs


def load_trace(path: str | Path, fmt: str = SWIM_FORMAT, hours: float | None = None) -> list[TraceJob]:
    """Load_trace reads a trace file; `hours` keeps only the jobs submitted in the first `hours` hours.

    Raises TraceError when the file cannot be read, is malformed, or holds no job (within `hours`).
    """
    if fmt not in FORMATS:
        raise TraceError(f"unknown trace format {fmt!r} (known: {', '.join(FORMATS)})")
    file = Path(path)
    try:
        with file.open(encoding="utf-8") as handle:
            jobs = parse_swim(handle, source=str(file))
    except OSError as error:
        raise TraceError(f"{file}: cannot read the trace ({error.strerror or error})") from None
    except UnicodeDecodeError as error:
        raise TraceError(f"{file}: not a UTF-8 text file ({error.reason})") from None
    if hours is not None:
        jobs = [job for job in jobs if job.submit_s < hours * 3600.0]
        if not jobs:
            raise TraceError(f"{file}: no job is submitted in the first {hours:g} h")
    return jobs


def format_swim(jobs: Iterable[TraceJob]) -> str:
    """Format_swim renders jobs as SWIM lines (the inverse of parse_swim, gaps recomputed)."""
    out = []
    previous = 0.0
    for job in jobs:
        gap = job.submit_s - previous
        previous = job.submit_s
        out.append(
            f"{job.job_id}\t{job.submit_s:g}\t{gap:g}\t{job.input_bytes}\t{job.shuffle_bytes}\t{job.output_bytes}\n"
        )
    return "".join(out)
