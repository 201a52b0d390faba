"""The simulator's compiled core: `cluster.py`, `waiting.py` and `engine.py` built by Cython from the same source.

    .venv/bin/python -m emr_autoscaler_dev.sim.compile            # build (make does it before tests and benches)
    .venv/bin/python -m emr_autoscaler_dev.sim.compile --status   # say which core an import loads

The Python modules are the reference and stay plain Python (mypy and the tests read them as they are). Beside each,
a `.pxd` file tells Cython the C types of its classes' attributes and of its hot functions' locals, so a node's free
memory or a container's end time is a C field instead of a Python attribute; the logic is compiled unchanged. Both
builds place every container on the same node at the same time: `tests/unit/sim/test_compiled.py` runs the same
traces on both and compares every figure.

One module is built from a Cython source of its own: `heaps.pyx`, the priority queues on C arrays, which plain
Python cannot express. `heaps.py` is its reference, with the same classes and methods on `heapq`; the pure core
runs it, and `tests/unit/sim/test_heaps.py` drives both with the same operations and compares what they pop.

An import of `emr_autoscaler_dev.sim` loads the Python modules instead of the extensions when
`EMR_AUTOSCALER_SIM_PURE=1` is set, or when the extensions are stale (a source changed since the build: the build
writes its sources' digest to `_compiled.sha256`), with a warning that says how to rebuild. Without a build (no C
compiler, say), the Python modules run as they are, 3-5x slower (docs/simulator.md, Speed).

Cython is pinned in requirements/dev.lock; 3.3.0 generates code that crashes on a comprehension over an attribute
(a NULL iterable), so the pin is the 3.2 line.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import os
import sys
import warnings
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
PACKAGE = "emr_autoscaler_dev.sim"
# In import order: waiting and cluster import heaps, cluster imports waiting, engine imports both.
MODULES = ("heaps", "waiting", "cluster", "engine")
# Built from a Cython source of their own (C arrays), not from the .py: the .py is the reference they must match.
CYTHON_SOURCES = {"heaps": ".pyx"}
STAMP = HERE / "_compiled.sha256"
PURE_ENV = "EMR_AUTOSCALER_SIM_PURE"
# The .py files are compiled as plain Python: their annotations are for mypy, the .pxd files carry the C types.
DIRECTIVES = {"language_level": 3, "annotation_typing": False}


def source_digest() -> str:
    """Source_digest is the SHA-256 of what the extensions are built from: each module's .py, .pxd (and .pyx), and this
    file."""
    digest = hashlib.sha256()
    for name in MODULES:
        for suffix in (".py", ".pxd", *CYTHON_SOURCES.get(name, "").split()):
            digest.update((HERE / f"{name}{suffix}").read_bytes())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()


def extension_path(name: str) -> Path | None:
    """Extension_path is a module's built extension for this interpreter, if there is one."""
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = HERE / f"{name}{suffix}"
        if path.exists():
            return path
    return None


def pure_reason() -> str | None:
    """Pure_reason says why an import should load the Python modules over built extensions (None: no need)."""
    if not any(extension_path(name) for name in MODULES):
        return None  # nothing built: the Python modules are what an import finds anyway
    if os.environ.get(PURE_ENV, "") not in ("", "0"):
        return f"{PURE_ENV} is set"
    if not all(extension_path(name) for name in MODULES):
        return "only some modules are built"
    if not STAMP.exists() or STAMP.read_text().strip() != source_digest():
        return "the extensions are stale: a source changed since they were built"
    return None


def load_pure() -> None:
    """Load_pure imports the Python modules, before anything imports the extensions beside them (import order)."""
    for name in MODULES:
        full = f"{PACKAGE}.{name}"
        if full in sys.modules:
            continue
        spec = importlib.util.spec_from_file_location(full, HERE / f"{name}.py")
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {HERE / f'{name}.py'}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[full] = module
        spec.loader.exec_module(module)
        setattr(sys.modules[PACKAGE], name, module)


def select() -> None:
    """Select makes the package's imports load the Python modules when the extensions must not be used."""
    reason = pure_reason()
    if reason is None:
        return
    if not reason.startswith(PURE_ENV):
        warnings.warn(
            f"simulator: running the pure-Python core, {reason}; rebuild with "
            "`.venv/bin/python -m emr_autoscaler_dev.sim.compile` (make does it before tests and benches)",
            RuntimeWarning,
            stacklevel=2,
        )
    load_pure()


def status() -> str:
    """Status says which core the simulator runs, or would once imported: "compiled" or "pure Python (why)"."""
    loaded: list[ModuleType] = [
        sys.modules[f"{PACKAGE}.{name}"] for name in MODULES if f"{PACKAGE}.{name}" in sys.modules
    ]
    if loaded:
        compiled = all(str(m.__file__).endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES)) for m in loaded)
    else:
        compiled = all(extension_path(name) for name in MODULES) and pure_reason() is None
    return "compiled" if compiled else f"pure Python ({pure_reason() or 'not built'})"
