"""Training checkpoints in HDF5: nested state (model, optimiser, schedule, counters) saved whole.

A checkpoint is a tree of dicts, lists and tuples whose leaves are tensors, numpy arrays,
numbers, strings, booleans or ``None`` -- what ``state_dict()`` of a torch module, optimiser
or scheduler returns. Each dict/list/tuple is an HDF5 group (attribute ``kind``; dict keys
that are integers are marked so), each leaf a dataset (attribute ``kind``: ``tensor``,
``array``, ``int``, ``float``, ``bool``, ``str``, ``none``). Tensors come back with their
dtype, on the CPU. Files are written atomically: an interrupted save leaves the previous
checkpoint in place.
"""

from __future__ import annotations

import h5py
import numpy as np
import torch

from snnsim.io.hdf5 import _read, _write_atomic, _write_header

FORMAT = "snnsim-checkpoint"


def _put(group, key: str, value) -> None:
    if isinstance(value, dict):
        g = group.create_group(key, track_order=True)
        g.attrs["kind"] = "dict"
        for i, (k, v) in enumerate(value.items()):
            name = f"{i}"
            _put(g, name, v)
            g[name].attrs["key"] = str(k)
            g[name].attrs["key_kind"] = "int" if isinstance(k, int) else "str"
        return
    if isinstance(value, (list, tuple)):
        g = group.create_group(key, track_order=True)
        g.attrs["kind"] = "list" if isinstance(value, list) else "tuple"
        for i, v in enumerate(value):
            _put(g, str(i), v)
        return
    if isinstance(value, torch.Tensor):
        t = value.detach().cpu()
        if t.dtype == torch.bfloat16:
            raise TypeError("bfloat16 tensors are not supported in checkpoints")
        ds = group.create_dataset(key, data=t.numpy())
        ds.attrs["kind"] = "tensor"
        return
    if isinstance(value, np.ndarray):
        ds = group.create_dataset(key, data=value)
        ds.attrs["kind"] = "array"
        return
    if value is None:
        ds = group.create_dataset(key, data=0)
        ds.attrs["kind"] = "none"
        return
    for kind, types in (("bool", (bool, np.bool_)), ("int", (int, np.integer)), ("float", (float, np.floating)),
                        ("str", (str,))):
        if isinstance(value, types):
            ds = group.create_dataset(key, data=value)
            ds.attrs["kind"] = kind
            return
    raise TypeError(f"cannot store {type(value).__name__} at {group.name}/{key} in a checkpoint")


def _no_nan(r, obj, arr: np.ndarray) -> np.ndarray:
    """``arr`` if it holds no NaN (a trained state never does; inf is legitimate: the threshold of a
    leaky integrator); else FileFormatError naming ``obj``."""
    if arr.dtype.kind in "fc":
        bad = np.flatnonzero(np.isnan(arr).ravel())
        if len(bad):
            raise r.error(obj.name, f"holds nan at flat index {int(bad[0])} (a trained state has none)")
    return arr


def _get(r, obj):
    kind = obj.attrs.get("kind")
    if kind == "dict":
        if not isinstance(obj, h5py.Group):
            raise r.error(obj.name, "is a dict but not an HDF5 group")
        out = {}
        for name in obj:
            child = obj[name]
            if "key" not in child.attrs or child.attrs.get("key_kind") not in ("int", "str"):
                raise r.error(child.name, "lacks its key or key_kind ('int' or 'str') attribute")
            k = child.attrs["key"]
            try:
                key = int(k) if child.attrs["key_kind"] == "int" else str(k)
            except (TypeError, ValueError):
                raise r.error(child.name + "@key", f"is not an integer key: {k!r}") from None
            out[key] = _get(r, child)
        return out
    if kind in ("list", "tuple"):
        if not isinstance(obj, h5py.Group):
            raise r.error(obj.name, f"is a {kind} but not an HDF5 group")
        missing = [str(i) for i in range(len(obj)) if str(i) not in obj]
        if missing:
            raise r.error(obj.name, f"a {kind} of {len(obj)} items lacks item {missing[0]}")
        items = [_get(r, obj[str(i)]) for i in range(len(obj))]
        return items if kind == "list" else tuple(items)
    if kind in ("tensor", "array") and not isinstance(obj, h5py.Dataset):
        raise r.error(obj.name, f"is a {kind} but not an HDF5 dataset")
    if kind == "tensor":
        arr = np.array(obj[()])
        if arr.dtype.kind not in "biufc":
            raise r.error(obj.name, f"is a tensor of unsupported dtype {arr.dtype}")
        return torch.from_numpy(_no_nan(r, obj, arr))
    if kind == "array":
        return np.array(obj[()])
    if kind == "none":
        return None
    if kind == "bool":
        return bool(obj[()])
    if kind == "int":
        return int(obj[()])
    if kind == "float":
        return float(obj[()])
    if kind == "str":
        v = obj[()]
        return v.decode() if isinstance(v, bytes) else str(v)
    raise r.error(obj.name, f"unknown kind {kind!r}")


def save_checkpoint(state: dict, path) -> None:
    """Write ``state`` (a dict tree, see the module docstring) to ``path`` atomically."""
    def fill(f):
        _write_header(f, FORMAT)
        _put(f, "state", state)
    _write_atomic(path, fill)


def load_checkpoint(path) -> dict:
    """Read a checkpoint written by :func:`save_checkpoint`; ``FileFormatError`` if it is not one."""
    def build(r):
        if "state" not in r.f:
            raise r.error("/state", "missing")
        return _get(r, r.f["state"])
    return _read(path, FORMAT, build)
