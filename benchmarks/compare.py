"""Train the seed model in lstm_np, PyTorch and Keras on identical windows and compare.

The seed model ``LSTM(50, return_sequences=True) → Dropout(0.2) → LSTM(100) → Dropout(0.2) →
Dense(1)`` is built in each library from the *same* initial weights (lstm_np's, copied into the
peers), trained in float32 with Adam and MSE, batch 64, reshuffled every epoch.

Procedure, per data set and repeat: build all models; one untimed warm-up epoch each (JIT and
graph compilation happen here); then timed epochs *interleaved* — lstm_np, torch, keras, then
torch, keras, lstm_np, … (the order rotates) — so machine noise hits every library alike.
Predict time is the median of 5 interleaved runs on the test windows. Peak memory, import
time and first-epoch overhead (first minus second epoch in a fresh process) come from separate,
sequential subprocesses (see ``MEMORY_METHOD``).

    python benchmarks/compare.py                       # both data sets, 5 timed epochs
    python benchmarks/compare.py --smoke --peers lstm_np --out /tmp/bench
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_common as bc  # noqa: E402

LIBRARIES = ("lstm_np", "torch", "keras")
DATASETS = ("btc-daily", "btc-15min")
WINDOW, TEST_DAYS, BATCH_SIZE = 60, 60, 64
SMOKE_WINDOWS = 256
PREDICT_RUNS = 5
MEMORY_METHOD = ("peak RSS (VmHWM) of a fresh subprocess that imports the library, builds the "
                 "seed model, trains two epochs and predicts, minus the peak RSS of a subprocess "
                 "that only loads the same windows with numpy")


@dataclass
class Options:
    datasets: tuple
    epochs: int
    repeats: int
    peers: tuple
    threads: int
    out: Path
    smoke: bool
    seed: int
    memory: bool


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Time the seed LSTM model in lstm_np, PyTorch and Keras on identical data.")
    parser.add_argument("--dataset", choices=[*DATASETS, "both"], default="both")
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs per library (default 5)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="repeat the whole measurement with fresh models (seed, seed+1, …); "
                             "medians pool every timed epoch (default 1)")
    parser.add_argument("--peers", default=",".join(LIBRARIES),
                        help="comma-separated subset of lstm_np,torch,keras (default all)")
    parser.add_argument("--threads", type=int, default=2,
                        help="threads for torch, TensorFlow, numba and BLAS alike (default 2)")
    parser.add_argument("--out", type=Path, default=None,
                        help="where the reports go (default: a new folder runs/bench-compare-<time>; "
                             "the committed benchmarks/results only when named here)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-memory", action="store_true",
                        help="skip the peak-memory subprocesses")
    parser.add_argument("--smoke", action="store_true",
                        help=f"tiny run for CI: 1 timed epoch on the last {SMOKE_WINDOWS} windows")
    parser.add_argument("--probe", help=argparse.SUPPRESS)        # internal: memory subprocess
    parser.add_argument("--probe-data", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    peers = tuple(p.strip() for p in args.peers.split(",") if p.strip())
    unknown = sorted(set(peers) - set(LIBRARIES))
    if unknown or not peers:
        parser.error(f"--peers takes names from {','.join(LIBRARIES)}; got {args.peers!r}")
    if args.epochs < 1 or args.repeats < 1 or args.threads < 1:
        parser.error("--epochs, --repeats and --threads must be at least 1")
    options = Options(datasets=DATASETS if args.dataset == "both" else (args.dataset,),
                      epochs=1 if args.smoke else args.epochs,
                      repeats=1 if args.smoke else args.repeats, peers=peers,
                      threads=args.threads, out=bc.out_or_fresh(args.out, "compare"),
                      smoke=args.smoke, seed=args.seed,
                      memory=not args.no_memory)
    return options, args


# ------------------------------------------------------------------------------------------
# One runner per library: build from given weights, train one epoch, predict.
# ------------------------------------------------------------------------------------------
def lstm_np_model(seed):
    from lstm_np import LSTM, Adam, Dense, Dropout, Sequential
    model = Sequential([LSTM(50, return_sequences=True, input_shape=(WINDOW, 1)), Dropout(0.2),
                        LSTM(100), Dropout(0.2), Dense(1)], seed=seed, dtype="float32")
    return model.compile(optimizer=Adam(), loss="mse")


class LstmNpRunner:
    name = "lstm_np"

    def __init__(self, weights, seed, x, y):
        self.model = lstm_np_model(seed)
        if weights is not None:
            self.model.set_weights(weights)
        self.x, self.y = x, y

    def train_epoch(self):
        self.model.fit(self.x, self.y, epochs=1, batch_size=BATCH_SIZE, shuffle=True, verbose=0)

    def predict(self, x):
        return self.model.predict(x)

    def details(self):
        return {}


def torch_seed_model():
    from torch import nn

    class SeedModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm1, self.drop1 = nn.LSTM(1, 50, batch_first=True), nn.Dropout(0.2)
            self.lstm2, self.drop2 = nn.LSTM(50, 100, batch_first=True), nn.Dropout(0.2)
            self.dense = nn.Linear(100, 1)

        def forward(self, x):                        # x (N, T, 1)
            h, _ = self.lstm1(x)                     # (N, T, 50)
            h, _ = self.lstm2(self.drop1(h))         # (N, T, 100)
            return self.dense(self.drop2(h[:, -1]))  # (N, 1)

    return SeedModel()


def copy_into_torch(net, weights):
    """Keras layout → torch: transpose kernels, ``bias_ih = bias``, ``bias_hh = 0``."""
    import torch
    k1, r1, b1, k2, r2, b2, dense_kernel, dense_bias = (torch.from_numpy(np.array(w, np.float32))
                                                        for w in weights)
    with torch.no_grad():
        for lstm, (kernel, recurrent_kernel, bias) in ((net.lstm1, (k1, r1, b1)),
                                                       (net.lstm2, (k2, r2, b2))):
            lstm.weight_ih_l0.copy_(kernel.T)
            lstm.weight_hh_l0.copy_(recurrent_kernel.T)
            lstm.bias_ih_l0.copy_(bias)
            lstm.bias_hh_l0.zero_()
        net.dense.weight.copy_(dense_kernel.T)
        net.dense.bias.copy_(dense_bias)


class TorchRunner:
    name = "torch"

    def __init__(self, weights, seed, x, y):
        import torch
        self.torch = torch
        torch.manual_seed(seed)
        self.net = torch_seed_model()
        if weights is not None:
            copy_into_torch(self.net, weights)
        # eps=1e-7 as Keras; torch still adds eps to the bias-corrected √v (docs/keras_parity.md)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=1e-3, eps=1e-7)
        self.x, self.y = torch.from_numpy(x), torch.from_numpy(y)
        self.generator = torch.Generator().manual_seed(seed)

    def train_epoch(self):
        torch, net = self.torch, self.net
        net.train()
        total = torch.zeros(())
        for idx in torch.randperm(len(self.x), generator=self.generator).split(BATCH_SIZE):
            xb, yb = self.x[idx], self.y[idx]
            self.optimizer.zero_grad(set_to_none=True)
            loss = torch.nn.functional.mse_loss(net(xb), yb)
            loss.backward()
            self.optimizer.step()
            total += loss.detach() * len(idx)
        return float(total) / len(self.x)

    def predict(self, x):
        self.net.eval()
        with self.torch.inference_mode():
            return self.net(self.torch.from_numpy(x)).numpy()

    def details(self):
        return {"adam": "torch.optim.Adam(lr=1e-3, eps=1e-7)", "predict": "one forward pass"}


class KerasRunner:
    name = "keras"

    def __init__(self, weights, seed, x, y):
        import keras
        keras.utils.set_random_seed(seed)
        L = keras.layers
        self.model = keras.Sequential([keras.Input(x.shape[1:]), L.LSTM(50, return_sequences=True),
                                       L.Dropout(0.2), L.LSTM(100), L.Dropout(0.2), L.Dense(1)])
        self.model.compile(optimizer=keras.optimizers.Adam(), loss="mse")
        if weights is not None:
            self.model.set_weights(weights)
        self.x, self.y = x, y

    def train_epoch(self):
        self.model.fit(self.x, self.y, epochs=1, batch_size=BATCH_SIZE, shuffle=True, verbose=0)

    def predict(self, x):
        return self.model.predict(x, verbose=0)

    def details(self):
        return {"jit_compile": bool(self.model.jit_compile), "backend": "tensorflow",
                "timed_call": "model.fit(x, y, epochs=1, batch_size=64, verbose=0)",
                "predict": "model.predict(x) (default batch_size 32)"}


RUNNERS = {"lstm_np": LstmNpRunner, "torch": TorchRunner, "keras": KerasRunner}


def seconds(fn, *args):
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


# ------------------------------------------------------------------------------------------
# Data and memory.
# ------------------------------------------------------------------------------------------
def load_windows(dataset, smoke):
    from lstm_np.forecast import load_prices, split_series
    split = split_series(load_prices(dataset), window=WINDOW, test_days=TEST_DAYS, val_split=0.0)
    x, y = split.x_train, split.y_train
    if smoke:
        x, y = x[-SMOKE_WINDOWS:], y[-SMOKE_WINDOWS:]
    f32 = lambda a: np.ascontiguousarray(a, dtype=np.float32)  # noqa: E731
    return f32(x), f32(y), f32(split.x_test), split


def probe(lib, data_path, threads, seed):
    """Body of a fresh subprocess: import ``lib``, train two epochs, predict; print the peak RSS,
    the import time and both epoch times (the first carries the start-up cost: Numba's cache
    load, graph building)."""
    bc.set_thread_env(threads)
    report = {}
    if lib != "baseline":                                 # the baseline imports nothing more
        start = time.perf_counter()
        for module in bc.PEER_MODULES.get(lib, ("lstm_np",)):
            __import__(module)
        report["import_seconds"] = time.perf_counter() - start
        bc.apply_threads(threads, [lib] if lib in bc.PEER_MODULES else [])
    data = np.load(data_path)
    x, y, x_test = data["x"], data["y"], data["x_test"]
    if lib != "baseline":
        runner = RUNNERS[lib](None, seed, x, y)
        report["first_epoch_seconds"] = seconds(runner.train_epoch)
        report["second_epoch_seconds"] = seconds(runner.train_epoch)
        runner.predict(x_test)
    print(json.dumps({"peak_rss_kb": peak_rss_kb(), **report}))


def peak_rss_kb():
    """This process's peak resident set size in kB: ``VmHWM`` where Linux has it, else ru_maxrss.

    ``VmHWM`` belongs to the current address space; ru_maxrss can carry the parent's peak over
    ``fork``/``exec``, which would swamp a small baseline.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux, bytes on macOS


def measure_memory(libs, x, y, x_test, options):
    """Peak RSS in MB per library: a fresh process each, one after another, net of a baseline;
    with each library's import time and first-epoch overhead (first minus second epoch)."""
    peaks, startup = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        data_path = os.path.join(tmp, "windows.npz")
        np.savez(data_path, x=x, y=y, x_test=x_test)
        for lib in ("baseline", *libs):
            cmd = [sys.executable, str(Path(__file__).resolve()), "--probe", lib,
                   "--probe-data", data_path, "--threads", str(options.threads),
                   "--seed", str(options.seed)]
            run = subprocess.run(cmd, capture_output=True, text=True)
            try:
                report = json.loads(run.stdout.strip().splitlines()[-1])
                peaks[lib] = report["peak_rss_kb"] / 1024
            except (IndexError, ValueError, KeyError):
                print(f"  memory probe for {lib} failed:\n{run.stderr[-2000:]}", file=sys.stderr)
                peaks[lib], report = None, {}
            if "first_epoch_seconds" in report:
                startup[lib] = {"import_seconds": report["import_seconds"],
                                "first_epoch_overhead_seconds":
                                    report["first_epoch_seconds"] - report["second_epoch_seconds"]}
    base = peaks.pop("baseline")
    print("  peak RSS (MB): baseline " + fmt(base, ".0f") + ", "
          + ", ".join(f"{lib} {fmt(peak, '.0f')}" for lib, peak in peaks.items()), flush=True)
    return {lib: {"peak_rss_mb": peak, "peak_rss_net_mb": None if peak is None or base is None
                  else peak - base, **startup.get(lib, {})}
            for lib, peak in peaks.items()}, base


# ------------------------------------------------------------------------------------------
# The measurement.
# ------------------------------------------------------------------------------------------
def run_dataset(dataset, libs, options):
    load_before = bc.loadavg()
    x, y, x_test, split = load_windows(dataset, options.smoke)
    print(f"{dataset}: {len(x)} training windows, {len(x_test)} test windows, "
          f"{options.epochs} timed epoch(s) x {options.repeats} repeat(s)", flush=True)
    memory, baseline_mb = ({}, None)
    if options.memory:
        print("  memory: one subprocess per library, sequentially", flush=True)
        memory, baseline_mb = measure_memory(libs, x, y, x_test, options)
    epochs = {lib: [] for lib in libs}
    predicts = {lib: [] for lib in libs}
    maes = {lib: [] for lib in libs}
    initial_diff, details = {}, {}
    for repeat in range(options.repeats):
        seed = options.seed + repeat
        weights = lstm_np_model(seed).get_weights()
        runners = [RUNNERS[lib](weights, seed, x, y) for lib in libs]
        first = {r.name: r.predict(x_test) for r in runners}    # untimed: also builds graphs
        if "lstm_np" in first:
            initial_diff = {lib: float(np.max(np.abs(p - first["lstm_np"])))
                            for lib, p in first.items() if lib != "lstm_np"}
        for runner in runners:
            warm = seconds(runner.train_epoch)
            print(f"  warm-up {runner.name}: {warm:.2f}s", flush=True)
        for epoch in range(options.epochs):
            shift = epoch % len(runners)                        # rotate who goes first
            line = []
            for runner in runners[shift:] + runners[:shift]:
                epochs[runner.name].append(seconds(runner.train_epoch))
                line.append(f"{runner.name} {epochs[runner.name][-1]:.2f}s")
            print(f"  repeat {repeat + 1} epoch {epoch + 1}: " + ", ".join(line), flush=True)
        for runner in runners:
            runner.predict(x_test)                              # warm the predict path
        for k in range(PREDICT_RUNS):
            shift = k % len(runners)
            for runner in runners[shift:] + runners[:shift]:
                predicts[runner.name].append(seconds(runner.predict, x_test))
        for runner in runners:
            prices = split.scaler.inverse_transform(np.asarray(runner.predict(x_test)).ravel())
            maes[runner.name].append(float(np.mean(np.abs(prices - split.test_prices))))
            details[runner.name] = runner.details()
        del runners
    results = {}
    for lib in libs:
        results[lib] = {"median_epoch_seconds": bc.median(epochs[lib]),
                        "epoch_seconds": epochs[lib],
                        "median_predict_seconds": bc.median(predicts[lib]),
                        "predict_seconds": predicts[lib],
                        "test_mae_usd": bc.median(maes[lib]), "test_mae_usd_per_repeat": maes[lib],
                        "peak_rss_mb": None, "peak_rss_net_mb": None, "import_seconds": None,
                        "first_epoch_overhead_seconds": None, **memory.get(lib, {}),
                        "initial_max_abs_diff_vs_lstm_np": initial_diff.get(lib),
                        "details": details.get(lib, {})}
    ratios = {}
    if "lstm_np" in results:
        for peer in libs:
            if peer != "lstm_np":
                ratios[f"lstm_np/{peer}"] = {
                    key: bc.ratio(results["lstm_np"][f"median_{key}_seconds"],
                                  results[peer][f"median_{key}_seconds"])
                    for key in ("epoch", "predict")}
    naive = float(np.mean(np.abs(split.naive - split.test_prices)))
    return {"dataset": dataset, "n_train": len(x), "n_test": len(x_test), "window": WINDOW,
            "batch_size": BATCH_SIZE, "dtype": "float32", "epochs": options.epochs,
            "repeats": options.repeats, "warmup_epochs": 1, "predict_runs": PREDICT_RUNS,
            "smoke": options.smoke, "seed": options.seed,
            "memory_method": MEMORY_METHOD if options.memory else "not measured (--no-memory)",
            "memory_baseline_mb": baseline_mb, "naive_persistence_mae_usd": naive,
            "loadavg_before": load_before, "loadavg_after": bc.loadavg(),
            "results": results, "ratios": ratios}


# ------------------------------------------------------------------------------------------
# Reports.
# ------------------------------------------------------------------------------------------
def fmt(value, spec):
    return "—" if value is None else format(value, spec)


def markdown(reports, env):
    lines = ["# Seed model: lstm_np vs PyTorch vs Keras", ""]
    if any(r["smoke"] for r in reports):
        lines += ["**Smoke run** (tiny data, 1 epoch): not a result.", ""]
    lines += bc.header_lines(env["machine"], env["versions"], env["threads"], env["blas"])
    lines += [f"- Memory: {reports[0]['memory_method']}",
              "- Load average (1, 5, 15 min) before → after: " + "; ".join(
                  f"{r['dataset']} {r['loadavg_before']} → {r['loadavg_after']}" for r in reports), ""]
    if env["missing_peers"]:
        lines += [f"Not measured: {', '.join(env['missing_peers'])} (not installed).", ""]
    lines += ["| data set | library | median epoch (s) | predict (ms) | peak RSS net (MB) "
              "| import (s) | 1st-epoch overhead (s) "
              "| test MAE ($) | lstm_np ÷ this, epoch | lstm_np ÷ this, predict |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for rep in reports:
        for lib, res in rep["results"].items():
            ratio = rep["ratios"].get(f"lstm_np/{lib}", {})
            lines.append(
                f"| {rep['dataset']} ({rep['n_train']} windows) | {lib} "
                f"| {fmt(res['median_epoch_seconds'], '.3f')} "
                f"| {fmt(res['median_predict_seconds'] and res['median_predict_seconds'] * 1e3, '.1f')} "
                f"| {fmt(res['peak_rss_net_mb'], '.0f')} | {fmt(res['import_seconds'], '.2f')} "
                f"| {fmt(res['first_epoch_overhead_seconds'], '.2f')} "
                f"| {fmt(res['test_mae_usd'], ',.0f')} "
                f"| {fmt(ratio.get('epoch'), '.2f')} | {fmt(ratio.get('predict'), '.2f')} |")
    lines += ["", "Method: same initial weights (lstm_np's, copied into the peers), float32, batch "
              f"{BATCH_SIZE}, shuffled every epoch; one untimed warm-up epoch per library, then "
              "timed epochs interleaved across libraries with a rotating order; predict is the "
              f"median of {PREDICT_RUNS} interleaved runs on the test windows. A ratio below 1 "
              "means lstm_np is faster. Test MAE is after warm-up + timed epochs, a sanity check "
              "rather than a forecast score; the naive persistence MAE is "
              + ", ".join(f"${r['naive_persistence_mae_usd']:,.0f} ({r['dataset']})"
                          for r in reports) + "."]
    return "\n".join(lines) + "\n"


def bar_chart(reports, path):
    plt = bc.use_agg()
    fig, axes = plt.subplots(2, len(reports), figsize=(4.5 * len(reports), 6.5), squeeze=False)
    colors = {"lstm_np": "tab:blue", "torch": "tab:orange", "keras": "tab:red"}
    for col, rep in enumerate(reports):
        libs = list(rep["results"])
        for row, (key, scale, label) in enumerate((("median_epoch_seconds", 1, "epoch (s)"),
                                                   ("median_predict_seconds", 1e3, "predict (ms)"))):
            ax = axes[row][col]
            values = [(rep["results"][lib][key] or 0) * scale for lib in libs]
            bars = ax.bar(libs, values, color=[colors[lib] for lib in libs])
            ax.bar_label(bars, fmt="%.3g")
            ax.set_ylabel(label)
            if row == 0:
                ax.set_title(f"{rep['dataset']} ({rep['n_train']} windows)"
                             + (" — smoke" if rep["smoke"] else ""))
    fig.suptitle("Seed model, median over timed epochs (lower is better)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    options, args = parse_args(argv)
    if args.probe:
        probe(args.probe, args.probe_data, options.threads, options.seed)
        return 0
    bc.set_thread_env(options.threads)
    wanted_peers = [p for p in options.peers if p != "lstm_np"]
    present, missing = bc.split_peers(wanted_peers)
    libs = [lib for lib in options.peers if lib == "lstm_np" or lib in present]
    if missing:
        print(bc.missing_message(missing, libs), flush=True)
    if not libs:
        return 1
    for peer in present:                                  # import before setting threads
        for module in bc.PEER_MODULES[peer]:
            __import__(module)
    settings, limiter = bc.apply_threads(options.threads, present)
    env = {"machine": bc.machine_info(), "versions": bc.versions(present), "threads": settings,
           "blas": bc.blas_info(), "missing_peers": missing}
    try:
        reports = [run_dataset(dataset, libs, options) for dataset in options.datasets]
    finally:
        if limiter is not None:
            limiter.restore_original_limits()
    options.out.mkdir(parents=True, exist_ok=True)
    for rep in reports:
        bc.write_json(options.out / f"compare_{rep['dataset']}.json", {**env, **rep})
    (options.out / "compare.md").write_text(markdown(reports, env))
    bar_chart(reports, options.out / "compare.png")
    print(markdown(reports, env))
    print(f"wrote {options.out}/compare_*.json, compare.md, compare.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
