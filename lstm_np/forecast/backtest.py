"""``python -m lstm_np.backtest``: does a network beat the naive forecast, over many origins, and
is the difference significant?

The train command judges a model on one test period. The backtest judges it on ``--folds``
consecutive test periods of ``--test-days`` days ending with the data (see
:mod:`lstm_np.forecast.folds`): in every fold each ``--models`` network is trained from scratch on
that fold's training part only (scaler, windows, validation split), once per seed, seeded by
(seed, fold), and forecasts each test day one step ahead from the observed prices before it.
With several seeds, a model's forecast for a day is the mean of its seeds' forecasts.

Pooled over all test days, per model (:mod:`lstm_np.forecast.stats`): MAE, RMSE, MAPE and MASE
against the naive forecast (tomorrow = today), direction accuracy with a 95% Wilson interval
and a binomial p-value, and the Diebold–Mariano test of equal accuracy against naive with the
verdict it supports.

Each (model, fold, seed) training is one task of :func:`lstm_np.forecast.tasks.run_tasks`: run
in-process, on ``--workers N`` local processes, or on an existing Dask cluster (``--scheduler``),
with the same ``forecasts.csv`` bit for bit.

Outputs in ``--out``: ``forecasts.csv`` (every forecast: enough to recompute every statistic, with
each fold's MASE scale in ``backtest.json``), ``backtest.json``, ``backtest.md`` and
``backtest.png``, written atomically once every task is done; an interrupted or failed run writes
none of them.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field, replace

import numpy as np

from ..files import write_json, write_text
from . import stats
from .cli import UserError, command
from .data import DataError, describe, load_prices, reading_options, source_name
from .folds import Fold, fold_seed, fold_split, make_folds
from .memory import check_memory
from .format import format_date, format_step, median_step, money, naive_name, plural
from .options import NAMES, BacktestOptions, TrainOptions, build_parser, parse
from .targets import target_lag
from .plots import plot_backtest
from .runfolder import RunFolder, output_folder, write_outputs
from .tasks import run_tasks

__all__ = ["Backtest", "BacktestOptions", "FoldTask", "backtest", "main", "run_fold"]

OUTPUT_FILES = ("forecasts.csv", "backtest.json", "backtest.md", "backtest.png")
CSV_COLUMNS = ("model", "fold", "seed", "date", "y_true", "y_pred", "naive")
ALPHA = 0.05  # significance level of the verdicts

DESCRIPTION = """\
Walk-forward backtest: train each --models network from scratch in each of --folds
consecutive test windows of --test-days days (the last ending with the data), on the
prices before the window only, for each seed; forecast every test day one step ahead;
and test, pooled over all test days, whether it beats the naive forecast (tomorrow =
today): MAE, RMSE, MAPE, MASE, direction accuracy and the Diebold-Mariano test.
Writes forecasts.csv, backtest.json, backtest.md and backtest.png to --out.
"""

EPILOG = """\
examples:
  python -m lstm_np.backtest --folds 10 --seeds 3 --workers 2     # bundled daily BTC-USD
  python -m lstm_np.backtest --models lstm,mlp --epochs 10 --train-days 365
  python -m lstm_np.backtest --csv eth.csv --scheduler tcp://10.0.0.5:8786

on a Dask cluster (every machine with lstm_np installed):
  dask scheduler                                   # on one machine; prints its address
  dask worker tcp://10.0.0.5:8786 --nthreads 1 --nworkers 4    # on each of the others
"""


def parse_args(argv=None):
    """Parse the command line into :class:`BacktestOptions`."""
    return parse(BacktestOptions,
                 build_parser(BacktestOptions, "lstm_np.backtest", DESCRIPTION, EPILOG), argv)


# ------------------------------------------------------------------------- tasks ---

@dataclass(frozen=True)
class FoldTask:
    """One training of a backtest: a model kind, a fold, a seed and the training options."""

    model: str
    fold: Fold
    seed: int
    options: TrainOptions

    @property
    def key(self):
        return f"{self.model}-fold{self.fold.fold}-seed{self.seed}"


def run_fold(task, series):
    """Train ``task.model`` from scratch on the fold's training part and forecast its test window.

    The model is seeded by :func:`~lstm_np.forecast.folds.fold_seed` (seed, fold). Returns a
    dict with ``y_pred`` (the forecasts of the ``horizon`` steps after each origin of the test
    window, ``(origins, horizon)``, in the series' units), ``low`` and ``high`` (its interval
    bounds, or None), ``epochs`` and ``train_seconds``; or with ``error`` (one sentence) if the
    training diverged.
    """
    from ..models import NonFiniteLossError
    from .pipeline import run_once

    options = replace(task.options, model=task.model, seed=fold_seed(task.seed, task.fold.fold),
                      quiet=True)
    split = fold_split(series, task.fold, options.window, options.val_split, options.target,
                       options.horizon)
    try:
        run = run_once(options, split)
    except (UserError, NonFiniteLossError) as err:  # deterministic: a retry would fail again
        return {"error": " ".join(str(err).split())}
    # (origins, H); low and high split-conformal from this fold's validation windows, or None
    return {"y_pred": run.predicted, "epochs": len(run.history.epoch),
            "train_seconds": float(sum(run.history.seconds)), "low": run.low, "high": run.high}


# ---------------------------------------------------------------------- backtest ---

@dataclass
class Backtest:
    """What a backtest computed: ``report`` is backtest.json, ``forecasts`` forecasts.csv."""

    options: BacktestOptions
    report: dict
    forecasts: pd.DataFrame
    series: object = field(repr=False)
    folds: list = field(repr=False)

    def save(self, out=None, force=False):
        """Write forecasts.csv, backtest.json, backtest.md and backtest.png into ``out`` (default
        ``runs/backtest-<YYYYmmdd-HHMMSS>``), each atomically; if one fails (or Ctrl-C), the ones
        already written are removed. A non-empty ``out`` is refused unless ``force``. Returns
        the folder."""
        if not isinstance(out, RunFolder):  # the command claimed its folder at the start
            out = output_folder(out, force, prefix="backtest-", names=OUTPUT_FILES,
                                inputs=[self.options.csv])
        write_outputs(out, {
            "forecasts.csv": lambda p: write_text(p, forecasts_csv(self.forecasts)),
            "backtest.json": lambda p: write_json(p, self.report),
            "backtest.md": lambda p: write_text(p, markdown(self.report)),
            "backtest.png": lambda p: plot_backtest(
                self.series, self.folds, self.report,
                {kind: first_step(seed_mean(self.forecasts, kind)[0]) for kind in self.report["models"]},
                p)})
        return str(out)


def backtest(options=None, series=None, *, progress=True, say=None, **overrides):
    """Run a backtest and return its :class:`Backtest` (nothing is written; see ``save``).

    Parameters
    ----------
    options : BacktestOptions, optional
        Defaults: :class:`BacktestOptions`'s.
    series : lstm_np.forecast.data.PriceSeries, optional
        The prices; default: loaded from ``options.source``.
    progress : bool
        Draw the progress bar over the trainings on stderr.
    say : callable, optional
        Where one-line notes go (data notes, the plan); default: nowhere.
    **overrides
        Fields of :class:`BacktestOptions`, e.g. ``folds=5, models=("lstm", "mlp")``.

    Examples
    --------
    >>> result = backtest(folds=3, test_days=10, models=("mlp",), epochs=2)   # doctest: +SKIP
    >>> result.report["models"]["mlp"]["verdict"]                              # doctest: +SKIP
    'not distinguishable from naive (DM p = 0.412)'
    """
    # The pipeline loads Numba and pandas: imported here, not with the module, so that the
    # command's --help and flag errors come back at once.
    from .pipeline import jsonable, warm_up

    start = time.perf_counter()
    opts = replace(options or BacktestOptions(), **overrides)
    say = say or (lambda *a, **k: None)
    if series is None:
        series = load_prices(opts.source, column=opts.column, date_column=opts.date_column,
                             features=opts.features, **reading_options(opts))
    say(describe(series))
    for note in series.notes:
        say(f"  data: {note}")
    check_memory(opts, len(series.prices), error=DataError)  # one training's memory, per worker
    if opts.horizon > opts.test_days:
        raise UserError(f"--horizon {opts.horizon} needs test windows of at least {opts.horizon} "
                        f"prices; use --test-days {opts.horizon} or more")
    folds = make_folds(len(series.prices), opts.folds, opts.test_days, opts.train_days, opts.window,
                       lag=target_lag(opts.target), horizon=opts.horizon)
    splits = [fold_split(series, fold, opts.window, opts.val_split, opts.target, opts.horizon)
              for fold in folds]  # checks every fold before any training
    dates = series.dates
    tasks = [FoldTask(kind, fold, seed, opts.training(kind))
             for kind in opts.models for fold in folds for seed in opts.seeds]
    say(f"{plural(len(folds), 'fold')} of {plural(opts.test_days, 'test price')}, {format_date(splits[0].test_dates[0], dates)} "
        f"to {format_date(splits[-1].test_dates[-1], dates)}, "
        + ("expanding training windows" if opts.train_days is None
           else f"rolling training windows of {opts.train_days} prices")
        + f"; {plural(len(opts.models), 'model')} x {plural(len(folds), 'fold')} x "
          f"{plural(len(opts.seeds), 'seed')} = {plural(len(tasks), 'training')}")
    results = run_tasks(run_fold, tasks, series, workers=opts.workers, scheduler=opts.scheduler,
                        warm_up=lambda: warm_up([opts.training(kind) for kind in opts.models], splits[0]),
                        progress=progress,
                        label="backtest")
    failed = [f"{task.model} fold {task.fold.fold} seed {task.seed}: {r['error']}"
              for task, r in zip(tasks, results) if "error" in r]
    if failed:
        raise UserError(f"{len(failed)} of {len(tasks)} trainings failed, so nothing was saved "
                        f"(first: {failed[0]})")

    forecasts = forecast_table(opts, series, folds, splits, tasks, results)
    scales = [stats.mase_scale(series.prices[f.train_start:f.test_start]) for f in folds]
    report = summarise(opts, forecasts, scales)
    report["folds"] = [{"fold": f.fold, "train_start": format_date(dates[f.train_start], dates),
                        "train_end": format_date(dates[f.test_start - 1], dates),
                        "test_start": format_date(dates[f.test_start], dates),
                        "test_end": format_date(dates[f.test_end - 1], dates),
                        "n_train": f.train_days, "n_test": f.test_days, "mase_scale": scale,
                        "notes": split.notes}
                       for f, scale, split in zip(folds, scales, splits)]
    report["source"], report["column"] = series.source, series.column
    report["step_seconds"] = float(median_step(dates).total_seconds())
    report["n_prices"], report["data_notes"] = len(series.prices), list(series.notes)
    report["train_seconds"] = float(sum(r["train_seconds"] for r in results))
    report["interval"] = opts.interval
    for kind, entry in report["models"].items():
        runs = [(t, r) for t, r in zip(tasks, results) if t.model == kind]
        entry["train_seconds"] = float(sum(r["train_seconds"] for _, r in runs))
        entry["coverage"] = coverage([(r["low"], r["high"], splits[t.fold.fold - 1].test_paths)
                                      for t, r in runs])
    report["options"] = jsonable(opts)
    report["seconds"] = time.perf_counter() - start
    return Backtest(opts, report, forecasts, series, folds)


def coverage(intervals):
    """Share of test prices inside their run's interval, pooled over every (fold, seed) run that
    has intervals (``[(low, high, true), ...]``, ``low`` None without one); None if none has."""
    inside = [((low <= true) & (true <= high)).ravel() for low, high, true in intervals
              if low is not None]
    return float(np.mean(np.concatenate(inside))) if inside else None


def columns(horizon):
    """forecasts.csv's columns: :data:`CSV_COLUMNS`, and ``step`` after ``seed`` for a horizon."""
    return CSV_COLUMNS if horizon == 1 else (*CSV_COLUMNS[:3], "step", *CSV_COLUMNS[3:])


def forecast_table(opts, series, folds, splits, tasks, results):
    """One row per (model, fold, seed, date), in that order: :data:`CSV_COLUMNS`. With a horizon
    H > 1, one row per (model, fold, seed, step, date): ``date`` is the day forecast ``step``
    steps after its origin, and ``naive`` the price at that origin."""
    import pandas as pd

    by_task = {(t.model, t.fold.fold, t.seed): r["y_pred"] for t, r in zip(tasks, results)}
    frames = []
    for kind in opts.models:
        for fold, split in zip(folds, splits):
            origins = len(split.test_last)
            for seed in opts.seeds:
                for step in range(1, opts.horizon + 1):
                    days = [format_date(d, series.dates) for d in split.test_dates[step - 1:step - 1 + origins]]
                    frames.append(pd.DataFrame({
                        "model": kind, "fold": fold.fold, "seed": seed, "step": step, "date": days,
                        "y_true": split.test_paths[:, step - 1],
                        "y_pred": by_task[kind, fold.fold, seed][:, step - 1],
                        "naive": split.test_last}))
    return pd.concat(frames, ignore_index=True)[list(columns(opts.horizon))]


def forecasts_csv(forecasts):
    """forecasts.csv's text; prices as the shortest decimals that read back to the same float64,
    so the statistics recomputed from the file are those of the run, bit for bit."""
    lines = [",".join(forecasts.columns)]
    for row in forecasts.itertuples(index=False):
        lines.append(",".join(repr(float(v)) if isinstance(v, (float, np.floating)) else str(v)
                              for v in row))
    return "\n".join(lines) + "\n"


def seed_mean(forecasts, kind):
    """The model's forecast per (fold, [step,] date): the mean over seeds.

    Returns ``(frame, per_seed, seeds)``: one row per (fold, [step,] date), in the table's order,
    with fold, [step,] date, y_true, naive and y_pred (the mean); the ``(n_seeds, n_rows)``
    array of each seed's forecasts; and the seeds, sorted.
    """
    rows = forecasts[forecasts["model"] == kind]
    seeds = sorted(rows["seed"].unique())
    per_seed = np.stack([rows[rows["seed"] == s]["y_pred"].to_numpy(np.float64) for s in seeds])
    first = rows[rows["seed"] == seeds[0]].reset_index(drop=True)
    keys = [c for c in ("fold", "step", "date", "y_true", "naive") if c in first]
    frame = first[keys].assign(y_pred=per_seed.mean(axis=0))
    if "step" not in frame:
        frame["step"] = 1
    return frame, per_seed, seeds


def first_step(frame):
    """The rows of a :func:`seed_mean` frame forecast one step ahead (all of them for H = 1)."""
    return frame[frame["step"] == 1]


def summarise(opts, forecasts, scales):
    """backtest.json's ``models`` and ``naive`` from the forecasts and each fold's MASE scale.

    Errors, MASE and direction pool every test day (and every step, for a horizon H > 1). The
    Diebold–Mariano test and its verdict are on the forecasts H steps ahead (with the
    autocovariances up to lag H - 1 their overlapping errors need); ``dm_by_step`` tests every
    step s with h = s.
    """
    horizon = opts.horizon
    models, naive = {}, None
    for kind in opts.models:
        frame, per_seed, seeds = seed_mean(forecasts, kind)
        y_true, y_pred, last = (frame[c].to_numpy(np.float64) for c in ("y_true", "y_pred", "naive"))
        scale = np.asarray(scales, dtype=np.float64)[frame["fold"].to_numpy() - 1]
        step = frame["step"].to_numpy()
        errors = stats.error_metrics(y_true, y_pred)
        direction = stats.direction(y_true, y_pred, last)
        tests = {s: stats.diebold_mariano(y_true[step == s], y_pred[step == s], last[step == s], h=s,
                                          loss=opts.dm_loss) for s in range(1, horizon + 1)}
        dm = tests[horizon]
        models[kind] = {
            **errors, "mase": stats.mase(y_true, y_pred, scale),
            "direction_accuracy": direction.accuracy, "direction_ci": list(direction.ci),
            "direction_pvalue": direction.pvalue, "dm_stat": dm.stat, "dm_pvalue": dm.pvalue,
            "verdict": stats.verdict(dm, alpha=ALPHA),
            "mae_by_seed": {str(s): stats.error_metrics(y_true, p)["mae"] for s, p in zip(seeds, per_seed)},
            "mae_by_fold": {str(k): stats.error_metrics(g["y_true"], g["y_pred"])["mae"]
                            for k, g in frame.groupby("fold", sort=True)},
            "name": NAMES[kind], "direction_hits": direction.hits, "direction_n": direction.n,
            "direction_flat_days": direction.n_flat, "dm_mean_loss_difference": dm.mean_diff,
            "n_days": len(y_true)}
        if horizon > 1:
            models[kind]["mae_by_step"] = [stats.error_metrics(y_true[step == s], y_pred[step == s])["mae"]
                                           for s in tests]
            models[kind]["dm_by_step"] = [{"step": s, "dm_stat": t.stat, "dm_pvalue": t.pvalue,
                                           "verdict": stats.verdict(t, alpha=ALPHA)} for s, t in tests.items()]
        if naive is None:
            naive = {**stats.error_metrics(y_true, last), "mase": stats.mase(y_true, last, scale),
                     "mae_by_fold": {str(k): stats.error_metrics(g["y_true"], g["naive"])["mae"]
                                     for k, g in frame.groupby("fold", sort=True)}}
            if horizon > 1:
                naive["mae_by_step"] = [stats.error_metrics(y_true[step == s], last[step == s])["mae"]
                                        for s in tests]
    return {"models": models, "naive": naive, "dm_loss": opts.dm_loss, "dm_step": horizon,
            "alpha": ALPHA, "seeds": list(opts.seeds), "forecast": "mean over seeds"}


# ----------------------------------------------------------------------- reports ---

def results_table(report):
    """The pooled statistics as a markdown table, naive last; with intervals, their coverage."""
    models = list(report["models"].values())
    covered = any(m.get("coverage") is not None for m in models)
    head = "| model | MAE ($) | RMSE ($) | MAPE | MASE | direction [95% CI] | DM | verdict |"
    rule = "|---|--:|--:|--:|--:|--:|--:|---|"
    if covered:
        head += f" {100 * report['interval']:g}% interval coverage |"
        rule += "--:|"
    rows = [head, rule]
    for m in models:
        low, high = m["direction_ci"]
        direction = ("–" if m["direction_accuracy"] is None or np.isnan(m["direction_accuracy"])
                     else f"{100 * m['direction_accuracy']:.1f}% [{100 * low:.0f}–{100 * high:.0f}%]")
        dm = "–" if m["dm_stat"] is None or np.isnan(m["dm_stat"]) else f"{m['dm_stat']:+.2f}"
        row = (f"| {m['name']} | {money(m['mae'])} | {money(m['rmse'])} | {m['mape']:.2f}% | "
               f"{m['mase']:.3f} | {direction} | {dm} | {m['verdict']} |")
        if covered:
            row += " – |" if m.get("coverage") is None else f" {100 * m['coverage']:.1f}% |"
        rows.append(row)
    n = report["naive"]
    name = naive_name(report["options"]["horizon"])
    rows.append(f"| {name} | {money(n['mae'])} | {money(n['rmse'])} | "
                f"{n['mape']:.2f}% | {n['mase']:.3f} | – | – | – |" + (" – |" if covered else ""))
    return "\n".join(rows)


def fold_table(report):
    """MAE per fold per model (of the forecast averaged over seeds) beside naive's, as markdown."""
    names = [m["name"] for m in report["models"].values()]
    rows = ["| fold | test period | training prices | naive MAE ($) | "
            + " | ".join(f"{n} MAE ($)" for n in names) + " |",
            "|--:|---|--:|--:|" + "--:|" * len(names)]
    for f in report["folds"]:
        k = str(f["fold"])
        rows.append(f"| {k} | {f['test_start']} to {f['test_end']} | {f['n_train']} | "
                    f"{money(report['naive']['mae_by_fold'][k])} | "
                    + " | ".join(money(m["mae_by_fold"][k]) for m in report["models"].values()) + " |")
    return "\n".join(rows)


def describe_window(report):
    """One test window in words: ``"30 days"`` for daily prices, ``"96 prices 0:15:00 apart"``
    for 15-minute ones."""
    import pandas as pd

    n, step = report["options"]["test_days"], report["step_seconds"]
    if step == 86400:
        return plural(n, "day")
    return f"{plural(n, 'price')} {format_step(pd.Timedelta(seconds=step))} apart"


def describe_run(report):
    """One paragraph: the data, the folds, the networks' settings and the seeds."""
    o = report["options"]
    folds = report["folds"]
    training = ("expanding training windows (all prices before each test window)"
                if o["train_days"] is None else f"rolling training windows of {o['train_days']} prices")
    seeds = (f"seed {o['seeds'][0]}" if len(o["seeds"]) == 1 else
             f"seeds {','.join(map(str, o['seeds']))} (a day's forecast is the mean over the seeds)")
    rate = "" if o["learning_rate"] is None else " " + format(o["learning_rate"], "g")
    extra = "".join([f", target {o['target']}" if o["target"] != "price" else "",
                     f", inputs {','.join(o['features'])}" if list(o["features"]) != ["close"] else "",
                     f", early stopping (patience {o['patience']})" if o["patience"] is not None else "",
                     f", {o['horizon']} steps ahead ({o['strategy']})" if o["horizon"] > 1 else ""])
    return (f"{source_name(report['source'])} {report['column']}: {len(folds)} folds of "
            f"{describe_window(report)}, {folds[0]['test_start']} to {folds[-1]['test_end']}, "
            f"{training}. Window {o['window']}, units {','.join(map(str, o['units']))}, "
            f"{plural(o['epochs'], 'epoch')}, batch {o['batch_size']}, dropout {o['dropout']:g}, "
            f"{o['optimizer']}{rate}, {o['dtype']}{extra}; {seeds}.")


def markdown(report):
    """backtest.md: what ran, the pooled table, how to read it, MAE by fold and by seed."""
    o = report["options"]
    n_days = next(iter(report["models"].values()))["n_days"]
    loss = "squared" if report["dm_loss"] == "squared" else "absolute"
    seeds = [str(s) for s in o["seeds"]]
    by_seed = ["| model | " + " | ".join(f"seed {s}" for s in seeds) + " |",
               "|---|" + "--:|" * len(seeds)]
    for m in report["models"].values():
        by_seed.append(f"| {m['name']} | " + " | ".join(money(m["mae_by_seed"][s]) for s in seeds) + " |")
    return (f"# Backtest\n\n{describe_run(report)}\n\n"
            + (f"## Pooled over all {n_days} test days\n\n" if o["horizon"] == 1 else
               f"## Pooled over all {n_days} forecasts (steps 1 to {o['horizon']} from every origin)\n\n")
            + f"{results_table(report)}\n\n"
            f"MASE: each day's absolute error divided by the mean absolute one-step change of its "
            f"fold's training prices (Hyndman & Koehler 2006); below 1 beats the naive forecast's "
            f"in-sample error. Direction: share of days on which the forecast moved the same way as "
            f"the price (days without a move left out, a forecast of no move counted as a miss), "
            f"with a 95% Wilson interval. DM: the Diebold-Mariano statistic on {loss} errors against "
            f"naive with the Harvey-Leybourne-Newbold correction, two-sided, Student's t with n - 1 "
            f"degrees of freedom (R's forecast::dm.test); positive means larger errors than naive. "
            f"Verdicts at the {report['alpha']:g} level."
            + ("" if all(m.get("coverage") is None for m in report["models"].values()) else
               f" Interval coverage: the share of test prices inside their run's own split-conformal "
               f"{100 * report['interval']:g}% interval, calibrated on its fold's validation windows, "
               f"pooled over folds and seeds.")
            + "\n\n"
            + step_section(report) +
            f"## MAE by fold\n\n{fold_table(report)}\n\n"
            f"## MAE by seed (pooled over folds)\n\n" + "\n".join(by_seed) + "\n\n"
            f"{report['seconds']:.1f} s in all, {report['train_seconds']:.1f} s of training, "
            f"{where(o)}.\n")


def step_section(report):
    """For a horizon H > 1: MAE by step against naive, and the DM verdict at every step."""
    horizon = report["options"]["horizon"]
    if horizon == 1:
        return ""
    models = list(report["models"].values())
    rows = ["| step | naive MAE ($) | " + " | ".join(f"{m['name']} MAE ($) | {m['name']} DM"
                                                    for m in models) + " |",
            "|--:|--:|" + "--:|---|" * len(models)]
    for s in range(horizon):
        rows.append(f"| {s + 1} | {money(report['naive']['mae_by_step'][s])} | "
                    + " | ".join(f"{money(m['mae_by_step'][s])} | {m['dm_by_step'][s]['verdict']}"
                                 for m in models) + " |")
    return (f"## By step ahead\n\nEach origin forecasts the {horizon} steps after it; the naive "
            f"forecast of every step is the price at the origin. The verdicts above test step "
            f"{horizon} (Diebold-Mariano with h = {horizon}); step s is tested with h = s.\n\n"
            + "\n".join(rows) + "\n\n")


def where(options):
    """Where the trainings ran, for a sentence."""
    if options["scheduler"] is not None:
        return f"on the Dask cluster at {options['scheduler']}"
    if options["workers"] is not None:
        return f"on {plural(options['workers'], 'local worker process')}"
    return "one after another in one process"


# ----------------------------------------------------------------------- command ---

@command
def main(argv=None):
    """Run the command line; returns the exit code (0 ok, 2 user error, 130 interrupted)."""
    opts = parse_args(argv)
    out = output_folder(opts.out, opts.force, prefix="backtest-", names=OUTPUT_FILES, inputs=[opts.csv])
    say = (lambda *a, **k: None) if opts.quiet else print
    result = backtest(opts, progress=not opts.quiet, say=say)
    report = result.report
    print(f"\n{describe_run(report)}\n")
    print(results_table(report))
    print()
    for m in report["models"].values():
        print(f"{m['name']}: {m['verdict']}")
    result.save(out, force=opts.force)
    print(f"saved {', '.join(OUTPUT_FILES)} in {out} ({report['seconds']:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
