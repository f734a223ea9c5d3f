"""NIR, network-HDF5, checkpoint, IDX and bAbI loaders refuse hand-corrupted files (issue 14).

Each case corrupts one item of a valid file and checks that the loader raises the documented
error (FileFormatError for a file it cannot trust, NetworkError for a readable file holding an
invalid network) with a message naming the file and the item, and that the file is left
byte for byte as it was (loaders only read).
"""

import gzip
import hashlib
import os
import shutil
import struct

import h5py
import numpy as np
import pytest
import torch

import snnsim
from snnsim import LIF, Network
from snnsim.babi.format import read_babi
from snnsim.errors import FileFormatError, NetworkError
from snnsim.io import load_network, save_network
from snnsim.io.checkpoint import load_checkpoint, save_checkpoint
from snnsim.io.nir import read_nir, write_nir
from snnsim.training.tasks import read_idx


def _net():
    """Spike source 'in' (2) -> LIF 'a' (3), all to all, weight 0.5."""
    net = Network(dt=1e-3)
    src = net.add_spike_source("in", 2, times=[1e-3], indices=[0])
    a = net.add_population("a", 3, LIF())
    net.connect(src, a, snnsim.AllToAll(), weight=0.5)
    return net


def _digest(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def _replace(f, name, value):
    del f[name]
    f[name] = value


def _refused(tmp_path, good, corrupt, load, error, items):
    """Copy ``good``, corrupt the copy (``corrupt(h5py.File)`` or ``corrupt(path)``), load it: ``error``
    naming the copy and every string of ``items``; the copy unchanged by the load."""
    bad = tmp_path / ("bad" + good.suffix)
    shutil.copy(good, bad)
    if getattr(corrupt, "raw", False):
        corrupt(bad)
    else:
        with h5py.File(bad, "r+") as f:
            corrupt(f)
    before = _digest(bad)
    with pytest.raises(error) as info:
        load(bad)
    assert _digest(bad) == before
    msg = str(info.value)
    assert str(bad) in msg and all(i in msg for i in items), msg


def _raw(fn):
    fn.raw = True
    return fn


@_raw
def _truncate(path):
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)


# ------------------------------------------------------------------ NIR
@pytest.fixture
def nir_file(tmp_path):
    path = tmp_path / "g.nir"
    write_nir(_net(), path)
    return path


NIR_CASES = {
    "truncated": (_truncate, FileFormatError, ["not a readable NIR file"]),
    "edges missing": (lambda f: f["node"].__delitem__("edges"), FileFormatError, ["edges"]),
    "threshold of the wrong shape": (lambda f: _replace(f, "node/nodes/a/v_threshold", np.ones(5)),
                                     FileFormatError, ["same shape"]),
    "NaN weight": (lambda f: _replace(f, "node/nodes/in->a/weight", np.full((3, 2), np.nan)), NetworkError,
                   ["'in->a'", "weight", "finite"]),
    "weight of the wrong shape": (lambda f: _replace(f, "node/nodes/in->a/weight", np.ones((4, 2))), NetworkError,
                                  ["'a'", "shape"]),
    "negative tau": (lambda f: _replace(f, "node/nodes/a/tau", np.full(3, -1.0)), NetworkError,
                     ["'a'", "tau", "> 0"]),
    "node removed": (lambda f: f["node/nodes"].__delitem__("a"), NetworkError, ["edges", "'a'"]),
}


@pytest.mark.parametrize("case", NIR_CASES)
def test_corrupt_nir_is_refused_naming_file_and_item(tmp_path, nir_file, case):
    corrupt, error, items = NIR_CASES[case]
    _refused(tmp_path, nir_file, corrupt, read_nir, error, items)


# ------------------------------------------------------------------ network HDF5
@pytest.fixture
def net_file(tmp_path):
    path = tmp_path / "n.h5"
    save_network(_net(), path)
    return path


NET_CASES = {
    "truncated": (_truncate, FileFormatError, ["not a readable HDF5 file"]),
    "populations group missing": (lambda f: f.__delitem__("populations"), FileFormatError, ["/populations"]),
    "size is a string": (lambda f: f["populations/a"].attrs.__setitem__("size", "three"), FileFormatError,
                         ["/populations/a@size"]),
    "indices of the wrong dtype": (lambda f: _replace(f, "projections/in->a/indices", np.array(["x"] * 6, "S1")),
                                   FileFormatError, ["/projections/in->a/indices"]),
    "NaN weight": (lambda f: _replace(f, "projections/in->a/weights", np.nan), NetworkError,
                   ["projection 'in->a'", "weight"]),
    "index beyond the population": (lambda f: _replace(f, "projections/in->a/indices",
                                                       np.array([0, 1, 0, 1, 0, 7], np.int32)),
                                    NetworkError, ["projection 'in->a'", "indices"]),
    "NaN threshold": (lambda f: _replace(f, "populations/a/parameters/v_th", np.nan), NetworkError,
                      ["population 'a'", "v_th"]),
}


@pytest.mark.parametrize("case", NET_CASES)
def test_corrupt_network_file_is_refused_naming_file_and_item(tmp_path, net_file, case):
    corrupt, error, items = NET_CASES[case]
    _refused(tmp_path, net_file, corrupt, load_network, error, items)


# ------------------------------------------------------------------ checkpoints
@pytest.fixture
def ckpt_file(tmp_path):
    path = tmp_path / "c.h5"
    save_checkpoint({"model": {"w": torch.ones(2, 3), "b": torch.zeros(3)}, "history": [0.5, 0.25], "epoch": 2},
                    path)
    return path


def test_the_valid_checkpoint_loads(ckpt_file):
    state = load_checkpoint(ckpt_file)
    assert state["model"]["w"].shape == (2, 3) and state["history"] == [0.5, 0.25] and state["epoch"] == 2


# dict members are stored by position: /state/0 is "model" (/0/0 "w", /0/1 "b"), /state/1 "history",
# /state/2 "epoch"
def _nan_tensor(f):
    f["state/0/0"][0, 1] = np.nan


CKPT_CASES = {
    "truncated": (_truncate, FileFormatError, ["not a readable HDF5 file"]),
    "state missing": (lambda f: f.__delitem__("state"), FileFormatError, ["/state"]),
    "NaN in a tensor": (_nan_tensor, FileFormatError, ["/state/0/0", "nan", "flat index 1"]),
    "list item missing": (lambda f: f["state/1"].__delitem__("0"), FileFormatError,
                          ["/state/1", "lacks item 0"]),
    "dict key attribute missing": (lambda f: f["state/0/1"].attrs.__delitem__("key"), FileFormatError,
                                   ["/state/0/1", "key"]),
    "unknown kind": (lambda f: f["state/2"].attrs.__setitem__("kind", "pickle"), FileFormatError,
                     ["/state/2", "'pickle'"]),
}


@pytest.mark.parametrize("case", CKPT_CASES)
def test_corrupt_checkpoint_is_refused_naming_file_and_item(tmp_path, ckpt_file, case):
    corrupt, error, items = CKPT_CASES[case]
    _refused(tmp_path, ckpt_file, corrupt, load_checkpoint, error, items)


# ------------------------------------------------------------------ IDX and bAbI
def _idx(path, header_dims, body: bytes, dtype_code=0x08, gz=False):
    data = bytes([0, 0, dtype_code, len(header_dims)]) + b"".join(struct.pack(">i", d) for d in header_dims) + body
    (gzip.open if gz else open)(path, "wb").write(data)
    return path


def test_valid_idx_reads(tmp_path):
    x = read_idx(_idx(tmp_path / "ok-idx3-ubyte", [2, 2, 2], bytes(range(8))))
    assert x.shape == (2, 2, 2) and x.ravel().tolist() == list(range(8))


@pytest.mark.parametrize("dims, body, code, item", [
    ([2, 2, 2], bytes(7), 0x08, "byte"),         # body one byte short of 2*2*2
    ([2, 2, 2], bytes(9), 0x08, "byte"),         # one byte too many
    ([2, 2], bytes(4), 0x42, "type"),            # unknown data type code
])
def test_corrupt_idx_is_refused(tmp_path, dims, body, code, item):
    path = _idx(tmp_path / "bad-idx3-ubyte.gz", dims, body, code, gz=True)
    before = _digest(path)
    with pytest.raises(FileFormatError) as info:
        read_idx(path)
    assert str(path) in str(info.value) and item in str(info.value).lower(), str(info.value)
    assert _digest(path) == before


@pytest.mark.parametrize("text, item", [
    ("1 Mary went home.\n2 Where is Mary?\thome\t7\n", "supporting id"),   # 7 is no earlier statement
    ("1 Mary went home.\n3 John left.\n", "sentence id 3"),                # ids skip 2
    ("x Mary went home.\n", "positive integer ID"),
])
def test_corrupt_babi_is_refused_naming_file_and_line(tmp_path, text, item):
    path = tmp_path / "qa1_train.txt"
    path.write_text(text)
    before = _digest(path)
    with pytest.raises(FileFormatError) as info:
        read_babi(path)
    assert str(path) in str(info.value) and item in str(info.value), str(info.value)
    assert _digest(path) == before
