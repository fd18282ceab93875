"""The two pictures a training run leaves behind: the test-period forecast and the loss curves.

Figures are drawn with matplotlib's Agg canvas directly (no ``pyplot``, so no GUI backend and
no global figure state), rendered into memory and written atomically.
"""
from __future__ import annotations

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from .models import atomic_write

__all__ = ["plot_forecast", "plot_loss"]

# "\\$": a plain "$" pair would switch matplotlib's text into math mode.
_DOLLARS = FuncFormatter(lambda value, _: f"\\${value:,.0f}")


def plot_forecast(dates, true, predicted, naive, title, path):
    """Plot true prices, the model's forecast and the naive forecast over the test dates.

    Parameters
    ----------
    dates : sequence of datetime-like, shape (n,)
        Dates of the forecast targets (the x axis).
    true, predicted, naive : array_like, shape (n,)
        Prices in dollars: what happened, what the model said, and yesterday's price.
    title : str
        First line of the title; the second line gives both MAEs.
    path : str or os.PathLike
        Where to write the PNG.
    """
    true, predicted, naive = (np.asarray(a, dtype=np.float64).ravel() for a in (true, predicted, naive))
    mae = float(np.mean(np.abs(predicted - true)))
    naive_mae = float(np.mean(np.abs(naive - true)))
    fig = Figure(figsize=(10, 5), layout="constrained")
    ax = fig.add_subplot()
    ax.plot(dates, true, color="black", linewidth=2, label="true price")
    ax.plot(dates, predicted, color="tab:blue", linewidth=1.5, label=f"model (MAE \\${mae:,.0f})")
    ax.plot(dates, naive, color="tab:orange", linewidth=1.2, linestyle="--",
            label=f"naive: yesterday's price (MAE \\${naive_mae:,.0f})")
    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.yaxis.set_major_formatter(_DOLLARS)
    ax.set_ylabel("price (USD)")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best")
    ax.set_title(f"{title}\nmodel MAE \\${mae:,.2f} vs naive MAE \\${naive_mae:,.2f}")
    _save(fig, path)


def plot_loss(history, path):
    """Plot training ``loss`` and, if present, ``val_loss`` per epoch.

    Parameters
    ----------
    history : History or dict
        A :class:`lstm_np.models.History` or its ``.history`` dict of per-epoch lists.
    path : str or os.PathLike
        Where to write the PNG.
    """
    logs = getattr(history, "history", history)
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    ax = fig.add_subplot()
    for key, style in (("loss", "-"), ("val_loss", "--")):
        values = np.asarray(logs.get(key, []), dtype=np.float64)
        if len(values):
            ax.plot(np.arange(1, len(values) + 1), values, style, marker="o", markersize=3, label=key)
    values = np.concatenate([np.asarray(logs.get(k, []), dtype=np.float64) for k in ("loss", "val_loss")])
    if len(values) and np.all(values > 0) and values.max() > 10 * values.min():
        ax.set_yscale("log")  # losses fall by orders of magnitude; a log axis shows the tail
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean squared error (scaled prices)")
    ax.set_title("Training and validation loss")
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best")
    _save(fig, path)


def _save(fig, path):
    buffer = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buffer)
    atomic_write(path, lambda f: f.write(buffer.getvalue()))
