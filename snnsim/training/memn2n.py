"""End-to-end memory network (Sukhbaatar et al. 2015, "End-To-End Memory Networks") on bAbI.

Built from :mod:`snnsim.core.memory`; trained by the shared :class:`~snnsim.training.Trainer`.
Adjacent weight tying: ``K + 1`` embedding tables ``E_0..E_K (V, d)``, hop ``k`` reads with
``A = E_k`` and ``C = E_{k+1}``, the question embedding is ``B = E_0`` and the answer
``W^T = E_K``; the temporal tables ``T_0..T_K`` are tied the same way. ``linear`` (a buffer, so
checkpoints keep it) drops the softmax in the hops: linear start.

Empty memory slots (``attend_empty``, default on, as in the authors' MATLAB code where they hold
the nil word, whose embedding is kept at zero): key and value 0, no temporal term, and they take
part in the softmax with score 0. They are the attention's reference level, so the total weight
on the real memories tells how well they match; without them (``attend_empty=False``, the
softmax over the told sentences only) the yes/no task 6 stays at chance.
"""

from __future__ import annotations

import torch

from snnsim.core.memory import embedding_bag, memory_attention, position_encoding


class MemN2N(torch.nn.Module):
    """``forward(stories (B, M, J), queries (B, J), time_index (B, M) | None) -> (logits (B, V),
    attention (K, B, M))``; word id 0 is padding, an all-padding memory slot is empty (key and
    value 0; with ``attend_empty`` it still takes its share of the softmax)."""

    def __init__(self, vocabulary_size: int, dim: int = 20, hops: int = 3, memory_size: int = 50,
                 encoding: str = "pe", temporal: bool = True, time_slack: int = 20,
                 generator: torch.Generator | None = None, attend_empty: bool = True):
        super().__init__()
        self.attend_empty = attend_empty
        self.hops, self.dim, self.encoding, self.temporal = hops, dim, encoding, temporal
        self.memory_size = memory_size
        self.embed = torch.nn.Parameter(0.1 * torch.randn(hops + 1, vocabulary_size, dim, generator=generator))
        self.time = torch.nn.Parameter(0.1 * torch.randn(hops + 1, memory_size + time_slack, dim, generator=generator),
                                       requires_grad=temporal)
        self.register_buffer("linear", torch.tensor(False))

    def _weights(self, ids: torch.Tensor):
        if self.encoding != "pe":
            return None
        return position_encoding((ids != 0).sum(-1), ids.shape[-1], self.dim).to(ids.device)

    def forward(self, stories, queries, time_index=None):
        mask = (stories != 0).any(-1)
        told = mask[..., None].to(self.embed.dtype)
        attend = torch.ones_like(mask) if self.attend_empty else mask
        if time_index is None:
            time_index = torch.arange(stories.shape[1], device=stories.device).expand(stories.shape[0], -1)
        w_story, w_query = self._weights(stories), self._weights(queries)
        u = embedding_bag(self.embed[0], queries, w_query)
        attention = []
        keys = embedding_bag(self.embed[0], stories, w_story)
        if self.temporal:
            keys = keys + self.time[0][time_index] * told
        for k in range(self.hops):
            values = embedding_bag(self.embed[k + 1], stories, w_story)
            if self.temporal:
                values = values + self.time[k + 1][time_index] * told
            o, p = memory_attention(u, keys, values, attend, linear=bool(self.linear))
            attention.append(p)
            u = u + o
            keys = values  # adjacent tying: A^{k+1} = C^k
        return u @ self.embed[self.hops].T, torch.stack(attention)


def random_time_index(shape, empty_fraction: float, limit: int, generator: torch.Generator, device) -> torch.Tensor:
    """Temporal indices with random empty memories: before each slot, one empty memory with
    probability ``empty_fraction`` shifts the later (older) slots by one. ``(B, M)`` in ``[0, limit)``."""
    gaps = (torch.rand(shape, generator=generator) < empty_fraction).to(torch.int64).cumsum(-1)
    return (torch.arange(shape[1]) + gaps).clamp(max=limit - 1).to(device)


def make_step(empty_fraction: float = 0.1):
    """The trainer's step: summed cross-entropy over the batch (the paper's SGD convention), scores
    = logits; random empty memories while training."""
    def step(model: MemN2N, x, y, generator):
        stories, queries = x["stories"], x["queries"]
        t = None
        if model.training and empty_fraction > 0:
            t = random_time_index(stories.shape[:2], empty_fraction, model.time.shape[1], generator, stories.device)
        logits, _ = model(stories, queries, t)
        return torch.nn.functional.cross_entropy(logits, y.to(logits.device), reduction="sum"), logits
    return step


def linear_start_hook(trainer, epochs: int | None = None) -> None:
    """End linear start (put the softmax back) once the validation loss stops decreasing (the
    paper), or after ``epochs`` epochs when given (the authors' MATLAB code: 20)."""
    model, losses = trainer.model, trainer.history.val_loss
    if not bool(model.linear):
        return
    if (len(losses) >= epochs) if epochs is not None else (len(losses) >= 2 and losses[-1] >= min(losses[:-1])):
        model.linear.fill_(False)
        trainer.linear_start_epochs = len(losses)


def clip_each_table(model: MemN2N, limit: float = 40.0) -> None:
    """Clip the gradient of each embedding table (``E_k`` and ``T_k`` separately) to spectral norm
    ``limit``, as the authors' MATLAB code does per weight matrix (``norm(grad) > 40``), instead of
    one global norm over all tables. Installs gradient hooks on the model's parameters."""
    def hook(grad: torch.Tensor) -> torch.Tensor:
        norms = torch.linalg.matrix_norm(grad, ord=2)  # (K + 1,) largest singular value per table
        scale = torch.where(norms > limit, limit / norms.clamp(min=1e-30), torch.ones_like(norms))
        return grad * scale[:, None, None]
    model.embed.register_hook(hook)
    if model.time.requires_grad:
        model.time.register_hook(hook)
