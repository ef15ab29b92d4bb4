"""A checked module's analysis is dismantled when the run is done with it: its tree is freed by
reference counting at once, and no garbage collection has to walk it (`Project.forget_checked`)."""

from __future__ import annotations

import ast
import gc
import textwrap
import weakref
from pathlib import Path

from unguarded_workers.analysis.check import all_violations
from unguarded_workers.analysis.project import project_for
from unguarded_workers.memory import paused_collector
from unguarded_workers.options import parse_options

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
