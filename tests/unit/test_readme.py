"""The README's code runs: every ```python block executes and every import line it shows imports.

An import line is an inline code span, or a line of any other fenced block, that starts with `import ` or `from `
(`python -c "import app"` is a shell command, not an import line). Each snippet runs in a fresh namespace; a failure
names the README line it comes from.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
SANDBOX_IMPORT = "from emr_autoscaler_dev.sandbox import Sandbox"
_FENCE = re.compile(r"^\s*(```+|~~~+)\s*([\w+-]*)")
_INLINE_CODE = re.compile(r"(`+)(.+?)\1")
_IMPORT = re.compile(r"^(import|from)\s")


@dataclass(frozen=True)
class Snippet:
    """Snippet is Python the README shows: a whole ```python block or one import line, with its first line number."""

    line: int
    code: str
    kind: str


def extract_snippets(markdown: str) -> list[Snippet]:
    """Extract_snippets returns, in order, every ```python block and every import line of `markdown`."""
    snippets: list[Snippet] = []
    fence: str | None = None
    language = ""
    block: list[str] = []
    block_line = 0
    for number, text in enumerate(markdown.splitlines(), start=1):
        opening = _FENCE.match(text)
        if fence is None and opening:
            fence, language, block, block_line = opening.group(1), opening.group(2).lower(), [], number + 1
        elif fence is not None and text.strip().startswith(fence) and not text.strip().strip(fence[0]):
            if language in ("python", "py", "python3"):
                snippets.append(Snippet(block_line, "\n".join(block), "python block"))
            fence = None
        elif fence is not None:
            block.append(text)
            if language not in ("python", "py", "python3") and _IMPORT.match(text.strip()):
                snippets.append(Snippet(number, text.strip(), "import line"))
        else:
            snippets.extend(
                Snippet(number, span.group(2).strip(), "import line")
                for span in _INLINE_CODE.finditer(text)
                if _IMPORT.match(span.group(2).strip())
            )
    return snippets


SNIPPETS = extract_snippets(README.read_text(encoding="utf-8"))


def _run(snippet: Snippet) -> dict[str, object]:
    namespace: dict[str, object] = {"__name__": f"readme_line_{snippet.line}"}
    try:
        if snippet.kind == "import line":
            statement = ast.parse(snippet.code).body
            assert len(statement) == 1, "more than one statement"
            assert isinstance(statement[0], ast.Import | ast.ImportFrom), "not an import statement"
        exec(compile(snippet.code, f"README.md:{snippet.line}", "exec"), namespace)  # noqa: S102 - the README's own code
    except Exception as error:
        pytest.fail(f"README.md line {snippet.line}: the {snippet.kind} `{snippet.code}` fails: {error!r}")
    return namespace


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[f"README.md:{s.line}" for s in SNIPPETS])
def test_readme_snippet_runs(snippet: Snippet) -> None:
    # GIVEN a block or import line the README shows, WHEN it runs, THEN it raises nothing
    _run(snippet)


def test_readme_shows_the_sandbox_import_and_it_gives_the_sandbox() -> None:
    # GIVEN the README's Sandbox import line
    shown = [s for s in SNIPPETS if s.code == SANDBOX_IMPORT]
    assert shown, f"README.md no longer shows `{SANDBOX_IMPORT}`"
    # WHEN it runs, THEN it binds the Sandbox class itself
    from emr_autoscaler_dev.sandbox.sandbox import Sandbox

    assert _run(shown[0])["Sandbox"] is Sandbox


def test_extract_snippets_finds_blocks_and_import_lines_and_nothing_else() -> None:
    # GIVEN markdown with a python block, inline and fenced import lines, and code that only mentions import
    markdown = "\n".join(
        [
            'Run `python -c "import app"`, then `from json import dumps` and ``import os``.',  # 1
            "```python",  # 2
            "x = 1",  # 3
            "```",  # 4
            "```bash",  # 5
            "import sys",  # 6
            'echo "import nothing"',  # 7
            "```",  # 8
            "The cold `import` of `boto3`.",  # 9
        ]
    )
    # WHEN extracted
    found = extract_snippets(markdown)
    # THEN each snippet carries the line it starts on
    assert found == [
        Snippet(1, "from json import dumps", "import line"),
        Snippet(1, "import os", "import line"),
        Snippet(3, "x = 1", "python block"),
        Snippet(6, "import sys", "import line"),
    ]


def test_a_broken_import_line_fails_naming_its_line() -> None:
    # GIVEN the import the README showed before the sandbox moved to the dev package
    broken = Snippet(48, "from emr_autoscaler.sandbox import Sandbox", "import line")
    # WHEN it runs, THEN the failure names the README line
    with pytest.raises(pytest.fail.Exception, match=r"README\.md line 48: .*ModuleNotFoundError"):
        _run(broken)
