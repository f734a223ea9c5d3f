"""Exceptions raised by snnsim. Every message names the object, the field and the bad value."""


class SnnsimError(Exception):
    """Base class of all snnsim errors."""


class NetworkError(SnnsimError, ValueError):
    """A network description (or a run request) is invalid.

    ``where`` names the object (``"population 'exc'"``), ``field`` the parameter.
    """

    def __init__(self, where: str, field: str, message: str):
        self.where = where
        self.field = field
        super().__init__(f"{where}: {field}: {message}")


def in_file(exc: NetworkError, path) -> NetworkError:
    """``exc`` raised while reading ``path``: the same error with the file named first in ``where``."""
    message = str(exc)[len(f"{exc.where}: {exc.field}: "):]
    return NetworkError(f"{path}: {exc.where}", exc.field, message)


class FileFormatError(SnnsimError, OSError):
    """A file is missing, truncated, corrupt or not an snnsim file."""


class ScriptError(SnnsimError):
    """A user's network script failed while it was run (``snnsim run script.py``)."""
