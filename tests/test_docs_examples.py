"""Every Python example in README.md and docs/ (the rule pages included), pasted into a file and
run through the real command, reports what the docs show next to it.

- A ```python block directly followed by a ```console block whose first line runs the tool
  (`$ unguarded-workers check FILE` or `$ flake8 --select=UW FILE`) must print exactly the
  lines below that command, the example being saved as FILE.
- Any other ```python block must report nothing; and if it guards a worker with `wrap` or
  `supervise`, the same code without those guards must report something, at some confidence
  (`--min-confidence low`: a fragment's worker may be one the check cannot inspect): the
  example is complete enough (its imports included) for the check to see the worker it guards.
- A block that is not meant to be checked follows a line `<!-- example: not checked: WHY -->`.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_helpers import without_summary
from wheels import ROOT

DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FENCE = re.compile(r"^```(?P<language>[\w-]*)\n(?P<body>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
NOT_CHECKED = re.compile(r"<!-- example: not checked: (?P<why>\S[^>]*?) -->\s*$")
GUARDS = {"wrap", "supervise"}
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Example:
    document: Path
    line: int
    source: str
    command: str | None  # the command the docs show, if they show its output
    output: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.document.relative_to(ROOT).as_posix()}:{self.line}"


def _examples() -> list[Example]:
    checked = []
    for document in DOCUMENTS:
        text = document.read_text(encoding="utf-8")
        blocks = list(FENCE.finditer(text))
        for index, block in enumerate(blocks):
            if block.group("language") != "python":
                continue
            line = text.count("\n", 0, block.start()) + 1
            if NOT_CHECKED.search(text[: block.start()].rsplit("\n", 2)[-2]):
                continue
            command, output = None, ()
            after = blocks[index + 1] if index + 1 < len(blocks) else None
            if after and after.group("language") == "console" and not text[block.end() : after.start()].strip():
                first, *rest = after.group("body").splitlines()
                if first.startswith(("$ unguarded-workers check ", "$ flake8 ")):
                    command, output = first[2:], tuple(rest)
            checked.append(Example(document, line, block.group("body"), command, output))
    return checked


EXAMPLES = _examples()


def _run(example_source: str, command: str, directory: Path) -> subprocess.CompletedProcess[str]:
    argv = shlex.split(command)
    (directory / argv[-1]).write_text(example_source, encoding="utf-8")
    # The tool as installed beside this interpreter; flake8 as a module of it.
    argv = [sys.executable, "-m", "flake8", *argv[1:]] if argv[0] == "flake8" else [str(BIN / argv[0]), *argv[1:]]
    env = {key: value for key, value in os.environ.items() if key != "UW_PROGRESS"}
    return subprocess.run(argv, cwd=directory, capture_output=True, text=True, check=False, env=env, timeout=120)


class _Unguard(ast.NodeTransformer):
    """`wrap(f)` -> `f`, `supervise(f, ...)` -> `f`, `@wrap` and `@supervise(...)` dropped."""

    def __init__(self) -> None:
        self.changed = False

    @staticmethod
    def _is_guard(node: ast.expr) -> bool:
        function = node.func if isinstance(node, ast.Call) else node
        return isinstance(function, ast.Name) and function.id in GUARDS

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if self._is_guard(node) and node.args:
            self.changed = True
            return node.args[0]
        return node

    def _undecorate(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.AST:
        kept = [decorator for decorator in node.decorator_list if not self._is_guard(decorator)]
        self.changed |= len(kept) != len(node.decorator_list)
        node.decorator_list = kept
        return self.generic_visit(node)

    visit_FunctionDef = _undecorate
    visit_AsyncFunctionDef = _undecorate


@pytest.mark.parametrize("example", EXAMPLES, ids=[example.name for example in EXAMPLES])
def test_the_example_reports_what_the_docs_show(example: Example, tmp_path: Path) -> None:
    command = example.command or "unguarded-workers check example.py"
    result = _run(example.source, command, tmp_path)
    assert without_summary(result.stderr) == "", result.stderr
    assert result.stdout.splitlines() == list(example.output), f"{example.name}: `{command}` printed:\n{result.stdout}"
    assert result.returncode == (1 if example.output else 0)
    if example.output:
        return
    unguard = _Unguard()
    unguarded = ast.unparse(unguard.visit(ast.parse(example.source)))
    if unguard.changed:
        bare = _run(unguarded + "\n", "unguarded-workers check --min-confidence low example.py", tmp_path)
        assert bare.returncode == 1, f"{example.name}: without its guards the example reports nothing:\n{unguarded}"


def test_each_rule_page_shows_its_example_reported() -> None:
    assert len(EXAMPLES) >= 15, [example.name for example in EXAMPLES]
    for page in sorted((ROOT / "docs" / "rules").glob("UW*.md")):
        shown = [line for example in EXAMPLES if example.document == page for line in example.output]
        assert any(f": {page.stem} " in line for line in shown), f"{page.name} shows no {page.stem} report"
