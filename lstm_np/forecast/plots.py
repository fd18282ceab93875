"""The pictures the commands leave behind: a run's test-period forecast and loss curves, the
comparison of several models' errors, and a backtest's folds.

Figures are drawn with matplotlib's Agg canvas directly (no ``pyplot``, so no GUI backend and
no global figure state), rendered into memory and written atomically. matplotlib (and pandas) are
imported when the first figure is drawn, not with this module: the commands import it before
they parse their flags, and ``--help`` should not wait for matplotlib.
"""
from __future__ import annotations

import io
import textwrap

import numpy as np

from ..files import write_bytes
from .data import source_name
from .format import money, price_scale, whole_money
from .space import text as grid_text

__all__ = ["plot_backtest", "plot_comparison", "plot_forecast", "plot_future", "plot_loss", "plot_steps",
           "plot_tune"]


def plot_forecast(dates, true, predicted, naive, title, path, band=None, far=None):
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
    band : tuple, optional
        ``(low, high, level)``: the prediction interval of ``predicted``, drawn as a shaded band.
    far : dict, optional
        A multi-step model's last-step forecasts: ``dates``, ``predicted``, ``step`` and optional
        ``low``, ``high`` and its ``mae``, drawn as a second line (and band) dated on their target days.
    """
    true, predicted, naive = (np.asarray(a, dtype=np.float64).ravel() for a in (true, predicted, naive))
    scale = price_scale(true)
    mae = float(np.mean(np.abs(predicted - true)))
    naive_mae = float(np.mean(np.abs(naive - true)))
    fig = _figure(10, 5)
    ax = fig.add_subplot()
    ax.plot(dates, true, color="black", linewidth=2, label="true price")
    step1 = "" if far is None else ", 1 step ahead"
    if band is not None:
        low, high, level = band
        ax.fill_between(dates, low, high, color="tab:blue", alpha=0.15, linewidth=0,
                        label=f"{100 * level:g}% interval{step1}")
    ax.plot(dates, predicted, color="tab:blue", linewidth=1.5, label=f"model{step1} (MAE \\${whole_money(mae, scale)})")
    if far is not None:
        if far.get("low") is not None:
            ax.fill_between(far["dates"], far["low"], far["high"], color="tab:green", alpha=0.1,
                            linewidth=0, label=f"{100 * band[2]:g}% interval, {far['step']} steps ahead"
                            if band is not None else f"interval, {far['step']} steps ahead")
        ax.plot(far["dates"], far["predicted"], color="tab:green", linewidth=1.2,
                label=f"model, {far['step']} steps ahead (MAE \\${whole_money(far['mae'], scale)})")
    ax.plot(dates, naive, color="tab:orange", linewidth=1.2, linestyle="--",
            label=f"naive: yesterday's price (MAE \\${whole_money(naive_mae, scale)})")
    _price_axes(ax, scale=scale)
    ax.set_title(f"{_wrap(title)}\nmodel MAE \\${money(mae, scale)} vs naive MAE \\${money(naive_mae, scale)}")
    _save(fig, path)


def plot_steps(metrics, title, path):
    """MAE by horizon step, the model's against the naive forecast's (and the intervals'
    coverage by step, if any), from metrics.json's ``mae_by_step`` and ``naive_mae_by_step``."""
    mae = np.asarray(metrics["mae_by_step"], dtype=np.float64)
    naive = np.asarray(metrics["naive_mae_by_step"], dtype=np.float64)
    steps = np.arange(1, len(mae) + 1)
    fig = _figure(8, 4.5)
    ax = fig.add_subplot()
    ax.plot(steps, mae, marker="o", color="tab:blue", label="model")
    ax.plot(steps, naive, marker="s", linestyle="--", color="tab:orange",
            label="naive: the last observed price")
    ax.set_xticks(steps)
    ax.set_xlabel("steps ahead")
    ax.yaxis.set_major_formatter(_dollars(metrics.get("price_scale")))
    ax.set_ylabel("test MAE (USD)")
    ax.set_ylim(0, max(mae.max(), naive.max()) * 1.15)
    ax.grid(True, alpha=0.3)
    coverage = metrics.get("coverage_by_step")
    if coverage:
        for h, c in zip(steps, coverage):  # along the bottom, clear of the two lines
            ax.annotate(f"{100 * c:.0f}%", (h, 0), textcoords="offset points", xytext=(0, 5),
                        ha="center", fontsize=8, color="tab:blue")
        ax.plot([], [], " ", label=f"bottom: share of test prices inside the "
                                   f"{100 * metrics['interval']:g}% intervals")
    ax.legend(loc="best")
    ax.set_title(f"{_wrap(title, 90)}\nMAE by horizon step against the naive forecast", fontsize=10)
    _save(fig, path)


def plot_future(dates, prices, future_dates, forecast, low, high, level, title, path):
    """The recent prices and the forecast beyond them with its interval fan (predict --plot)."""
    fig = _figure(10, 5)
    ax = fig.add_subplot()
    ax.plot(dates, prices, color="black", linewidth=1.5, label="observed price")
    # Join the fan to the last observed price, so it starts where the data ends.
    x = [dates[-1], *future_dates]
    ax.plot(x, [prices[-1], *forecast], color="tab:blue", marker="o", markersize=3, label="forecast")
    low, high = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
    known = np.isfinite(low) & np.isfinite(high)
    if known.any():
        k = int(known.sum())
        ax.fill_between(x[:k + 1], [prices[-1], *low[:k]], [prices[-1], *high[:k]], color="tab:blue",
                        alpha=0.2, linewidth=0, label=f"{100 * level:g}% interval")
    _price_axes(ax, scale=price_scale(prices))
    ax.set_title(_wrap(title), fontsize=10)
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
    from matplotlib.ticker import MaxNLocator

    logs = getattr(history, "history", history)
    fig = _figure(8, 4.5)
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


def plot_comparison(report, title, path):
    """Bars of mean test MAE per model with sd error bars, the naive MAE as a dashed line.

    Parameters
    ----------
    report : dict
        ``compare.json``'s content: ``models`` (name, ``mae_mean``, ``mae_sd``), ``naive``
        (``mae``) and ``options`` (``seeds``, ``epochs``).
    title : str
        First line of the title.
    path : str or os.PathLike
        Where to write the PNG.
    """
    models = [s for s in report["models"].values() if s["mae_mean"] is not None]
    means = [s["mae_mean"] for s in models]
    sds = [s["mae_sd"] or 0.0 for s in models]
    naive, scale = report["naive"]["mae"], report.get("price_scale")
    fig = _figure(8, 4.5)
    ax = fig.add_subplot()
    x = np.arange(len(models))
    ax.bar(x, means, yerr=sds, capsize=6, color="tab:blue", alpha=0.8, label="model: mean ± sd over seeds")
    for k, (mean, sd) in enumerate(zip(means, sds)):
        ax.annotate(f"\\${whole_money(mean, scale)}", (k, mean + sd), textcoords="offset points", xytext=(0, 4),
                    ha="center", va="bottom", fontsize=9)
    ax.axhline(naive, color="tab:orange", linestyle="--", linewidth=1.5,
               label=f"naive: yesterday's price (\\${whole_money(naive, scale)})")
    ax.set_xticks(x, [s["name"] for s in models])
    ax.yaxis.set_major_formatter(_dollars(scale))
    ax.set_ylabel("test MAE (USD)")
    ax.set_ylim(0, max([naive] + [m + s for m, s in zip(means, sds)]) * 1.15 or 1)  # 1: all exact
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(loc="best")
    seeds = ",".join(map(str, report["options"]["seeds"]))
    ax.set_title(f"{title}\ntest MAE, {report['options']['epochs']} epochs, seeds {seeds}", fontsize=10)
    _save(fig, path)


def plot_backtest(series, folds, report, forecasts, path):
    """A backtest in two panels: the price with every fold's forecasts and the fold starts
    above; MAE per fold per model, with the naive forecast's, below.

    Parameters
    ----------
    series : PriceSeries
        The prices the backtest ran on.
    folds : list of Fold
        Their positions in ``series``.
    report : dict
        ``backtest.json``'s content: ``models`` (name, ``mae_by_fold``), ``naive``
        (``mae_by_fold``), ``folds`` (``test_start``), ``options`` and ``source``.
    forecasts : dict of str to pandas.DataFrame
        Per model kind, one row per test day with ``fold``, ``date`` and ``y_pred`` (the mean
        over seeds).
    path : str or os.PathLike
        Where to write the PNG.
    """
    import pandas as pd

    fig = _figure(11, 8)
    top, bottom = fig.subplots(2, 1, height_ratios=[3, 2])
    context = max(0, folds[0].test_start - folds[0].test_days)  # one window of history first
    top.plot(series.dates[context:], series.prices[context:], color="black", linewidth=1.5,
             label="price")
    colours = dict(zip(report["models"], ("tab:blue", "tab:green", "tab:red", "tab:purple")))
    for kind, m in report["models"].items():
        for k, (_, fold) in enumerate(forecasts[kind].groupby("fold", sort=True)):
            top.plot(pd.to_datetime(fold["date"]), fold["y_pred"], color=colours[kind], linewidth=1,
                     label=m["name"] if k == 0 else None)  # one legend entry per model
    for f in folds:
        top.axvline(series.dates[f.test_start], color="grey", linestyle=":", linewidth=0.8)
    scale = price_scale(series.prices)
    _price_axes(top, fontsize=9, scale=scale)
    seeds = len(report["options"]["seeds"])
    top.set_title(f"{source_name(report['source'])}: {len(folds)} folds of "
                  f"{report['options']['test_days']} prices (dotted: fold starts), one-step forecasts"
                  + (f", mean over {seeds} seeds" if seeds > 1 else ""), fontsize=10)

    x = np.arange(1, len(folds) + 1)
    width = 0.8 / max(len(report["models"]), 1)
    for j, (kind, m) in enumerate(report["models"].items()):
        bottom.bar(x - 0.4 + (j + 0.5) * width, [m["mae_by_fold"][str(k)] for k in x], width,
                   color=colours[kind], label=m["name"])
    bottom.plot(x, [report["naive"]["mae_by_fold"][str(k)] for k in x], color="black", marker="o",
                linestyle="--", linewidth=1.2, label="naive (tomorrow = today)")
    bottom.set_xticks(x, [f"{k}\n{report['folds'][k - 1]['test_start']}" for k in x], fontsize=8)
    bottom.yaxis.set_major_formatter(_dollars(scale))
    bottom.set_ylabel("MAE (USD)")
    bottom.set_xlabel("fold (first test day)")
    bottom.grid(True, axis="y", alpha=0.3)
    # beside the bars, not over them: no bar can hide behind it
    bottom.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9)
    _save(fig, path)


def plot_tune(report, path):
    """A search (``tune.json``'s ``report``): the selection score of every configuration tried
    against each axis's values — each dot one configuration, the bar their mean — and, last,
    the selection and evaluation scores of the refitted best configurations, with naive's."""
    score = report["score"]
    label = score.upper()
    axes = list(report["axes"])
    panels = len(axes) + 1
    cols = min(3, panels)
    rows = -(-panels // cols)
    fig = _figure(4.2 * cols, 3.4 * rows)
    grid = fig.subplots(rows, cols, squeeze=False).ravel()
    naive = report["naive"]["selection"].get(score)
    jitter = np.random.default_rng(0)
    for ax, name in zip(grid, axes):
        shown = [grid_text(v) for v in report["axes"][name]]
        for k, value in enumerate(shown):
            scores = [e["selection"][score] for e in report["leaderboard"]
                      if grid_text(e["values"][name]) == value]
            if scores:
                ax.scatter(k + jitter.uniform(-0.15, 0.15, len(scores)), scores, s=14, alpha=0.6,
                           color="tab:blue")
                ax.plot([k - 0.3, k + 0.3], [np.mean(scores)] * 2, color="black", linewidth=2)
        if naive is not None:
            ax.axhline(naive, color="tab:orange", linestyle="--", linewidth=1)
        ax.set_xticks(range(len(shown)), shown, fontsize=8)
        ax.set_xlim(-0.6, len(shown) - 0.4)
        ax.set_title(name, fontsize=10)
        ax.set_ylabel(f"selection {label}", fontsize=9)
        ax.grid(True, axis="y", alpha=0.3)
    ax = grid[len(axes)]
    top = report["top"]
    x = np.arange(len(top))
    chosen = [t["selection_score"] for t in top]
    judged = [np.nan if t["evaluation_score"] is None else t["evaluation_score"] for t in top]
    for k in x:
        ax.plot([k, k], [chosen[k], judged[k]], color="grey", linewidth=1)
    ax.scatter(x, chosen, color="tab:blue", zorder=3, label="selection folds")
    ax.scatter(x, judged, color="tab:red", marker="s", zorder=3, label="evaluation folds")
    for phase, colour in (("selection", "tab:blue"), ("evaluation", "tab:red")):
        value = (report["naive"][phase] or {}).get(score)
        if value is not None:
            ax.axhline(value, color=colour, linestyle=":", linewidth=1, label=f"naive, {phase}")
    ax.set_xticks(x, [f"#{t['rank']}\nc{t['config']}" for t in top], fontsize=8)
    ax.set_xlim(-0.6, len(top) - 0.4)
    ax.set_title(f"best {len(top)}: selection vs evaluation {label}", fontsize=10)
    ax.set_ylabel(label, fontsize=9)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    for ax in grid[panels:]:
        ax.set_visible(False)
    fig.suptitle(f"{source_name(report['source'])}: {report['n_tried']} configurations, {label} on the "
                 f"selection folds by axis (dashed: naive)", fontsize=11)
    _save(fig, path)


def _figure(width, height):
    """A figure of ``width`` x ``height`` inches with matplotlib's constrained layout."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _dollars(scale=None):
    """A tick formatter writing ``$60,123``, or ``$0.00001234`` for prices of ``scale`` below 1."""
    from matplotlib.ticker import FuncFormatter

    # "\\$": a plain "$" pair would switch matplotlib's text into math mode.
    return FuncFormatter(lambda value, _: f"\\${whole_money(value, scale)}")


def _wrap(title, width=100):
    """A long title on several lines, so it is not cut at the figure's edges; lines break
    between words only (never inside ``log-return`` or a file name)."""
    return "\n".join(textwrap.wrap(title, width, break_long_words=False, break_on_hyphens=False))


def _price_axes(ax, fontsize=None, scale=None):
    """Dates along x, dollars up y, a light grid and the legend: every price chart's frame."""
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    locator = AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.yaxis.set_major_formatter(_dollars(scale))
    ax.set_ylabel("price (USD)")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize=fontsize)


def _save(fig, path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    buffer = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buffer)
    write_bytes(path, buffer.getvalue())
