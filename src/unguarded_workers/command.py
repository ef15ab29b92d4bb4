"""The `unguarded-workers` command's entry point (the console script, `python -m
unguarded_workers`). It loads the command itself inside: a Ctrl-C while Python still imports it
(a tenth of a second, longer on a loaded machine) then ends as one a moment later does, with one
line and status 130, not a traceback."""

from __future__ import annotations

from . import interrupts


def main() -> int:
    try:
        from .cli import main as command
    except KeyboardInterrupt as interrupt:
        interrupts.say_interrupted(interrupt)
        return interrupts.exit_status(interrupt)
    return command()
