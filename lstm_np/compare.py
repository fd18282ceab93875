"""``python -m lstm_np.compare``: LSTM, GRU, SimpleRNN and an MLP on one split, over several seeds.

The tutorial series claimed "LSTM outperformed SimpleRNN and MLP" from one run each. This
command trains every ``--models`` network on the same chronological split, once per seed, and
reports the mean ± sample standard deviation (over seeds, n - 1) of the test MAE and RMSE in
dollars beside the naive persistence forecast (tomorrow = today), which no seed can change.

The data and training flags are ``lstm_np.train``'s, parsed by the same code. Runs go seed by
seed, every model within a seed, so a machine that slows down mid-way slows every model alike;
each network's kernels are compiled (Numba) in a short warm-up first, so the training seconds
measure training, not compilation.

Outputs in ``--out``: ``compare.json`` (every run, the summary and the options), ``compare.md``
(the table) and ``compare.png`` (mean MAE per model with sd error bars, the naive MAE as a
line), written atomically once all runs are done.
"""
from __future__ import annotations

import argparse
import io
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, replace

import numpy as np

from .cli import (ArgumentParser, UserError, command, format_date, money, write_bytes,
                  write_json, write_text)
from .data import describe, load_prices, split_series
from .models import NonFiniteLossError
from .train import (MODELS, TrainOptions, add_data_arguments, add_training_arguments,
                    check_out_dir, error_metrics, source_name, train_model)

NAMES = {"lstm": "LSTM", "gru": "GRU", "rnn": "SimpleRNN", "mlp": "MLP"}
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
"""


@dataclass
class CompareOptions:
    """Every option of ``python -m lstm_np.compare``; data and training defaults are train's."""

    csv: str | None = None
    dataset: str | None = None
    column: str | None = None
    date_column: str | None = None
    window: int = 60
    test_days: int = 60
    val_split: float = 0.1
    models: tuple = MODELS
    units: tuple = (50, 100)
    dropout: float = 0.2
    epochs: int = 50
    batch_size: int = 64
    optimizer: str = "adam"
    learning_rate: float | None = None
    dtype: str = "float32"
    seeds: tuple = (0, 1, 2)
    out: str | None = None
    force: bool = False
    quiet: bool = False
    verbose: bool = False

    @property
    def source(self):
        return self.csv if self.csv is not None else (self.dataset or "btc-daily")

    def run(self, kind, seed):
        """The :class:`TrainOptions` of one (model, seed) run."""
        shared = {k: v for k, v in asdict(self).items() if k in TrainOptions.__dataclass_fields__}
        return TrainOptions(**{**shared, "model": kind, "seed": seed, "quiet": not self.verbose})


def model_list(text):
    """``"lstm,mlp"`` -> ``("lstm", "mlp")``: known names, each once."""
    names = tuple(p.strip().lower() for p in str(text).split(","))
    if not names or any(n not in MODELS for n in names) or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(
            f"expected distinct names from {','.join(MODELS)} separated by commas, got {text!r}")
    return names


def seed_list(text):
    """``"3"`` -> ``(0, 1, 2)`` (a count); ``"0,4,7"`` or ``"7,"`` -> those seeds."""
    text = str(text).strip()
    try:
        if "," not in text:
            count = int(text)
            values = tuple(range(count)) if count >= 1 else None
        else:
            values = tuple(int(p) for p in text.split(",") if p.strip())
    except ValueError:
        values = None
    if not values or min(values) < 0 or len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(
            f"expected a number of seeds such as 3 (seeds 0,1,2) or distinct non-negative seeds "
            f"separated by commas such as 0,4,7, got {text!r}")
    return values


def build_parser():
    p = ArgumentParser(prog="lstm_np.compare", epilog=EPILOG, description=DESCRIPTION)
    d = CompareOptions()
    add_data_arguments(p)
    training = p.add_argument_group("models and training")
    training.add_argument("--models", type=model_list, default=",".join(d.models), metavar="M[,M...]",
                          help="networks to compare: lstm, gru, rnn (SimpleRNN), mlp (Dense layers "
                               "on the window)")
    add_training_arguments(training)
    training.add_argument("--seeds", type=seed_list, default=str(len(d.seeds)), metavar="N|S,S...",
                          help="seeds per model: a count (3 = seeds 0,1,2) or a list (0,4,7)")
    out = p.add_argument_group("output")
    out.add_argument("--out", metavar="DIR", help="output folder (default: runs/compare-<YYYYmmdd-HHMMSS>)")
    out.add_argument("--force", action="store_true", help="write into a non-empty --out folder")
    talk = out.add_mutually_exclusive_group()
    talk.add_argument("--quiet", action="store_true",
                      help="print only the table and the verdict, not data notes or one line per run")
    talk.add_argument("--verbose", action="store_true",
                      help="also print each run's model summary and one line per epoch")
    return p


def parse_args(argv=None):
    """Parse the command line into :class:`CompareOptions`."""
    return CompareOptions(**vars(build_parser().parse_args(argv)))


@command
def main(argv=None):
    """Run the command line; returns the exit code (0 ok, 2 user error, 130 interrupted)."""
    opts = parse_args(argv)
    out = opts.out or os.path.join("runs", time.strftime("compare-%Y%m%d-%H%M%S"))
    check_out_dir(out, opts.force)
    say = (lambda *a, **k: None) if opts.quiet else print

    series = load_prices(opts.source, column=opts.column, date_column=opts.date_column)
    say(describe(series))
    for note in series.notes:
        say(f"  data: {note}")
    split = split_series(series, window=opts.window, test_days=opts.test_days,
                         val_split=opts.val_split)
    for note in split.notes:
        say(f"  note: {note}")
    dates = series.dates
    say(f"windows of {opts.window}: {len(split.x_train):,} train, {len(split.x_val):,} validation, "
        f"{len(split.x_test):,} test ({format_date(split.test_dates[0], dates)} to "
        f"{format_date(split.test_dates[-1], dates)}); {_count(len(opts.models), 'model')} x "
        f"{_count(len(opts.seeds), 'seed')} x {_count(opts.epochs, 'epoch')}")

    naive = error_metrics(split.test_prices, split.naive)
    warm_up(opts, split, say)
    runs, total = [], len(opts.models) * len(opts.seeds)
    for seed in opts.seeds:  # seed-major: every model sees the same machine conditions
        for kind in opts.models:
            run = train_one(opts, split, kind, seed)
            runs.append(run)
            say(f"[{len(runs)}/{total}] {run_line(run, naive)}", flush=True)

    summary = summarise(opts, runs, naive)
    report = {"test_start": format_date(split.test_dates[0], dates),
              "test_end": format_date(split.test_dates[-1], dates),
              "n_train": len(split.x_train), "n_val": len(split.x_val), "n_test": len(split.x_test),
              "source": series.source, "column": series.column, "n_prices": len(series.prices),
              "data_notes": series.notes + split.notes, "naive": naive, "models": summary,
              "best": best_model(summary), "verdict": verdict(summary, naive), "runs": runs,
              "options": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(opts).items()},
              "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                          "platform": platform.platform()}}
    title = (f"{source_name(series.source)} {series.column}, test {report['test_start']} to "
             f"{report['test_end']} ({report['n_test']} forecasts)")
    table = markdown_table(summary, naive)
    print(f"\n{title}; mean ± sd over seeds {','.join(map(str, opts.seeds))}:\n")
    print(table)
    print("\n" + report["verdict"])
    write_outputs(out, opts, report, title, table)
    print(f"saved {', '.join(OUTPUT_FILES)} in {out}")
    return 0


def warm_up(opts, split, say):
    """Fit each network one epoch on one batch, so Numba's compile (or cache load) is not timed."""
    say("warming up the kernels (Numba compile or cache load, not timed)...", flush=True)
    n = min(len(split.x_train), opts.batch_size)
    tiny = replace(split, x_train=split.x_train[:n], y_train=split.y_train[:n],
                   x_val=split.x_val[:n], y_val=split.y_val[:n], x_test=split.x_test[:2])
    for kind in opts.models:
        options = replace(opts.run(kind, 0), epochs=1, quiet=True)
        try:
            train_model(options, tiny)
        except (UserError, NonFiniteLossError):
            pass  # a diverging warm-up still compiled the kernels; the real run will report it


def train_one(opts, split, kind, seed):
    """One (model, seed) run: its errors in dollars and training seconds, or why it failed."""
    run = {"model": kind, "seed": seed}
    try:
        _, _, history, predicted = train_model(opts.run(kind, seed), split, summary=opts.verbose,
                                               verbose=int(opts.verbose))
    except (UserError, NonFiniteLossError) as err:  # one diverging run must not sink the others
        return {**run, "error": " ".join(str(err).split())}
    return {**run, **error_metrics(split.test_prices, predicted),
            "train_seconds": float(sum(history.seconds)), "epochs": len(history.epoch),
            "final_loss": _last(history, "loss"), "final_val_loss": _last(history, "val_loss")}


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


def verdict(summary, naive):
    """One plain sentence: which model had the lowest mean MAE, and did it beat the naive forecast."""
    best = best_model(summary)
    if best is None:
        return "Every run failed, so no model can be compared with the naive forecast."
    s = summary[best]
    head = (f"{s['name']} had the lowest mean test MAE (${money(s['mae_mean'])} over "
            f"{s['n_runs']} seed{'s' if s['n_runs'] != 1 else ''})")
    seeds = f"{s['seeds_beating_naive']} of {s['n_runs']}"
    if s["mae_mean"] < naive["mae"]:
        return (f"{head} and beat the naive forecast (${money(naive['mae'])}) by "
                f"{100 * (1 - s['mae_ratio']):.1f}%, in {seeds} seeds.")
    worse = (f"{100 * (s['mae_ratio'] - 1):.1f}% higher" if s["mae_ratio"] < 2
             else f"{s['mae_ratio']:.1f} times as high")
    return (f"{head} but did not beat the naive forecast (tomorrow = today, "
            f"${money(naive['mae'])}): its mean MAE is {worse}, and it beat it in {seeds} seeds.")


def markdown_table(summary, naive):
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
    rows.append(f"| naive (tomorrow = today) | {money(naive['mae'])} | {money(naive['rmse'])} | "
                f"1.000 | 1.000 | – | – |")
    return "\n".join(rows)


def write_outputs(out, opts, report, title, table):
    """compare.json, compare.md and compare.png, each atomically; on failure none stay behind."""
    created, written = not os.path.exists(out), []
    markdown = (f"# Model comparison\n\n{title}.\n\n"
                f"Window {opts.window}, {opts.epochs} epochs, batch {opts.batch_size}, "
                f"units {','.join(map(str, opts.units))}, dropout {opts.dropout:g}, {opts.optimizer}"
                f"{'' if opts.learning_rate is None else f' {opts.learning_rate:g}'}, {opts.dtype}; "
                f"seeds {','.join(map(str, opts.seeds))}; mean ± sample sd over seeds; "
                f"training seconds exclude compilation.\n\n{table}\n\n{report['verdict']}\n")
    writers = {"compare.json": lambda p: write_json(p, report),
               "compare.md": lambda p: write_text(p, markdown),
               "compare.png": lambda p: write_bytes(p, plot_png(report, title))}
    try:
        os.makedirs(out, exist_ok=True)
        for name in OUTPUT_FILES:
            path = os.path.join(out, name)
            writers[name](path)
            written.append(path)
    except BaseException:
        for path in written:
            if os.path.exists(path):
                os.unlink(path)
        if created and os.path.isdir(out) and not os.listdir(out):
            os.rmdir(out)
        raise


def plot_png(report, title):
    """Bars of mean test MAE per model with sd error bars, the naive MAE as a dashed line."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    models = [s for s in report["models"].values() if s["mae_mean"] is not None]
    means = [s["mae_mean"] for s in models]
    sds = [s["mae_sd"] or 0.0 for s in models]
    naive = report["naive"]["mae"]
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    ax = fig.add_subplot()
    x = np.arange(len(models))
    ax.bar(x, means, yerr=sds, capsize=6, color="tab:blue", alpha=0.8, label="model: mean ± sd over seeds")
    for k, (mean, sd) in enumerate(zip(means, sds)):
        ax.annotate(f"\\${mean:,.0f}", (k, mean + sd), textcoords="offset points", xytext=(0, 4),
                    ha="center", va="bottom", fontsize=9)
    ax.axhline(naive, color="tab:orange", linestyle="--", linewidth=1.5,
               label=f"naive: yesterday's price (\\${naive:,.0f})")
    ax.set_xticks(x, [s["name"] for s in models])
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"\\${v:,.0f}"))
    ax.set_ylabel("test MAE (USD)")
    ax.set_ylim(0, max([naive] + [m + s for m, s in zip(means, sds)]) * 1.15)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(loc="best")
    seeds = ",".join(map(str, report["options"]["seeds"]))
    ax.set_title(f"{title}\ntest MAE, {report['options']['epochs']} epochs, seeds {seeds}", fontsize=10)
    buffer = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buffer)
    return buffer.getvalue()


def _count(n, noun):
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _last(history, key):
    values = history.history.get(key)
    return float(values[-1]) if values else None


if __name__ == "__main__":
    sys.exit(main())
