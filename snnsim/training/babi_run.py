"""Train MemN2N on one bAbI task: data (files or our generator), seeds, and the figures of the run.

The paper's settings (Sukhbaatar et al. 2015, section 4.2): SGD at lr 0.01 halved every 25
epochs, gradient norm clipped to 40, batch 32, 100 epochs, embedding 20, 3 hops, memory of the
last 50 sentences, 10 % of the training set held out for validation (linear start ends when the
validation loss stops falling), best of several seeds by training error.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch

from snnsim.babi import find_task_files, generate_task, read_babi, samples
from snnsim.babi.encode import build_vocabulary, encode, words
from snnsim.training.memn2n import MemN2N, clip_each_table, linear_start_hook, make_step
from snnsim.training.trainer import TrainConfig, Trainer

SIZES = {"1k": 1000, "10k": 10000}


@dataclass
class BabiSpec:
    task: int = 1
    data: Optional[str] = None     #: folder of qaN_* files; None: our generator
    size: str = "1k"
    seeds: int = 1
    epochs: int = 100
    hops: int = 3
    dim: int = 20
    memory_size: int = 50
    encoding: str = "pe"           #: "pe" (position encoding) or "bow"
    linear_start: bool = True
    empty_fraction: float = 0.1    #: random empty memories (RN); 0 disables
    lr: float = 0.01
    attend_empty: bool = True      #: empty memory slots take part in the softmax (the authors' code)
    #: linear start: ``ls_epochs`` linear epochs before the ``epochs`` of the schedule (the authors'
    #: code: 20, so 120 epochs in all); None: LS within ``epochs``, until the validation loss stops falling
    ls_epochs: Optional[int] = 20
    ls_lr: float = 0.005           #: the learning rate with linear start (the paper's section 4.2)
    batch_size: int = 32
    clip: Optional[float] = 40.0   #: gradient norm limit (None: no clipping)
    clip_mode: str = "table"       #: "table": each table's spectral norm (the authors' code); "global": one L2 norm
    device: Optional[str] = None   #: None: cuda where present, else cpu
    progress: Optional[bool] = None


def load_task(spec: BabiSpec):
    """(train samples, test samples, source) of the task."""
    if spec.data is not None:
        train_path, test_path = find_task_files(spec.data, spec.task, spec.size)
        return samples(read_babi(train_path)), samples(read_babi(test_path)), train_path
    n = SIZES[spec.size]
    return (samples(generate_task(spec.task, n, seed=0)), samples(generate_task(spec.task, n, seed=1)),
            f"generated task {spec.task} ({spec.size})")


def _tensors(enc, device):
    x = {"stories": torch.as_tensor(enc.stories, device=device), "queries": torch.as_tensor(enc.queries, device=device)}
    return x, torch.as_tensor(enc.answers, device=device)


def train_babi(spec: BabiSpec) -> dict:
    """Train ``spec.seeds`` models, keep the one of least training error; its figures, model and data."""
    t0 = time.perf_counter()
    device = spec.device or ("cuda" if torch.cuda.is_available() else "cpu")
    train_s, test_s, source = load_task(spec)
    vocab = build_vocabulary(train_s, test_s)
    width = max(len(words(t)) for m, q, _, _ in train_s + test_s for t in (*m[-spec.memory_size:], q))
    # slots beyond the longest story would always be empty: hold min(memory_size, longest) slots
    slots = min(spec.memory_size, max(len(m) for m, _, _, _ in train_s + test_s))
    train_e = encode(train_s, vocab, slots, width)
    test_e = encode(test_s, vocab, slots, width)
    n = len(train_s)
    order = np.random.default_rng(12345).permutation(n)
    n_val = max(1, n // 10)
    x_all, y_all = _tensors(train_e, device)
    idx_val, idx_fit = torch.as_tensor(order[:n_val], device=device), torch.as_tensor(order[n_val:], device=device)
    fit = ({k: v[idx_fit] for k, v in x_all.items()}, y_all[idx_fit])
    val = ({k: v[idx_val] for k, v in x_all.items()}, y_all[idx_val])
    test = _tensors(test_e, device)
    step = make_step(spec.empty_fraction)
    runs, best = [], None
    for seed in range(spec.seeds):
        model = MemN2N(len(vocab), spec.dim, spec.hops, spec.memory_size, spec.encoding,
                       generator=torch.Generator().manual_seed(seed), attend_empty=spec.attend_empty).to(device)
        model.linear.fill_(spec.linear_start)
        if spec.clip is not None and spec.clip_mode == "table":
            clip_each_table(model, spec.clip)
        clip = spec.clip if spec.clip_mode == "global" else None
        ls_epochs = 0
        if spec.linear_start and spec.ls_epochs is not None:
            # the authors' code: ls_epochs linear epochs at a constant lr, then the full schedule
            ls_config = TrainConfig(epochs=spec.ls_epochs, batch_size=spec.batch_size, lr=spec.ls_lr,
                                    optimizer="sgd", momentum=0.0, schedule="constant", clip_grad_norm=clip,
                                    seed=seed + 10**6)
            Trainer(model, step, fit, val, ls_config, progress=spec.progress).fit()
            model.linear.fill_(False)
            ls_epochs = spec.ls_epochs
        lr = spec.ls_lr if spec.linear_start else spec.lr
        config = TrainConfig(epochs=spec.epochs, batch_size=spec.batch_size, lr=lr, optimizer="sgd",
                             momentum=0.0, schedule="step", step_every=25, gamma=0.5, clip_grad_norm=clip, seed=seed)
        hooks = [linear_start_hook] if bool(model.linear) else None  # LS until the validation loss stops falling
        trainer = Trainer(model, step, fit, val, config, progress=spec.progress, on_epoch_end=hooks)
        history = trainer.fit()
        if hooks:
            ls_epochs = getattr(trainer, "linear_start_epochs", spec.epochs)
        model.linear.fill_(False)
        train_error = 1.0 - trainer.evaluate(x_all, y_all)
        run = {"seed": seed, "train_error": train_error, "test_error": 1.0 - trainer.evaluate(*test),
               "linear_start_epochs": ls_epochs}
        runs.append(run)
        if best is None or train_error < best[0]["train_error"]:
            best = (run, model, history, trainer)
    run, model, history, trainer = best
    return {"task": spec.task, "source": source, "size": spec.size, "device": device,
            "train_samples": int(len(idx_fit)), "val_samples": n_val, "test_samples": len(test_s),
            "vocabulary": len(vocab), "seeds": spec.seeds, "best_seed": run["seed"],
            "train_error": run["train_error"], "test_error": run["test_error"],
            "test_accuracy": 1.0 - run["test_error"], "runs": runs, "epochs": spec.epochs,
            "parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
            "wall_s": time.perf_counter() - t0,
            "model": model, "history": history, "vocab": vocab, "test_encoded": test_e, "test_samples_raw": test_s}
