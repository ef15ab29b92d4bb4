"""Colour on a terminal, as the conventions say: `NO_COLOR` (set, not empty) turns it off,
`FORCE_COLOR` (set, not empty) turns it on when the output is not a terminal, `TERM=dumb`
turns it off; otherwise a terminal gets colour and a pipe or a file gets none. NO_COLOR wins
over FORCE_COLOR, as in Python's own tracebacks (3.13)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TextIO

_RESET = "\x1b[0m"
_CODES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}


def colour_wanted(stream: TextIO, environ: Mapping[str, str] = os.environ) -> bool:
    if environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR"):
        return True
    if environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


@dataclass(frozen=True)
class Palette:
    """Paints text when `enabled`; otherwise leaves it as it is."""

    enabled: bool = False

    def paint(self, text: str, *styles: str) -> str:
        if not self.enabled or not text:
            return text
        return f"\x1b[{';'.join(_CODES[style] for style in styles)}m{text}{_RESET}"

    # What each part of a report looks like (ruff's and flake8's colours).
    def path(self, text: str) -> str:
        return self.paint(text, "bold")

    def separator(self, text: str = ":") -> str:
        return self.paint(text, "cyan")

    def code(self, text: str) -> str:
        return self.paint(text, "bold", "red")

    def fixable(self, text: str = "[*]") -> str:
        return self.paint(text, "cyan")

    def confidence(self, label: str) -> str:
        return self.paint(f"[{label}]", "yellow" if label == "medium" else "dim")

    def heading(self, text: str) -> str:
        return self.paint(text, "bold")

    def level(self, word: str) -> str:
        """`error:`, `warning:`, `note:` before a message on stderr."""
        colour = {"error": "red", "warning": "yellow"}.get(word, "cyan")
        return self.paint(f"{word}:", "bold", colour)


PLAIN = Palette(enabled=False)


def palette_for(stream: TextIO) -> Palette:
    return Palette(colour_wanted(stream))
