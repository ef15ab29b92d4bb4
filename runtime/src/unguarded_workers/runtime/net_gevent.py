"""The safety net under gevent: a greenlet that dies is reported with its spawn site.

gevent prints a dead greenlet's traceback from its hub's `print_exception` (called by
`handle_error` for every error that is not a GreenletExit or SystemExit). That method is
replaced on the `Hub` class: a greenlet's failure is reported as a thread's is, once, instead
of printed; anything else (a callback's failure, an error with no greenlet) is printed by
gevent as before. The spawn site comes from the greenlet's `spawning_stack`, which gevent
records for every greenlet unless `gevent.config.track_greenlet_tree` is turned off.

Under monkey-patching, threads are greenlets but still die through `threading.excepthook`.
"""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING, Any

from .failure import Failure, describe, last_resort, process_name, report
from .notes import add_spawn_note
from .sites import how_of, spawn_site

if TYPE_CHECKING:
    from .safety_net import SafetyNet

__all__ = ["cover"]


def cover(net: SafetyNet, hub_module: Any) -> None:
    greenlet = sys.modules["greenlet"].greenlet  # gevent's hub has imported it

    def make(original: Any) -> Any:
        def print_exception(hub: Any, context: Any, kind: Any, value: Any, tb: Any) -> Any:
            if not (net.active and isinstance(context, greenlet) and isinstance(value, Exception)):
                return original(hub, context, kind, value, tb)
            try:
                report_greenlet(context, value, tb)
            except Exception as error:  # gevent prints it, then
                last_resort("install() could not report a dead greenlet", error)
                return original(hub, context, kind, value, tb)
            return None

        return print_exception

    def report_greenlet(context: Any, value: BaseException, tb: Any) -> None:
        site = net.site(getattr(context, "spawning_stack", None), "gevent.spawn")
        if value.__traceback__ is None and tb is not None:
            value = value.with_traceback(tb)
        if site is not None:
            add_spawn_note(value, spawn_site(site), how_of(site))
        run = getattr(context, "_run", None)
        worker = describe(run) if callable(run) else f"{type(context).__module__}.{type(context).__qualname__}"
        name = str(getattr(context, "name", "") or context)
        failure = Failure(
            value, worker, spawn_site(site), threading.current_thread().name, name, process_name(), "install"
        )
        report(failure, net.on_error, note="; the greenlet died")

    net.patch(hub_module.Hub, "print_exception", make)
