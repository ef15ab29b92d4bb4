"""The guard's import goes where isort puts it: a file that passed `ruff check --select I`
(default settings) before `fix` passes it after, checked with the real ruff."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import run_cli

WORKER = "\n\ndef work():\n    while True: step()\n\n\nthreading.Thread(target=work).start()\n"
HEADS = {
    "stdlib only": "import threading\n",
    "stdlib and third party": "import threading\n\nimport attrs\nimport requests\nfrom zeta import z\n",
    "third party sorting after": "import threading\n\nfrom attrs import define\nfrom zeta import z\n",
    "stdlib and first party": "import threading\n\nfrom app import helpers\n",
    "first party and relative": "import threading\n\nfrom app import helpers\n\nfrom . import helpers as local\n",
    "relative only": "import threading\n\nfrom . import helpers\n",
    "docstring and future": '"""Doc."""\n\nfrom __future__ import annotations\n\nimport threading\n',
    "same module already": "import threading\n\nfrom unguarded_workers import set_error_handler\n",
    "upper-case names": "import threading\n\nfrom Upper import thing\n",
    "same module, parenthesised": (
        "import threading\n\n"
        "from unguarded_workers import (\n    ErrorHandler,\n    set_error_handler,\n    supervise,\n)\n"
    ),
    "same module, parenthesised, in the middle": (
        "import threading\n\n"
        "from unguarded_workers import (  # the runtime\n    Failure,\n    install,\n    zebra,\n)\n"
    ),
}


def _ruff() -> str:
    # The test extra installs ruff beside this interpreter (tox, .venv): no environment skips this.
    found = shutil.which("ruff", path=str(Path(sys.executable).parent))
    assert found, "ruff is not installed beside this Python: pip install -e '.[test]'"
    return found


def _sorted(ruff: str, path: Path) -> bool:
    result = subprocess.run(
        [ruff, "check", "--isolated", "--select", "I", "--no-cache", str(path.name)],
        cwd=path.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode == 0


@pytest.mark.parametrize("head", HEADS, ids=list(HEADS))
def test_a_sorted_file_stays_sorted_after_fix(
    head: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ruff = _ruff()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "helpers.py").write_text("")
    path = tmp_path / "app" / "service.py"
    path.write_text(HEADS[head] + WORKER)
    assert _sorted(ruff, path), "the fixture itself must be sorted"
    result = run_cli(capsys, "fix", str(path.relative_to(tmp_path)))
    assert "fixed 1 site" in result.err
    assert "wrap(work)" in path.read_text()
    assert _sorted(ruff, path), path.read_text()
    if head.startswith("same module"):  # joined to the import there, as isort would
        assert path.read_text().count("from unguarded_workers import") == 1, path.read_text()
