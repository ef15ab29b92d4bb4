"""A fix never breaks working code: sites whose target the analysis did not resolve are
unsafe fixes, left with their reason; a program runs the same before and after `fix`."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cli_helpers import run_cli

# s3transfer's pattern: an executor of the program's own that reads an attribute of the
# callable it is given. Wrapping the task object would hand it a functools.partial.
PROGRAM = textwrap.dedent(
    """\
    import concurrent.futures
    import sys


    class SubmissionTask:
        def __init__(self, transfer_id):
            self.transfer_id = transfer_id

        def __call__(self):
            return self.transfer_id * 2


    class BoundedExecutor:
        def __init__(self):
            self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1)
            self.seen = []

        def submit(self, task):
            self.seen.append(task.transfer_id)
            return self._executor.submit(task)


    def side_job():
        line = sys.intern("side job ran")  # a call the analysis does not know: the job is reported
        sys.stdout.write(line + "\\n")


    def main():
        executor = BoundedExecutor()
        executor.submit(SubmissionTask(21))
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        pool.submit(side_job)
        pool.shutdown(wait=True)
        executor._executor.shutdown(wait=True)
        print(executor.seen)


    main()
    """
)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _run(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(path)], capture_output=True, text=True, check=False, timeout=60)


def test_an_object_submitting_executor_runs_the_same_after_fix(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    program = workdir / "transfer.py"
    program.write_text(PROGRAM)
    before = _run(program)
    assert (before.returncode, before.stdout) == (0, "side job ran\n[21]\n"), before.stderr

    # The object's report is a low-confidence one (it cannot be inspected): shown here.
    result = run_cli(capsys, "fix", "--min-confidence=low", "transfer.py")
    fixed = program.read_text()
    assert "pool.submit(wrap(side_job))" in fixed  # a resolved function: a safe fix
    assert "executor.submit(SubmissionTask(21))" in fixed  # an object made by a call: left
    assert "UW201 left: unsafe fix (the target could not be inspected (made by a call)" in result.err
    assert "--unsafe-fixes" in result.err

    after = _run(program)
    assert (after.returncode, after.stdout, after.stderr) == (before.returncode, before.stdout, before.stderr)


@pytest.mark.parametrize(
    ("spawn", "safe"),
    [
        ("pool.submit(work)", True),
        ("pool.submit(functools.partial(work, 1))", True),
        ("pool.submit(lambda: work())", True),
        ("pool.submit(Job.run)", True),
        ("asyncio.create_task(child())", True),
        ("pool.submit(Task())", False),  # an instance made by a call
        ("pool.submit(imported_work)", False),  # a name the analysis cannot see into
        ("pool.submit(other.method)", False),  # another object's attribute
        ("pool.submit(callback)", False),  # a variable holding what some call returned
        ("asyncio.create_task(coro)", False),  # a coroutine made elsewhere
    ],
)
def test_a_fix_is_safe_only_for_a_resolved_function(spawn: str, safe: bool) -> None:
    import ast

    from unguarded_workers.analysis import check_module
    from unguarded_workers.options import Options
    from unguarded_workers.violation import Confidence

    source = textwrap.dedent(
        f"""\
        import asyncio
        import functools
        from elsewhere import imported_work, other


        def work(x=0):
            step(x)


        async def child():
            await step()


        class Job:
            def run(self):
                step()


        async def main(pool, Task):
            callback, coro = make_callback(), make_coroutine()
            {spawn}
        """
    )
    (violation,) = check_module(ast.parse(source), Options(min_confidence=Confidence.LOW))
    assert (violation.unsafe_fix is None) == safe, violation.unsafe_fix


def test_bytes_outside_the_insertions_never_change(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # b"\xfa\x5c" decodes in cp932 to a character that encodes back as b"\xed\x40".
    original = (
        b"# -*- coding: cp932 -*-\n"
        b"import threading\n\n\n"
        b'def work():\n    text = "\xfa\x5c"\n    while True: step(text)\n\n\n'
        b"threading.Thread(target=work).start()\n"
    )
    assert original.decode("cp932").encode("cp932") != original
    path = workdir / "cp932.py"
    path.write_bytes(original)
    result = run_cli(capsys, "fix", "cp932.py")
    assert "fixed 1 site" in result.err
    expected = original.replace(b"target=work)", b"target=wrap(work))").replace(
        b"import threading\n", b"import threading\n\nfrom unguarded_workers import wrap\n"
    )
    assert path.read_bytes() == expected


F_STRING = textwrap.dedent(
    '''\
    import asyncio


    async def w():
        while True: await step()  # long-lived: reported by default


    async def main():
        abc = 1
        text = f"""
    {asyncio.create_task(w())}     {abc}"""
        return text
    '''
)


def test_a_target_inside_a_multi_line_f_string_is_wrapped_only_where_ast_places_it_right(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Python 3.9's ast misplaces expressions on the later lines of a triple-quoted f-string."""
    path = workdir / "fstring.py"
    path.write_text(F_STRING)
    first = run_cli(capsys, "fix", "fstring.py")
    if sys.version_info < (3, 10):
        assert path.read_text() == F_STRING, "the literal was changed"
        assert "UW301 left: the text at the target's position is not the target" in first.err
    else:
        fixed = F_STRING.replace("create_task(w())", "create_task(wrap(w()))")
        fixed = fixed.replace("import asyncio\n", "import asyncio\n\nfrom unguarded_workers import wrap\n")
        assert path.read_text() == fixed
    again = path.read_text()
    run_cli(capsys, "fix", "fstring.py")
    assert path.read_text() == again  # a second run changes nothing more


def test_a_fix_that_leaves_a_fixed_site_reported_is_not_written(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from unguarded_workers.fix import transform

    real = transform.fix_module

    def inserts_a_comment(*args: object, **kwargs: object) -> transform.FixResult:
        result = real(*args, **kwargs)  # type: ignore[arg-type]
        result.insertions = [(0, "# not a guard\n")]
        result.text = "# not a guard\n" + args[0]  # type: ignore[operator]
        return result

    monkeypatch.setattr(transform, "fix_module", inserts_a_comment)
    path = workdir / "m.py"
    path.write_text(PROGRAM)
    result = run_cli(capsys, "fix", "--min-confidence", "medium", "m.py")  # its one-shot jobs are medium
    assert path.read_text() == PROGRAM
    assert "a fixed site is still reported after the fix; not written" in result.err
    assert result.status == 2
