"""A callback the project wires up itself: every making of the class in its package hands the
program's own code (`analysis.constructions`, and `Project.making` that finds them)."""

from __future__ import annotations

import ast
import os
import textwrap
from pathlib import Path

import pytest

from unguarded_workers.analysis import check_module
from unguarded_workers.analysis import project as project_module
from unguarded_workers.analysis.project import Project
from unguarded_workers.options import Options
from unguarded_workers.violation import Confidence, Evidence, Violation

EVERYTHING = Options(min_confidence=Confidence.LOW)

RUNNER = textwrap.dedent(
    """\
    import threading

    class IntervalRunner:
        def __init__(self, target, interval=0.1):
            self.target = target
            self.interval = interval
            self.event = threading.Event()
            self.thread = threading.Thread(target=self._run)

        def _run(self):
            while not self.event.is_set():
                self.target()
                self.event.wait(self.interval)
    """
)

CLIENT = textwrap.dedent(
    """\
    from ..runner import IntervalRunner

    class Client:
        def connect(self):
            self.processor = IntervalRunner(self.process_messages, 0.01)

        def process_messages(self):
            self.processed = True
    """
)


def _package(root: Path) -> Path:
    """pkg/runner.py defines the class; pkg/socket/client.py makes it with its own method."""
    (root / "pkg" / "socket").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "socket" / "__init__.py").write_text("")
    (root / "pkg" / "socket" / "client.py").write_text(CLIENT)
    runner = root / "pkg" / "runner.py"
    runner.write_text(RUNNER)
    return runner


def _check(path: Path) -> Violation:
    source = path.read_text()
    # A fresh options object: a project of its own, which has read nothing yet.
    (violation,) = check_module(ast.parse(source), Options(min_confidence=Confidence.LOW), source, str(path))
    return violation


def test_a_callback_every_making_in_the_package_wires_up_is_not_foreign(tmp_path: Path) -> None:
    violation = _check(_package(tmp_path))
    assert Evidence.FOREIGN not in violation.evidence
    assert "callback" not in violation.message
    assert "line 12: self.target() runs outside any try; a failure ends its long-lived loop" in violation.message


def test_a_making_that_hands_on_its_own_parameter_keeps_it_foreign(tmp_path: Path) -> None:
    runner = _package(tmp_path)
    (tmp_path / "pkg" / "api.py").write_text(
        "from .runner import IntervalRunner\n\n\ndef every(seconds, callback):\n"
        "    return IntervalRunner(callback, seconds)\n"
    )
    violation = _check(runner)
    assert Evidence.FOREIGN in violation.evidence
    assert "it runs the callback self.target" in violation.message


def test_a_class_no_making_fills_keeps_it_foreign(tmp_path: Path) -> None:
    runner = _package(tmp_path)
    (tmp_path / "pkg" / "socket" / "client.py").write_text("")
    assert Evidence.FOREIGN in _check(runner).evidence


def test_a_making_that_unpacks_its_arguments_says_nothing(tmp_path: Path) -> None:
    runner = _package(tmp_path)
    (tmp_path / "pkg" / "factory.py").write_text(
        "from .runner import IntervalRunner\n\n\ndef make(**options):\n    return IntervalRunner(**options)\n"
    )
    assert Evidence.FOREIGN in _check(runner).evidence


def test_a_subclass_made_by_its_own_name_says_nothing(tmp_path: Path) -> None:
    runner = _package(tmp_path)
    (tmp_path / "pkg" / "timed.py").write_text(
        "from .runner import IntervalRunner\n\n\nclass TimedRunner(IntervalRunner):\n    pass\n"
    )
    assert Evidence.FOREIGN in _check(runner).evidence


@pytest.mark.parametrize(
    "init",
    [
        "",  # no __init__ of its own: its makings call the base's
        "    def __init__(self, *args, **kwargs):\n        super().__init__(*args, **kwargs)\n\n",  # passes them on
    ],
)
def test_a_subclass_made_with_the_programs_own_code_wires_it_up_too(tmp_path: Path, init: str) -> None:
    """py-cord's `AutoShardedConnectionState(dispatch=self.dispatch, ...)`: what a subclass's
    makings hand is what the base's `__init__` is handed."""
    runner = _package(tmp_path)
    timed = "from .runner import IntervalRunner\n\n\nclass TimedRunner(IntervalRunner):\n" + (init or "    pass\n")
    (tmp_path / "pkg" / "timed.py").write_text(timed)
    (tmp_path / "pkg" / "sharded.py").write_text(
        "from .timed import TimedRunner\n\n\nclass Sharded:\n    def start(self):\n"
        "        self.runner = TimedRunner(target=self.tick)\n\n    def tick(self):\n        self.ticks = 1\n"
    )
    assert Evidence.FOREIGN not in _check(runner).evidence
    (tmp_path / "pkg" / "api.py").write_text(
        "from .timed import TimedRunner\n\n\ndef every(callback):\n    return TimedRunner(callback)\n"
    )
    assert Evidence.FOREIGN in _check(runner).evidence


def test_a_subclass_that_passes_its_own_method_to_super_wires_it_up(tmp_path: Path) -> None:
    runner = _package(tmp_path)
    (tmp_path / "pkg" / "socket" / "client.py").write_text("")
    (tmp_path / "pkg" / "heartbeat.py").write_text(
        "from .runner import IntervalRunner\n\n\nclass Heartbeat(IntervalRunner):\n"
        "    def __init__(self):\n        super().__init__(self.beat, 5)\n\n"
        "    def beat(self):\n        self.beats = 1\n"
    )
    assert Evidence.FOREIGN not in _check(runner).evidence


def test_the_files_that_make_a_class_are_read_again_when_they_change(tmp_path: Path) -> None:
    runner = _package(tmp_path)
    project = Project(EVERYTHING)
    client = tmp_path / "pkg" / "socket" / "client.py"
    found = project.making(str(runner), "IntervalRunner")
    assert found is not None
    assert [os.path.basename(str(m.path)) for m in found] == ["client.py"]  # not where it is only defined
    assert str(client) in {path for path, _ in project.dependencies(str(runner))}
    client.write_text("from ..runner import IntervalRunner  # imported, annotated, never made\n")
    found = project.making(str(runner), "IntervalRunner")
    assert found == []


def test_a_module_in_no_package_is_searched_for_in_its_directory_alone(tmp_path: Path) -> None:
    (tmp_path / "runner.py").write_text(RUNNER)
    (tmp_path / "maker.py").write_text("from runner import IntervalRunner\n\nIntervalRunner(print)\n")
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "client.py").write_text("from runner import IntervalRunner\n\nIntervalRunner(print)\n")
    found = Project(EVERYTHING).making(str(tmp_path / "runner.py"), "IntervalRunner")
    assert found is not None
    assert [os.path.basename(str(m.path)) for m in found] == ["maker.py"]


def test_a_package_too_large_to_read_through_is_not_searched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = _package(tmp_path)
    monkeypatch.setattr(project_module, "MAX_SEARCHED", 2)
    assert Project(EVERYTHING).making(str(runner), "IntervalRunner") is None
    assert Evidence.FOREIGN in _check(runner).evidence


def test_a_class_the_package_exports_is_made_by_users_too(tmp_path: Path) -> None:
    runner = _package(tmp_path)
    (tmp_path / "pkg" / "__init__.py").write_text("from .runner import IntervalRunner\n")
    assert Evidence.FOREIGN in _check(runner).evidence


def test_a_class_whose_docstring_shows_it_made_is_made_by_users_too(tmp_path: Path) -> None:
    runner = _package(tmp_path)
    documented = RUNNER.replace(
        "class IntervalRunner:\n", 'class IntervalRunner:\n    """>>> IntervalRunner(print_device, 1.0)"""\n\n'
    )
    runner.write_text(documented)
    assert Evidence.FOREIGN in _check(runner).evidence


def test_a_class_an_outer_package_exports_is_made_by_users_too(tmp_path: Path) -> None:
    _package(tmp_path)
    (tmp_path / "pkg" / "socket" / "runner.py").write_text(RUNNER)
    (tmp_path / "pkg" / "__init__.py").write_text("from .socket.runner import IntervalRunner\n")
    (tmp_path / "pkg" / "socket" / "client.py").write_text(CLIENT.replace("..runner", ".runner"))
    assert Evidence.FOREIGN in _check(tmp_path / "pkg" / "socket" / "runner.py").evidence


SHADOW = textwrap.dedent(
    """\
    import json
    import threading

    class DeviceShadow:
        def __init__(self, name, shadow_handler):
            self._name = name
            self._shadow_handler = shadow_handler
            self._callbacks = {"get": None}

        def _timer_handler(self, action):
            self._shadow_handler.unsubscribe(self._name)
            self._callbacks[action]("REQUEST TIME OUT")

        def shadow_get(self, callback, timeout):
            self._callbacks["get"] = callback
            threading.Timer(timeout, self._timer_handler, ["get"]).start()
    """
)

SHADOW_CLIENT = textwrap.dedent(
    """\
    from .manager import shadowManager
    from .shadow import DeviceShadow

    class ShadowClient:
        def __init__(self):
            self._manager = shadowManager()

        def create_shadow(self, name):
            return DeviceShadow(name, self._manager)
    """
)


def test_the_next_foreign_call_stands_in_for_one_the_project_wires_up(tmp_path: Path) -> None:
    # AWS IoT's shadow: the handler the project makes itself (a class of its own, whatever its
    # name) is no one else's; the message names the callback users stored in the table instead.
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "manager.py").write_text(
        "class shadowManager:\n    def unsubscribe(self, name):\n        pass\n"
    )
    (tmp_path / "pkg" / "client.py").write_text(SHADOW_CLIENT)
    shadow = tmp_path / "pkg" / "shadow.py"
    shadow.write_text(SHADOW)
    violation = _check(shadow)
    assert Evidence.FOREIGN in violation.evidence
    assert "it runs a callable handed in to self._callbacks" in violation.message
    assert "shadow_handler" not in violation.message.partition("; wrap it")[0]


def test_a_package_that_lists_its_interface_exports_only_what_it_lists(tmp_path: Path) -> None:
    # socketIO-client's __init__.py imports HeartbeatThread to make one itself; its `__all__`
    # does not list it: the class is the package's own business.
    runner = _package(tmp_path)
    init = tmp_path / "pkg" / "__init__.py"
    init.write_text("from .runner import IntervalRunner\n__all__ = ('Client',)\n")
    assert Evidence.FOREIGN not in _check(runner).evidence
    init.write_text("from .runner import IntervalRunner\n__all__ = ['Client']\n__all__ += ['IntervalRunner']\n")
    assert Evidence.FOREIGN in _check(runner).evidence
    init.write_text("from .runner import IntervalRunner\n__all__ = [name for name in dir() if name[0] != '_']\n")
    assert Evidence.FOREIGN in _check(runner).evidence  # an __all__ the text does not spell out
