"""A report's confidence, from the evidence the analysis recorded while it judged the spawn.

high    a waiter hangs; or, unless only set-up outside a guarded loop can fail: the failing
        line runs code the worker was handed, or ends a long-lived loop
medium  a one-shot thread or process (its traceback reaches stderr), a dropped task (asyncio
        logs its failure when it frees it), a task held but never read, a one-shot job whose
        future nothing reads (its failure is lost, but such jobs were rarely worth acting on
        in real code), only set-up
        statements outside a guarded loop, only closing something (a fire-and-forget close),
        only writing to a terminal (a spinner's frame), a child of a serving task group
low     the target could not be inspected; a task-group child outside a serving group
"""

from __future__ import annotations

import enum

from ..violation import Confidence, Evidence
from .exposure import Exposure
from .waiters import Hang


class Channel(enum.Enum):
    """What becomes of the failure when nothing guards it."""

    LOST = "lost"  # stored where nothing reads it, never printed: an executor's discarded future
    HELD = "held"  # stored in a task that is held: logged when the holder lets it go
    # A thread's or process's traceback on stderr; a dropped task's or asyncio future's
    # failure in asyncio's log ("Task exception was never retrieved"), where the program reads
    # nothing.
    PRINTED = "printed"
    GROUP = "group"  # it propagates to the task group, which cancels the siblings
    GROUP_SERVING = "group-serving"  # ... of a group that serves connections or runs for good


_CHANNEL_EVIDENCE = {
    Channel.LOST: Evidence.LOST,
    Channel.HELD: Evidence.HELD,
    Channel.PRINTED: Evidence.PRINTED,
    Channel.GROUP: Evidence.GROUP,
    Channel.GROUP_SERVING: Evidence.GROUP,
}


def assess(channel: Channel, exposure: Exposure | None, hang: Hang | None) -> tuple[Confidence, tuple[Evidence, ...]]:
    """The confidence and the evidence it rests on; `exposure` None: the target could not be inspected."""
    if exposure is None:
        return Confidence.LOW, (Evidence.UNINSPECTED,)
    evidence: list[Evidence] = []
    if hang is not None:
        evidence.append(Evidence.WAITER)
    if exposure.foreign is not None:
        evidence.append(Evidence.FOREIGN)
    if exposure.in_loop:
        evidence.append(Evidence.LOOP)
    if exposure.setup_only:
        evidence.append(Evidence.SETUP)
    if exposure.closes_only:
        evidence.append(Evidence.CLOSING)
    elif exposure.displays_only:
        evidence.append(Evidence.DISPLAY)
    evidence.append(_CHANNEL_EVIDENCE[channel])
    return _level(channel, evidence), tuple(evidence)


def _level(channel: Channel, evidence: list[Evidence]) -> Confidence:
    if channel is Channel.GROUP:
        return Confidence.LOW
    if channel is Channel.GROUP_SERVING:
        return Confidence.MEDIUM  # propagating to the group is structured concurrency's design
    if Evidence.WAITER in evidence:
        return Confidence.HIGH
    if Evidence.SETUP in evidence or Evidence.CLOSING in evidence or Evidence.DISPLAY in evidence:
        return Confidence.MEDIUM
    if Evidence.FOREIGN in evidence or Evidence.LOOP in evidence:
        return Confidence.HIGH
    # A future nothing reads, alone: 1 of 18 such default reports on projects read by hand
    # was acted on (the rest could not fail in practice, or were best-effort work).
    return Confidence.MEDIUM
