"""Train a CapsNet on a dataset through the shared :class:`snnsim.training.Trainer` and report figures."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch

from snnsim.capsnet.data import load_dataset
from snnsim.capsnet.model import CONFIGS, CapsNet, capsnet_step
from snnsim.training.trainer import TrainConfig, Trainer


@dataclass
class CapsRun:
    """What to train. ``limit``: use only the first N training samples; ``max_shift`` in px."""

    dataset: str = "digits"
    config: str = "small"
    epochs: int = 30
    batch_size: int = 32
    lr: float = 1e-3
    max_shift: Optional[int] = None  #: default: the config's (2 px on 28x28, 1 px on 8x8)
    seed: int = 0
    limit: Optional[int] = None
    device: str = "cpu"
    iterations: int = 3


def train_capsnet(run: CapsRun, checkpoint=None, resume: bool = False, progress=None):
    """Returns ``(figures, model, dataset)``; figures hold test_accuracy, parameters and the history."""
    t0 = time.perf_counter()
    ds = load_dataset(run.dataset, run.seed)
    torch.manual_seed(run.seed)
    model = CapsNet(dataclasses.replace(CONFIGS[run.config], iterations=run.iterations)).to(run.device)
    x_tr, y_tr = ds.train
    if run.limit:
        x_tr, y_tr = x_tr[:run.limit], y_tr[:run.limit]
    as_t = lambda a: torch.as_tensor(np.ascontiguousarray(a))  # noqa: E731
    shift = CONFIGS[run.config].max_shift if run.max_shift is None else run.max_shift
    trainer = Trainer(model, capsnet_step(shift), (as_t(x_tr), as_t(y_tr)), (as_t(ds.val[0]), as_t(ds.val[1])),
                      TrainConfig(epochs=run.epochs, batch_size=run.batch_size, lr=run.lr, schedule="exponential",
                                  gamma=0.95, seed=run.seed),
                      checkpoint=checkpoint, resume=resume, progress=progress)
    t1 = time.perf_counter()
    h = trainer.fit()
    train_s = time.perf_counter() - t1
    test_loss, test_acc = trainer.evaluate_loss(as_t(ds.test[0]), as_t(ds.test[1]), batch_size=256)
    n_par = sum(p.numel() for p in model.parameters())
    n_dec = sum(p.numel() for p in model.decoder.parameters())
    figures = {"dataset": run.dataset, "config": run.config, "test_accuracy": test_acc, "test_loss": test_loss,
               "best_val_accuracy": h.best_val_accuracy, "epochs": len(h.train_loss),
               "train_samples": int(len(y_tr)), "test_samples": int(len(ds.test[1])), "parameters": int(n_par),
               "parameters_without_decoder": int(n_par - n_dec), "routing_iterations": model.config.iterations,
               "device": run.device, "train_s": train_s, "wall_s": time.perf_counter() - t0,
               "history": {"train_loss": h.train_loss, "train_accuracy": h.train_accuracy,
                           "val_accuracy": h.val_accuracy, "val_loss": h.val_loss}}
    return figures, model, ds
