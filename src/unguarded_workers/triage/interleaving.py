"""Telling apart the tracebacks of threads that died at once, written line by line into one stream.

Nothing on a line says whose it is. What tells is each traceback's own order (a frame, its
source line, the next frame, ..., the exception) and what a frame's source line does: a frame
follows the one whose line calls its function (`parse(item)` before `in parse`), an exception
line the frame that raises it (`raise KeyError(key)`). The source tree's line is sure; without
it (a file outside the tree), what the log has shown of the same frames counts, and then a
frame nothing was seen after, or machinery that runs whatever worker it was handed. Of the
tracebacks that fit best, the one that took the latest line takes it: a thread writes several
lines in a row.

Identical tracebacks need none of it (any order of theirs is theirs); with different ones and
no source tree, a log whose threads wrote line by line in turn can pair frames wrongly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from .failures import Frame, is_machinery

_LEARNT = 4096  # frames remembered, at most: then forgotten, to stay bounded

SourceLines = Callable[[Frame], "str | None"]  # a frame's line in the source tree, stripped


class Reading(Protocol):
    """A traceback being read: its last frame so far, and the number of the last line it took."""

    @property
    def last_frame(self) -> Frame | None: ...

    @property
    def touched(self) -> int: ...


R = TypeVar("R", bound=Reading)


def _calls(source: str | None, function: str) -> bool:
    """Whether a source line calls `function` (`parse(`, `.parse(`, not `reparse(`)."""
    if not source:
        return False
    at = source.find(function + "(")
    return at != -1 and (at == 0 or not (source[at - 1].isalnum() or source[at - 1] == "_"))


class Untangler:
    """What tracebacks were seen to do, and whose a line is."""

    def __init__(self, lines: SourceLines | None = None) -> None:
        self._lines = lines
        self._steps: dict[tuple[Frame | None, Frame], int] = {}  # (a frame or None, the next): times seen
        self._callees: dict[Frame | None, list[Frame]] = {}  # a frame (None: the start): those seen next
        self._raised: dict[str, set[Frame]] = {}  # an exception type: the frames it came after
        self._sources: dict[Frame | None, dict[str, int]] = {}

    def frame(self, frame: Frame, waiting: Sequence[R]) -> R:
        """Whose next frame `frame` is, of the tracebacks `waiting` for one (at least one)."""
        if len(waiting) > 1:
            steps = self._steps
            worker = not is_machinery(frame.file)

            def fit(block: Reading) -> tuple[int, int]:
                last = block.last_frame
                seen = steps.get((last, frame), 0)
                if last is None:
                    return (3, seen) if seen else (0, 0)
                actual = self._actual(last)
                if actual is not None:
                    return (4, 0) if _calls(actual, frame.function) else (0, 0)
                if seen:
                    return 3, seen
                source = self._source(last)
                if _calls(source, frame.function):
                    return 2, 0
                callees = self._callees.get(last)
                if not callees:  # nothing seen after it yet, unless it raises right there
                    return (0 if source and source.startswith("raise ") else 1), 0
                dispatches = worker and is_machinery(last.file) and any(not is_machinery(c.file) for c in callees)
                return (1 if dispatches else 0), 0

            waiting = _best(waiting, fit)
        block = _latest(waiting)
        self.follows(frame, block.last_frame)
        return block

    def follows(self, frame: Frame, last: Frame | None) -> None:
        """Learn that `frame` came after `last` (None: first) in a traceback."""
        step = (last, frame)
        seen = self._steps.get(step)
        if seen is None:
            if len(self._steps) > _LEARNT:
                self._steps.clear()
                self._callees.clear()
            self._callees.setdefault(last, []).append(frame)
            seen = 0
        self._steps[step] = seen + 1

    def exception(self, raised: str, waiting: Sequence[R]) -> R:
        """Whose exception line a line of type `raised` is, of the tracebacks `waiting`."""
        if len(waiting) > 1:
            raisers = self._raised.get(raised, set())
            statement = f"raise {raised.rpartition('.')[2]}"

            def fit(block: Reading) -> tuple[int, int]:
                last = block.last_frame
                actual = self._actual(last)
                if actual is not None and actual.startswith("raise "):  # it raises what it names
                    return (4, 0) if actual.startswith(statement) else (-1, 0)
                if last in raisers:
                    return 3, 0
                if (self._source(last) or "").startswith(statement):
                    return 2, 0
                seen = last in self._callees or any(last in frames for frames in self._raised.values())
                return (0 if seen else 1), 0

            waiting = _best(waiting, fit)
        block = _latest(waiting)
        if block.last_frame is not None:
            if len(self._raised) > _LEARNT:
                self._raised.clear()
            self._raised.setdefault(raised, set()).add(block.last_frame)
        return block

    def source(self, text: str, waiting: Sequence[R]) -> R | None:
        """Whose source line `text` is, of the tracebacks `waiting` for their last frame's."""
        text = text.strip()
        if len(waiting) > 1:
            waiting = [b for b in waiting if self._source(b.last_frame) == text] or [
                b for b in waiting if self._source(b.last_frame) is None
            ]
            if not waiting:
                return None
        block = _latest(waiting)
        if len(self._sources) > _LEARNT:
            self._sources.clear()
        counts = self._sources.setdefault(block.last_frame, {})
        if text in counts or len(counts) < 4:
            counts[text] = counts.get(text, 0) + 1
        return block

    def _actual(self, frame: Frame | None) -> str | None:
        return self._lines(frame) if self._lines is not None and frame is not None else None

    def _source(self, frame: Frame | None) -> str | None:
        """The frame's source line: the source tree's, else the one seen after it most often."""
        actual = self._actual(frame)
        if actual is not None:
            return actual
        counts = self._sources.get(frame)
        return max(counts, key=counts.__getitem__) if counts else None


def _latest(blocks: Sequence[R]) -> R:
    return max(blocks, key=lambda block: block.touched)


def _best(waiting: Sequence[R], fit: Callable[[Reading], tuple[int, int]]) -> list[R]:
    fits = [fit(block) for block in waiting]
    best = max(fits)
    return [block for block, score in zip(waiting, fits) if score == best]
