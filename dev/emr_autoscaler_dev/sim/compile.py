"""Build the simulator's compiled core (see compiled.py): `.venv/bin/python -m emr_autoscaler_dev.sim.compile`."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from emr_autoscaler_dev.sim.compiled import (
    CYTHON_SOURCES,
    DIRECTIVES,
    HERE,
    MODULES,
    PACKAGE,
    PURE_ENV,
    STAMP,
    source_digest,
    status,
)


def build() -> list[Path]:
    """Build compiles the modules with Cython and a C compiler, puts the extensions beside the sources, stamps them.

    The generated C and the objects stay in a temporary directory; a failed build leaves the old state as it was.
    """
    from Cython.Build import cythonize  # a build tool, in .venv only
    from setuptools import Distribution, Extension
    from setuptools.command.build_ext import build_ext

    with tempfile.TemporaryDirectory(prefix="sim-build-") as tmp:
        extensions = [
            Extension(f"{PACKAGE}.{name}", [str(HERE / f"{name}{CYTHON_SOURCES.get(name, '.py')}")]) for name in MODULES
        ]
        compiled = cythonize(  # type: ignore[no-untyped-call]  # Cython ships no annotations
            extensions, compiler_directives=DIRECTIVES, build_dir=tmp, quiet=True, force=True
        )
        command = build_ext(Distribution({"ext_modules": compiled}))
        command.build_lib = str(Path(tmp) / "lib")
        command.build_temp = str(Path(tmp) / "temp")
        command.ensure_finalized()
        command.run()
        built = []
        for extension in compiled:
            source = Path(command.get_ext_fullpath(extension.name))
            target = HERE / source.name
            # A new file renamed over the old: a process running the old extension keeps its (mapped) copy.
            staged = target.with_name(target.name + ".new")
            shutil.copyfile(source, staged)
            os.replace(staged, target)
            built.append(target)
    STAMP.write_text(source_digest() + "\n")
    return built


def main(argv: list[str] | None = None) -> int:
    """Main builds the extensions, or with --status says which core an import loads."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--status", action="store_true", help="say which core `import emr_autoscaler_dev.sim` loads")
    args = parser.parse_args(argv)
    if args.status:
        print(status())
        return 0
    sources = ", ".join(f"{name}{CYTHON_SOURCES.get(name, '.py')}" for name in MODULES)
    print(f"simulator: compiling {sources} with Cython (about 35 s)", flush=True)
    try:
        built = build()
    except Exception as error:  # any build failure gets the same clear message
        print(
            f"error: building the simulator's compiled core failed: {error}\n"
            "  It needs a C compiler (gcc) and the Python headers. Without the build the simulator runs its "
            f"pure-Python modules, 3-5x slower ({PURE_ENV}=1 forces them).",
            file=sys.stderr,
        )
        return 1
    print(f"simulator: built {', '.join(p.name for p in built)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
