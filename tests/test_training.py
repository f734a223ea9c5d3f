"""Encoders, decoders, the trainer (checkpoints, resume, early stopping), the tasks, and the
trained digits network on the CPU engine."""

import gzip
import os
import struct

import numpy as np
import pytest
import torch

from snnsim.errors import FileFormatError, NetworkError
from snnsim.io.checkpoint import load_checkpoint, save_checkpoint
from snnsim.training import (Encoding, TrainConfig, Trainer, classifier_network, direct_current, engine_scores,
                             latency, load_digits_task, load_fashion_mnist_task, make_step, max_membrane,
                             mean_membrane, poisson_rate, read_idx, spike_count, torch_scores)
from snnsim.training.run import TaskSpec, train_task
from snnsim.training.trainer import _generator


# ------------------------------------------------------------------ encoders
def test_poisson_rate_has_the_binomial_mean():
    x = torch.tensor([[0.0, 0.25, 1.0]])
    s = poisson_rate(x.expand(2000, 3), 50, 1e-3, 400.0, torch.Generator().manual_seed(1))
    assert s.shape == (50, 2000, 3)
    p = s.mean((0, 1))
    expected = torch.tensor([0.0, 0.1, 0.4])     # x * 400 Hz * 1 ms
    sigma = torch.sqrt(expected * (1 - expected) / 100000)
    assert float(p[0]) == 0.0
    assert ((p - expected).abs() <= 5 * sigma + 1e-12).all()
    again = poisson_rate(x.expand(2000, 3), 50, 1e-3, 400.0, torch.Generator().manual_seed(1))
    assert torch.equal(s, again)
    with pytest.raises(NetworkError, match="max_rate.*2000"):
        poisson_rate(x, 5, 1e-3, 2000.0)
    with pytest.raises(NetworkError, match="x.*\\[0, 1\\].*1.5"):
        poisson_rate(torch.tensor([[1.5]]), 5, 1e-3, 100.0)


def test_latency_fires_once_at_the_closed_form_step():
    x = torch.tensor([[1.0, 0.5, 0.0, 0.26]])
    s = latency(x, 11)
    assert s.sum(0).tolist() == [[1.0, 1.0, 0.0, 1.0]]
    steps = s[:, 0].argmax(0).tolist()
    assert steps[0] == 0 and steps[1] == 5 and steps[3] == round(0.74 * 10)


def test_direct_current_is_constant_in_time():
    x = torch.tensor([[0.2, 0.9]])
    c = direct_current(x, 4, 3.0)
    assert c.shape == (4, 1, 2) and torch.allclose(c, torch.tensor([0.6, 2.7]).expand(4, 1, 2))
    with pytest.raises(NetworkError, match="steps.*0"):
        direct_current(x, 0, 1.0)


def test_decoders_closed_forms():
    z = torch.tensor([[[1.0, 0.0]], [[1.0, 1.0]], [[0.0, 1.0]]])
    v = torch.tensor([[[0.1, -0.5]], [[0.7, 0.2]], [[0.4, 0.9]]])
    assert spike_count(z).tolist() == [[2.0, 2.0]]
    assert max_membrane(v).tolist() == [[pytest.approx(0.7), pytest.approx(0.9)]]
    assert mean_membrane(v).tolist() == [[pytest.approx(0.4), pytest.approx(0.2)]]
    assert np.allclose(max_membrane(v.numpy()), [[0.7, 0.9]])


# -------------------------------------------------------------------- tasks
def write_idx(path, array, code=0x08):
    header = struct.pack(">BBBB", 0, 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    body = array.astype({0x08: ">u1", 0x0D: ">f4"}[code]).tobytes()
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(header + body)


def test_idx_reader_on_synthetic_files(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a.gz", images)
    write_idx(tmp_path / "b", images)
    floats = np.array([[1.5, -2.0]], dtype=np.float32)
    write_idx(tmp_path / "f", floats, code=0x0D)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.gz"), images)
    np.testing.assert_array_equal(read_idx(str(tmp_path / "b")), images)
    np.testing.assert_array_equal(read_idx(tmp_path / "f"), floats)
    (tmp_path / "bad").write_bytes(b"\x01\x02\x08\x01\x00\x00\x00\x01x")
    with pytest.raises(FileFormatError, match="bad: not an IDX file"):
        read_idx(tmp_path / "bad")
    raw = (tmp_path / "b").read_bytes()
    (tmp_path / "short").write_bytes(raw[:-3])
    with pytest.raises(FileFormatError, match="short: IDX data holds 21 bytes.*24"):
        read_idx(tmp_path / "short")
    (tmp_path / "code").write_bytes(b"\x00\x00\x07\x01\x00\x00\x00\x01x")
    with pytest.raises(FileFormatError, match="unknown IDX data type 0x07"):
        read_idx(tmp_path / "code")
    with pytest.raises(FileFormatError, match="no such file"):
        read_idx(tmp_path / "missing")


def test_fashion_mnist_loader_reads_a_folder_of_idx_files(tmp_path):
    rng = np.random.default_rng(0)
    for stem, n in (("train", 30), ("t10k", 10)):
        write_idx(tmp_path / f"{stem}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(tmp_path / f"{stem}-labels-idx1-ubyte.gz", rng.integers(0, 10, n))
    data = load_fashion_mnist_task(str(tmp_path), n_val=5)
    assert data.train[0].shape == (25, 784) and data.val[0].shape == (5, 784) and data.test[0].shape == (10, 784)
    assert data.train[0].max() <= 1.0 and data.train[0].dtype == np.float32
    with pytest.raises(FileFormatError, match="dataset-fashion-mnist"):
        load_fashion_mnist_task(str(tmp_path / "nowhere"))


# ------------------------------------------------------------------ trainer
def tiny_problem():
    data = load_digits_task()
    train = (data.train[0][:256], data.train[1][:256])
    net = classifier_network(64, (32,), 10, recurrent=True, seed=3)
    return data, train, net


def make_trainer(net, train, val, epochs, path=None, resume=False, patience=None):
    from snnsim.backends.torch import TorchNetwork
    model = TorchNetwork(net)
    enc = Encoding("poisson", 10, 500.0)
    config = TrainConfig(epochs=epochs, batch_size=64, lr=1e-2, seed=5, patience=patience)
    return Trainer(model, make_step(enc, "max"), train, val, config, checkpoint=path, resume=resume, progress=False)


def test_resume_from_a_checkpoint_gives_the_uninterrupted_run(tmp_path):
    data, train, net = tiny_problem()
    val = (data.val[0][:64], data.val[1][:64])
    straight = make_trainer(net, train, val, 3)
    straight.fit()
    path = tmp_path / "ckpt.h5"
    first = make_trainer(net, train, val, 3, path)
    first.config.epochs = 2            # "interrupted" after two epochs
    first.fit()
    assert load_checkpoint(path)["epoch"] == 2
    resumed = make_trainer(net, train, val, 3, path, resume=True)
    assert resumed.epoch == 2
    resumed.fit()
    for key, value in straight.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[key]), key
    assert straight.history.train_loss == resumed.history.train_loss
    assert straight.history.val_accuracy == resumed.history.val_accuracy
    # a resumed run refuses other settings
    with pytest.raises(NetworkError, match="batch_size.*32.*64"):
        t = make_trainer(net, train, val, 3)
        t.config.batch_size = 32
        t.checkpoint = str(path)
        t._load(str(path))


def test_early_stopping_restores_the_best_model(tmp_path):
    data, train, net = tiny_problem()
    val = (data.val[0][:64], data.val[1][:64])
    t = make_trainer(net, train, val, 40, patience=2)
    t.config.lr = 0.5        # too large: validation accuracy soon stops improving
    t.optimizer.param_groups[0]["lr"] = 0.5
    h = t.fit()
    assert h.stopped_early and len(h.val_accuracy) < 40
    assert h.val_accuracy[h.best_epoch - 1] == max(h.val_accuracy)
    assert t.evaluate(*val) == pytest.approx(h.best_val_accuracy)


def test_trainer_settings_are_checked():
    for field, value in (("epochs", 0), ("lr", -1.0), ("optimizer", "rmsprop"), ("schedule", "warm"),
                         ("patience", 0), ("batch_size", 2.5)):
        with pytest.raises(NetworkError, match=f"trainer: {field}: .*{value!r}"):
            TrainConfig(**{field: value}).check()


def test_checkpoint_files_round_trip_and_reject_garbage(tmp_path):
    state = {"a": torch.arange(3, dtype=torch.float32), "b": {0: [1, 2.5, None], 1: (True, "x")},
             "c": np.ones((2, 2))}
    path = tmp_path / "c.h5"
    save_checkpoint(state, path)
    back = load_checkpoint(path)
    assert torch.equal(back["a"], state["a"]) and back["a"].dtype == torch.float32
    assert back["b"] == {0: [1, 2.5, None], 1: (True, "x")}
    np.testing.assert_array_equal(back["c"], state["c"])
    before = path.read_bytes()
    with pytest.raises(TypeError, match="cannot store object"):
        save_checkpoint({"x": object()}, path)
    assert path.read_bytes() == before                         # the old checkpoint is untouched
    assert [p.name for p in tmp_path.iterdir()] == ["c.h5"]    # and no temporary file is left
    (tmp_path / "junk.h5").write_bytes(b"not hdf5 at all")
    with pytest.raises(FileFormatError, match="junk.h5"):
        load_checkpoint(tmp_path / "junk.h5")


# ------------------------------------------------------------ digits, end to end
def test_digits_reaches_95_percent_and_the_cpu_engine_predicts_the_same_classes(tmp_path):
    figures, model = train_task(TaskSpec("digits"), out=tmp_path / "digits.h5", check_engine=360, progress=False)
    assert figures["test_accuracy"] >= 0.95
    assert figures["engine_samples"] == 360
    assert figures["engine_agreement"] >= 0.999         # float32: 360 of 360
    assert os.path.exists(tmp_path / "digits.h5")


def test_float64_trained_digits_network_gives_the_same_class_on_the_cpu_engine():
    data = load_digits_task()
    figures, model = train_task(TaskSpec("digits", epochs=4, dtype="float64"), progress=False)
    trained = model.to_network()
    enc = Encoding("poisson", 30, 500.0)
    x = np.concatenate([data.test[0], data.val[0]])
    ours = torch_scores(model, enc, x, "max", _generator(9))
    engine = engine_scores(trained, enc, x, "max", _generator(9), arithmetic="float64")
    np.testing.assert_array_equal(ours.argmax(1), engine.argmax(1))
    np.testing.assert_allclose(ours, engine, rtol=0, atol=1e-9)


# ------------------------------------------------------- the trainer, beyond SNN classifiers
class _Pairwise(torch.nn.Module):
    """A model whose batch is a tuple (a, b) of tensors: scores = [a.w, b.w] per sample."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor([1.0, -1.0]))


def _pair_step(model, x, y, generator):
    a, b = x
    scores = torch.stack([torch.as_tensor(a) @ model.w, torch.as_tensor(b) @ model.w], 1)
    return torch.nn.functional.cross_entropy(scores, y), scores


def test_trainer_takes_tuple_batches_and_a_pluggable_metric():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(40, 2)).astype(np.float32)
    b = rng.normal(size=(40, 2)).astype(np.float32)
    y = np.array([0, 1] * 20)
    seen = []

    def metric(scores, labels):             # counts every sample as correct: accuracy 1 exactly
        seen.append(len(labels))
        return float(len(labels))
    model = _Pairwise()
    t = Trainer(model, _pair_step, ((a, b), y), ((a[:8], b[:8]), y[:8]),
                TrainConfig(epochs=2, batch_size=16, lr=0.1, optimizer="sgd", schedule="constant"),
                progress=False, metric=metric)
    h = t.fit()
    assert h.train_accuracy == [1.0, 1.0] and h.val_accuracy == [1.0, 1.0]
    assert seen[:3] == [16, 16, 8]           # batches of the 40 training samples, then validation
    # the default metric is the argmax: by hand on the first 8 samples with the trained w
    w = model.w.detach().numpy()
    by_hand = np.mean(np.argmax(np.stack([a[:8] @ w, b[:8] @ w], 1), 1) == y[:8])
    t.metric = __import__("snnsim.training.trainer", fromlist=["argmax_correct"]).argmax_correct
    assert t.evaluate((a[:8], b[:8]), y[:8]) == pytest.approx(by_hand)


def test_trainer_refuses_inputs_and_labels_of_different_lengths():
    x = np.zeros((10, 2), np.float32)
    with pytest.raises(NetworkError, match="trainer: train: inputs hold 10 samples but labels 9"):
        Trainer(_Pairwise(), _pair_step, ((x, x), np.zeros(9, int)))
    with pytest.raises(NetworkError, match="trainer: train inputs: .*different numbers of samples: \\[9, 10\\]"):
        Trainer(_Pairwise(), _pair_step, ((x, x[:9]), np.zeros(10, int)))
    with pytest.raises(NetworkError, match="trainer: val: inputs hold 10 samples but labels 3"):
        Trainer(_Pairwise(), _pair_step, ((x, x), np.zeros(10, int)), ((x, x), np.zeros(3, int)))


def test_gradient_clipping_and_the_halving_schedule():
    # one sample, SGD without momentum: the update is lr * clipped gradient, computed by hand
    a = np.array([[3.0, 4.0]], np.float32)
    b = np.array([[0.0, 0.0]], np.float32)
    y = np.array([1])
    model = _Pairwise()
    w0 = model.w.detach().clone()
    cfg = TrainConfig(epochs=3, batch_size=1, lr=0.5, optimizer="sgd", momentum=0.0, schedule="step", gamma=0.5,
                      step_every=1, clip_grad_norm=1e-3)
    t = Trainer(model, _pair_step, ((a, b), y), config=cfg, progress=False)
    h = t.fit()
    assert h.lr == [0.5, 0.25, 0.125]
    # every gradient is far above 1e-3, so each step moves w by lr * 1e-3 exactly, along -grad
    moved = float(torch.linalg.vector_norm(model.w.detach() - w0))
    assert moved == pytest.approx((0.5 + 0.25 + 0.125) * 1e-3, rel=1e-4)
    for field, value in (("gamma", 0.0), ("gamma", 1.5), ("momentum", 1.0), ("step_every", 0),
                         ("clip_grad_norm", -1.0), ("seed", True)):
        with pytest.raises(NetworkError, match=f"trainer: {field}: "):
            TrainConfig(**{field: value}).check()
