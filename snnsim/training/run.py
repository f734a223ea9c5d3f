"""One training run of a built-in task, end to end: what ``snnsim train`` does.

Data -> network description -> ``TorchNetwork`` -> ``Trainer`` -> test accuracy -> the trained
network back into a ``Network`` (saved to HDF5) -> optional check on a simulation engine that it
predicts the same classes.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import torch

from snnsim.errors import NetworkError
from snnsim.training.classify import Encoding, engine_scores, make_step, torch_scores
from snnsim.training.tasks import FASHION_MNIST_DIR, classifier_network, load_digits_task, load_fashion_mnist_task
from snnsim.training.trainer import TrainConfig, Trainer, _generator

TASKS = ("digits", "fashion-mnist")

#: defaults per task, measured to reach the accuracy bars (benchmarks/RESULTS.md)
TASK_DEFAULTS = {
    "digits": dict(hidden=(128,), steps=30, epochs=30, batch_size=32, lr=2e-2, max_rate=500.0),
    "fashion-mnist": dict(hidden=(256,), steps=25, epochs=15, batch_size=128, lr=5e-3, max_rate=500.0),
}


@dataclass
class TaskSpec:
    """Everything that defines a run (``None`` takes the task's default)."""

    task: str = "digits"
    hidden: tuple | None = None
    recurrent: bool = False
    neuron: str = "cubalif"
    steps: int | None = None
    encoder: str = "poisson"
    max_rate: float | None = None
    decoder: str = "max"
    dt: float = 1e-3
    integration: str = "euler"
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    patience: int | None = None
    seed: int = 0
    dtype: str = "float32"
    data_dir: str = FASHION_MNIST_DIR
    limit: int | None = None          #: use only this many training samples (quick runs)
    learn_tau: bool = False
    learn_threshold: bool = False

    def resolved(self) -> "TaskSpec":
        if self.task not in TASKS:
            raise NetworkError("train", "task", f"must be one of {TASKS}, got {self.task!r}")
        spec = TaskSpec(**asdict(self))
        for key, value in TASK_DEFAULTS[self.task].items():
            if getattr(spec, key) is None:
                setattr(spec, key, value)
        return spec


def train_task(spec: TaskSpec, *, checkpoint=None, resume: bool = False, out=None, check_engine: int = 0,
               progress: bool | None = None, threads: int | None = None) -> tuple[dict, object]:
    """Train; returns ``(figures, model)``. ``check_engine``: run that many test samples on the CPU engine."""
    t_start = time.perf_counter()
    spec = spec.resolved()
    # default 1 thread: faster than 2 on the digits and Fashion-MNIST configurations (docs/training.md);
    # the figures are the same with any number (the weight gradients are summed in fixed slices)
    torch.set_num_threads(threads or 1)
    data = load_digits_task(spec.seed) if spec.task == "digits" else load_fashion_mnist_task(spec.data_dir,
                                                                                              spec.seed)
    train = data.train
    if spec.limit:
        train = (train[0][:spec.limit], train[1][:spec.limit])
    net = classifier_network(data.n_features, tuple(spec.hidden), data.n_classes, recurrent=spec.recurrent,
                             neuron=spec.neuron, dt=spec.dt, integration=spec.integration, seed=spec.seed,
                             input_kind="current" if spec.encoder == "current" else "spikes")
    from snnsim.backends.torch import TorchNetwork
    model = TorchNetwork(net, dtype=spec.dtype, learn_tau=spec.learn_tau, learn_threshold=spec.learn_threshold)
    enc = Encoding(spec.encoder, spec.steps, spec.max_rate).check()
    config = TrainConfig(epochs=spec.epochs, batch_size=spec.batch_size, lr=spec.lr, patience=spec.patience,
                         seed=spec.seed)
    trainer = Trainer(model, make_step(enc, spec.decoder), train, data.val, config, checkpoint=checkpoint,
                      resume=resume, progress=progress)
    t0 = time.perf_counter()
    history = trainer.fit()
    train_s = time.perf_counter() - t0
    x_test, y_test = data.test
    scores = torch_scores(model, enc, x_test, spec.decoder, _generator(spec.seed, 2**32))
    test_accuracy = float((scores.argmax(1) == y_test).mean())
    trained = model.to_network()
    figures = {
        "task": spec.task, "test_accuracy": test_accuracy,
        "val_accuracy": history.val_accuracy[-1] if history.val_accuracy else None,
        "best_val_accuracy": history.best_val_accuracy, "epochs": len(history.train_loss),
        "stopped_early": history.stopped_early, "train_samples": len(train[1]), "test_samples": len(y_test),
        "steps": spec.steps, "dt_s": spec.dt, "hidden": list(spec.hidden), "recurrent": spec.recurrent,
        "encoder": spec.encoder, "decoder": spec.decoder, "dtype": spec.dtype,
        "parameters": int(sum(p.numel() for p in model.parameters() if p.requires_grad)),
        "train_s": train_s, "history": {"train_loss": history.train_loss, "val_accuracy": history.val_accuracy},
        "engine_samples": 0, "engine_agreement": None, "engine_test_accuracy": None, "network_h5": None,
    }
    if check_engine:
        n = min(check_engine, len(y_test))
        ours = torch_scores(model, enc, x_test[:n], spec.decoder, _generator(spec.seed, 2**32)).argmax(1)
        engine = engine_scores(trained, enc, x_test[:n], spec.decoder, _generator(spec.seed, 2**32),
                               arithmetic=spec.dtype).argmax(1)
        figures.update(engine_samples=n, engine_agreement=float((engine == ours).mean()),
                       engine_test_accuracy=float((engine == y_test[:n]).mean()))
    if out:
        from snnsim.io import save_network
        save_network(trained, out)
        figures["network_h5"] = str(out)
    figures["wall_s"] = time.perf_counter() - t_start
    return figures, model
