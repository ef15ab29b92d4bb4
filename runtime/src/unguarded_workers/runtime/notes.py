"""Go's `created by` for Python: the spawn site as a PEP 678 note on the worker's exception.

    ValueError: bad input
    spawned at /srv/app/handlers.py:42 in fan_out (asyncio.TaskGroup.create_task)

The note goes on every exception that escapes a worker the runtime knows the spawn site of:
one caught by `wrap()` or `supervise()` (so a delivered or re-raised exception carries it),
and, with `install()`, a thread's, a task's or an executor job's. Python 3.11+ prints notes
in every traceback; on 3.9/3.10 only the `exceptiongroup` backport's printer does, so the
runtime's own report line carries the site as well. `unguarded-workers triage` reads the note
back: keep its shape.
"""

from __future__ import annotations

from .failure import SpawnSite

__all__ = ["NOTE_PREFIX", "add_spawn_note", "spawn_note"]

NOTE_PREFIX = "spawned at "


def spawn_note(site: SpawnSite, how: str) -> str:
    """`spawned at FILE:LINE in FUNCTION (HOW)`; `how` names the spawner (`threading.Thread`, `wrap`...)."""
    return f"{NOTE_PREFIX}{site} ({how})"


def add_spawn_note(exception: BaseException, site: SpawnSite | None, how: str) -> None:
    """Note where the worker that raised `exception` was spawned, unless a note says so already.

    One note per exception: the innermost layer that saw it (the worker's own guard, or the
    net's record of the spawn) wrote the site where it was raised; an outer one that sees the
    same exception again (a future's result re-raised in another worker) adds nothing. Never
    raises: an exception whose notes cannot be written is reported without one.
    """
    if site is None:
        return
    try:
        notes = getattr(exception, "__notes__", None)
        if notes is None:
            # What BaseException.add_note does on 3.11+; on 3.9/3.10 the same attribute,
            # which the exceptiongroup backport prints.
            exception.__notes__ = [spawn_note(site, how)]
        elif isinstance(notes, list) and not any(isinstance(n, str) and n.startswith(NOTE_PREFIX) for n in notes):
            notes.append(spawn_note(site, how))
    except Exception:  # __notes__ made read-only, or a hostile __getattr__: no note
        pass
