"""Outputs never replace inputs: the CLI's check that no file it writes is one it reads or writes twice."""

from __future__ import annotations

import os

from snnsim.errors import FileFormatError


def _same(a: str, b: str) -> bool:
    """True if ``a`` and ``b`` name the same file: same resolved path (symlinks, ``..``, relative paths),
    or, where both exist, the same inode (hard links)."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.exists(a) and os.path.exists(b) and os.path.samefile(a, b)
    except OSError:
        return False


def check_distinct(command: str, reads: dict, writes: dict, may_rewrite: tuple = ()) -> None:
    """Refuse, before anything runs, a command whose outputs would overwrite an input or each other.

    ``reads`` and ``writes`` map an option name (``"FILE"``, ``"--raster"``) to a path or None (unused).
    ``may_rewrite`` lists (read option, write option) pairs that may name one file on purpose, such as
    ``("--resume", "--checkpoint")``: a resumed run updates its checkpoint. Raises FileFormatError naming
    both options and the path.
    """
    reads = {k: os.fspath(v) for k, v in reads.items() if v}
    writes = {k: os.fspath(v) for k, v in writes.items() if v}
    allowed = {frozenset(p) for p in may_rewrite}
    for w_name, w_path in writes.items():
        for r_name, r_path in reads.items():
            if frozenset((r_name, w_name)) not in allowed and _same(w_path, r_path):
                raise FileFormatError(f"{command}: {w_name} {w_path}: is the input {r_name} {r_path}; "
                                      f"refusing to overwrite it (choose another output file)")
    names = list(writes)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            if _same(writes[a], writes[b]):
                raise FileFormatError(f"{command}: {a} and {b} both name {writes[a]}; "
                                      f"one output would replace the other")
