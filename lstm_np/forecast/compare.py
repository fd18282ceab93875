"""``python -m lstm_np.compare``: LSTM, GRU, SimpleRNN and an MLP on one split, over several seeds.

The tutorial series claimed "LSTM outperformed SimpleRNN and MLP" from one run each. This
command trains every ``--models`` network on the same chronological split, once per seed, and
reports the mean ± sample standard deviation (over seeds, n - 1) of the test MAE and RMSE in
dollars beside the naive persistence forecast (tomorrow = today), which no seed can change.

The data and training flags are ``lstm_np.train``'s, parsed by the same code. Runs go seed by
seed, every model within a seed, so a machine that slows down mid-way slows every model alike;
each network's kernels are compiled (Numba) in a short warm-up first, so the training seconds
measure training, not compilation. Each (model, seed) run is a task of the backtest's runner
(:mod:`.tasks`): one after another in this process, or on ``--workers N`` local processes or an
existing Dask cluster (``--scheduler``); the report lists the runs in the same order either way.

Outputs in ``--out``: ``compare.json`` (every run, the summary and the options), ``compare.md``
(the table) and ``compare.png`` (mean MAE per model with sd error bars, the naive MAE as a
line), written atomically once all runs are done.
"""
from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass

import numpy as np

from ..files import write_json, write_text
from .cli import UserError, command
from .data import source_name
from .format import format_date, money, naive_name, plural
from .options import NAMES, CompareOptions, TrainOptions, build_parser, parse
from .plots import plot_comparison
from .runfolder import output_folder, write_outputs
from .tasks import run_tasks

OUTPUT_FILES = ("compare.json", "compare.md", "compare.png")

DESCRIPTION = """\
Train several networks (--models, default lstm,gru,rnn,mlp) on the same split over
several seeds and compare their test MAE and RMSE in dollars, mean ± sd over the
seeds, with the naive forecast (tomorrow = today). Data and training flags are
lstm_np.train's. Writes compare.json, compare.md and compare.png to --out.
"""

EPILOG = """\
examples:
  python -m lstm_np.compare                                    # bundled daily BTC-USD, 50 epochs, 3 seeds
  python -m lstm_np.compare --models lstm,mlp --seeds 5 --epochs 20
  python -m lstm_np.compare --csv eth.csv --seeds 0,1,2 --out runs/eth-compare
  python -m lstm_np.compare --seeds 5 --workers 2              # two runs at a time
"""


def parse_args(argv=None):
    """Parse the command line into :class:`CompareOptions`."""
    parser = build_parser(CompareOptions, "lstm_np.compare", DESCRIPTION, EPILOG,
                          titles={"training": "models and training"})
    return parse(CompareOptions, parser, argv)


@command
def main(argv=None):
    """Run the command line; returns the exit code (0 ok, 2 user error, 130 interrupted)."""
    opts = parse_args(argv)
    out = output_folder(opts.out, opts.force, prefix="compare-", names=OUTPUT_FILES, inputs=[opts.csv])
    # The pipeline loads pandas and Numba: imported once the flags and the folder are known good.
    from .pipeline import error_metrics, jsonable, load_data, windows_line

    say = (lambda *a, **k: None) if opts.quiet else print
    series, split = load_data(opts, say)
    dates = series.dates
    say(f"{windows_line(split, series)}; {plural(len(opts.models), 'model')} x "
        f"{plural(len(opts.seeds), 'seed')} x {plural(opts.epochs, 'epoch')}")

    naive = error_metrics(split.test_paths, split.naive_paths)  # every horizon step pooled
    # seed-major: run one after another, every model sees the same machine conditions
    tasks = [CompareTask(kind, seed, opts.run(kind, seed), opts.verbose)
             for seed in opts.seeds for kind in opts.models]
    runs = run_tasks(run_task, tasks, split, workers=opts.workers, scheduler=opts.scheduler,
                     warm_up=lambda: warm_up(opts, split, say), progress=False, label="compare",
                     on_done=lambda task, run, done, total: say(f"[{done}/{total}] {run_line(run, naive)}",
                                                                flush=True))

    summary = summarise(opts, runs, naive)
    report = {"test_start": format_date(split.test_dates[0], dates),
              "test_end": format_date(split.test_dates[-1], dates),
              "n_train": len(split.x_train), "n_val": len(split.x_val), "n_test": len(split.x_test),
              "source": series.source, "column": series.column, "n_prices": len(series.prices),
              "data_notes": series.notes + split.notes, "naive": naive, "models": summary,
              "best": best_model(summary), "verdict": verdict(summary, naive, opts.horizon),
              "runs": runs,
              "options": jsonable(opts),
              "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                          "platform": platform.platform()}}
    title = (f"{source_name(series.source)} {series.column}, test {report['test_start']} to "
             f"{report['test_end']} ({report['n_test']} forecasts)")
    table = markdown_table(summary, naive, opts.horizon)
    print(f"\n{title}; mean ± sd over seeds {','.join(map(str, opts.seeds))}:\n")
    print(table)
    print("\n" + report["verdict"])
    write_outputs(out, output_writers(opts, report, title, table))
    print(f"saved {', '.join(OUTPUT_FILES)} in {out}")
    return 0


def warm_up(opts, split, say):
    """Fit each network one epoch on one batch, so Numba's compile (or cache load) is not timed."""
    from .pipeline import warm_up as pipeline_warm_up

    say("warming up the kernels (Numba compile or cache load, not timed)...", flush=True)
    pipeline_warm_up([opts.run(kind, 0) for kind in opts.models], split)


@dataclass(frozen=True)
class CompareTask:
    """One run of a comparison: a model kind, a seed and its training options."""

    model: str
    seed: int
    options: TrainOptions
    verbose: bool = False

    @property
    def key(self):
        return f"{self.model}-seed{self.seed}"


def run_task(task, split):
    """Run one :class:`CompareTask` on ``split`` (the task runner's function)."""
    return train_one(task.options, split, verbose=task.verbose)


def train_one(options, split, verbose=False):
    """One (model, seed) run: its errors in dollars (every horizon step pooled), training
    seconds, best epoch and, with ``--interval``, its intervals' test coverage; or why it failed."""
    from ..models import NonFiniteLossError
    from .pipeline import best_epoch, error_metrics, last_value, run_once

    result = {"model": options.model, "seed": options.seed}
    try:
        run = run_once(options, split, summary=verbose, verbose=int(verbose))
    except (UserError, NonFiniteLossError) as err:  # one diverging run must not sink the others
        return {**result, "error": " ".join(str(err).split())}
    history = run.history
    result.update(error_metrics(split.test_paths, run.predicted),
                  train_seconds=float(sum(history.seconds)), epochs=len(history.epoch),
                  best_epoch=best_epoch(history), final_loss=last_value(history, "loss"),
                  final_val_loss=last_value(history, "val_loss"))
    coverage, _ = run.coverage(split.test_paths)
    if coverage is not None:
        result["coverage"] = coverage
    return result


def run_line(run, naive):
    name = f"{NAMES[run['model']]} seed {run['seed']}"
    if "error" in run:
        return f"{name}: failed ({run['error']})"
    return (f"{name}: MAE ${money(run['mae'])} ({run['mae'] / naive['mae']:.3f} x naive), "
            f"RMSE ${money(run['rmse'])}, {run['train_seconds']:.2f} s")


def summarise(opts, runs, naive):
    """Per model: mean and sample sd (n - 1; None for one run) of each error and the seconds."""
    summary = {}
    for kind in opts.models:
        done = [r for r in runs if r["model"] == kind and "error" not in r]
        entry = {"name": NAMES[kind], "units": list(opts.units), "n_runs": len(done),
                 "n_failed": sum(1 for r in runs if r["model"] == kind and "error" in r)}
        for key in ("mae", "rmse", "mape", "train_seconds"):
            values = np.array([r[key] for r in done], dtype=np.float64)
            entry[f"{key}_mean"] = float(values.mean()) if len(values) else None
            entry[f"{key}_sd"] = float(values.std(ddof=1)) if len(values) > 1 else None
        for key in ("mae", "rmse"):
            mean = entry[f"{key}_mean"]
            entry[f"{key}_ratio"] = mean / naive[key] if mean is not None and naive[key] else None
        entry["seeds_beating_naive"] = sum(1 for r in done if r["mae"] < naive["mae"])
        summary[kind] = entry
    return summary


def best_model(summary):
    """The model with the lowest mean MAE, or None if every run failed."""
    done = [k for k, s in summary.items() if s["mae_mean"] is not None]
    return min(done, key=lambda k: summary[k]["mae_mean"]) if done else None


def verdict(summary, naive, horizon=1):
    """One plain sentence: which model had the lowest mean MAE, and did it beat the naive forecast."""
    best = best_model(summary)
    if best is None:
        return "Every run failed, so no model can be compared with the naive forecast."
    s = summary[best]
    head = (f"{s['name']} had the lowest mean test MAE (${money(s['mae_mean'])} over "
            f"{plural(s['n_runs'], 'seed')})")
    seeds = f"{s['seeds_beating_naive']} of {s['n_runs']}"
    if s["mae_mean"] < naive["mae"]:
        return (f"{head} and beat the naive forecast (${money(naive['mae'])}) by "
                f"{100 * (1 - s['mae_ratio']):.1f}%, in {seeds} seeds.")
    worse = (f"{100 * (s['mae_ratio'] - 1):.1f}% higher" if s["mae_ratio"] < 2
             else f"{s['mae_ratio']:.1f} times as high")
    what = "tomorrow = today" if horizon == 1 else "the origin's price at every step"
    return (f"{head} but did not beat the naive forecast ({what}, "
            f"${money(naive['mae'])}): its mean MAE is {worse}, and it beat it in {seeds} seeds.")


def markdown_table(summary, naive, horizon=1):
    """The comparison as a markdown table, naive forecast last."""
    def pm(entry, key, fmt):
        mean, sd = entry[f"{key}_mean"], entry[f"{key}_sd"]
        if mean is None:
            return "failed"
        return fmt(mean) + ("" if sd is None else f" ± {fmt(sd)}")

    rows = ["| model | test MAE ($) | test RMSE ($) | MAE / naive | RMSE / naive | train seconds | runs |",
            "|---|--:|--:|--:|--:|--:|--:|"]
    for s in summary.values():
        ratio = lambda key: "–" if s[f"{key}_ratio"] is None else f"{s[f'{key}_ratio']:.3f}"
        failed = f" ({s['n_failed']} failed)" if s["n_failed"] else ""
        rows.append(f"| {s['name']} {','.join(map(str, s['units']))} | {pm(s, 'mae', money)} | "
                    f"{pm(s, 'rmse', money)} | {ratio('mae')} | {ratio('rmse')} | "
                    f"{pm(s, 'train_seconds', lambda v: f'{v:.2f}')} | {s['n_runs']}{failed} |")
    rows.append(f"| {naive_name(horizon)} | {money(naive['mae'])} | {money(naive['rmse'])} | "
                f"1.000 | 1.000 | – | – |")
    return "\n".join(rows)


def output_writers(opts, report, title, table):
    """File name -> a function writing it, in :data:`OUTPUT_FILES` order."""
    markdown = (f"# Model comparison\n\n{title}.\n\n"
                f"Window {opts.window}, {opts.epochs} epochs, batch {opts.batch_size}, "
                f"units {','.join(map(str, opts.units))}, dropout {opts.dropout:g}, {opts.optimizer}"
                f"{'' if opts.learning_rate is None else f' {opts.learning_rate:g}'}, {opts.dtype}; "
                f"seeds {','.join(map(str, opts.seeds))}; mean ± sample sd over seeds; "
                f"training seconds exclude compilation.\n\n{table}\n\n{report['verdict']}\n")
    return {"compare.json": lambda p: write_json(p, report),
            "compare.md": lambda p: write_text(p, markdown),
            "compare.png": lambda p: plot_comparison(report, title, p)}


if __name__ == "__main__":
    sys.exit(main())
