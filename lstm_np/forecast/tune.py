"""``python -m lstm_np.tune``: which settings are best, and is even the best one any good?

A hyperparameter search judged on data it never saw (nested evaluation). The backtest's
``--folds`` consecutive test windows (:mod:`lstm_np.forecast.folds`) are split in time: the
earlier ones are the *selection* folds, the last ``--evaluation-folds`` the *evaluation* folds.

1. Every configuration of the search space (:mod:`lstm_np.forecast.space`) runs the walk-forward
   backtest on the selection folds — each (configuration, fold, seed) one training from scratch
   on the fold's own training part, exactly the backtest's (:func:`.backtest.run_fold`) — and is
   scored by ``--score`` (MASE by default) pooled over their test days, with the backtest's own
   statistics (:func:`.backtest.summarise`).
2. The best ``--top`` configurations are refitted on each evaluation fold (on all the prices
   before it, as the backtest does) and judged there: the first of them, the winner, is the
   search's answer, with the backtest's statistics against the naive forecast (Diebold–Mariano,
   direction with its 95% interval, interval coverage). The evaluation folds choose nothing, so
   the winner's evaluation score is free of the search's optimism; the gap between its selection
   and evaluation scores measures that optimism.

The selection folds end where the evaluation folds start, and each fold's training part ends
where its test window starts, so no selection training or score sees an evaluation price.

Every training is one task of :func:`.tasks.run_tasks` (in-process, ``--workers N`` or
``--scheduler ADDRESS``, with the same results bit for bit). Each finished training is appended
to ``results.jsonl`` in ``--out`` at once, so a killed search loses only the trainings in flight:
``--resume`` continues it without retraining the others, and writes the same ``trials.csv``.

Outputs in ``--out``: ``results.jsonl`` (every training's forecasts), ``trials.csv`` (one row per
configuration and fold, with every option and score), ``tune.json``, ``tune.md`` (leaderboard,
winner, the nested verdict in words) and ``tune.png``.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass, field, fields, replace

import numpy as np

from ..files import write_json, write_text
from . import backtest as bt
from . import space as search
from .cli import UserError, command
from .data import DataError, describe, load_prices, reading_options, source_name
from .folds import fold_split, make_folds
from .format import format_date, money, plural
from .memory import check_memory
from .options import NAMES, BacktestOptions, TrainingOptions, TuneOptions, build_parser, parse
from .runfolder import RunFolder, output_folder, write_outputs
from .targets import target_lag
from .tasks import run_tasks

__all__ = ["Trial", "Tune", "TuneOptions", "main", "run_trial", "tune"]

RESULTS = "results.jsonl"
OUTPUT_FILES = ("trials.csv", "tune.json", "tune.md", "tune.png", RESULTS)
SCORE_COLUMNS = ("mae", "rmse", "mape", "mase", "direction_accuracy", "naive_mae", "naive_mase")
LEADERBOARD_ROWS = 15

DESCRIPTION = """\
Hyperparameter search judged on folds it never saw. The --folds test windows of the
backtest are split in time: each configuration of the search space is backtested on the
earlier (selection) folds and scored by --score; the best --top are refitted on each of
the last --evaluation-folds and the winner is judged there against the naive forecast
(Diebold-Mariano, direction, coverage). Reports the winner's selection and evaluation
scores and their gap (the search's optimism). Writes results.jsonl, trials.csv,
tune.json, tune.md and tune.png to --out; --resume continues an interrupted search.
"""

EPILOG = """\
examples:
  python -m lstm_np.tune --grid units=32,64 --grid window=30,60 --grid optimizer=adam,rmsprop
  python -m lstm_np.tune --space space.toml --samples 20 --seed 1 --workers 2
  python -m lstm_np.tune --grid model=lstm,gru --grid layers=1,2 --units 32 --budget 200 --out runs/t
  python -m lstm_np.tune --grid model=lstm,gru --grid layers=1,2 --units 32 --budget 200 --out runs/t --resume

space.toml (one line per axis; a list value is a tuple option's, here two layers):
  units = [32, 64, [50, 100]]
  learning-rate = [1e-3, 3e-3]
  target = ["price", "log-return"]
"""


def parse_args(argv=None):
    """Parse the command line into :class:`TuneOptions`."""
    epilog = EPILOG + f"\naxes of --grid and --space:\n  {', '.join(search.axes())}\n"
    return parse(TuneOptions, build_parser(TuneOptions, "lstm_np.tune", DESCRIPTION, epilog,
                                           titles={"search": "search"}), argv)


# ------------------------------------------------------------------------- tasks ---

@dataclass(frozen=True)
class Trial(bt.FoldTask):
    """One training of a search: a backtest task of configuration ``config``."""

    config: int = 0

    @property
    def key(self):
        return f"c{self.config}-fold{self.fold.fold}-seed{self.seed}"


def run_trial(task, series):
    """:func:`.backtest.run_fold` on the input columns of the task's ``--features``."""
    return bt.run_fold(task, with_features(series, task.options.features))


def with_features(series, names):
    """The series with only the input columns ``names`` (the series holds every axis's)."""
    names = tuple(names)
    if names == tuple(series.feature_names):
        return series
    columns = [list(series.feature_names).index(n) for n in names]
    return replace(series, features=None if names == ("close",) else series.features[:, columns],
                   feature_names=names)


# ------------------------------------------------------------------- results file ---

class Results:
    """results.jsonl: a first line naming the search, then one JSON line per finished training,
    appended (one ``write`` each, flushed to disk) the moment it finishes.

    A line cut short by a kill is dropped when the file is read again. Floats are written as
    Python's shortest round-tripping decimals, so a result read back is the result computed.
    """

    def __init__(self, path, search_id):
        self.path, self.search = path, search_id
        self.done, self.lines = {}, [json.dumps({"search": search_id, "lstm_np_tune": 1})]
        self._fd = None

    def load(self):
        """Read a previous run's file of the same search; refuse another search's."""
        try:
            with open(self.path, "rb") as f:
                raw = f.read()
        except FileNotFoundError:
            raise UserError(f"--resume found no {RESULTS} in {os.path.dirname(self.path) or '.'} to "
                            "continue; give the --out folder of the interrupted search") from None
        complete = raw[:raw.rfind(b"\n") + 1]  # a last line without its newline was cut short
        lines = complete.decode("utf-8", errors="replace").splitlines()
        try:
            header = json.loads(lines[0]) if lines else {}
        except ValueError:
            header = {}
        if not isinstance(header, dict) or "search" not in header:
            raise UserError(f"{self.path} is not a results file of lstm_np.tune; give the --out folder "
                            "of the interrupted search")
        if header["search"] != self.search:
            raise UserError(f"{self.path} holds another search (other options, search space or data); "
                            "resume it with the options that started it, or start this one in "
                            "another --out folder")
        for line in lines[1:]:
            record = json.loads(line)
            self.done[record.pop("key")] = _decode(record)
            self.lines.append(line)
        if len(complete) < len(raw):
            os.truncate(self.path, len(complete))
        return self

    def open(self, fresh):
        """Start appending; ``fresh`` starts the file again with the header."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | (os.O_TRUNC if fresh else 0)
        self._fd = os.open(self.path, flags, 0o666)
        if fresh:
            self._write(self.lines[0])

    def add(self, task, result):
        """Record one finished training (in completion order)."""
        line = json.dumps({"key": task.key, **_encode(result)})
        self.done[task.key] = result
        self.lines.append(line)
        if self._fd is not None:
            self._write(line)

    def _write(self, line):
        os.write(self._fd, (line + "\n").encode("utf-8"))
        os.fsync(self._fd)

    def close(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def text(self):
        return "\n".join(self.lines) + "\n"


def _encode(result):
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in result.items()}


def _decode(record):
    return {k: (np.asarray(v, dtype=np.float64) if k in ("y_pred", "low", "high") and v is not None
                else v) for k, v in record.items()}


RUN_ONLY = {"workers", "scheduler", "out", "force", "resume", "quiet", "grid", "space"}


def search_id(opts, space, series):
    """A digest of everything that decides a search's trainings: the options (not where the
    trainings run or the output goes; the space as parsed, not how it was spelt), the data
    itself (not where it was read from or how: the ``fixed`` options but the horizon)."""
    digest = hashlib.sha256()
    for array in (series.prices, series.dates.asi8, series.inputs):
        digest.update(np.ascontiguousarray(array).tobytes())
    decides = [f.name for f in fields(opts) if f.name not in RUN_ONLY
               and (not f.metadata.get("fixed") or f.name == "horizon")]
    described = {"options": {name: getattr(opts, name) for name in decides},
                 "space": [(name, [search.text(v) for v in values]) for name, values in space],
                 "data": digest.hexdigest()}
    return hashlib.sha256(json.dumps(described, sort_keys=True, default=list).encode()).hexdigest()[:16]


# -------------------------------------------------------------------------- tune ---

@dataclass
class Tune:
    """What a search computed: ``report`` is tune.json, ``trials`` trials.csv's rows."""

    options: TuneOptions
    report: dict
    trials: list
    results: Results = field(repr=False)

    def save(self, out=None, force=False):
        """Write trials.csv, tune.json, tune.md, tune.png (and results.jsonl, unless it is the
        file the search appended to) into ``out`` (default ``runs/tune-<YYYYmmdd-HHMMSS>``), all
        or nothing. Returns the folder."""
        from .plots import plot_tune

        if not isinstance(out, RunFolder):
            out = output_folder(out, force, prefix="tune-", names=OUTPUT_FILES,
                                inputs=[self.options.csv, self.options.space])
        writers = {"trials.csv": lambda p: write_text(p, trials_csv(self.trials)),
                   "tune.json": lambda p: write_json(p, self.report),
                   "tune.md": lambda p: write_text(p, markdown(self.report)),
                   "tune.png": lambda p: plot_tune(self.report, p)}
        journal = os.path.join(out, RESULTS)
        if not (os.path.exists(journal) and os.path.samefile(journal, self.results.path or os.devnull)):
            writers[RESULTS] = lambda p: write_text(p, self.results.text())
        write_outputs(out, writers)
        return str(out)


def tune(options=None, series=None, *, progress=True, say=None, results=None, **overrides):
    """Run a nested search and return its :class:`Tune` (see ``Tune.save`` to write it).

    Parameters
    ----------
    options : TuneOptions, optional
        The search space (``grid``, ``space``), how it is searched and the fixed options.
    series : lstm_np.forecast.data.PriceSeries, optional
        Default: loaded from ``options.source`` (with every ``features`` axis value's columns).
    progress : bool
        Draw a progress bar over each phase's trainings on stderr.
    say : callable, optional
        Where one-line notes go (data notes, the plan).
    results : str, optional
        A results.jsonl to append every finished training to; with ``options.resume`` the
        trainings it already holds are read from it, not run again.
    **overrides
        Fields of :class:`TuneOptions`, e.g. ``grid=["units=16,32"], folds=5``.

    Examples
    --------
    >>> t = tune(grid=["units=16,32", "window=30,60"], epochs=5, folds=6)   # doctest: +SKIP
    >>> t.report["winner"]["evaluation"]["verdict"]                          # doctest: +SKIP
    'not distinguishable from naive (DM p = 0.412)'
    """
    from .pipeline import jsonable, warm_up

    start = time.perf_counter()
    opts = replace(options or TuneOptions(), **overrides)
    say = say or (lambda *a, **k: None)
    space = search.search_space(opts.grid, opts.space)
    n_grid = search.check_count(space)
    configs = search.configurations(space, opts)
    if opts.evaluation_folds >= opts.folds:
        raise UserError(f"--evaluation-folds {opts.evaluation_folds} leaves no selection fold of "
                        f"--folds {opts.folds}; use more --folds or fewer --evaluation-folds")
    if opts.horizon > opts.test_days:
        raise UserError(f"--horizon {opts.horizon} needs test windows of at least {opts.horizon} "
                        f"prices; use --test-days {opts.horizon} or more")
    if series is None:
        wanted = {name for c in configs for name in c.options.features}
        series = load_prices(opts.source, column=opts.column, date_column=opts.date_column,
                             features=("close", *sorted(wanted - {"close"})), **reading_options(opts))
    say(describe(series))
    for note in series.notes:
        say(f"  data: {note}")
    for c in configs:
        check_memory(c.options, len(series.prices), error=DataError)
    folds = make_folds(len(series.prices), opts.folds, opts.test_days, opts.train_days,
                       max(c.options.window for c in configs), horizon=opts.horizon,
                       lag=max(target_lag(c.options.target) for c in configs))
    splits = fold_splits(series, configs, folds)  # checks every fold of every configuration
    selection, evaluation = folds[:-opts.evaluation_folds], folds[-opts.evaluation_folds:]
    per_config, refits = len(selection) * len(opts.seeds), len(evaluation) * len(opts.seeds)
    tried = search.choose(configs, opts.samples, opts.seed, opts.budget,
                          cost=lambda k: k * per_config + min(opts.top, k) * refits)
    journal = Results(results, search_id(opts, space, series))
    if results is not None and opts.resume:
        journal.load()
    dates = series.dates
    say(f"{plural(len(tried), 'configuration')} of the grid's {n_grid:,}; "
        f"{plural(len(selection), 'selection fold')} ({format_date(dates[selection[0].test_start], dates)} to "
        f"{format_date(dates[selection[-1].test_end - 1], dates)}) x {plural(len(opts.seeds), 'seed')} = "
        f"{plural(len(tried) * per_config, 'training')}, then the best {min(opts.top, len(tried))} on "
        f"{plural(len(evaluation), 'evaluation fold')} ({format_date(dates[evaluation[0].test_start], dates)} "
        f"to {format_date(dates[evaluation[-1].test_end - 1], dates)})"
        + (f"; {plural(len(journal.done), 'training')} already done" if journal.done else ""))

    def train(phase, chosen, phase_folds):
        tasks = [Trial(c.options.model, fold, seed, c.options, config=c.id)
                 for c in chosen for fold in phase_folds for seed in opts.seeds]
        todo = [t for t in tasks if t.key not in journal.done]
        if todo:
            warm = {(t.model, t.options.dtype): t for t in todo}.values()  # one per compiled kernel set
            run_tasks(run_trial, todo, series, workers=opts.workers, scheduler=opts.scheduler,
                      warm_up=lambda: [warm_up([t.options], splits_of(t)) for t in warm],
                      progress=progress, label=phase,
                      on_done=lambda task, result, done, total: journal.add(task, result))
        return tasks

    def splits_of(task):
        return splits[split_key(task.options)][folds.index(task.fold)]

    if results is not None:
        journal.open(fresh=not opts.resume)
    try:
        sel_tasks = train("selection", tried, selection)
        scales = [bt.stats.mase_scale(series.prices[f.train_start:f.test_start]) for f in folds]
        scored = {c.id: judge(opts, series, c, selection, splits, sel_tasks, journal.done, scales)
                  for c in tried}
        ranked = sorted((c for c in tried if "error" not in scored[c.id]),
                        key=lambda c: (scored[c.id]["model"][opts.score], c.id))
        if not ranked:
            first = scored[tried[0].id]["error"]
            raise UserError(f"every configuration's training failed, so there is no winner (first: {first})")
        top = ranked[:opts.top]
        eval_tasks = train("evaluation", top, evaluation)
        judged = {c.id: judge(opts, series, c, evaluation, splits, eval_tasks, journal.done, scales)
                  for c in top}
    finally:
        journal.close()

    trials = trial_rows(opts, series, tried, scored, selection, "selection") + \
        trial_rows(opts, series, top, judged, evaluation, "evaluation")
    report = summarise(opts, series, space, n_grid, tried, ranked, scored, judged, folds, selection)
    report.update(source=series.source, column=series.column, n_prices=len(series.prices),
                  data_notes=list(series.notes), options=jsonable(opts), search=journal.search,
                  trainings=len(sel_tasks) + len(eval_tasks),
                  train_seconds=float(sum(journal.done[t.key].get("train_seconds", 0.0)
                                          for t in sel_tasks + eval_tasks)),
                  seconds=time.perf_counter() - start)
    return Tune(opts, report, trials, journal)


def split_key(options):
    """What a fold's split depends on, beyond the fold."""
    return options.window, options.val_split, options.target, tuple(options.features)


def fold_splits(series, configs, folds):
    """Every fold's split for every distinct data setting of ``configs`` (all checked here,
    before any training)."""
    splits = {}
    for c in configs:
        o = c.options
        key = split_key(o)
        if key not in splits:
            data = with_features(series, o.features)
            splits[key] = [fold_split(data, f, o.window, o.val_split, o.target, o.horizon) for f in folds]
    return splits


def backtest_options(opts, config):
    """The :class:`BacktestOptions` a backtest of ``config`` alone would have."""
    shared = {f.name: getattr(config.options, f.name) for f in fields(TrainingOptions)}
    return BacktestOptions(**shared, models=(config.options.model,), seeds=opts.seeds,
                           folds=opts.folds, train_days=opts.train_days, dm_loss=opts.dm_loss)


def judge(opts, series, config, phase_folds, splits, tasks, done, scales):
    """The backtest's statistics of ``config`` pooled over ``phase_folds``: ``{"model": its entry
    of backtest.json's models (with coverage), "naive": naive's, "forecasts": the table}``, or
    ``{"error": ...}`` if a training failed."""
    mine = [t for t in tasks if t.config == config.id]
    failed = [(t, done[t.key]["error"]) for t in mine if "error" in done[t.key]]
    if failed:
        t, error = failed[0]
        return {"error": f"fold {t.fold.fold} seed {t.seed}: {error}"}
    options = backtest_options(opts, config)
    fold_splits_ = [splits[split_key(config.options)][f.fold - 1] for f in phase_folds]
    results = [done[t.key] for t in mine]
    forecasts = bt.forecast_table(options, series, phase_folds, fold_splits_, mine, results)
    report = bt.summarise(options, forecasts, scales)
    entry = report["models"][config.options.model]
    # entry["coverage"]: of the scored (seed-mean) forecast's interval, as the backtest reports it
    entry["epochs"] = [r["epochs"] for r in results]
    return {"model": entry, "naive": report["naive"], "forecasts": forecasts}


# ----------------------------------------------------------------------- trials.csv ---

def trial_rows(opts, series, configs, judged, phase_folds, phase):
    """One row per (configuration, fold) of a phase: every axis option, the seeds, and the
    fold's scores of the forecast averaged over seeds (empty when a training failed)."""
    options = [f for f in search.axes().values() if f is not None]
    rows = []
    for c in configs:
        verdict = judged[c.id]
        frame = None if "error" in verdict else bt.seed_mean(verdict["forecasts"], c.options.model)[0]
        for fold in phase_folds:
            row = {"phase": phase, "config": c.id, "fold": fold.fold,
                   **{f.name: search.text(getattr(c.options, f.name)) for f in options},
                   "seeds": search.text(opts.seeds),
                   "status": "ok" if frame is not None else f"failed: {verdict['error']}"}
            row.update(dict.fromkeys(SCORE_COLUMNS, ""))
            if frame is not None:
                scale = bt.stats.mase_scale(series.prices[fold.train_start:fold.test_start])
                at = frame[frame["fold"] == fold.fold]
                y_true, y_pred, last = (at[k].to_numpy(np.float64) for k in ("y_true", "y_pred", "naive"))
                row.update(bt.stats.error_metrics(y_true, y_pred),
                           mase=bt.stats.mase(y_true, y_pred, scale),
                           direction_accuracy=bt.stats.direction(y_true, y_pred, last).accuracy,
                           naive_mae=bt.stats.error_metrics(y_true, last)["mae"],
                           naive_mase=bt.stats.mase(y_true, last, scale))
            rows.append(row)
    return rows


def trials_csv(rows):
    """trials.csv's text; numbers as the shortest decimals that read back to the same float64."""
    columns = list(rows[0])
    lines = [",".join(columns)]
    for row in rows:
        lines.append(",".join(repr(float(v)) if isinstance(v, (float, np.floating)) else str(v)
                              for v in (row[c] for c in columns)))
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------- report ---

def _scores(entry):
    keep = ("mae", "rmse", "mape", "mase", "direction_accuracy", "direction_ci", "direction_pvalue",
            "direction_hits", "direction_n", "dm_stat", "dm_pvalue", "verdict", "coverage", "n_days",
            "mae_by_fold", "mae_by_seed", "epochs", "name")
    return {k: entry[k] for k in keep if k in entry}


def summarise(opts, series, space, n_grid, tried, ranked, scored, judged, folds, selection):
    """tune.json: the space, the folds and their roles, the leaderboard, the refits and the
    winner's nested verdict."""
    score = opts.score
    leaderboard = [{"rank": k, "config": c.id, "values": _values(c), "selection": _scores(scored[c.id]["model"])}
                   for k, c in enumerate(ranked, start=1)]
    failed = [{"config": c.id, "values": _values(c), "error": scored[c.id]["error"]}
              for c in tried if "error" in scored[c.id]]
    # The folds differ in difficulty, so each score is also given relative to naive's on the
    # same days: the gap of those ratios is the optimism net of the folds' difficulty.
    naive_selection = scored[ranked[0].id]["naive"][score]
    top = []
    for k, c in enumerate(ranked[:opts.top], start=1):
        entry = {"rank": k, "config": c.id, "values": _values(c),
                 "selection_score": scored[c.id]["model"][score],
                 "selection_vs_naive": scored[c.id]["model"][score] / naive_selection}
        if "error" in judged[c.id]:
            entry.update(evaluation_score=None, evaluation_vs_naive=None, error=judged[c.id]["error"])
        else:
            entry.update(evaluation_score=judged[c.id]["model"][score],
                         evaluation_vs_naive=judged[c.id]["model"][score] / judged[c.id]["naive"][score],
                         evaluation=_scores(judged[c.id]["model"]))
        top.append(entry)
    best = ranked[0]
    winner = {"config": best.id, "values": _values(best), "name": NAMES[best.options.model],
              "options": {f.name: getattr(best.options, f.name) for f in fields(TrainingOptions)}
              | {"model": best.options.model},
              "selection": _scores(scored[best.id]["model"]),
              **{k: top[0][k] for k in ("selection_score", "evaluation_score", "selection_vs_naive",
                                        "evaluation_vs_naive")}}
    winner["options"] = {k: list(v) if isinstance(v, tuple) else v for k, v in winner["options"].items()}
    if "error" in judged[best.id]:
        winner["evaluation_error"] = judged[best.id]["error"]
        naive_eval = None
    else:
        winner["evaluation"] = _scores(judged[best.id]["model"])
        naive_eval = judged[best.id]["naive"]
    evaluated = winner["evaluation_score"] is not None
    winner["gap"] = winner["evaluation_score"] - winner["selection_score"] if evaluated else None
    winner["gap_vs_naive"] = (winner["evaluation_vs_naive"] - winner["selection_vs_naive"]
                              if evaluated else None)
    dates = series.dates
    fold_rows = [{"fold": f.fold, "role": "selection" if f in selection else "evaluation",
                  "train_start": format_date(dates[f.train_start], dates),
                  "train_end": format_date(dates[f.test_start - 1], dates),
                  "test_start": format_date(dates[f.test_start], dates),
                  "test_end": format_date(dates[f.test_end - 1], dates),
                  "n_train": f.train_days, "n_test": f.test_days} for f in folds]
    return {"score": score, "axes": {name: [_jsonable(v) for v in values] for name, values in space},
            "n_grid": n_grid, "n_tried": len(tried), "n_failed": len(failed),
            "folds": fold_rows, "leaderboard": leaderboard, "failed": failed, "top": top,
            "winner": winner, "naive": {"selection": scored[best.id]["naive"], "evaluation": naive_eval},
            "alpha": bt.ALPHA, "interval": opts.interval, "seeds": list(opts.seeds)}


def _jsonable(value):
    return list(value) if isinstance(value, tuple) else value


def _values(config):
    return {k: _jsonable(v) for k, v in config.values.items()}


# ------------------------------------------------------------------------ tune.md ---

def leaderboard_table(report, rows=LEADERBOARD_ROWS):
    """The best ``rows`` configurations by their selection score, as markdown."""
    axes = list(report["axes"])
    lines = ["| rank | config | " + " | ".join(axes) + " | MASE | MAE ($) | direction | DM vs naive |",
             "|--:|--:|" + "---|" * len(axes) + "--:|--:|--:|---|"]
    for entry in report["leaderboard"][:rows]:
        s = entry["selection"]
        lines.append(f"| {entry['rank']} | c{entry['config']} | "
                     + " | ".join(search.text(entry["values"][a]) for a in axes)
                     + f" | {s['mase']:.3f} | {money(s['mae'])} | {_percent(s['direction_accuracy'])} | "
                       f"{s['verdict']} |")
    return "\n".join(lines)


def top_table(report):
    """Selection against evaluation score of the refitted configurations, as markdown."""
    score = report["score"].upper()
    lines = [f"| rank | config | selection {score} | evaluation {score} | gap | selection ÷ naive | "
             "evaluation ÷ naive | evaluation verdict |",
             "|--:|--:|--:|--:|--:|--:|--:|---|"]
    for entry in report["top"]:
        ev = entry["evaluation_score"]
        lines.append(f"| {entry['rank']} | c{entry['config']} | {entry['selection_score']:.3f} | "
                     + (f"failed | – | {entry['selection_vs_naive']:.3f} | – | {entry['error']}" if ev is None
                        else f"{ev:.3f} | {ev - entry['selection_score']:+.3f} | "
                             f"{entry['selection_vs_naive']:.3f} | {entry['evaluation_vs_naive']:.3f} | "
                             f"{entry['evaluation']['verdict']}")
                     + " |")
    return "\n".join(lines)


def _percent(value):
    return "–" if value is None or np.isnan(value) else f"{100 * value:.1f}%"


def _fold_span(report, role):
    folds = [f for f in report["folds"] if f["role"] == role]
    return f"{plural(len(folds), f'{role} fold')} ({folds[0]['test_start']} to {folds[-1]['test_end']})"


def verdict_words(report):
    """The nested verdict in words: the winner, its two scores, their gap, and what the
    evaluation folds say about it against naive."""
    w, score = report["winner"], report["score"].upper()
    o = report["options"]
    head = (f"The search tried {plural(report['n_tried'], 'configuration')} (of a grid of "
            f"{report['n_grid']:,}) on the {_fold_span(report, 'selection')}. Its winner, "
            f"c{w['config']} ({', '.join(f'{k} {search.text(v)}' for k, v in w['values'].items())}), "
            f"scored {score} {w['selection_score']:.3f} there. ")
    if w["evaluation_score"] is None:
        return head + (f"Refitted on the {_fold_span(report, 'evaluation')}, its training failed "
                       f"({w['evaluation_error']}), so the search has no honest score.")
    e = w["evaluation"]
    gap = w["gap"]
    low, high = e["direction_ci"]
    naive = report["naive"]["evaluation"]
    net = w["gap_vs_naive"]
    text = (head + f"Refitted on each of the {_fold_span(report, 'evaluation')}, which the search never "
            f"saw, it scored {score} {w['evaluation_score']:.3f}, a gap of {gap:+.3f}. The folds differ "
            f"in difficulty (naive's {score}: {report['naive']['selection'][report['score']]:.3f} on the "
            f"selection folds, {naive[report['score']]:.3f} on the evaluation folds), so compare each with "
            f"naive on the same days: the winner's {score} was {w['selection_vs_naive']:.3f} times naive's "
            f"when it was chosen and {w['evaluation_vs_naive']:.3f} times on the unseen folds — "
            + (f"{net:.3f} worse, the optimism of picking the best of {report['n_tried']}" if net > 0 else
               f"{-net:.3f} better: no optimism showed on these folds")
            + f". There, against the naive forecast (MASE {naive['mase']:.3f}), it is "
            f"{e['verdict']}; it called the direction on {_percent(e['direction_accuracy'])} of the days "
            f"(95% CI {100 * low:.0f}–{100 * high:.0f}%)")
    if e.get("coverage") is not None:
        text += f", and {100 * e['coverage']:.1f}% of the prices fell in its {100 * o['interval']:g}% intervals"
    return text + "."


def markdown(report):
    """tune.md: what was searched, the verdict, the winner on the evaluation folds, the
    leaderboard and the refits."""
    o = report["options"]
    w = report["winner"]
    fixed = [f"{name} {search.text(o[f.name])}" for name, f in search.axes().items()
             if f is not None and name not in report["axes"]]
    axes = "; ".join(f"{k} {', '.join(search.text(v) for v in vs)}" for k, vs in report["axes"].items())
    training = ("expanding training windows" if o["train_days"] is None
                else f"rolling training windows of {o['train_days']} prices")
    winner = {"models": {w["config"]: {**w["evaluation"], "name": f"c{w['config']} ({w['name']})"}}
              if "evaluation" in w else {},
              "naive": report["naive"]["evaluation"], "interval": report["interval"], "options": o}
    failed = "".join(f"- c{f['config']}: {f['error']}\n" for f in report["failed"])
    return (f"# Tune\n\n{source_name(report['source'])} {report['column']}, {report['n_prices']:,} prices: "
            f"{len(report['folds'])} folds of {o['test_days']} prices, "
            f"{training}; the last {o['evaluation_folds']} judge the winner. Axes: {axes}. Fixed: {', '.join(fixed)}; "
            f"seeds {search.text(o['seeds'])} (a day's forecast is the mean over the seeds). "
            f"Chosen by {report['score'].upper()} pooled over the selection folds.\n\n"
            f"## Verdict\n\n{verdict_words(report)}\n\n"
            + (f"## The winner on the evaluation folds\n\n{bt.results_table(winner)}\n\n" if winner["models"] else "")
            + f"## Leaderboard (selection folds, best {min(LEADERBOARD_ROWS, len(report['leaderboard']))} "
              f"of {len(report['leaderboard'])})\n\n{leaderboard_table(report)}\n\n"
            f"## The best {len(report['top'])} refitted on the evaluation folds\n\n"
            f"Only the first was chosen; the others show whether the ranking holds on unseen folds.\n\n"
            f"{top_table(report)}\n\n"
            + (f"## Failed configurations\n\n{failed}\n" if failed else "")
            + f"MASE: absolute errors divided by the mean absolute one-step change of each fold's training "
              f"prices (below 1 beats the naive forecast's in-sample error). DM: Diebold-Mariano against "
              f"naive, as in the backtest. {plural(report['trainings'], 'training')}, "
              f"{report['train_seconds']:.1f} s of training, {report['seconds']:.1f} s in all, "
              f"{bt.where(o)}.\n")


# ----------------------------------------------------------------------- command ---

@command
def main(argv=None):
    """Run the command line; returns the exit code (0 ok, 2 user error, 130 interrupted)."""
    opts = parse_args(argv)
    if opts.resume and not opts.out:
        raise UserError("--resume continues the search in an --out folder; give that --out")
    if opts.out and not opts.resume and not opts.force and os.path.exists(os.path.join(opts.out, RESULTS)):
        raise UserError(f"--out {opts.out} holds a search ({RESULTS}); pass --resume to continue it, "
                        "--force to start it afresh, or choose another --out folder")
    if opts.resume and not os.path.exists(os.path.join(opts.out, RESULTS)):
        raise UserError(f"--resume found no {RESULTS} in {opts.out} to continue; give the --out folder "
                        "of the interrupted search")
    out = output_folder(opts.out, opts.force or opts.resume, prefix="tune-", names=OUTPUT_FILES,
                        inputs=[opts.csv, opts.space])
    say = (lambda *a, **k: None) if opts.quiet else print
    try:
        result = tune(opts, progress=not opts.quiet, say=say, results=os.path.join(out, RESULTS))
    except KeyboardInterrupt:
        print(f"the finished trainings are kept in {os.path.join(out, RESULTS)}; continue with --resume "
              f"--out {out}", file=sys.stderr)
        raise
    report = result.report
    print(f"\n{leaderboard_table(report, rows=10)}\n\n{top_table(report)}\n\n{verdict_words(report)}")
    result.save(out, force=True)
    print(f"saved {', '.join(OUTPUT_FILES)} in {out} ({report['seconds']:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
