"""CapsNet figures: inputs beside their reconstructions, and the paper's Fig. 4 (perturbing one
dimension of the winning capsule by -0.25 .. 0.25 in steps of 0.05 and decoding each)."""

from __future__ import annotations

import os

import numpy as np
import torch

from snnsim.plot import _save_atomic

STEPS = np.round(np.arange(-0.25, 0.2501, 0.05), 2)


def capsnet_figure(model, x, y, path, title: str | None = None, n_dims: int = 6):
    """PNG at ``path``: row 1 inputs ``x (n, side*side)``, row 2 their reconstructions (masked by the
    predicted class); below, one row per capsule dimension 0..n_dims-1 of the first sample, perturbed."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    side = model.config.side
    model.eval()
    with torch.no_grad():
        v = model(torch.as_tensor(x))
        pred = v.norm(dim=-1).argmax(1)
        rec = model.reconstruct(v, pred).cpu().numpy()
        v0 = v[:1].repeat(len(STEPS), 1, 1)
        rows = []
        for d in range(n_dims):
            vd = v0.clone()
            vd[:, pred[0], d] += torch.as_tensor(STEPS, dtype=vd.dtype, device=vd.device)
            rows.append(model.reconstruct(vd, pred[:1].repeat(len(STEPS))).cpu().numpy())
    model.train()
    n, cols = len(x), max(len(x), len(STEPS))
    fig = Figure(figsize=(cols * 0.9, (2 + n_dims) * 0.95 + 0.8), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2 + n_dims, cols, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    y = np.asarray(y)
    for i in range(n):
        axes[0, i].imshow(np.asarray(x[i]).reshape(side, side), cmap="gray", vmin=0, vmax=1)
        axes[0, i].set_title(f"label {int(y[i])}", fontsize=7)
        axes[1, i].imshow(rec[i].reshape(side, side), cmap="gray", vmin=0, vmax=1)
        axes[1, i].set_title(f"recon. ({int(pred[i])})", fontsize=7)
    for d, imgs in enumerate(rows):
        for k, img in enumerate(imgs):
            axes[2 + d, k].imshow(img.reshape(side, side), cmap="gray", vmin=0, vmax=1)
            if d == 0:
                axes[2, k].set_title(f"{STEPS[k]:+.2f}", fontsize=7)
        axes[2 + d, 0].text(-0.3, 0.5, f"dim {d}", transform=axes[2 + d, 0].transAxes, ha="right", va="center",
                            fontsize=7)
    fig.suptitle(title or "CapsNet: inputs, reconstructions; perturbing one dimension of the first sample's capsule",
                 fontsize=9)
    _save_atomic(fig, os.fspath(path))
    return path
