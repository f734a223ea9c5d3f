"""The trainer shared by everything that trains in snnsim (SNN classifiers, MemN2N, CapsNet).

``Trainer(model, step, train, val)`` runs epochs of mini-batches. ``step(model, x, y, generator)``
returns ``(loss, scores)`` for one batch; ``metric(scores, y)`` turns them into the number of
correct samples of the batch (default :func:`argmax_correct`: the class is the argmax of
``scores (B, n_classes)``). The trainer owns the optimiser and its schedule, gradient clipping,
the progress bar, validation, an HDF5 checkpoint at the end of every epoch, resuming, early
stopping, per-epoch hooks and the seeds.

Batches: ``train = (x, y)`` where ``x`` and ``y`` are numpy arrays, torch tensors, or tuples,
lists or dicts of them (a MemN2N batch is (stories, queries)); :func:`take` selects the same
samples from every part, and every part must hold the same number of samples.

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

from snnsim.errors import FileFormatError, NetworkError, SnnsimError
from snnsim.io.checkpoint import load_checkpoint, save_checkpoint

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "cosine", "step", "exponential")


def argmax_correct(scores: torch.Tensor, y: torch.Tensor) -> float:
    """The default metric: how many rows of ``scores (B, n_classes)`` have their maximum at ``y (B,)``."""
    return float((scores.detach().argmax(1) == y).sum())


def take(data, idx: np.ndarray):
    """The samples ``idx`` of ``data``: an array or tensor, or a tuple, list or dict of them."""
    if isinstance(data, dict):
        return {k: take(v, idx) for k, v in data.items()}
    if isinstance(data, (tuple, list)):
        return type(data)(take(v, idx) for v in data)
    if isinstance(data, torch.Tensor):
        return data[torch.as_tensor(idx, device=data.device)]
    return data[idx]


def n_samples(data, where: str, field_name: str) -> int:
    """The number of samples in ``data`` (see :func:`take`); every part must agree."""
    parts = list(data.values()) if isinstance(data, dict) else list(data) if isinstance(data, (tuple, list)) \
        else [data]
    sizes = {len(p) if not isinstance(p, (dict, tuple, list)) else n_samples(p, where, field_name) for p in parts}
    if len(sizes) != 1:
        raise NetworkError(where, field_name, f"its parts hold different numbers of samples: {sorted(sizes)}")
    return sizes.pop()


def _labels(y) -> torch.Tensor:
    return y if isinstance(y, torch.Tensor) else torch.as_tensor(np.asarray(y))


@dataclass
class TrainConfig:
    """Hyper-parameters of a run (all recorded in the checkpoint)."""

    epochs: int = 10
    batch_size: int = 64
    lr: float = 2e-3
    optimizer: str = "adam"
    weight_decay: float = 0.0
    #: constant; cosine (to 0 over ``epochs``); step (x ``gamma`` every ``step_every`` epochs, default a
    #: third of the run); exponential (x ``gamma`` every epoch)
    schedule: str = "cosine"
    patience: Optional[int] = None  #: stop after this many epochs without a better validation accuracy
    seed: int = 0
    gamma: float = 0.1              #: decay factor of the step and exponential schedules
    step_every: Optional[int] = None  #: epochs between two decays of the step schedule
    momentum: float = 0.9           #: SGD only
    clip_grad_norm: Optional[float] = None  #: rescale the gradient to at most this L2 norm (None: never)

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
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or not 0 <= self.seed < 2**62:
            raise NetworkError(w, "seed", f"must be an integer in [0, 2**62), got {self.seed!r}")
        for name, lo, hi in (("gamma", 0.0, 1.0), ("momentum", 0.0, 1.0)):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or not \
                    (lo < v <= hi if name == "gamma" else lo <= v < hi):
                raise NetworkError(w, name, f"must be a number in {'(0, 1]' if name == 'gamma' else '[0, 1)'}, "
                                   f"got {v!r}")
        if self.step_every is not None and (not isinstance(self.step_every, int) or isinstance(self.step_every, bool)
                                            or self.step_every < 1):
            raise NetworkError(w, "step_every", f"must be a positive integer or None, got {self.step_every!r}")
        c = self.clip_grad_norm
        if c is not None and (not isinstance(c, (int, float)) or isinstance(c, bool) or not math.isfinite(c) or c <= 0):
            raise NetworkError(w, "clip_grad_norm", f"must be a finite number > 0 or None, got {c!r}")
        return self


@dataclass
class History:
    """Per-epoch figures; ``best_epoch`` is 1-based (0: none yet)."""

    train_loss: list = field(default_factory=list)
    train_accuracy: list = field(default_factory=list)
    val_accuracy: list = field(default_factory=list)
    epoch_s: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    best_epoch: int = 0
    best_val_accuracy: float = -1.0
    stopped_early: bool = False


def _generator(*counters: int) -> torch.Generator:
    """A torch generator seeded from a tuple of counters (SplitMix-style mixing via numpy)."""
    seq = np.random.SeedSequence([int(c) for c in counters])
    return torch.Generator().manual_seed(int(seq.generate_state(1, np.uint64)[0] >> np.uint64(1)))


class Trainer:
    """Train ``model`` with ``step`` on ``train = (x, y)`` and validate on ``val = (x, y)``.

    ``x`` and ``y`` are arrays or tensors indexable by a vector of sample indices, or tuples,
    lists or dicts of them (:func:`take`); ``metric(scores, y)`` counts the correct samples of a
    batch (default: argmax classification). ``checkpoint``: a file written at the end of every
    epoch; ``resume=True`` continues from it. With ``patience``, the best model (by validation
    accuracy) is restored at the end. ``on_epoch_end(trainer)`` hooks run after each epoch's
    validation and before its checkpoint (MemN2N's linear start uses one); whatever they change
    must live in the model's or optimiser's state, so that a resumed run sees it.
    """

    def __init__(self, model: torch.nn.Module, step: Callable, train, val=None, config: TrainConfig | None = None,
                 *, checkpoint=None, resume: bool = False, progress: bool | None = None,
                 metric: Callable = argmax_correct, on_epoch_end: Callable | list | None = None):
        self.model = model
        self.step = step
        self.metric = metric
        self.on_epoch_end = [] if on_epoch_end is None else list(on_epoch_end) if isinstance(on_epoch_end, (list, tuple)) \
            else [on_epoch_end]
        try:
            self.train_x, self.train_y = train
        except (TypeError, ValueError):
            raise NetworkError("trainer", "train", "must be a pair (inputs, labels)") from None
        self._check_pair("train", self.train_x, self.train_y)
        if val is not None:
            try:
                vx, vy = val
            except (TypeError, ValueError):
                raise NetworkError("trainer", "val", "must be a pair (inputs, labels) or None") from None
            self._check_pair("val", vx, vy)
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
            self.optimizer = torch.optim.SGD(params, lr=c.lr, momentum=c.momentum, weight_decay=c.weight_decay)
        if c.schedule == "cosine":
            self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=c.epochs)
        elif c.schedule == "step":
            self.scheduler = torch.optim.lr_scheduler.StepLR(
                self.optimizer, step_size=c.step_every or max(1, c.epochs // 3), gamma=c.gamma)
        elif c.schedule == "exponential":
            self.scheduler = torch.optim.lr_scheduler.ExponentialLR(self.optimizer, gamma=c.gamma)
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

    @staticmethod
    def _check_pair(name: str, x, y) -> None:
        n_x = n_samples(x, "trainer", f"{name} inputs")
        n_y = n_samples(y, "trainer", f"{name} labels")
        if n_x != n_y:
            raise NetworkError("trainer", name, f"inputs hold {n_x} samples but labels {n_y}")
        if n_x == 0:
            raise NetworkError("trainer", name, "holds no samples")

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
                        "val_loss": list(h.val_loss), "lr": list(h.lr), "best_epoch": h.best_epoch, "best_val_accuracy": h.best_val_accuracy,
                        "stopped_early": h.stopped_early},
        }

    def _load(self, path: str) -> None:
        state = load_checkpoint(path)
        try:
            self._restore(state, path)
        except SnnsimError:
            raise
        except (KeyError, TypeError, ValueError, RuntimeError, AttributeError, IndexError) as exc:
            raise FileFormatError(f"{path}: /state: does not fit this trainer and model "
                                  f"({type(exc).__name__}: {exc})") from exc

    def _restore(self, state: dict, path: str) -> None:
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
                               list(h["epoch_s"]), list(h.get("val_loss", [])), list(h.get("lr", [])),
                               h["best_epoch"], h["best_val_accuracy"], h["stopped_early"])

    # ------------------------------------------------------------------ loop
    def evaluate(self, x, y, batch_size: int | None = None) -> float:
        """Accuracy (``metric`` per sample) of ``model`` on ``(x, y)``; no gradients."""
        return self.evaluate_loss(x, y, batch_size)[1]

    def evaluate_loss(self, x, y, batch_size: int | None = None) -> tuple[float, float]:
        """Mean loss and accuracy of ``model`` on ``(x, y)`` (no gradients; generators seeded for
        evaluation, so the figures do not depend on when they are taken)."""
        self._check_pair("evaluate", x, y)
        bs = batch_size or self.config.batch_size
        n = n_samples(y, "trainer", "labels")
        correct, total = 0.0, 0.0
        self.model.eval()
        with torch.no_grad():
            for b, lo in enumerate(range(0, n, bs)):
                idx = np.arange(lo, min(lo + bs, n))
                yb = _labels(take(y, idx))
                loss, scores = self.step(self.model, take(x, idx), yb, _generator(self.config.seed, 2**31, b))
                correct += self.metric(scores, yb)
                total += float(loss) * len(idx)
        self.model.train()
        return total / n, correct / n

    def fit(self) -> History:
        """Train until ``epochs`` (or early stopping); returns the history."""
        c = self.config
        n = n_samples(self.train_y, "trainer", "train labels")
        h = self.history
        params = [p for group in self.optimizer.param_groups for p in group["params"]]
        while self.epoch < c.epochs and not h.stopped_early:
            t0 = time.perf_counter()
            h.lr.append(float(self.optimizer.param_groups[0]["lr"]))
            order = np.random.default_rng([c.seed, self.epoch]).permutation(n)
            batches = [order[i:i + c.batch_size] for i in range(0, n, c.batch_size)]
            total, correct, seen = 0.0, 0.0, 0
            bar = _bar(len(batches), f"epoch {self.epoch + 1}/{c.epochs}", self.progress)
            for b, idx in enumerate(batches):
                yb = _labels(take(self.train_y, idx))
                loss, scores = self.step(self.model, take(self.train_x, idx), yb, _generator(c.seed, self.epoch, b))
                self.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if c.clip_grad_norm is not None:
                    torch.nn.utils.clip_grad_norm_(params, c.clip_grad_norm)
                self.optimizer.step()
                total += float(loss.detach()) * len(idx)
                correct += self.metric(scores, yb)
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
                loss, acc = self.evaluate_loss(*self.val)
                h.val_loss.append(loss)
                h.val_accuracy.append(acc)
                if acc > h.best_val_accuracy:
                    h.best_val_accuracy, h.best_epoch, self.bad_epochs = acc, self.epoch, 0
                    self.best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
                else:
                    self.bad_epochs += 1
                    if c.patience is not None and self.bad_epochs >= c.patience:
                        h.stopped_early = True
            for hook in self.on_epoch_end:
                hook(self)
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
