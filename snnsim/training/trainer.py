"""The trainer shared by everything that trains in snnsim.

``Trainer(model, step, train, val)`` runs epochs of mini-batches. ``step(model, x, y, generator)``
returns ``(loss, scores)`` for one batch (``scores (B, n_classes)``; the class is their argmax);
the trainer owns the optimiser and its schedule, the progress bar, validation, an HDF5
checkpoint at the end of every epoch, resuming, early stopping and the seeds.

Reproducibility: the order of the training samples in epoch ``e`` and the generator handed to
``step`` for batch ``b`` are drawn from ``(seed, e)`` and ``(seed, e, b)`` only, and the model and
optimiser state is checkpointed whole, so resuming after epoch ``e`` continues exactly the run
that was never interrupted (same numbers, bit for bit, on the same machine and threads).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
import torch

from snnsim.errors import NetworkError
from snnsim.io.checkpoint import load_checkpoint, save_checkpoint

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "cosine", "step")


@dataclass
class TrainConfig:
    """Hyper-parameters of a run (all recorded in the checkpoint)."""

    epochs: int = 10
    batch_size: int = 64
    lr: float = 2e-3
    optimizer: str = "adam"
    weight_decay: float = 0.0
    schedule: str = "cosine"       #: constant, cosine (to 0 over ``epochs``), step (x0.1 every third of the run)
    patience: Optional[int] = None  #: stop after this many epochs without a better validation accuracy
    seed: int = 0

    def check(self) -> "TrainConfig":
        w = "trainer"
        for name in ("epochs", "batch_size"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise NetworkError(w, name, f"must be a positive integer, got {v!r}")
        if not isinstance(self.lr, (int, float)) or not math.isfinite(self.lr) or self.lr <= 0:
            raise NetworkError(w, "lr", f"must be a finite number > 0, got {self.lr!r}")
        if self.optimizer not in OPTIMIZERS:
            raise NetworkError(w, "optimizer", f"must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            raise NetworkError(w, "schedule", f"must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.patience is not None and (not isinstance(self.patience, int) or self.patience < 1):
            raise NetworkError(w, "patience", f"must be a positive integer or None, got {self.patience!r}")
        if not isinstance(self.seed, int) or not 0 <= self.seed < 2**62:
            raise NetworkError(w, "seed", f"must be an integer in [0, 2**62), got {self.seed!r}")
        return self


@dataclass
class History:
    """Per-epoch figures; ``best_epoch`` is 1-based (0: none yet)."""

    train_loss: list = field(default_factory=list)
    train_accuracy: list = field(default_factory=list)
    val_accuracy: list = field(default_factory=list)
    epoch_s: list = field(default_factory=list)
    best_epoch: int = 0
    best_val_accuracy: float = -1.0
    stopped_early: bool = False


def _generator(*counters: int) -> torch.Generator:
    """A torch generator seeded from a tuple of counters (SplitMix-style mixing via numpy)."""
    seq = np.random.SeedSequence([int(c) for c in counters])
    return torch.Generator().manual_seed(int(seq.generate_state(1, np.uint64)[0] >> np.uint64(1)))


class Trainer:
    """Train ``model`` with ``step`` on ``train = (x, y)`` and validate on ``val = (x, y)``.

    ``x`` is any array indexable by a vector of sample indices (numpy or torch), ``y`` integer
    labels. ``checkpoint``: a file written at the end of every epoch; ``resume=True`` continues
    from it. With ``patience``, the best model (by validation accuracy) is restored at the end.
    """

    def __init__(self, model: torch.nn.Module, step: Callable, train, val=None, config: TrainConfig | None = None,
                 *, checkpoint=None, resume: bool = False, progress: bool | None = None):
        self.model = model
        self.step = step
        self.train_x, self.train_y = train
        self.val = val
        self.config = (config or TrainConfig()).check()
        self.checkpoint = None if checkpoint is None else os.fspath(checkpoint)
        self.progress = progress
        params = [p for p in model.parameters() if p.requires_grad]
        c = self.config
        if c.optimizer == "adam":
            self.optimizer = torch.optim.Adam(params, lr=c.lr, weight_decay=c.weight_decay)
        elif c.optimizer == "adamw":
            self.optimizer = torch.optim.AdamW(params, lr=c.lr, weight_decay=c.weight_decay)
        else:
            self.optimizer = torch.optim.SGD(params, lr=c.lr, momentum=0.9, weight_decay=c.weight_decay)
        if c.schedule == "cosine":
            self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=c.epochs)
        elif c.schedule == "step":
            self.scheduler = torch.optim.lr_scheduler.StepLR(self.optimizer, step_size=max(1, c.epochs // 3),
                                                             gamma=0.1)
        else:
            self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda e: 1.0)
        self.history = History()
        self.epoch = 0
        self.best_state = None
        self.bad_epochs = 0
        if resume:
            if self.checkpoint is None:
                raise NetworkError("trainer", "resume", "needs a checkpoint file")
            if os.path.exists(self.checkpoint):
                self._load(self.checkpoint)

    # ------------------------------------------------------------ checkpoints
    def _state(self) -> dict:
        h = self.history
        return {
            "format": "snnsim-trainer-1",
            "config": dict(vars(self.config)),
            "epoch": self.epoch,
            "bad_epochs": self.bad_epochs,
            "model": dict(self.model.state_dict()),
            "best_model": self.best_state,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "history": {"train_loss": list(h.train_loss), "train_accuracy": list(h.train_accuracy),
                        "val_accuracy": list(h.val_accuracy), "epoch_s": list(h.epoch_s),
                        "best_epoch": h.best_epoch, "best_val_accuracy": h.best_val_accuracy,
                        "stopped_early": h.stopped_early},
        }

    def _load(self, path: str) -> None:
        state = load_checkpoint(path)
        saved = state.get("config", {})
        for key in ("batch_size", "optimizer", "schedule", "seed"):
            if key in saved and saved[key] != getattr(self.config, key):
                raise NetworkError("trainer", key, f"is {getattr(self.config, key)!r} but the checkpoint {path} "
                                   f"was made with {saved[key]!r}; resume with the same settings")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.epoch = state["epoch"]
        self.bad_epochs = state["bad_epochs"]
        self.best_state = state["best_model"]
        h = state["history"]
        self.history = History(list(h["train_loss"]), list(h["train_accuracy"]), list(h["val_accuracy"]),
                               list(h["epoch_s"]), h["best_epoch"], h["best_val_accuracy"], h["stopped_early"])

    # ------------------------------------------------------------------ loop
    def evaluate(self, x, y, batch_size: int | None = None) -> float:
        """Accuracy of ``model`` on ``(x, y)`` (no gradients; generator seeded for evaluation)."""
        bs = batch_size or self.config.batch_size
        correct = 0
        self.model.eval()
        with torch.no_grad():
            for b, lo in enumerate(range(0, len(y), bs)):
                idx = np.arange(lo, min(lo + bs, len(y)))
                yb = torch.as_tensor(np.asarray(y)[idx])
                _, scores = self.step(self.model, x[idx], yb, _generator(self.config.seed, 2**31, b))
                correct += int((scores.argmax(1) == yb).sum())
        self.model.train()
        return correct / len(y)

    def fit(self) -> History:
        """Train until ``epochs`` (or early stopping); returns the history."""
        c = self.config
        n = len(self.train_y)
        h = self.history
        while self.epoch < c.epochs and not h.stopped_early:
            t0 = time.perf_counter()
            order = np.random.default_rng([c.seed, self.epoch]).permutation(n)
            batches = [order[i:i + c.batch_size] for i in range(0, n, c.batch_size)]
            total, correct, seen = 0.0, 0, 0
            bar = _bar(len(batches), f"epoch {self.epoch + 1}/{c.epochs}", self.progress)
            for b, idx in enumerate(batches):
                yb = torch.as_tensor(np.asarray(self.train_y)[idx])
                loss, scores = self.step(self.model, self.train_x[idx], yb, _generator(c.seed, self.epoch, b))
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                self.optimizer.step()
                total += float(loss.detach()) * len(idx)
                correct += int((scores.detach().argmax(1) == yb).sum())
                seen += len(idx)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{total / seen:.3f}", acc=f"{correct / seen:.3f}")
            if bar is not None:
                bar.close()
            self.scheduler.step()
            self.epoch += 1
            h.train_loss.append(total / n)
            h.train_accuracy.append(correct / n)
            if self.val is not None:
                acc = self.evaluate(*self.val)
                h.val_accuracy.append(acc)
                if acc > h.best_val_accuracy:
                    h.best_val_accuracy, h.best_epoch, self.bad_epochs = acc, self.epoch, 0
                    self.best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
                else:
                    self.bad_epochs += 1
                    if c.patience is not None and self.bad_epochs >= c.patience:
                        h.stopped_early = True
            h.epoch_s.append(time.perf_counter() - t0)
            if self.checkpoint is not None:
                save_checkpoint(self._state(), self.checkpoint)
        if c.patience is not None and self.best_state is not None:
            self.model.load_state_dict(self.best_state)
        return h


def _bar(total: int, desc: str, progress: bool | None):
    import sys
    if progress is None:
        progress = sys.stderr.isatty()
    if not progress:
        return None
    from tqdm import tqdm
    return tqdm(total=total, desc=desc, unit="batch", leave=False)
