"""A checked module's analysis is dismantled when the run is done with it: its tree is freed by
reference counting at once, and no garbage collection has to walk it (`Project.forget_checked`).
What a run keeps (the modules others import) is parsed once and set aside from the collector."""

from __future__ import annotations

import ast
import gc
import os
import textwrap
import weakref
from pathlib import Path

import pytest
from cli_helpers import run_cli

from unguarded_workers.analysis.check import all_violations
from unguarded_workers.analysis.project import project_for
from unguarded_workers.cli import engine
from unguarded_workers.memory import collecting_less, paused_collector, set_aside
from unguarded_workers.options import parse_options
from unguarded_workers.sources import Source

# Every kind of record the analysis keeps: values assigned to names and to `self.X` (each with
# its scope), classes, spawns followed into defs, a finding.
SERVICE = textwrap.dedent(
    """\
    import threading
    from concurrent.futures import ThreadPoolExecutor


    class Service:
        def __init__(self):
            self.pool = ThreadPoolExecutor()
            self.stopped = threading.Event()

        def start(self):
            worker = threading.Thread(target=self.loop)
            worker.start()
            self.pool.submit(self.flush)

        def loop(self):
            while not self.stopped.is_set():
                self.flush()

        def flush(self):
            batch = [1]
            self.sock.send(batch)
    """
)


def test_the_tree_of_a_checked_module_is_freed_when_the_run_is_done_with_it(tmp_path: Path) -> None:
    path = tmp_path / "service.py"
    path.write_text(SERVICE, encoding="utf-8")
    options = parse_options(min_confidence="low")
    project = project_for(options)
    with paused_collector():  # only reference counting frees anything here
        tree = ast.parse(SERVICE)
        alive = weakref.ref(tree)
        violations = all_violations(tree, options, SERVICE, str(path))
        assert violations  # the analysis did run, and found the unguarded loop
        del tree
        assert alive() is not None  # held by the project, for the file's helpers
        project.forget_checked()
        assert alive() is None
    gc.collect()


BASE = textwrap.dedent(
    """\
    import threading


    class Base(threading.Thread):
        def run(self):
            while True:
                self.step()


    def poll():
        fetch()


    threading.Thread(target=poll).start()
    """
)
USER = "import threading\n\nfrom .base import poll\n\nthreading.Thread(target=poll).start()\n"


def test_a_module_an_earlier_check_imported_is_checked_on_that_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`a_user.py` comes first and imports `base.py`, which the project parses then; the check
    of `base.py` reuses that tree and analysis, and reports what a check of it alone does."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "a_user.py").write_text(USER, encoding="utf-8")
    (package / "base.py").write_text(BASE, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    alone = run_cli(
        capsys, "check", "--isolated", "--no-cache", "--min-confidence=low", "--output-format=json", "pkg/base.py"
    ).json()
    parsed: list[str] = []
    real_parse = engine.parse

    def counting(source: Source) -> ast.Module:
        parsed.append(source.display)
        return real_parse(source)

    monkeypatch.setattr(engine, "parse", counting)
    both = run_cli(
        capsys, "check", "--isolated", "--no-cache", "--min-confidence=low", "--jobs=1", "--output-format=json", "pkg"
    ).json()
    assert parsed == [os.path.join("pkg", "a_user.py")]  # base.py: the import's parse
    assert isinstance(alone, list)
    assert isinstance(both, list)
    assert [f for f in both if f["path"].endswith("base.py")] == alone
    assert len(alone) == 2  # both of base.py's workers, so the comparison says something
    assert len(both) == 3  # and a_user.py's thread, whose target the import led to


def test_what_a_run_keeps_is_set_aside_and_dropped_modules_are_collected() -> None:
    class Node:
        link: object = None

    def garbage_cycle() -> weakref.ref[Node]:
        node = Node()
        node.link = node
        return weakref.ref(node)

    kept = Node()
    set_aside()  # the collector as the test runner set it: nothing is frozen
    assert gc.get_freeze_count() == 0
    with collecting_less():
        set_aside()
        assert gc.get_freeze_count() > 0  # `kept` among them, out of the collections' sight
        cycle = garbage_cycle()  # frozen by the next set_aside: only a full collection frees it
        set_aside(dropped=1)
        gc.collect()
        assert cycle() is not None
        set_aside(dropped=63)  # the 64th module dropped: everything back, one full collection
        assert cycle() is None
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
    assert kept.link is None
