"""Writing a fixed file back without ever losing or half-writing it, and showing a diff."""

from __future__ import annotations

import contextlib
import difflib
import io
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .. import interrupts


class WriteError(Exception):
    """The file was left as it was; the message says why."""


def write_atomically(path: Path, original: bytes, new: bytes) -> None:
    """Replace `path`'s content with `new` if it still holds `original`.

    The new content goes to a temporary file in the same directory, which then
    replaces the file in one rename: a reader sees the old file or the new one,
    never a mix. A symlink is followed (the link stays a link); permissions, and the
    owner and group, are kept. The rename gives the path a new inode: other hard links
    to the file keep the old content. Two runs writing one directory take turns (a lock
    on the directory), so an edit made between one's read and write is never lost.
    A read-only file is left as it is.
    """
    real = path.resolve()
    # Ctrl-C between creating the temporary file and renaming it is held back until the
    # file is whole: then the run stops as asked, with no temporary file left behind.
    with _directory_lock(real.parent), interrupts.deferred():
        try:
            info = real.stat()
            if not _writable(real, info):
                raise WriteError("read-only file; not rewritten")
            if real.read_bytes() != original:
                raise WriteError("changed on disk since it was read; not overwritten")
            descriptor, temporary = tempfile.mkstemp(dir=real.parent, prefix=f".{real.name}.", suffix=".tmp")
        except OSError as error:
            raise WriteError(f"cannot write: {error.strerror or error}") from None
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(new)
                file.flush()
                os.fsync(file.fileno())
            os.chmod(temporary, stat.S_IMODE(info.st_mode))
            _keep_owner(temporary, info)
            os.replace(temporary, real)
        except BaseException as error:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            if isinstance(error, OSError):
                raise WriteError(f"cannot write: {error.strerror or error}") from None
            raise


def _writable(path: Path, info: os.stat_result) -> bool:
    # root may write anything: the mode bits say whether the file is meant to be read-only.
    if not info.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
        return False
    return os.access(path, os.W_OK)


def _keep_owner(temporary: str, info: os.stat_result) -> None:
    """Give the new file the old one's owner and group (a run as root fixing a user's file)."""
    if not hasattr(os, "chown"):
        return
    mine = os.stat(temporary)
    if (mine.st_uid, mine.st_gid) == (info.st_uid, info.st_gid):
        return
    try:
        os.chown(temporary, info.st_uid, info.st_gid)
    except PermissionError:
        raise WriteError("cannot keep the file's owner and group; not rewritten") from None


@contextlib.contextmanager
def _directory_lock(directory: Path) -> Iterator[None]:
    """An exclusive advisory lock on the directory, for the compare-then-rename."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks here; the compare still guards most races
        yield
        return
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        yield
        return
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


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
