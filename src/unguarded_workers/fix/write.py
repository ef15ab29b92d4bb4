"""Writing a fixed file back without ever losing or half-writing it, and showing a diff."""

from __future__ import annotations

import contextlib
import difflib
import io
import os
import stat
import tempfile
from pathlib import Path


class WriteError(Exception):
    """The file was left as it was; the message says why."""


def write_atomically(path: Path, original: bytes, new: bytes) -> None:
    """Replace `path`'s content with `new` if it still holds `original`.

    The new content goes to a temporary file in the same directory, which then
    replaces the file in one rename: a reader sees the old file or the new one,
    never a mix. A symlink is followed (the link stays a link); permissions are kept.
    """
    real = path.resolve()
    try:
        if real.read_bytes() != original:
            raise WriteError("changed on disk since it was read; not overwritten")
        mode = stat.S_IMODE(real.stat().st_mode)
        descriptor, temporary = tempfile.mkstemp(dir=real.parent, prefix=f".{real.name}.", suffix=".tmp")
    except OSError as error:
        raise WriteError(f"cannot write: {error.strerror or error}") from None
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(new)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, real)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise WriteError(f"cannot write: {error.strerror or error}") from None


def unified_diff(display: str, old: str, new: str) -> str:
    """A unified diff as git prints it, including the missing-final-newline marker."""
    old_lines = _diff_lines(old)
    new_lines = _diff_lines(new)
    return "".join(difflib.unified_diff(old_lines, new_lines, display, display))


def _diff_lines(text: str) -> list[str]:
    lines = io.StringIO(text, newline="").readlines()  # line ends kept as they are
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += "\n\\ No newline at end of file\n"
    return lines
