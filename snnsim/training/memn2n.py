"""End-to-end memory network (Sukhbaatar et al. 2015, "End-To-End Memory Networks") on bAbI.

Built from :mod:`snnsim.core.memory`; trained by the shared :class:`~snnsim.training.Trainer`.
Adjacent weight tying: ``K + 1`` embedding tables ``E_0..E_K (V, d)``, hop ``k`` reads with
``A = E_k`` and ``C = E_{k+1}``, the question embedding is ``B = E_0`` and the answer
``W^T = E_K``; the temporal tables ``T_0..T_K`` are tied the same way. ``linear`` (a buffer, so
checkpoints keep it) drops the softmax in the hops: linear start.
"""

from __future__ import annotations

import torch

from snnsim.core.memory import embedding_bag, memory_attention, position_encoding


class MemN2N(torch.nn.Module):
    """``forward(stories (B, M, J), queries (B, J), time_index (B, M) | None) -> (logits (B, V),
    attention (K, B, M))``; word id 0 is padding, an all-padding memory slot is empty."""

    def __init__(self, vocabulary_size: int, dim: int = 20, hops: int = 3, memory_size: int = 50,
                 encoding: str = "pe", temporal: bool = True, time_slack: int = 20,
                 generator: torch.Generator | None = None):
        super().__init__()
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
        if time_index is None:
            time_index = torch.arange(stories.shape[1], device=stories.device).expand(stories.shape[0], -1)
        w_story, w_query = self._weights(stories), self._weights(queries)
        u = embedding_bag(self.embed[0], queries, w_query)
        attention = []
        keys = embedding_bag(self.embed[0], stories, w_story)
        if self.temporal:
            keys = keys + self.time[0][time_index]
        for k in range(self.hops):
            values = embedding_bag(self.embed[k + 1], stories, w_story)
            if self.temporal:
                values = values + self.time[k + 1][time_index]
            o, p = memory_attention(u, keys, values, mask, linear=bool(self.linear))
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


def linear_start_hook(trainer) -> None:
    """End linear start (put the softmax back) once the validation loss stops decreasing."""
    model, losses = trainer.model, trainer.history.val_loss
    if bool(model.linear) and len(losses) >= 2 and losses[-1] >= min(losses[:-1]):
        model.linear.fill_(False)
