"""The SWIM trace parser: well-formed files, malformed lines named by line and column, empty traces."""

from __future__ import annotations

from pathlib import Path

import pytest

from emr_autoscaler_dev.sim.trace import TraceError, TraceFormatError, format_swim, load_trace, parse_swim
from tests.unit.sim.builders import FB_TRACE, trace_job


def test_parse_reads_every_column_and_sorts_by_submit_time() -> None:
    # GIVEN two SWIM lines out of submit order
    lines = ["job1\t20\t10\t100\t50\t7\n", "job0\t10\t10\t200\t0\t3\n"]

    # WHEN parsed
    jobs = parse_swim(lines)

    # THEN each job carries its sizes, in submit order
    assert [j.job_id for j in jobs] == ["job0", "job1"]
    assert (jobs[1].submit_s, jobs[1].input_bytes, jobs[1].shuffle_bytes, jobs[1].output_bytes) == (20.0, 100, 50, 7)


def test_blank_lines_are_skipped() -> None:
    # GIVEN a trace with blank lines around its job
    lines = ["\n", "job0\t1\t1\t1\t1\t1\n", "   \n"]

    # WHEN parsed
    jobs = parse_swim(lines)

    # THEN only the job is read
    assert [j.job_id for j in jobs] == ["job0"]


@pytest.mark.parametrize(
    ("line", "column"),
    [
        ("job0\tsoon\t1\t1\t1\t1", 2),
        ("job0\t1\t-1\t1\t1\t1", 3),
        ("job0\t1\t1\tlots\t1\t1", 4),
        ("job0\t1\t1\t1\t-5\t1", 5),
        ("job0\t1\t1\t1\t1\t1.5", 6),
        ("\t1\t1\t1\t1\t1", 1),
        ("job0\t1\t1\t1", 5),
        ("job0\t1\t1\t1\t1\t1\textra", 7),
    ],
)
def test_a_malformed_line_is_named_by_line_and_column(line: str, column: int) -> None:
    # GIVEN a good first line and a malformed second one
    lines = ["job0\t1\t1\t1\t1\t1\n", line + "\n"]

    # WHEN parsed
    with pytest.raises(TraceFormatError) as error:
        parse_swim(lines, source="t.tsv")

    # THEN the error names the file, line 2 and the offending column
    assert (error.value.line, error.value.column) == (2, column)
    assert str(error.value).startswith(f"t.tsv: line 2, column {column}:")


def test_an_empty_trace_is_an_error() -> None:
    # GIVEN a trace with no job
    # WHEN parsed  THEN it is refused
    with pytest.raises(TraceError, match="no job"):
        parse_swim(["\n"])


def test_load_keeps_the_first_hours_only() -> None:
    # GIVEN the bundled FB-2009 trace
    # WHEN the first hour is loaded
    jobs = load_trace(FB_TRACE, hours=1)

    # THEN exactly the jobs the file submits in that hour are kept (counted on the raw lines), in submit order
    submits = [float(line.split("\t")[1]) for line in FB_TRACE.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(jobs) == sum(1 for submit_s in submits if submit_s < 3600)
    assert len(jobs) < len(submits)
    assert [j.submit_s for j in jobs] == sorted(s for s in submits if s < 3600)


def test_load_reports_a_missing_file(tmp_path: Path) -> None:
    # GIVEN a path with no file
    # WHEN loaded  THEN the error names the file
    with pytest.raises(TraceError, match=r"missing\.tsv"):
        load_trace(tmp_path / "missing.tsv")


def test_format_swim_round_trips() -> None:
    # GIVEN jobs
    jobs = [trace_job(5, input_mib=1), trace_job(9, input_mib=2, shuffle_mib=3, output_mib=4)]

    # WHEN written as SWIM and read back
    again = parse_swim(format_swim(jobs).splitlines(keepends=True))

    # THEN nothing changed
    assert again == jobs
