"""Built-in SNN classification tasks: scikit-learn's digits and Fashion-MNIST.

A task is data (train / validation / test splits of features in ``[0, 1]`` and labels) plus
a network description: a spike source ``input``, hidden populations ``hidden0 ..`` (CubaLIF by
default, optionally recurrent) and a leaky-integrator readout ``output``, joined by dense
projections with a one-step delay. Nothing is downloaded: digits ship inside scikit-learn,
Fashion-MNIST is read from the Debian package ``dataset-fashion-mnist``
(``/usr/share/datasets/fashion-mnist``) or any folder holding the four IDX files.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass

import numpy as np

from snnsim.errors import FileFormatError, NetworkError
from snnsim.models import LI, CubaLIF, LIF
from snnsim.network import Network

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
FASHION_MNIST_FILES = {"train_x": "train-images-idx3-ubyte", "train_y": "train-labels-idx1-ubyte",
                       "test_x": "t10k-images-idx3-ubyte", "test_y": "t10k-labels-idx1-ubyte"}
#: IDX type codes -> numpy dtypes (big-endian)
IDX_TYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
             0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


@dataclass
class Dataset:
    """Features ``(n, d)`` in ``[0, 1]`` (float32) and labels ``(n,)`` (int64) for each split."""

    name: str
    train: tuple
    val: tuple
    test: tuple
    n_classes: int

    @property
    def n_features(self) -> int:
        return self.train[0].shape[1]


def read_idx(path) -> np.ndarray:
    """Read an IDX file (``.gz`` or plain): magic ``0 0 type ndim``, ``ndim`` big-endian sizes, data."""
    path = os.fspath(path)
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise FileFormatError(f"{path}: no such file") from None
    except (OSError, EOFError) as exc:
        raise FileFormatError(f"{path}: cannot read ({exc})") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise FileFormatError(f"{path}: not an IDX file (magic bytes {raw[:4].hex() or 'missing'})")
    code, ndim = raw[2], raw[3]
    if code not in IDX_TYPES:
        raise FileFormatError(f"{path}: unknown IDX data type 0x{code:02x}")
    if ndim == 0 or len(raw) < 4 + 4 * ndim:
        raise FileFormatError(f"{path}: truncated IDX header ({ndim} dimensions)")
    shape = tuple(int(s) for s in np.frombuffer(raw, ">u4", ndim, 4))
    dtype = IDX_TYPES[code]
    expected = int(np.prod(shape)) * dtype.itemsize
    body = raw[4 + 4 * ndim:]
    if len(body) != expected:
        raise FileFormatError(f"{path}: IDX data holds {len(body)} bytes, its header {shape} says {expected}")
    return np.frombuffer(body, dtype).reshape(shape).astype(dtype.newbyteorder("="))


def _find(folder: str, stem: str) -> str:
    for name in (stem + ".gz", stem):
        p = os.path.join(folder, name)
        if os.path.exists(p):
            return p
    raise FileFormatError(f"{folder}: no {stem}[.gz]; install the Debian package dataset-fashion-mnist or pass the "
                          f"folder holding the Fashion-MNIST IDX files")


def check_seed(seed, where: str = "task") -> int:
    """``seed`` as an int in ``[0, 2**32)`` (what numpy and scikit-learn accept), else NetworkError."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2 ** 32:
        raise NetworkError(where, "seed", f"must be an integer in [0, 2**32), got {seed!r}")
    return int(seed)


def _split_val(x, y, n_val: int, seed: int):
    order = np.random.default_rng(seed).permutation(len(y))
    val, train = order[:n_val], order[n_val:]
    return (x[train], y[train]), (x[val], y[val])


def load_digits_task(seed: int = 0) -> Dataset:
    """scikit-learn's 8x8 digits (1797 samples): 20 % test (stratified), 10 % of the rest validation."""
    seed = check_seed(seed, "digits task")
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    d = load_digits()
    x = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.2, stratify=y, random_state=seed)
    train, val = _split_val(x_tr, y_tr, len(y_tr) // 10, seed)
    return Dataset("digits", train, val, (x_te, y_te), 10)


def load_fashion_mnist_task(folder: str = FASHION_MNIST_DIR, seed: int = 0, n_val: int = 5000) -> Dataset:
    """Fashion-MNIST (28x28, 60 000 train, 10 000 test) from IDX files; ``n_val`` train samples validate."""
    seed = check_seed(seed, "fashion-mnist task")
    arrays = {key: read_idx(_find(folder, stem)) for key, stem in FASHION_MNIST_FILES.items()}
    for split in ("train", "test"):
        xs, ys = arrays[f"{split}_x"], arrays[f"{split}_y"]
        if xs.ndim != 3 or ys.ndim != 1 or len(xs) != len(ys):
            raise FileFormatError(f"{folder}: {split} images {xs.shape} and labels {ys.shape} do not match")
    flat = lambda a: (a.reshape(len(a), -1) / 255.0).astype(np.float32)  # noqa: E731
    train, val = _split_val(flat(arrays["train_x"]), arrays["train_y"].astype(np.int64), n_val, seed)
    test = (flat(arrays["test_x"]), arrays["test_y"].astype(np.int64))
    return Dataset("fashion-mnist", train, val, test, 10)


def classifier_network(n_in: int, hidden: tuple = (128,), n_out: int = 10, *, recurrent: bool = False,
                       neuron: str = "cubalif", dt: float = 1e-3, integration: str = "euler",
                       tau_mem: float = 10e-3, tau_syn: float = 5e-3, readout_tau_mem: float = 10e-3,
                       readout_tau_syn: float = 5e-3, gain: float = 1.0, seed: int = 0,
                       input_kind: str = "spikes") -> Network:
    """``input`` -> hidden layers -> ``output`` (LI readout), dense, one-step delays.

    ``input_kind="spikes"``: ``input`` is a spike source (rate or latency coding);
    ``"current"``: ``input`` is a population of LIF neurons driven by an injected current
    (direct coding; the current is given per sample).

    Initial weights are normal with standard deviation ``gain / sqrt(n_pre)`` (scaled by the
    synaptic time constant so a spike moves ``v`` comparably for LIF and CubaLIF), drawn
    from ``seed``.
    """
    if neuron not in ("cubalif", "lif"):
        raise NetworkError("classifier", "neuron", f"must be 'cubalif' or 'lif', got {neuron!r}")
    if not hidden:
        raise NetworkError("classifier", "hidden", "needs at least one hidden layer")
    net = Network(dt=dt, integration=integration, seed=seed, name="classifier")
    if input_kind == "spikes":
        net.add_spike_source("input", n_in, [])
    elif input_kind == "current":
        net.add_population("input", n_in, LIF(tau_mem=tau_mem))
    else:
        raise NetworkError("classifier", "input_kind", f"must be 'spikes' or 'current', got {input_kind!r}")
    rng = np.random.default_rng([seed, 7])
    syn_scale = tau_mem / tau_syn if neuron == "cubalif" else 1.0
    pre, n_pre = "input", n_in
    for k, size in enumerate(hidden):
        name = f"hidden{k}"
        model = CubaLIF(tau_mem=tau_mem, tau_syn=tau_syn) if neuron == "cubalif" else LIF(tau_mem=tau_mem)
        net.add_population(name, size, model)
        w = rng.normal(0.0, gain * syn_scale / np.sqrt(n_pre), (size, n_pre))
        net.connect(pre, name, w)
        if recurrent:
            wr = rng.normal(0.0, 0.5 * gain * syn_scale / np.sqrt(size), (size, size))
            net.connect(name, name, wr)
        pre, n_pre = name, size
    net.add_population("output", n_out, LI(tau_mem=readout_tau_mem, tau_syn=readout_tau_syn))
    w = rng.normal(0.0, gain * readout_tau_mem / readout_tau_syn / np.sqrt(n_pre), (n_out, n_pre))
    net.connect(pre, "output", w)
    return net
