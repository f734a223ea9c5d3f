"""Property-based fuzzing of every loader and the Network builders (issue 14, hypothesis).

Allowed outcomes: success, or the documented errors -- ``FileFormatError`` (a file the loader
cannot trust) and ``NetworkError`` (a ``ValueError``: an invalid network or argument). Any
other exception fails the test, and so does a hang (hypothesis' ``deadline``). Case counts are
bounded (``max_examples``) so the file runs in well under a minute; docs/testing.md records them.
"""

import io
import os
import shutil
import tempfile
import warnings
from functools import lru_cache

import h5py
import numpy as np
import pytest
import torch

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import snnsim  # noqa: E402
from snnsim import LIF, Network  # noqa: E402
from snnsim.babi.format import parse_babi  # noqa: E402
from snnsim.errors import FileFormatError, NetworkError  # noqa: E402
from snnsim.io import load_network, load_results, save_network, save_results  # noqa: E402
from snnsim.io.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from snnsim.io.nir import read_nir, write_nir  # noqa: E402
from snnsim.training.tasks import read_idx  # noqa: E402

ALLOWED = (FileFormatError, NetworkError)
FUZZ = settings(max_examples=200, deadline=5000, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
DIR = tempfile.mkdtemp(prefix="snnsim-fuzz-")


def _net():
    net = Network(dt=1e-3)
    src = net.add_spike_source("in", 2, times=[1e-3, 2e-3], indices=[0, 1])
    a = net.add_population("a", 3, LIF(t_ref=1e-3))
    net.connect(src, a, snnsim.AllToAll(), weight=0.5)
    net.probe_spikes(a)
    return net


@lru_cache(None)
def _valid(kind: str) -> bytes:
    """The bytes of a valid file of ``kind``."""
    path = os.path.join(DIR, "valid-" + kind)
    if kind == "network":
        save_network(_net(), path)
    elif kind == "results":
        save_results(snnsim.simulate(_net(), 5e-3), path)
    elif kind == "checkpoint":
        save_checkpoint({"model": {"w": torch.ones(2, 3)}, "history": [0.5], "epoch": 1}, path)
    elif kind == "nir":
        write_nir(_net(), path)
    return open(path, "rb").read()


@pytest.fixture(scope="module", autouse=True)
def _valid_files():
    """Make the valid files (and compile the engine) before any timed example runs."""
    for kind in ("network", "results", "checkpoint", "nir"):
        _valid(kind)


LOADERS = {"network": load_network, "results": load_results, "checkpoint": load_checkpoint, "nir": read_nir}


def _load_allowed(load, path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            load(path)
        except ALLOWED:
            pass


@pytest.mark.slow   # KNOWN HANG: some byte corruptions make libhdf5 loop (docs/testing.md); not in CI until fixed
@pytest.mark.parametrize("kind", sorted(LOADERS))
@FUZZ
@given(data=st.data())
def test_byte_corruption_gives_a_documented_error(kind, data):
    raw = bytearray(_valid(kind))
    edits = data.draw(st.lists(st.tuples(st.integers(0, len(raw) - 1), st.integers(0, 255)), min_size=1,
                               max_size=8))
    for at, byte in edits:
        raw[at] = byte
    cut = data.draw(st.one_of(st.none(), st.integers(0, len(raw))))
    if cut is not None:
        raw = raw[:cut]
    path = os.path.join(DIR, f"fuzz-{kind}")
    with open(path, "wb") as f:
        f.write(bytes(raw))
    _load_allowed(LOADERS[kind], path)
    assert open(path, "rb").read() == bytes(raw)  # loaders only read


# -------------------------------------------------- structured HDF5 content
VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-2**40, 2**40),
    st.text(max_size=4),
    st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), max_size=7).map(np.array),
    st.lists(st.integers(-10, 10), max_size=7).map(lambda v: np.array(v, np.int64)),
    st.just(np.zeros((2, 3))),
)


def _items(kind):
    """Every (dataset or attribute) item of the valid ``kind`` file, as ``(path, attribute or None)``."""
    out = []
    with h5py.File(io.BytesIO(_valid(kind)), "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                out.append((name, None))
            out.extend((name, a) for a in obj.attrs)
        out.extend(("/", a) for a in f.attrs)
        f.visititems(visit)
    return out


@pytest.mark.parametrize("kind", ["network", "results", "checkpoint", "nir"])
@FUZZ
@given(data=st.data())
def test_random_hdf5_content_gives_a_documented_error(kind, data):
    items = _items(kind)
    path = os.path.join(DIR, f"struct-{kind}")
    with open(path, "wb") as f:
        f.write(_valid(kind))
    with h5py.File(path, "r+") as f:
        for _ in range(data.draw(st.integers(1, 3))):
            name, attr = data.draw(st.sampled_from(items))
            value = data.draw(VALUES)
            if name not in f:
                continue
            if data.draw(st.booleans()) and attr is None:
                del f[name]  # a missing item
                continue
            if attr is None:
                del f[name]
                f[name] = value
            else:
                f[name].attrs[attr] = value
    _load_allowed(LOADERS[kind], path)


@FUZZ
@given(raw=st.binary(max_size=64), gz=st.booleans())
def test_random_idx_bytes(raw, gz):
    import gzip
    path = os.path.join(DIR, "fuzz-idx3-ubyte" + (".gz" if gz else ""))
    (gzip.open if gz else open)(path, "wb").write(raw)
    try:
        read_idx(path)
    except FileFormatError:
        pass


@FUZZ
@given(head=st.lists(st.integers(0, 255), min_size=4, max_size=4), dims=st.lists(st.integers(-3, 6), max_size=4),
       body=st.binary(max_size=80))
def test_random_idx_headers(head, dims, body):
    import struct
    raw = bytes(head[:3]) + bytes([len(dims)]) + b"".join(struct.pack(">i", d) for d in dims) + body
    path = os.path.join(DIR, "hdr-idx3-ubyte")
    open(path, "wb").write(raw)
    try:
        read_idx(path)
    except FileFormatError:
        pass


LINE = st.one_of(st.text(max_size=30),
                 st.builds(lambda i, t: f"{i} {t}", st.integers(-2, 5), st.text(max_size=10)),
                 st.builds(lambda i, q, a, s: f"{i} {q}\t{a}\t{s}", st.integers(-2, 5), st.text(max_size=8),
                           st.text(max_size=4), st.text(max_size=6)))


@FUZZ
@given(lines=st.lists(LINE, max_size=8))
def test_random_babi_text(lines):
    try:
        parse_babi(lines, "fuzz.txt")
    except FileFormatError:
        pass


# -------------------------------------------------- Network builders
NUM = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 5),
                st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), max_size=6).map(np.array),
                st.just(np.ones((2, 2))), st.text(max_size=3), st.none())
SIZE = st.one_of(st.integers(-3, 6), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=2))


def _builder_allowed(fn):
    try:
        fn()
    except NetworkError:
        pass


@FUZZ
@given(size=SIZE, tau=NUM, v_th=NUM, t_ref=NUM, v=NUM)
def test_add_population_random(size, tau, v_th, t_ref, v):
    def build():
        net = Network(dt=1e-3)
        net.add_population("p", size, LIF(tau_mem=tau, v_th=v_th, t_ref=t_ref), initial={"v": v})
    _builder_allowed(build)


@FUZZ
@given(weight=NUM, delay=NUM, matrix=st.booleans(), rows=st.integers(0, 4), cols=st.integers(0, 4))
def test_connect_random(weight, delay, matrix, rows, cols):
    def build():
        net = Network(dt=1e-3)
        a = net.add_population("a", 3, LIF())
        b = net.add_population("b", 2, LIF())
        if matrix:
            net.connect(a, b, np.full((rows, cols), 0.5), delay=delay)
        else:
            net.connect(a, b, snnsim.AllToAll(), weight=weight, delay=delay)
        net.validate()
    _builder_allowed(build)


@FUZZ
@given(size=SIZE, rate=NUM, rate_dt=NUM, times=NUM, indices=NUM, amp=NUM, sample_dt=NUM)
def test_sources_and_currents_random(size, rate, rate_dt, times, indices, amp, sample_dt):
    def poisson():
        Network(dt=1e-3).add_poisson("p", size, rate, rate_dt)

    def spikes():
        Network(dt=1e-3).add_spike_source("s", size, times, indices)

    def current():
        net = Network(dt=1e-3)
        net.add_population("a", 3, LIF())
        net.add_current("c", "a", amp, sample_dt)
        net.validate()
    for fn in (poisson, spikes, current):
        _builder_allowed(fn)


def teardown_module():
    shutil.rmtree(DIR, ignore_errors=True)
