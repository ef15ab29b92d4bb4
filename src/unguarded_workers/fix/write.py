"""Writing a fixed file back without ever losing or half-writing it, and showing a diff."""

from __future__ import annotations

import contextlib
import difflib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .. import interrupts


class WriteError(Exception):
    """The file was left as it was; the message says why."""


class ChangedOnDisk(WriteError):
    """The file no longer holds what was read: something else wrote it meanwhile."""

    def __init__(self) -> None:
        super().__init__("changed on disk since it was read; not overwritten")


class ChangedWhileFixing(WriteError):
    """A write to the file landed while it was being replaced: that version was put back."""

    def __init__(self) -> None:
        super().__init__("changed while being fixed; your edit was kept, not fixed")


def write_atomically(path: Path, original: bytes, new: bytes) -> None:
    """Replace `path`'s content with `new` if it still holds `original`.

    The new content goes to a temporary file in the same directory, which then
    replaces the file in one rename: a reader sees the old file or the new one,
    never a mix. A symlink is followed (the link stays a link); permissions, and the
    owner and group, are kept. The rename gives the path a new inode: other hard links
    to the file keep the old content. Two runs writing one directory take turns (a lock
    on the directory), so an edit made between one's read and write is never lost.
    An editor does not take that lock: the file is compared again right before the
    rename, and a write that lands on the old file after that compare is found after the
    rename, and that version is put back (`ChangedWhileFixing`). A read-only file is left
    as it is.
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
                raise ChangedOnDisk
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
            _replace_unless_changed(temporary, real, original, info)
        except BaseException as error:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            if isinstance(error, OSError):
                raise WriteError(f"cannot write: {error.strerror or error}") from None
            raise


def _replace_unless_changed(temporary: str, real: Path, original: bytes, info: os.stat_result) -> None:
    """Rename `temporary` over `real` if `real` still is the file read, holding `original`.

    The old file stays open, and a second name (a hard link) keeps it whole, across the
    rename: if a write landed on it between the last compare and the rename, that file is
    renamed back into place, with the writes still under way on it.
    """
    if os.name == "nt":  # a file held open cannot be renamed over there: compare, then rename
        if real.read_bytes() != original:
            raise ChangedOnDisk
        os.replace(temporary, real)
        return
    held = os.open(real, os.O_RDONLY)
    try:
        now = os.fstat(held)
        if _identity(now) != _identity(info) or _read_all(held) != original:
            raise ChangedOnDisk
        if os.stat(real).st_ino != now.st_ino:
            raise ChangedOnDisk  # replaced by another file since it was opened
        kept = _second_name(real, temporary)
        try:
            ours = os.stat(temporary)
            os.replace(temporary, real)
            if _read_all(held) == original:
                return
            if os.stat(real).st_ino == ours.st_ino:  # else a newer version is there already
                _put_back(held, kept, real, info)
            raise ChangedWhileFixing
        finally:
            if kept is not None:
                with contextlib.suppress(OSError):
                    os.unlink(kept)
    finally:
        os.close(held)


def _identity(info: os.stat_result) -> tuple[int, int, int, int]:
    return info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns


def _read_all(descriptor: int) -> bytes:
    os.lseek(descriptor, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(descriptor, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _second_name(real: Path, temporary: str) -> str | None:
    """A hard link to `real` beside `temporary`; None where the file system has none."""
    name = f"{temporary[: -len('.tmp')]}.old.tmp"
    try:
        os.link(real, name)
    except OSError:
        return None
    return name


def _put_back(held: int, kept: str | None, real: Path, info: os.stat_result) -> None:
    """The old file, with the edit that landed on it, back at `real`."""
    if kept is not None:
        os.replace(kept, real)  # the very file: a write still under way on it lands too
        return
    descriptor, temporary = tempfile.mkstemp(dir=real.parent, prefix=f".{real.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(_read_all(held))
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, stat.S_IMODE(info.st_mode))
        _keep_owner(temporary, info)
        os.replace(temporary, real)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
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


def unified_diff(name: str, old: bytes, new: bytes) -> bytes:
    """A unified diff of the file's bytes as git prints it: a line is shown in the file's own
    encoding, byte for byte (a patch tool applies it), with the missing-final-newline marker.
    `name` is shown as it is given (quoted by the caller where it needs to be)."""
    label = name.encode("utf-8", "surrogateescape")
    return b"".join(difflib.diff_bytes(difflib.unified_diff, _diff_lines(old), _diff_lines(new), label, label))


def _diff_lines(data: bytes) -> list[bytes]:
    lines = data.splitlines(keepends=True)  # at \n, \r\n and \r, as ast counts lines; ends kept
    if lines and not lines[-1].endswith((b"\n", b"\r")):
        lines[-1] += b"\n\\ No newline at end of file\n"
    return lines
