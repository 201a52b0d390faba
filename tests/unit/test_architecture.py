"""The house rules of DESIGN.md, checked on the source: who may import whom, and what the Lambda layer holds.

Every `import` counts, also those inside functions and under `TYPE_CHECKING`: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "core"
PACKAGE = LAYER / "emr_autoscaler"
JOBS = ("scaling", "steps", "notifications", "watch")
THIRD_PARTY_IN_DOMAIN = {"pydantic"}
# The kernel also parses the YAML configuration document.
THIRD_PARTY_IN_KERNEL = {"pydantic", "yaml"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(LAYER).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> Iterator[str]:
    """Every module a file imports, absolute (the package uses absolute imports only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import; the package uses absolute imports"
            yield node.module or ""


MODULES = {_module_name(p): sorted(set(_imports(p))) for p in sorted(PACKAGE.rglob("*.py"))}


def _unit(module: str) -> str:
    """The unit the dependency rules speak of: a job, the kernel, the adapters, or a top-level module."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _internal(imported: str) -> bool:
    return imported == "emr_autoscaler" or imported.startswith("emr_autoscaler.")


def _stdlib(imported: str) -> bool:
    return imported.split(".")[0] in sys.stdlib_module_names or imported == "__future__"


def _violations(selected: str, allowed: object) -> list[str]:
    found = []
    for module, imports in MODULES.items():
        if not module.startswith(selected):
            continue
        found.extend(f"{module} imports {i}" for i in imports if not allowed(module, i))  # type: ignore[operator]
    return found


def test_the_tree_shows_the_four_jobs_each_with_domain_ports_triggers_and_service() -> None:
    # GIVEN the package
    # WHEN its jobs are listed
    # THEN each of the four has a pure domain, its ports, its event parsing and its use cases
    for job in JOBS:
        for part in ("domain/__init__.py", "ports.py", "triggers.py", "service.py"):
            assert (PACKAGE / job / part).is_file(), f"{job}/{part} is missing"
    assert (PACKAGE / "kernel").is_dir()
    assert (PACKAGE / "bootstrap.py").is_file()


def test_a_domain_imports_only_the_kernel_its_own_domain_the_standard_library_and_pydantic() -> None:
    def allowed(module: str, imported: str) -> bool:
        job = module.split(".")[1]
        if _internal(imported):
            return imported.startswith(("emr_autoscaler.kernel", f"emr_autoscaler.{job}.domain"))
        return _stdlib(imported) or imported.split(".")[0] in THIRD_PARTY_IN_DOMAIN

    # GIVEN every module under a job's domain/
    # WHEN its imports are read
    # THEN none reaches AWS, HTTP, Powertools, an adapter, a service or another job
    for job in JOBS:
        assert _violations(f"emr_autoscaler.{job}.domain", allowed) == []


def test_the_kernel_imports_nothing_of_the_jobs_or_the_adapters() -> None:
    def allowed(module: str, imported: str) -> bool:
        if _internal(imported):
            return imported.startswith("emr_autoscaler.kernel")
        return _stdlib(imported) or imported.split(".")[0] in THIRD_PARTY_IN_KERNEL

    assert _violations("emr_autoscaler.kernel", allowed) == []


def test_no_job_imports_an_adapter_the_composition_root_or_another_job() -> None:
    def allowed(module: str, imported: str) -> bool:
        if not _internal(imported):
            return True
        job = module.split(".")[1]
        target = _unit(imported)
        return target in ("kernel", "eventbridge", job)

    # GIVEN each job's ports, triggers and services
    # THEN they depend on the kernel, the one EventBridge module and themselves only (jobs talk through events)
    for job in JOBS:
        assert _violations(f"emr_autoscaler.{job}", allowed) == []


def test_no_adapter_imports_a_service_or_the_composition_root() -> None:
    def allowed(module: str, imported: str) -> bool:
        return not (imported.endswith(".service") or ".service." in imported or _unit(imported) == "bootstrap")

    assert _violations("emr_autoscaler.adapters", allowed) == []


def test_there_is_no_import_cycle_between_packages() -> None:
    # GIVEN the dependency graph between units (kernel, eventbridge, each job, adapters, bootstrap, settings)
    graph: dict[str, set[str]] = {}
    for module, imports in MODULES.items():
        source = _unit(module)
        graph.setdefault(source, set()).update(_unit(i) for i in imports if _internal(i) and _unit(i) != source)

    # WHEN it is searched depth-first for a path back to where it started
    def cycle_from(start: str) -> list[str] | None:
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in graph.get(node, ()):
                if nxt == start:
                    return [*path, start]
                if nxt not in path:
                    stack.append((nxt, [*path, nxt]))
        return None

    # THEN there is none
    assert {unit: cycle_from(unit) for unit in graph if cycle_from(unit)} == {}


@pytest.mark.parametrize("forbidden", ["emr_autoscaler_dev", "moto", "matplotlib", "hypothesis", "pytest"])
def test_the_lambda_layer_holds_no_development_code(forbidden: str) -> None:
    # GIVEN what `sam build` packs into the layer (layers/core)
    # THEN no module imports the sandbox, the simulator, moto or test tools, and none of them lives there
    importers = [m for m, imports in MODULES.items() if any(i.split(".")[0] == forbidden for i in imports)]
    assert importers == []
    assert not list(LAYER.rglob(f"{forbidden}/__init__.py"))
    assert not (PACKAGE / "sandbox").exists()
    assert not (PACKAGE / "sim").exists()


def test_handlers_stay_thin() -> None:
    # GIVEN each function's handler
    # THEN it is under 60 lines and reaches the application only through bootstrap, a job's triggers or service,
    # and the Powertools adapters (no rule, no AWS client, no adapter wiring)
    for app in sorted((ROOT / "functions").glob("*/app.py")):
        lines = app.read_text(encoding="utf-8").splitlines()
        assert len(lines) < 60, f"{app} has {len(lines)} lines"
        for imported in _imports(app):
            if _internal(imported):
                assert (
                    imported == "emr_autoscaler"
                    or imported.startswith(
                        ("emr_autoscaler.bootstrap", "emr_autoscaler.adapters.powertools", "emr_autoscaler.eventbridge")
                    )
                    or imported.split(".")[-1] in ("triggers", "service")
                ), f"{app} imports {imported}"
            else:
                assert imported.split(".")[0] in {"aws_lambda_powertools", "__future__", "typing"}, (
                    f"{app} imports {imported}"
                )
