"""Which files the check leaves alone by default: test code (`tests`) and code that is not
the product, but shows or measures it (`examples`).

A worker started by a test is meant to fail the test: pytest turns an exception in a
thread, or an unraisable one, into a warning (an error under `filterwarnings = error`),
and a guarded target would hide the failure it exists to show. An example, a demo or a
benchmark is read, not run in production: its maintainers do not guard its workers.

Test code:      test_api.py, api_test.py, api_tests.py, tests.py, conftest.py, tests/helpers.py,
                src/pkg/testing/server.py, _tests/fake.py, t/integration/common.py
Example code:   examples/chat.py, docs/conf.py, docs_src/tutorial.py, demo/app.py,
                samples/x.py, benchmarks/bench_x.py, bench/x.py, experiments/y.py,
                caproto/ioc_examples/io.py, example_server.py, chat_example.py,
                demo_client.py, bench_io.py
Neither:        testing.py, contest.py, attestation/x.py, src/pkg/test_utils/x.py, t/x.py,
                src/pkg/examples.py (a module named so is the product's), sample.py,
                counterexamples/x.py
"""

from __future__ import annotations

import functools
import os
from pathlib import PurePath

TEST_DIRECTORIES = frozenset({"test", "tests", "_tests", "testing"})
_TEST_MODULES = frozenset({"conftest.py", "tests.py"})  # pytest's fixtures; Django's test module of an app
# Celery's family (celery, kombu, billiard) keeps its suites under `t/`: `t/unit`, `t/integration`.
_T_SUITES = frozenset({"unit", "integration", "smoke"})
EXAMPLE_DIRECTORIES = frozenset(
    {
        "example",
        "examples",
        "demo",
        "demos",
        "sample",
        "samples",
        "doc",
        "docs",
        "docs_src",
        "bench",
        "benchmark",
        "benchmarks",
        "experiments",
        "tutorial",
        "tutorials",
    }
)
# `caproto/ioc_examples/`, `usage_examples/`: a directory of examples of something.
_EXAMPLE_DIRECTORY_SUFFIXES = ("_examples", "_demos", "_samples", "_tutorials")
_EXAMPLE_PREFIXES = ("example_", "demo_", "bench_", "benchmark_")
_EXAMPLE_SUFFIXES = ("_example.py", "_demo.py", "_benchmark.py")


def is_test_code(path: str, root: str | None = None) -> bool:
    """pytest's default test file names, or any file under a test directory.

    Directories count from `root` (default: the current directory) down when the file is
    under it, so that a checkout kept in a directory named `tests` is not all test code.
    """
    return _kinds(path, _root(root))[0]


def is_example_code(path: str, root: str | None = None) -> bool:
    """A file under an examples/docs/demos/samples/benchmarks directory, or named as one
    (`example_x.py`, `x_demo.py`, `bench_x.py`); directories count as for test code."""
    return _kinds(path, _root(root))[1]


def _root(root: str | None) -> str:
    return os.path.abspath(root) if root else os.getcwd()


@functools.lru_cache(maxsize=16384)
def _kinds(path: str, root: str) -> tuple[bool, bool]:
    """(test code, example code): a run asks both of each file, in each of its passes."""
    name = os.path.basename(path)
    parts = _directory_parts(os.path.dirname(path), root)
    test = (
        name in _TEST_MODULES
        or (name.endswith(".py") and (name.startswith("test_") or name.endswith(("_test.py", "_tests.py"))))
        or any(part in TEST_DIRECTORIES for part in parts)
        or any(first == "t" and second in _T_SUITES for first, second in zip(parts, parts[1:]))
    )
    example = (
        name.endswith(".py") and (name.startswith(_EXAMPLE_PREFIXES) or name.endswith(_EXAMPLE_SUFFIXES))
    ) or any(part in EXAMPLE_DIRECTORIES or part.endswith(_EXAMPLE_DIRECTORY_SUFFIXES) for part in parts)
    return test, example


@functools.lru_cache(maxsize=4096)
def _directory_parts(directory: str, root: str) -> tuple[str, ...]:
    """The names of the directories a file of `directory` is in, from `root` down when under
    it (a run asks for thousands of files of a few hundred directories)."""
    absolute = os.path.abspath(directory)
    # os.path.relpath raises across Windows drives.
    same_drive = os.path.splitdrive(absolute)[0] == os.path.splitdrive(root)[0]
    relative = os.path.relpath(absolute, root) if same_drive else absolute
    if relative == os.curdir:
        return ()
    return PurePath(absolute if relative.startswith(os.pardir) else relative).parts
