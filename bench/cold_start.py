"""Cold import of each Lambda handler against `import boto3`, each in fresh interpreters (whole processes).

Lambda's init phase imports the handler module; the clients are built at the first invocation (bootstrap).
Each figure is the median over `--repeat` fresh processes, minus the median of an interpreter that imports
nothing (`python -c pass`), so the ratio compares what the two imports cost, not the interpreter's start.
Tracing is off (POWERTOOLS_TRACE_DISABLED=true, the stack's default); `--tracing` adds the X-Ray SDK row.
`--detail NAME` prints the 15 costliest modules of that handler's import (`python -X importtime`).

    .venv/bin/python bench/cold_start.py [--repeat 15] [--json] [--detail scaler]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = sorted(p.parent.name for p in (ROOT / "functions").glob("*/app.py"))
TARGET = 1.5


def _env(tracing: bool) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "POWERTOOLS_TRACE_DISABLED": "false" if tracing else "true",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }


def _run_s(code: str, function: str, tracing: bool = False) -> float:
    started = time.perf_counter()
    subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", code], check=True, cwd=ROOT / "functions" / function, env=_env(tracing)
    )
    return time.perf_counter() - started


def _median_s(code: str, function: str, repeat: int, tracing: bool = False) -> float:
    return statistics.median(_run_s(code, function, tracing) for _ in range(repeat))


def _detail(function: str) -> None:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import app"],
        check=True,
        cwd=ROOT / "functions" / function,
        env=_env(False),
        capture_output=True,
        text=True,
    )
    rows = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        head, cumulative_us, name = line.split("|", 2)
        rows.append((int(head.split()[-1]), int(cumulative_us), name))
    print(f"\n{function}: costliest imports (self time)")
    for self_us, cumulative_us, name in sorted(rows, reverse=True)[:15]:
        print(f"  {self_us / 1000:7.1f} ms self  {cumulative_us / 1000:7.1f} ms cumulative  {name.strip()}")


def main() -> int:
    """Main measures and prints one row per handler (and JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--tracing", action="store_true", help="also measure with X-Ray tracing on")
    parser.add_argument("--detail", choices=FUNCTIONS, help="print the costliest modules of one handler's import")
    args = parser.parse_args()

    print(f"measuring {len(FUNCTIONS)} handlers, {args.repeat} fresh processes each ...", file=sys.stderr)
    base_s = _median_s("pass", FUNCTIONS[0], args.repeat)
    boto3_s = _median_s("import boto3", FUNCTIONS[0], args.repeat) - base_s
    results: dict[str, dict[str, float]] = {}
    for function in FUNCTIONS:
        handler_s = _median_s("import app", function, args.repeat) - base_s
        row = {"import_ms": handler_s * 1000, "ratio": handler_s / boto3_s}
        if args.tracing:
            row["traced_ratio"] = (_median_s("import app", function, args.repeat, tracing=True) - base_s) / boto3_s
        results[function] = row
    if args.json:
        print(json.dumps({"boto3_ms": boto3_s * 1000, "base_ms": base_s * 1000, "handlers": results}, indent=2))
        return 0
    print(f"interpreter start {base_s * 1000:.0f} ms (subtracted); import boto3 {boto3_s * 1000:.0f} ms")
    print(f"{'handler':<14} {'import':>9} {'/ boto3':>8}  target <= {TARGET}x" + ("  traced" if args.tracing else ""))
    for function, row in results.items():
        verdict = "ok" if row["ratio"] <= TARGET else "MISSED"
        traced = f"  {row['traced_ratio']:.2f}x" if args.tracing else ""
        print(f"{function:<14} {row['import_ms']:>6.0f} ms {row['ratio']:>7.2f}x  {verdict}{traced}")
    if args.detail:
        _detail(args.detail)
    return 0


if __name__ == "__main__":
    sys.exit(main())
