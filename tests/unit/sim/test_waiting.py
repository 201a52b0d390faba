"""The task queue's entries, (usage, packed job index, phase and stamp), order as the tuples they stand for."""

from __future__ import annotations

import random

import pytest

from emr_autoscaler_dev.sim.waiting import JOB_BITS, MAP, STAMP_BITS, Request, TaskQueue, entry_low
from tests.unit.sim.builders import job


def test_entries_order_as_their_tuples_whatever_the_usage() -> None:
    # GIVEN tuples with usage of any sign and size, job indexes, phases and stamps up to their limits
    rng = random.Random(7)
    tuples = [
        (
            rng.choice([0, rng.randrange(-(10**12), 10**12), rng.randrange(1 << 40)]),
            rng.randrange(1 << JOB_BITS),
            rng.randrange(3),
            rng.randrange(1 << STAMP_BITS),
        )
        for _ in range(5000)
    ]
    tuples += [(0, (1 << JOB_BITS) - 1, 2, (1 << STAMP_BITS) - 1), (1, 0, 0, 0), (-1, (1 << JOB_BITS) - 1, 2, 1)]
    # WHEN each is made an entry: its usage, and the rest packed in one integer
    # THEN sorting the entries sorts the tuples, and the packed part fits a C long long
    assert sorted(tuples, key=lambda t: (t[0], entry_low(*t[1:]))) == sorted(tuples)
    assert all(0 <= entry_low(*t[1:]) < 1 << 63 for t in tuples)


def test_a_job_index_beyond_the_queue_s_bits_is_refused_not_misordered() -> None:
    # GIVEN a job whose index does not fit the packed entry
    request = Request(job(index=1 << JOB_BITS, maps=2), MAP, 2)
    # WHEN it is queued, THEN the queue says so instead of ordering it wrongly
    with pytest.raises(ValueError, match="beyond the task queue"):
        TaskQueue({}, [request], fair=True)
