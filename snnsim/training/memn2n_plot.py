"""The attention of a trained MemN2N over the memories of a few test stories (matplotlib, Agg)."""

from __future__ import annotations

import os

import numpy as np
import torch


def attention_of(model, encoded, which) -> np.ndarray:
    """Attention ``(len(which), K, M)`` of ``model`` (softmax hops, no random empties) on samples ``which``."""
    device = model.embed.device
    stories = torch.as_tensor(encoded.stories[which], device=device)
    queries = torch.as_tensor(encoded.queries[which], device=device)
    model.eval()
    with torch.no_grad():
        logits, p = model(stories, queries)
    model.train()
    return p.permute(1, 0, 2).cpu().numpy(), logits.argmax(1).cpu().numpy()


def plot_attention(model, encoded, raw_samples, vocab, path, n_stories: int = 4, title: str = "") -> str:
    """Heat maps (memory x hop) for ``n_stories`` test questions spread over the test set; supporting facts
    in bold red."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from snnsim.io.atomic import atomic_path

    which = sorted(set(np.linspace(0, len(raw_samples) - 1, min(n_stories, len(raw_samples))).astype(int).tolist()))
    att, pred = attention_of(model, encoded, which)
    rows = [min(len(raw_samples[i][0]), att.shape[2]) for i in which]
    fig = Figure(figsize=(11, 1.2 + 0.28 * sum(rows) + 0.6 * len(which)), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(which), 1, squeeze=False, gridspec_kw={"height_ratios": [r + 2 for r in rows]})[:, 0]
    for row, (ax, i, n) in enumerate(zip(axes, which, rows)):
        memories, question, answer, _ = raw_samples[i]
        support = set(encoded.supports[i])
        a = att[row][:, :n][:, ::-1].T            # rows: memories oldest first, columns: hops
        texts = list(reversed([memories[-1 - s] for s in range(n)]))
        slots = list(reversed(range(n)))
        image = ax.imshow(a, aspect="auto", cmap="Blues", vmin=0, vmax=1)
        ax.set_yticks(range(n), texts, fontsize=8)
        for label, slot in zip(ax.get_yticklabels(), slots):
            if slot in support:
                label.set_fontweight("bold")
                label.set_color("darkred")
        ax.set_xticks(range(a.shape[1]), [f"hop {k + 1}" for k in range(a.shape[1])], fontsize=8)
        for r in range(n):
            for c in range(a.shape[1]):
                ax.text(c, r, f"{a[r, c]:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if a[r, c] > 0.5 else "black")
        ax.set_title(f"{question}  answer: {','.join(answer)}  predicted: {vocab[pred[row]]}"
                     "  (supporting facts in red)", fontsize=9, loc="left")
        fig.colorbar(image, ax=ax, fraction=0.02, label="attention")
    if title:
        fig.suptitle(title)
    path = os.fspath(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    return path
