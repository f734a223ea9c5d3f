"""Writing files so that a crash never leaves a partial file at the target path."""

from __future__ import annotations

import contextlib
import os
import secrets

from snnsim.errors import FileFormatError


def check_writable(path) -> str:
    """``path`` as a string if a file can be created there; else FileFormatError naming it."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise FileFormatError(f"{path}: is a directory, expected a file name")
    if not os.path.isdir(folder):
        raise FileFormatError(f"{path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise FileFormatError(f"{path}: folder {folder} is not writable")
    return path


@contextlib.contextmanager
def atomic_path(path):
    """Yield a new temporary file name beside ``path``; on success it is renamed onto
    ``path`` (after an fsync), on any exception it is deleted and ``path`` is untouched."""
    path = check_writable(path)
    folder, base = os.path.split(os.path.abspath(path))
    while True:
        tmp = os.path.join(folder, f".{base}.{secrets.token_hex(6)}.tmp")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            break
        except FileExistsError:
            continue
        except OSError as err:
            raise FileFormatError(f"{path}: cannot create a file in {folder}: {err.strerror}") from None
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.replace(tmp, path)
        except OSError as err:
            raise FileFormatError(f"{path}: cannot write: {err.strerror}") from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
