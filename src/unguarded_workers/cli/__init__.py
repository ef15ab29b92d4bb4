"""`unguarded-workers check|fix|rule|server|triage`: the command line over the same core as the
flake8 plugin. This module dispatches; `parser` holds the options, `run` the check and the fix,
`rule` the rules' pages."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from concurrent.futures import BrokenExecutor  # BrokenProcessPool's base: no pool loaded for it

from .. import interrupts
from ..memory import collect_less
from .parser import build_parser, command_parser, parse_arguments
from .run import EXIT_ERROR, EXIT_FINDINGS, check_or_fix

__all__ = ["build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """The command; with no `argv`, the process's own command line (the console script,
    `python -m unguarded_workers`): the process is the command's alone."""
    if argv is None:
        collect_less()  # what it imported is never garbage, and its exit frees the rest
    try:
        return _main(argv)
    except KeyboardInterrupt as interrupt:  # before the files were reached: nothing to show
        interrupts.say_interrupted(interrupt)
        return interrupts.exit_status(interrupt)
    except BrokenExecutor as error:  # a worker process was killed (out of memory, a signal)
        print(f"error: a worker process died ({error}); try --jobs 1", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        # The reader went away (`... | head`): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FINDINGS


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parse_arguments(parser, argv)
    if args.command == "server":
        from ..server.app import serve  # pygls: loaded only by this command

        return serve()  # pygls ends on Ctrl-C; other signals end the process
    if args.command == "rule":
        from . import rule

        return rule.run(args, command_parser(parser, "rule"))
    with interrupts.handled():  # SIGTERM and SIGHUP stop the run as Ctrl-C does
        if args.command == "triage":
            from . import triage

            return triage.run(args)
        return check_or_fix(args, parser)
