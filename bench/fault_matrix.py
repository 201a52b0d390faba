"""Fault matrix: every dependency × every fault through the functions' real code path; prints one table.

Local AWS = moto server on loopback (one dependency made to fail per cell with botocore event hooks), the
ResourceManager and the webhook on local HTTP servers. The same cells are asserted by tests/faults/.

    .venv/bin/python bench/fault_matrix.py
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.faults.matrix import cells, environment, expected, run_cell


def main() -> int:
    """Main runs the matrix and prints it; exit status 1 if any cell broke its promise."""
    logging.disable(logging.CRITICAL)  # the functions log every refusal; the table is the report
    started = time.perf_counter()
    rows, broken = [], 0
    with environment() as env:
        for dependency, fault in cells():
            result = run_cell(env, dependency, fault)
            broken_promises = expected(dependency, fault).broken_by(result)
            broken += bool(broken_promises)
            rows.append((result, not broken_promises))
            for promise in broken_promises:
                print(f"{dependency.name} / {fault.value}: {promise}", file=sys.stderr)
    header = (
        f"| {'dependency':<30} | {'fault':<17} | {'outcome (first delivery)':<44} | tries "
        f"| {'after fault clears':<34} | acts | {'error notices delivered':<46} | holds |"
    )
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    for r, holds in rows:
        outcome = r.outcome + (" → retry → DLQ" if r.raised else "")
        print(
            f"| {r.dependency:<30} | {r.fault.value:<17} | {outcome[:44]:<44} | {r.tries:>5} | {r.recovered[:34]:<34} "
            f"| {r.mutations:>4} | {r.notice_text[:46]:<46} | {'yes' if holds else 'NO':<5} |"
        )
    print(f"\n{len(rows)} cells, {len(rows) - broken} hold, {broken} broken; {time.perf_counter() - started:.1f} s")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
