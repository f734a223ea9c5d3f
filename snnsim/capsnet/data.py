"""Datasets for CapsNet: ``digits`` (sklearn, 8x8), ``fashion-mnist`` (Debian package) and ``idx:DIR``
(a folder holding the four MNIST-format IDX files, named as in MNIST, optionally ``.gz``)."""

from __future__ import annotations

import numpy as np

from snnsim.errors import FileFormatError
from snnsim.training.tasks import (FASHION_MNIST_DIR, Dataset, load_digits_task, load_fashion_mnist_task)


def _check_idx(ds: Dataset, folder: str) -> Dataset:
    """Refuse IDX data that is not 28x28 uint8 images with labels 0..9 (names the file and item)."""
    names = {"train": "train-labels-idx1-ubyte", "test": "t10k-labels-idx1-ubyte"}
    for split, (x, y) in (("train", ds.train), ("test", ds.test)):
        if x.shape[1] != 28 * 28:
            raise FileFormatError(f"{folder}: {split} images hold {x.shape[1]} pixels each, expected 28x28")
        bad = np.flatnonzero((y < 0) | (y > 9))
        if len(bad):
            raise FileFormatError(f"{folder}/{names[split]}: item {int(bad[0])} has label {int(y[bad[0]])}, "
                                  f"expected 0..9")
    return ds


def load_dataset(name: str, seed: int = 0, n_val: int = 5000) -> Dataset:
    """``digits``, ``fashion-mnist`` or ``idx:DIR``; features ``(n, side*side)`` in ``[0, 1]``."""
    if name == "digits":
        return load_digits_task(seed)
    if name == "fashion-mnist":
        return load_fashion_mnist_task(FASHION_MNIST_DIR, seed, n_val)
    if name.startswith("idx:"):
        folder = name[4:]
        return _check_idx(load_fashion_mnist_task(folder, seed, n_val), folder)
    raise FileFormatError(f"dataset {name!r}: expected digits, fashion-mnist or idx:DIR")
