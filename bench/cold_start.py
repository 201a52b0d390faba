"""Cold start of each Lambda handler against `import boto3`, each measured as a whole fresh process.

What Lambda runs is the layer: `layers/core` on the path and only `layers/core/requirements.txt` installed. The
bench builds that environment once (`.venv-layer`, the same pinned versions; the development venv also holds moto,
awscrt and an editable-install finder, which would distort both sides of the ratio) and runs, `--repeat` times each:

- `python -c pass` (the interpreter's own start, subtracted from every other figure);
- `python -c "import boto3"`, the reference;
- `python -c "import app"` in each `functions/<name>/`: Lambda's init phase (the clients are built at the first
  invocation, by bootstrap);
- the same plus what the first invocation adds before any AWS call: parsing the configuration document and the
  function's sample event (the pydantic models built on first use, `defer_build`, are built there).

Medians; tracing off (POWERTOOLS_TRACE_DISABLED=true, the stack's default). `--detail NAME` prints the costliest
modules of one handler's import (`python -X importtime`).

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
LAYER_VENV = ROOT / ".venv-layer"
TARGET = 1.5
# The first invocation's work before any AWS call: the configuration document and the function's own event.
FIRST_PARSE = {
    "scaler": "from emr_autoscaler.scaling.triggers import parse_scaler_trigger as p; p(e, 'emr-autoscaler-')",
    "step_retry": "from emr_autoscaler.steps.triggers import parse_step_failure as p; p(e)",
    "notifier": "from emr_autoscaler.notifications.triggers import parse_notice_event as p; p(e)",
    "cluster_watch": "from emr_autoscaler.watch.triggers import parse_watch_trigger as p; p(e)",
}
SAMPLE = {
    "scaler": "scheduled_tick.json",
    "step_retry": "step_failed.json",
    "notifier": "cluster_terminated_with_errors.json",
    "cluster_watch": "cluster_state_change_running.json",
}
CONFIG = (ROOT / "config" / "autoscaler.yaml").read_text(encoding="utf-8")


def _layer_python() -> Path:
    """_Layer_python is the interpreter of a venv holding exactly the layer's requirements (built on first use)."""
    python = LAYER_VENV / "bin" / "python"
    stamp = LAYER_VENV / ".installed"
    requirements = ROOT / "layers" / "core" / "requirements.txt"
    if stamp.exists() and stamp.stat().st_mtime >= requirements.stat().st_mtime:
        return python
    print(f"building {LAYER_VENV.name} from layers/core/requirements.txt (once) ...", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(LAYER_VENV)], check=True)  # noqa: S603
    subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", str(requirements)],
        check=True,
    )
    stamp.touch()
    return python


def _env(tracing: bool) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT / "layers" / "core"),
        "POWERTOOLS_TRACE_DISABLED": "false" if tracing else "true",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "EMR_AUTOSCALER_CONFIG": CONFIG,
    }


def _median_s(python: Path, code: str, function: str, repeat: int, tracing: bool = False) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
            [str(python), "-c", code], check=True, cwd=ROOT / "functions" / function, env=_env(tracing)
        )
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def _first_parse_code(function: str) -> str:
    sample = ROOT / "events" / SAMPLE[function]
    return (
        "import app, json, os\n"
        "from emr_autoscaler.kernel.config.document import parse_config_text\n"
        "parse_config_text(os.environ['EMR_AUTOSCALER_CONFIG'])\n"
        f"e = json.loads(open({str(sample)!r}).read())\n" + FIRST_PARSE[function]
    )


def _detail(python: Path, function: str) -> None:
    result = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [str(python), "-X", "importtime", "-c", "import app"],
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
    parser.add_argument("--detail", choices=sorted(FIRST_PARSE), help="the costliest modules of one handler's import")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    python = _layer_python()
    functions = sorted(FIRST_PARSE)
    print(f"measuring {len(functions)} handlers, {args.repeat} fresh processes per figure ...", file=sys.stderr)
    base_s = _median_s(python, "pass", functions[0], args.repeat)
    boto3_s = _median_s(python, "import boto3", functions[0], args.repeat) - base_s
    results: dict[str, dict[str, float]] = {}
    for function in functions:
        import_s = _median_s(python, "import app", function, args.repeat) - base_s
        first_s = _median_s(python, _first_parse_code(function), function, args.repeat) - base_s
        row = {
            "import_ms": import_s * 1000,
            "import_ratio": import_s / boto3_s,
            "first_parse_ms": first_s * 1000,
            "first_parse_ratio": first_s / boto3_s,
        }
        if args.tracing:
            traced_s = _median_s(python, "import app", function, args.repeat, tracing=True) - base_s
            row["traced_ratio"] = traced_s / boto3_s
        results[function] = row
    load = os.getloadavg()[0]
    if args.json:
        summary = {"boto3_ms": boto3_s * 1000, "interpreter_ms": base_s * 1000, "load_1m": load}
        print(json.dumps({**summary, "handlers": results}, indent=2))
        return 0
    print(
        f"layer venv; interpreter start {base_s * 1000:.0f} ms (subtracted); import boto3 {boto3_s * 1000:.0f} ms; "
        f"load average {load:.1f} on {os.cpu_count()} cores"
    )
    header = f"{'handler':<14} {'import':>8} {'/ boto3':>8}  {'+ 1st parse':>11} {'/ boto3':>8}"
    print(header + (f" {'traced':>8}" if args.tracing else "") + f"   target: import <= {TARGET}x")
    for function, row in results.items():
        verdict = "ok" if row["import_ratio"] <= TARGET else "MISSED"
        traced = f" {row['traced_ratio']:>7.2f}x" if args.tracing else ""
        print(
            f"{function:<14} {row['import_ms']:>5.0f} ms {row['import_ratio']:>7.2f}x  "
            f"{row['first_parse_ms']:>8.0f} ms {row['first_parse_ratio']:>7.2f}x{traced}   {verdict}"
        )
    if args.detail:
        _detail(python, args.detail)
    return 0


if __name__ == "__main__":
    sys.exit(main())
