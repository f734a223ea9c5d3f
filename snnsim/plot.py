"""Figures of a run: spike raster and population rate (matplotlib, Agg).

matplotlib is imported inside the functions, so ``import snnsim`` stays fast.
Figures are drawn on the non-interactive Agg canvas without going through
``pyplot``: they work on headless machines, never open a window and leave the
caller's pyplot backend alone. Pass ``ax`` to draw into a figure of your own.
"""

from __future__ import annotations

import os

import numpy as np

from snnsim.errors import NetworkError
from snnsim.results import Results


def _new_axes(rows: int = 1, **gridspec):
    """A figure on an Agg canvas with ``rows`` stacked Axes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 3 + 2 * rows), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, 1, sharex=True, gridspec_kw=gridspec or None, squeeze=False)[:, 0]
    return fig, axes


def _recorded(results: Results, populations, where: str) -> list[str]:
    """Names of the recorded populations to draw, in network order."""
    order = [name for name in results.sizes if name in results.spikes]
    if populations is None:
        return order
    names = [populations] if isinstance(populations, str) else list(populations)
    for name in names:
        if name not in results.spikes:
            raise NetworkError(where, "populations", f"no recorded spikes for {name!r} (recorded: {order})")
    return names


def _colour(results: Results, name: str) -> str:
    """The same colour for a population in every panel."""
    return f"C{list(results.sizes).index(name) % 10}"


def raster(results: Results, ax=None, populations=None, max_neurons: int | None = None):
    """Spike raster: time (s) against neuron index, populations stacked bottom-up.

    ``populations`` limits the plot to some recorded populations; ``max_neurons``
    shows only the first ``max_neurons`` neurons of each. Returns the Axes.
    """
    if max_neurons is not None and (not isinstance(max_neurons, (int, np.integer)) or max_neurons < 1):
        raise NetworkError("raster", "max_neurons", f"must be a positive integer, got {max_neurons!r}")
    if ax is None:
        ax = _new_axes()[1][0]
    offset = 0
    for name in _recorded(results, populations, "raster"):
        trains = results.spikes[name]
        shown = trains.size if max_neurons is None else min(trains.size, int(max_neurons))
        keep = trains.indices < shown
        ax.plot(trains.times[keep], trains.indices[keep] + offset, ls="", marker="|", ms=2,
                color=_colour(results, name), label=name)
        offset += shown
    ax.set_xlim(results.t_start, results.t_start + results.duration)
    ax.set_ylim(-0.5, max(offset, 1) - 0.5)
    ax.set_ylabel("neuron")
    ax.set_xlabel("time (s)")
    if offset:
        ax.legend(loc="upper right", markerscale=4, frameon=True)
    return ax


def rate(results: Results, ax=None, bin_s: float = 1e-3, populations=None):
    """Population rate (Hz): spikes per bin / (neurons x bin width), one line per population.

    Returns the Axes.
    """
    try:
        bin_s = float(bin_s)
    except (TypeError, ValueError):
        raise NetworkError("rate", "bin_s", f"must be a number of seconds, got {bin_s!r}") from None
    if not np.isfinite(bin_s) or bin_s <= 0:
        raise NetworkError("rate", "bin_s", f"must be finite and > 0 s, got {bin_s!r}")
    if ax is None:
        ax = _new_axes()[1][0]
    edges = _edges(results.t_start, results.duration, bin_s)
    centres, widths = (edges[1:] + edges[:-1]) / 2, np.diff(edges)
    for name in _recorded(results, populations, "rate"):
        trains = results.spikes[name]
        counts, _ = np.histogram(trains.times, bins=edges)
        ax.plot(centres, counts / (trains.size * widths), color=_colour(results, name), lw=1, label=name)
    ax.set_xlim(edges[0], edges[-1])
    ax.set_ylabel("rate (Hz)")
    ax.set_xlabel("time (s)")
    return ax


def _edges(t_start: float, duration: float, bin_s: float) -> np.ndarray:
    """Bin edges over the run; the last bin is shorter when the run is not a whole number of bins."""
    span = duration if duration > 0 else bin_s
    ratio = span / bin_s
    n = max(1, round(ratio) if abs(ratio - round(ratio)) < 1e-6 else int(np.ceil(ratio)))
    edges = t_start + bin_s * np.arange(n + 1)
    edges[-1] = t_start + span
    return edges


def raster_and_rate(results: Results, path, title: str | None = None):
    """Save a raster (top) and population rate (bottom) as a PNG at ``path``; returns ``path``.

    The file is written next to its destination and moved into place, so no
    half-written PNG is ever left behind.
    """
    fig, (ax_raster, ax_rate) = _new_axes(2, height_ratios=(3, 1))
    raster(results, ax=ax_raster)
    ax_raster.set_xlabel("")
    rate(results, ax=ax_rate)
    if title:
        fig.suptitle(title)
    _save_atomic(fig, os.fspath(path))
    return path


def _save_atomic(fig, path: str) -> None:
    """Write ``fig`` as PNG so that a failure never leaves a partial file at ``path``."""
    from snnsim.io.atomic import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)


def training_curves(history: dict, path, title: str | None = None):
    """Save training loss and validation accuracy per epoch as a PNG at ``path``; returns ``path``.

    ``history`` has lists ``train_loss`` and ``val_accuracy`` (one value per epoch).
    """
    fig, (ax_loss, ax_acc) = _new_axes(2)
    epochs = np.arange(1, len(history["train_loss"]) + 1)
    ax_loss.plot(epochs, history["train_loss"], marker="o", ms=3)
    ax_loss.set_ylabel("training loss")
    if history.get("val_accuracy"):
        ax_acc.plot(epochs[:len(history["val_accuracy"])], history["val_accuracy"], marker="o", ms=3,
                    color="tab:green")
    ax_acc.set_ylabel("validation accuracy")
    ax_acc.set_xlabel("epoch")
    if title:
        fig.suptitle(title)
    _save_atomic(fig, os.fspath(path))
    return path
