"""Cold start of each Lambda handler against `import boto3`, each measured as a whole fresh process.

What Lambda runs is the layer: `layers/core` on the path and only `layers/core/requirements.txt` installed. The
bench builds that environment once (`.venv-layer`, the same pinned versions; the development venv also holds moto,
awscrt and an editable-install finder, which would distort both sides of the ratio) and runs, `--repeat` times each:

- `python -c pass` (the interpreter's own start, subtracted from every other figure);
- `python -c "import boto3"`, the reference;
- `python -c "import app"` in each `functions/<name>/`: Lambda's init phase (the clients are built at the first
  invocation, by bootstrap);
- the same plus what the first invocation adds before any AWS call: parsing the configuration document and the
  function's sample event (the pydantic models built on first use, `defer_build`, are built there);
- the same plus building the function's service (bootstrap: its adapters' imports and its boto3 clients).

The variants are interleaved in every round (a slow moment hits all of them alike). Each figure is the median of
its rounds, in CPU time of the child process (what a Lambda's own vCPU would spend; the verdict uses it) and in
wall time (which this machine's load inflates). The `floor` row imports boto3 and Powertools and defines one
pydantic model with a constrained field: what any handler here pays before a line of this project. Tracing off
(POWERTOOLS_TRACE_DISABLED=true, the stack's default). `--detail NAME` prints the costliest modules of one
handler's import (`python -X importtime`).

    .venv/bin/python bench/cold_start.py [--repeat 15] [--json] [--detail scaler]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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


FLOOR = (
    "import boto3, aws_lambda_powertools\nfrom pydantic import BaseModel, Field\n"
    "class Settings(BaseModel):\n    port: int = Field(default=8088, gt=0)"
)
BUILDER = {"scaler": "scaler", "step_retry": "step_retrier", "notifier": "notifier", "cluster_watch": "cluster_watch"}


def _env(tracing: bool) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT / "layers" / "core"),
        "POWERTOOLS_TRACE_DISABLED": "false" if tracing else "true",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "BENCH_CONFIG": CONFIG,
    }


def _run(python: Path, code: str, function: str, tracing: bool = False) -> tuple[float, float]:
    """_Run is one fresh process: (wall seconds, CPU seconds of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [str(python), "-c", code], check=True, cwd=ROOT / "functions" / function, env=_env(tracing)
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _first_parse_code(function: str, build: bool = False) -> str:
    sample = ROOT / "events" / SAMPLE[function]
    code = (
        "import app, json, os\n"
        "from emr_autoscaler.kernel.config.document import parse_config_text\n"
        "parse_config_text(os.environ['BENCH_CONFIG'])\n"
        f"e = json.loads(open({str(sample)!r}).read())\n" + FIRST_PARSE[function]
    )
    return code + f"\nfrom emr_autoscaler import bootstrap\nbootstrap.{BUILDER[function]}()" if build else code


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
    variants: dict[str, tuple[str, str, bool]] = {"pass": ("pass", functions[0], False)}
    variants["boto3"] = ("import boto3", functions[0], False)
    # What every handler here imports before a line of ours: boto3, pydantic and the Powertools Logger/Metrics.
    variants["floor"] = (FLOOR, functions[0], False)
    for function in functions:
        variants[f"{function}/import"] = ("import app", function, False)
        variants[f"{function}/parse"] = (_first_parse_code(function), function, False)
        variants[f"{function}/build"] = (_first_parse_code(function, build=True), function, False)
        if args.tracing:
            variants[f"{function}/traced"] = ("import app", function, True)
    print(f"measuring {len(variants)} variants, {args.repeat} interleaved rounds ...", file=sys.stderr)
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    for _ in range(args.repeat):
        for name, (code, function, tracing) in variants.items():
            samples[name].append(_run(python, code, function, tracing))

    def cost(name: str, index: int) -> float:
        base = statistics.median(s[index] for s in samples["pass"])
        return statistics.median(s[index] for s in samples[name]) - base

    boto3_cpu, boto3_wall = cost("boto3", 1), cost("boto3", 0)
    results: dict[str, dict[str, float]] = {}
    for function in functions:
        row: dict[str, float] = {}
        for step in ("import", "parse", "build", "traced"):
            if f"{function}/{step}" in samples:
                row[f"{step}_cpu_ms"] = cost(f"{function}/{step}", 1) * 1000
                row[f"{step}_ratio"] = cost(f"{function}/{step}", 1) / boto3_cpu
                row[f"{step}_wall_ratio"] = cost(f"{function}/{step}", 0) / boto3_wall
        results[function] = row
    load = os.getloadavg()[0]
    floor = cost("floor", 1) / boto3_cpu
    if args.json:
        summary = {"boto3_cpu_ms": boto3_cpu * 1000, "boto3_wall_ms": boto3_wall * 1000, "load_1m": load}
        summary["floor_ratio"] = floor
        print(json.dumps({**summary, "handlers": results}, indent=2))
        return 0
    print(
        f"layer venv; import boto3 {boto3_cpu * 1000:.0f} ms CPU ({boto3_wall * 1000:.0f} ms wall), interpreter "
        f"start subtracted; load average {load:.1f} on {os.cpu_count()} cores; ratios to import boto3, CPU (wall)"
    )
    columns = ["import", "parse", "build"] + (["traced"] if args.tracing else [])
    titles = {"import": "init: import", "parse": "+ first parse", "build": "+ build service", "traced": "traced"}
    print(f"{'handler':<14}" + "".join(f"{titles[c]:>18}" for c in columns) + f"   target: init <= {TARGET}x")
    for function, row in results.items():
        cells = "".join(f"{row[f'{c}_ratio']:>10.2f}x ({row[f'{c}_wall_ratio']:.2f}x)".rjust(18) for c in columns)
        verdict = "ok" if row["import_ratio"] <= TARGET else "MISSED"
        print(f"{function:<14}{cells}   {verdict}")
    note = "boto3 + Powertools + one pydantic model: where any handler starts"
    print(f"{'floor':<14}{f'{floor:.2f}x'.rjust(11)}        {note}")
    if args.detail:
        _detail(python, args.detail)
    return 0


if __name__ == "__main__":
    sys.exit(main())
