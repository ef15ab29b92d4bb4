"""Which files are test code, which the check leaves alone by default.

A worker started by a test is meant to fail the test: pytest turns an exception in a
thread, or an unraisable one, into a warning (an error under `filterwarnings = error`),
and a guarded target would hide the failure it exists to show.

Test code:      test_api.py, api_test.py, conftest.py, tests/helpers.py,
                src/pkg/testing/server.py, _tests/fake.py
Not test code:  testing.py, contest.py, attestation/x.py, src/pkg/test_utils/x.py
"""

from __future__ import annotations

import os
from pathlib import PurePath

TEST_DIRECTORIES = frozenset({"test", "tests", "_tests", "testing"})


def is_test_code(path: str, root: str | None = None) -> bool:
    """pytest's default test file names, or any file under a test directory.

    Directories count from `root` (default: the current directory) down when the file is
    under it, so that a checkout kept in a directory named `tests` is not all test code.
    """
    name = os.path.basename(path)
    if name == "conftest.py" or (name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))):
        return True
    absolute = os.path.abspath(path)
    relative = os.path.relpath(absolute, root or os.getcwd()) if _same_drive(absolute, root) else absolute
    parts = PurePath(absolute if relative.startswith(os.pardir) else relative).parts[:-1]
    return any(part in TEST_DIRECTORIES for part in parts)


def _same_drive(absolute: str, root: str | None) -> bool:
    # os.path.relpath raises across Windows drives.
    return os.path.splitdrive(absolute)[0] == os.path.splitdrive(os.path.abspath(root or os.getcwd()))[0]
