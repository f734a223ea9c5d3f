"""CapsNet: squash, routing and margin loss against hand-computed cases; the model's sizes; training."""

import gzip
import math
import os

import numpy as np
import pytest
import torch

from snnsim.capsnet import CONFIGS, CapsNet, capsnet_step, shift_images
from snnsim.capsnet.data import load_dataset
from snnsim.core import margin_loss, route, squash
from snnsim.errors import FileFormatError


def test_squash_by_hand():
    s = torch.tensor([[3.0, 4.0], [0.0, 0.0], [0.1, 0.0]])
    v = squash(s)
    # |s| = 5: |v| = 25 / 26, direction (0.6, 0.8)
    assert torch.allclose(v[0], torch.tensor([0.6, 0.8]) * 25 / 26, atol=1e-6)
    assert torch.allclose(v[1], torch.zeros(2))
    assert v[2, 0].item() == pytest.approx(0.01 / 1.01, rel=1e-4)
    norms = squash(10 * torch.randn(100, 16)).norm(dim=-1)
    assert (norms >= 0).all() and (norms < 1).all()


def _route_by_hand(iterations):
    """Two children, two parents, 2-D: child predictions agree on parent 0 and cancel on parent 1."""
    u = [[(1.0, 0.0), (0.0, 1.0)], [(1.0, 0.0), (0.0, -1.0)]]   # u[i][j]
    b = [[0.0, 0.0], [0.0, 0.0]]
    for it in range(iterations):
        c = [[math.exp(b[i][j]) / (math.exp(b[i][0]) + math.exp(b[i][1])) for j in range(2)] for i in range(2)]
        v = []
        for j in range(2):
            s = [c[0][j] * u[0][j][k] + c[1][j] * u[1][j][k] for k in range(2)]
            n2 = s[0] ** 2 + s[1] ** 2
            v.append([x * n2 / (1 + n2) / math.sqrt(n2) if n2 > 0 else 0.0 for x in s])
        if it + 1 < iterations:
            b = [[b[i][j] + sum(u[i][j][k] * v[j][k] for k in range(2)) for j in range(2)] for i in range(2)]
    return v, c


@pytest.mark.parametrize("iterations", [1, 2, 3])
def test_routing_by_hand(iterations):
    u_hat = torch.tensor([[[[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, -1.0]]]], dtype=torch.float64)
    v, c = route(u_hat, iterations)
    v_ref, c_ref = _route_by_hand(iterations)
    assert torch.allclose(v[0], torch.tensor(v_ref, dtype=torch.float64), atol=1e-7)
    assert torch.allclose(c[0], torch.tensor(c_ref, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(c.sum(2), torch.ones(1, 2, dtype=torch.float64))
    if iterations == 1:
        assert torch.allclose(c, torch.full_like(c, 0.5))
    else:   # the agreeing parent gains coupling, above the uniform 0.5 (0.6225 after one update)
        assert (c[0, :, 0] > 0.6).all()
    if iterations == 2:   # c = e^.5 / (e^.5 + 1); |s| = 2c; |v| = |s|^2 / (1 + |s|^2)
        cc = math.exp(0.5) / (math.exp(0.5) + 1)
        assert v[0, 0].norm().item() == pytest.approx((2 * cc) ** 2 / (1 + (2 * cc) ** 2), rel=1e-6)


def test_routing_couplings_sum_to_one_random():
    v, c = route(torch.randn(3, 20, 5, 4), 3)
    assert torch.allclose(c.sum(2), torch.ones(3, 20), atol=1e-6)
    assert ((v.norm(dim=-1) >= 0) & (v.norm(dim=-1) < 1)).all()


def test_routing_gradient_finite_differences():
    u = torch.randn(2, 4, 3, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: route(t, 3)[0], (u,), eps=1e-6, atol=1e-5)


def test_margin_loss_by_hand():
    lengths = torch.tensor([[0.95, 0.3], [0.5, 0.05]])
    y = torch.tensor([0, 0])
    # sample 0: present 0, absent 0.5 * 0.2^2 = 0.02; sample 1: present 0.4^2 = 0.16, absent 0
    assert margin_loss(lengths, y).item() == pytest.approx(0.09, rel=1e-6)
    assert margin_loss(lengths, torch.tensor([1, 1])).item() == pytest.approx(
        ((0.6 ** 2 + 0.5 * 0.85 ** 2) + (0.85 ** 2 + 0.5 * 0.4 ** 2)) / 2, rel=1e-6)


def test_paper_parameter_counts():
    m = CapsNet(CONFIGS["paper"])
    conv1 = 256 * 9 * 9 + 256                      # 20 992
    primary = 256 * 256 * 9 * 9 + 256              # 5 308 672 (32 types x 8D = 256 channels)
    digit = (32 * 6 * 6) * 10 * 16 * 8             # 1 474 560
    decoder = (160 * 512 + 512) + (512 * 1024 + 1024) + (1024 * 784 + 784)   # 1 411 344
    assert conv1 + primary + digit == 6_804_224
    assert conv1 + primary + digit + decoder == 8_215_568
    total = sum(p.numel() for p in m.parameters())
    assert total == 8_215_568
    assert total - sum(p.numel() for p in m.decoder.parameters()) == 6_804_224
    assert m.config.n_primary == 1152


def test_forward_backward_28x28():
    torch.manual_seed(0)
    m = CapsNet(CONFIGS["mid"])
    x, y = torch.rand(3, 784), torch.tensor([1, 4, 7])
    loss, scores = capsnet_step(2)(m, x, y, torch.Generator().manual_seed(0))
    loss.backward()
    assert scores.shape == (3, 10) and torch.isfinite(loss)
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in m.parameters())
    assert m.reconstruct(m(x), y).shape == (3, 784)


def test_shift_images_moves_pixels():
    x = torch.zeros(50, 36)
    x[:, 2 * 6 + 3] = 1.0
    out = shift_images(x, 6, 2, torch.Generator().manual_seed(1)).reshape(50, 6, 6)
    assert (out.sum((1, 2)) == 1).all()           # a centre pixel never leaves the 6x6 image
    rows, cols = out.nonzero()[:, 1], out.nonzero()[:, 2]
    assert set(rows.tolist()) == {0, 1, 2, 3, 4} and set(cols.tolist()) == {1, 2, 3, 4, 5}


def _write_idx(path, array):
    code = 0x08
    header = bytes([0, 0, code, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_idx_folder_validation(tmp_path):
    rng = np.random.default_rng(0)
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", rng.integers(0, 255, (20, 28, 28)))
    labels = rng.integers(0, 10, 20)
    labels[7] = 12
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", rng.integers(0, 255, (5, 28, 28)))
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", rng.integers(0, 10, 5))
    with pytest.raises(FileFormatError, match=r"train-labels-idx1-ubyte.*item \d+ has label 12"):
        load_dataset(f"idx:{tmp_path}", n_val=5)
    labels[7] = 3
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels)
    ds = load_dataset(f"idx:{tmp_path}", n_val=5)
    assert ds.train[0].shape == (15, 784) and ds.test[0].shape == (5, 784)


def test_small_capsnet_digits_accuracy(tmp_path):
    """CI training test, through the command line: the small CapsNet on sklearn's digits reaches
    >= 98.5 % test accuracy. It runs in its own process: torch's OpenMP threads and NEST's
    (tests/test_event_nest.py) crash when they meet in one process."""
    import json
    import subprocess
    import sys
    cmd = [sys.executable, "-m", "snnsim.cli", "train", "capsnet", "--dataset", "digits",
           "--epochs", os.environ.get("CAPSNET_EPOCHS", "25"), "--threads", str(min(2, os.cpu_count() or 1)),
           "--no-progress", "--json"]
    out = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=1800)
    assert out.returncode == 0, out.stderr[-3000:]
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    assert figures["parameters"] == 472_256
    assert figures["test_accuracy"] >= 0.985, figures["test_accuracy"]
