"""Atomic file writes: a temporary file in the same folder, then ``os.replace``.

Nothing is left half-written after an error or a kill, and an existing file is
never lost: it is replaced only once the new content is complete.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

__all__ = ["atomic_write_bytes", "atomic_path", "check_output_path"]


def _umask() -> int:
    """The process umask, read without changing it where /proc allows (thread-safe)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; on success rename it onto ``dest``.

    The caller (or a library it calls) writes the file at the yielded path.
    On any exception the temporary file is removed and ``dest`` is untouched.
    """
    from edgeport.errors import UsageError

    dest = Path(dest)
    if dest.is_dir():
        raise UsageError(f"cannot write {dest}: it is a folder", hint="give a file path")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        blocker = next((a for a in dest.parents if a.exists() and not a.is_dir()), dest.parent)
        raise UsageError(f"cannot write {dest}: {blocker} is a file, not a folder",
                         hint="choose an output path in a folder") from None
    suffix = dest.suffix if suffix is None else suffix
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.stem}.", suffix=f".tmp{suffix}", dir=dest.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp creates the file 0600; give the result the mode a plain open() would (or the replaced file's).
    try:
        mode = dest.stat().st_mode & 0o7777 if dest.is_file() else 0o666 & ~_umask()
        os.chmod(tmp_path, mode)
    except OSError:
        pass
    try:
        yield tmp_path
        os.replace(tmp_path, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def atomic_write_bytes(dest: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``dest`` atomically and return the path."""
    with atomic_path(dest) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    return Path(dest)


def _companions(p: Path) -> list[Path]:
    """A path plus the files written or read with it (OpenVINO IR: the .bin beside the .xml)."""
    return [p, p.with_suffix(".bin")] if p.suffix.lower() == ".xml" else [p]


def check_output_path(dest: str | os.PathLike, inputs=(), option: str = "-o") -> Path:
    """Check, before any work, that ``dest`` can be written and is none of ``inputs``.

    Raises :class:`edgeport.errors.UsageError` (one line and a hint) when ``dest`` is a folder, when its
    folder is missing, is a file or is not writable, or when writing it would replace one of the
    ``inputs`` (an OpenVINO ``.xml`` counts with its ``.bin``). Returns ``Path(dest)``.
    """
    from edgeport.errors import UsageError

    dest = Path(dest)
    where = f"{option} {dest}" if option else str(dest)
    if dest.is_dir():
        raise UsageError(f"{where}: is a folder, not a file path",
                         hint=f"give a file name inside it, e.g. {dest / ('model' + (dest.suffix or '.out'))}")
    parent = dest.parent
    if not parent.exists():
        raise UsageError(f"{where}: the folder {parent} does not exist", hint=f"create it first (mkdir -p {parent})")
    if not parent.is_dir():
        raise UsageError(f"{where}: {parent} is a file, not a folder", hint="choose an output path in a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{where}: the folder {parent} is not writable", hint="choose a folder you can write to")
    outs = [o for o in _companions(dest) if o.exists()]
    for src in inputs or ():
        if src is None or not isinstance(src, (str, os.PathLike)):
            continue
        for s in _companions(Path(src)):
            if any(s.exists() and os.path.samefile(o, s) for o in outs):
                raise UsageError(f"{where} would overwrite the input file {s}",
                                 hint="write the result to a new path; edgeport never replaces its input")
    return dest
