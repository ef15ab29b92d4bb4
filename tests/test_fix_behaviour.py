"""What a fix does at run time: a failing worker, run before and after `fix`.

Before, the thread's failure goes to threading's excepthook and the task's to
asyncio's "never retrieved" path (or nowhere); after, `wrap` logs it, naming where the
worker was spawned, and the program goes on.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# What the interpreter prints for each unguarded failure, with no word of who spawned it.
UNGUARDED = {"thread": "Exception in thread", "task": "Task exception was never retrieved"}
PROGRAMS = {
    "thread": textwrap.dedent(
        """\
        import threading


        def work():
            raise RuntimeError("the worker failed")


        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
        print("the program goes on")
        """
    ),
    "task": textwrap.dedent(
        """\
        import asyncio


        async def child():
            raise RuntimeError("the worker failed")


        async def main():
            asyncio.create_task(child())
            await asyncio.sleep(0.05)
            print("the program goes on")


        asyncio.run(main())
        """
    ),
}


def _run(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, path.name], cwd=path.parent, capture_output=True, text=True, check=False)


@pytest.mark.parametrize("kind", sorted(PROGRAMS))
def test_after_fix_the_failure_is_logged_by_wrap_and_the_program_goes_on(tmp_path: Path, kind: str) -> None:
    program = tmp_path / "program.py"
    program.write_text(PROGRAMS[kind])
    before = _run(program)
    assert "the program goes on" in before.stdout
    assert UNGUARDED[kind] in before.stderr
    assert "spawned at" not in before.stderr

    fix = subprocess.run(
        # The one-shot thread is a medium-confidence report: asked for.
        [sys.executable, "-m", "unguarded_workers", "fix", "--min-confidence=medium", "program.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert fix.returncode == 0, fix.stderr
    assert "wrap(" in program.read_text()

    after = _run(program)
    assert after.returncode == 0, after.stderr
    assert after.stdout == "the program goes on\n"
    spawn_line = next(n for n, line in enumerate(program.read_text().splitlines(), 1) if "wrap(" in line)
    assert f"(spawned at {program}:{spawn_line} in " in after.stderr
    assert "): RuntimeError: the worker failed" in after.stderr
    assert "Traceback" in after.stderr  # the full traceback is logged
    assert UNGUARDED[kind] not in after.stderr
