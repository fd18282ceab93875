"""lstm_np against PyTorch over a grid of model sizes, and lstm_np's cold start.

The grid (issues 11 and 20): ``LSTM(u1, return_sequences=True) → Dropout(0.2) → LSTM(u2) →
Dropout(0.2) → Dense(1)`` with units ``u1/u2`` of 50/100 (the seed model), 128/128 and 256/256;
1 and 5 input features; float32 and float64; batch 64, windows of 60 timesteps, Adam, MSE. At
every point:

* **epoch**: seconds for one epoch over ``--windows`` random windows in float32 and
  ``--windows-float64`` in float64 (reshuffled each epoch), after one untimed warm-up epoch —
  fewer in float64 because PyTorch's float64 CPU LSTM is 70-150x slower than its float32 one, so
  the float32 count would make every float64 point take many minutes;
* **predict**: seconds to predict 60 windows in one call, after one untimed call.

Each library runs in its own fresh subprocess (``--torch-python`` may name another interpreter,
e.g. a virtual environment that has torch), the libraries take turns round by round
(interleaved, so a load change on the machine hits both), and the table gives medians over all
rounds. Both libraries get ``--threads`` threads (kernels, BLAS, torch intra-op) alike.

**Cold start**: ``python -m lstm_np.train --epochs 2 --quiet`` with ``NUMBA_CACHE_DIR`` pointing
at an empty directory (nothing compiled yet, as on a fresh install) against the same command
with that cache filled, wall-clock seconds of the whole command.

    python benchmarks/grid.py --torch-python PATH/TO/venv/bin/python
    python benchmarks/grid.py --smoke --out /tmp/bench           # CI size, seconds

**Seed point extras**: ``--baseline PATH`` times another checkout of lstm_np (the first release)
and ``--busy-core`` times lstm_np and PyTorch while another process keeps one core busy, both at
the first float32 point (the seed model's 50/100 units, 1 feature, in the default grid),
interleaved with the others. Every point also reports its achieved GFLOP/s and the fraction of
the machine's FLOP peak, measured by ``peak.py``.

Writes ``grid.json`` and ``grid.md`` into ``--out`` (default: a new folder
``runs/bench-grid-<time>``; the committed ``benchmarks/results`` only when named).
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_common as bc  # noqa: E402

LIBRARIES = ("lstm_np", "torch")
UNITS = ((50, 100), (128, 128), (256, 256))
FEATURES = (1, 5)
DTYPES = ("float32", "float64")
BATCH_SIZE, TIMESTEPS, PREDICT_WINDOWS = 64, 60, 60
TARGETS = {"epoch": 0.85, "predict": 1.0}    # lstm_np / torch at every point, issue 20
# at the seed point: lstm_np / the first release, lstm_np / torch with one core busy (issue 20)
SEED_TARGETS = {"baseline": 0.95, "busy": 0.9}
PEAK_FRACTION_TARGET = 0.35                   # of the measured FMA peak, at the seed point
COLD_START_TARGET = 10.0                      # seconds, cold minus warm `lstm_np.train` run
BUSY_LOOP = "while True: pass"                # the other process that keeps one core busy


@dataclass(frozen=True)
class Point:
    units: tuple
    features: int
    dtype: str

    @property
    def label(self):
        return f"{self.units[0]}/{self.units[1]} units, {self.features} feature(s), {self.dtype}"


@dataclass
class Options:
    peers: tuple
    units: tuple
    features: tuple
    dtypes: tuple
    windows: int
    windows_float64: int
    epochs: int
    rounds: int
    predict_runs: int
    cold_runs: int
    threads: int
    torch_python: str
    out: Path
    smoke: bool
    seed: int
    baseline: Path = None
    busy_core: bool = False

    def windows_for(self, dtype):
        """Training windows per epoch at a point of this dtype."""
        return self.windows_float64 if dtype == "float64" else self.windows


def parse_units(text):
    try:
        pairs = tuple(tuple(int(u) for u in item.split("/")) for item in text.split(","))
    except ValueError:
        pairs = ()
    if not pairs or any(len(p) != 2 or min(p) < 1 for p in pairs):
        raise argparse.ArgumentTypeError(f"expected pairs like 50/100,128/128; got {text!r}")
    return pairs


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Epoch and predict time of lstm_np and PyTorch over model sizes, features "
                    "and dtypes (each library in its own process, interleaved), and lstm_np's "
                    "cold start.")
    parser.add_argument("--peers", default=",".join(LIBRARIES),
                        help="comma-separated subset of lstm_np,torch (default both)")
    parser.add_argument("--units", type=parse_units, default=UNITS,
                        help="unit pairs of the two LSTM layers (default 50/100,128/128,256/256)")
    parser.add_argument("--features", default=",".join(map(str, FEATURES)),
                        help="input features (default 1,5)")
    parser.add_argument("--dtypes", default=",".join(DTYPES),
                        help="comma-separated float32,float64 (default both)")
    parser.add_argument("--windows", type=int, default=2631,
                        help="training windows per epoch in float32 (default 2631)")
    parser.add_argument("--windows-float64", type=int, default=256,
                        help="training windows per epoch in float64 (default 256: PyTorch's "
                             "float64 CPU LSTM is 70-150x slower than float32)")
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs per round (default 2)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="fresh processes per library and point, interleaved (default 3)")
    parser.add_argument("--predict-runs", type=int, default=10,
                        help="timed predict calls per round (default 10)")
    parser.add_argument("--cold-runs", type=int, default=None,
                        help="cold and warm `lstm_np.train --epochs 2` runs each (default 2, "
                             "with --smoke 0; 0 skips the cold-start row)")
    parser.add_argument("--threads", type=int, default=2,
                        help="threads for every library (default 2)")
    parser.add_argument("--torch-python", default=sys.executable,
                        help="the Python interpreter that has torch (default: this one)")
    parser.add_argument("--out", type=Path, default=None,
                        help="where grid.json and grid.md go (default: a new folder "
                             "runs/bench-grid-<time>; benchmarks/results only when named here)")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="a checkout of another lstm_np (e.g. the first release, "
                             "`git worktree add ../first 6153b33`): timed at the seed point "
                             "beside this one, interleaved")
    parser.add_argument("--busy-core", action="store_true",
                        help="at the seed point, also time lstm_np and torch while another "
                             "process keeps one core busy")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true",
                        help="CI size: units 8/8, 1 feature, float32, 128 windows, 1 epoch, "
                             "1 round, no cold start unless --cold-runs says so")
    parser.add_argument("--worker", help=argparse.SUPPRESS)    # internal: one library, one point
    args = parser.parse_args(argv)
    if args.worker:
        return args
    peers = tuple(p.strip() for p in args.peers.split(",") if p.strip())
    if not peers or set(peers) - set(LIBRARIES):
        parser.error(f"--peers takes names from {','.join(LIBRARIES)}; got {args.peers!r}")
    try:
        features = tuple(int(f) for f in args.features.split(","))
    except ValueError:
        parser.error(f"--features takes integers like 1,5; got {args.features!r}")
    dtypes = tuple(d.strip() for d in args.dtypes.split(","))
    if set(dtypes) - set(DTYPES):
        parser.error(f"--dtypes takes float32,float64; got {args.dtypes!r}")
    cold_runs = args.cold_runs if args.cold_runs is not None else (0 if args.smoke else 2)
    if min(*features, args.windows, args.windows_float64, args.epochs, args.rounds,
           args.predict_runs, args.threads) < 1 or cold_runs < 0:
        parser.error("--features, --windows, --windows-float64, --epochs, --rounds, "
                     "--predict-runs and --threads must be at least 1, --cold-runs at least 0")
    if args.baseline is not None and not (args.baseline / "lstm_np" / "__init__.py").is_file():
        parser.error(f"--baseline must be a checkout of lstm_np (it has no lstm_np/__init__.py): "
                     f"{args.baseline}")
    if args.smoke:
        return Options(peers=peers, units=((8, 8),), features=(1,), dtypes=("float32",),
                       windows=128, windows_float64=128, epochs=1, rounds=1, predict_runs=2,
                       cold_runs=cold_runs,
                       threads=args.threads, torch_python=args.torch_python,
                       out=bc.out_or_fresh(args.out, "grid"), smoke=True, seed=args.seed,
                       baseline=args.baseline, busy_core=args.busy_core)
    return Options(peers=peers, units=args.units, features=features, dtypes=dtypes,
                   windows=args.windows, windows_float64=args.windows_float64,
                   epochs=args.epochs, rounds=args.rounds,
                   predict_runs=args.predict_runs, cold_runs=cold_runs,
                   threads=args.threads, torch_python=args.torch_python,
                   out=bc.out_or_fresh(args.out, "grid"), smoke=False, seed=args.seed,
                   baseline=args.baseline, busy_core=args.busy_core)


# ------------------------------------------------------------------------------------------
# The worker: one library, one point, in a fresh process.
# ------------------------------------------------------------------------------------------
def make_data(windows, features, dtype, seed):
    import numpy as np
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((windows, TIMESTEPS, features)).astype(dtype)
    y = rng.standard_normal((windows, 1)).astype(dtype)
    return x, y, x[:PREDICT_WINDOWS].copy()


class LstmNpRunner:
    def __init__(self, point, x, y, seed):
        from lstm_np import LSTM, Adam, Dense, Dropout, Sequential
        u1, u2 = point.units
        self.model = Sequential([LSTM(u1, return_sequences=True,
                                      input_shape=(TIMESTEPS, point.features)), Dropout(0.2),
                                 LSTM(u2), Dropout(0.2), Dense(1)], seed=seed, dtype=point.dtype)
        self.model.compile(optimizer=Adam(), loss="mse")
        self.x, self.y = x, y

    def train_epoch(self):
        self.model.fit(self.x, self.y, epochs=1, batch_size=BATCH_SIZE, shuffle=True, verbose=0)

    def predict(self, x):
        return self.model.predict(x)


class TorchRunner:
    def __init__(self, point, x, y, seed):
        import torch
        from torch import nn
        self.torch = torch
        torch.manual_seed(seed)
        u1, u2 = point.units

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.lstm1, self.drop1 = nn.LSTM(point.features, u1, batch_first=True), \
                    nn.Dropout(0.2)
                self.lstm2, self.drop2 = nn.LSTM(u1, u2, batch_first=True), nn.Dropout(0.2)
                self.dense = nn.Linear(u2, 1)

            def forward(self, x):
                h, _ = self.lstm1(x)
                h, _ = self.lstm2(self.drop1(h))
                return self.dense(self.drop2(h[:, -1]))

        self.net = Net().to(getattr(torch, point.dtype))
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=1e-3, eps=1e-7)
        self.x, self.y = torch.from_numpy(x), torch.from_numpy(y)
        self.generator = torch.Generator().manual_seed(seed)

    def train_epoch(self):
        torch, net = self.torch, self.net
        net.train()
        for idx in torch.randperm(len(self.x), generator=self.generator).split(BATCH_SIZE):
            self.optimizer.zero_grad(set_to_none=True)
            loss = torch.nn.functional.mse_loss(net(self.x[idx]), self.y[idx])
            loss.backward()
            self.optimizer.step()

    def predict(self, x):
        self.net.eval()
        with self.torch.inference_mode():
            return self.net(self.torch.from_numpy(x)).numpy()


def worker(spec):
    """Body of a fresh subprocess: time one library at one point; print one JSON line."""
    job = json.loads(spec)
    bc.set_thread_env(job["threads"])
    if job["library"] == "lstm_np":
        sys.path.insert(0, job.get("repo") or str(bc.REPO))
    point = Point(tuple(job["units"]), job["features"], job["dtype"])
    x, y, x_predict = make_data(job["windows"], point.features, point.dtype, job["seed"])
    runner_class = LstmNpRunner if job["library"] == "lstm_np" else TorchRunner
    settings, _limiter = bc.apply_threads(job["threads"], ("torch",) if job["library"] == "torch"
                                          else ())
    runner = runner_class(point, x, y, job["seed"])
    start = time.perf_counter()
    runner.train_epoch()                                      # warm-up: compiles, allocates
    first_epoch = time.perf_counter() - start
    epochs = []
    for _ in range(job["epochs"]):
        start = time.perf_counter()
        runner.train_epoch()
        epochs.append(time.perf_counter() - start)
    runner.predict(x_predict)                                 # warm-up
    predicts = []
    for _ in range(job["predict_runs"]):
        start = time.perf_counter()
        runner.predict(x_predict)
        predicts.append(time.perf_counter() - start)
    module = __import__(job["library"])
    print(json.dumps({"epoch_seconds": epochs, "predict_seconds": predicts,
                      "first_epoch_seconds": first_epoch, "threads": settings,
                      "version": module.__version__, "python": sys.executable}))


def repo_env(repo=bc.REPO):
    """This environment with the repository (or ``repo``) first on ``PYTHONPATH``, so every
    subprocess imports the lstm_np under test."""
    paths = [str(repo)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


@dataclass(frozen=True)
class Contender:
    """One column of a point: a library, from which checkout, with or without a busy core."""
    name: str                  # "lstm_np", "torch", "baseline", "lstm_np_busy", "torch_busy"
    library: str               # what the worker imports: "lstm_np" or "torch"
    repo: Path = bc.REPO
    busy: bool = False


def contenders(peers, point, first_float32, options):
    """Who runs at ``point``: the peers everywhere; at the first float32 point (the seed model
    in the default grid) also the ``--baseline`` checkout and the ``--busy-core`` runs."""
    found = [Contender(lib, lib) for lib in peers]
    if point != first_float32:
        return found
    if options.baseline is not None and "lstm_np" in peers:
        found.append(Contender("baseline", "lstm_np", Path(options.baseline).resolve()))
    if options.busy_core:
        found += [Contender(f"{lib}_busy", lib, busy=True) for lib in peers]
    return found


def run_worker(python, contender, point, options):
    job = {"library": contender.library, "units": point.units, "features": point.features,
           "dtype": point.dtype, "windows": options.windows_for(point.dtype),
           "epochs": options.epochs, "repo": str(contender.repo),
           "predict_runs": options.predict_runs, "threads": options.threads, "seed": options.seed}
    busy = (subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) if contender.busy else None)
    try:
        result = subprocess.run([python, str(Path(__file__).resolve()), "--worker",
                                 json.dumps(job)], capture_output=True, text=True,
                                env=repo_env(contender.repo))
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
    if result.returncode != 0:
        raise RuntimeError(f"{contender.name} worker failed at {point.label}:\n"
                           f"{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def torch_available(python):
    probe = subprocess.run([python, "-c", "import torch"], capture_output=True)
    return probe.returncode == 0


# ------------------------------------------------------------------------------------------
# Cold start.
# ------------------------------------------------------------------------------------------
def train_seconds(cache_dir, out_dir):
    """Wall and CPU seconds (user + system, of the child) of one ``lstm_np.train --epochs 2``."""
    env = {**repo_env(), "NUMBA_CACHE_DIR": str(cache_dir)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "lstm_np.train", "--epochs", "2", "--quiet", "--force",
                    "--out", str(out_dir)], check=True, env=env, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def cold_start(runs):
    """Wall seconds of ``lstm_np.train --epochs 2``: each cold run in a new, empty Numba cache,
    each warm run right after it in the cache the cold run filled."""
    runs_seen = {"cold": [], "warm": []}
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            cache, out = Path(tmp) / "numba_cache", Path(tmp) / "run"
            cache.mkdir()
            runs_seen["cold"].append(train_seconds(cache, out))
            runs_seen["warm"].append(train_seconds(cache, out))
    report = {}
    for kind, seen in runs_seen.items():
        report[f"{kind}_seconds"] = [wall for wall, _ in seen]
        report[f"{kind}_cpu_seconds"] = [cpu for _, cpu in seen]
        report[f"median_{kind}"] = bc.median([wall for wall, _ in seen])
        report[f"median_{kind}_cpu"] = bc.median([cpu for _, cpu in seen])
    report["difference"] = report["median_cold"] - report["median_warm"]
    report["cpu_difference"] = report["median_cold_cpu"] - report["median_warm_cpu"]
    return report


# ------------------------------------------------------------------------------------------
# Report.
# ------------------------------------------------------------------------------------------
def fmt(value, spec):
    return "–" if value is None else format(value, spec)


def windows_text(report):
    """``"2631 random windows (float32), 256 (float64)"``, naming only the dtypes measured."""
    dtypes = sorted({row["dtype"] for row in report["results"]}) or ["float32"]
    counts = {d: report["windows_float64"] if d == "float64" else report["windows"]
              for d in dtypes}
    return ", ".join(f"{n} ({d})" for d, n in counts.items())


def grid_table_lines(report):
    """The grid as a markdown table, one row per point, with the windows it trained on."""
    lines = ["| units | features | dtype | windows | lstm_np epoch (s) | torch epoch (s) "
             "| epoch ratio | lstm_np predict (ms) | torch predict (ms) | predict ratio |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for row in report["results"]:
        lines.append(
            f"| {row['units']} | {row['features']} | {row['dtype']} | {row.get('windows', '–')} "
            f"| {fmt(row.get('lstm_np_epoch'), '.3f')} | {fmt(row.get('torch_epoch'), '.3f')} "
            f"| {fmt(row.get('epoch_ratio'), '.2f')} "
            f"| {fmt(row.get('lstm_np_predict') and row['lstm_np_predict'] * 1e3, '.2f')} "
            f"| {fmt(row.get('torch_predict') and row['torch_predict'] * 1e3, '.2f')} "
            f"| {fmt(row.get('predict_ratio'), '.2f')} |")
    return lines


def flops_lines(report):
    """Achieved GFLOP/s and the fraction of the measured peak, one row per point."""
    peak = report.get("peak_gflops_per_core") or {}
    threads = report["options"]["threads"]
    lines = ["FLOPs of an epoch: the products of forward and backward (`bench_common.lstm_flops`; "
             "the gate math and Dense are a few percent more) × the training windows; GFLOP/s = "
             "that ÷ the median epoch. Peak: a register-resident loop of fused multiply-adds "
             "(`peak.py`), per core by thread CPU time, "
             + ", ".join(f"{v:.1f} GFLOP/s in {k}" for k, v in peak.items())
             + f", × {threads} thread(s).", "",
             "| units | features | dtype | GFLOP per epoch | peak GFLOP/s | lstm_np GFLOP/s "
             "| lstm_np of peak | torch GFLOP/s | torch of peak |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for row in report["results"]:
        lines.append(
            f"| {row['units']} | {row['features']} | {row['dtype']} "
            f"| {fmt(row.get('gflop_per_epoch'), '.1f')} | {fmt(row.get('peak_gflops'), '.0f')} "
            f"| {fmt(row.get('lstm_np_gflops'), '.1f')} "
            f"| {fmt(row.get('lstm_np_peak_fraction') and 100 * row['lstm_np_peak_fraction'], '.0f')}% "
            f"| {fmt(row.get('torch_gflops'), '.1f')} "
            f"| {fmt(row.get('torch_peak_fraction') and 100 * row['torch_peak_fraction'], '.0f')}% |")
    return lines


def seed_point_lines(report):
    """The first float32 point's extra runs: the ``--baseline`` checkout and the busy core."""
    row = next((r for r in report["results"]
                if "baseline_epoch" in r or "lstm_np_busy_epoch" in r), None)
    if row is None:
        return []
    names = {"lstm_np": "lstm_np (this commit)", "torch": "PyTorch",
             "baseline": f"lstm_np at {(report.get('baseline') or {}).get('commit')} (--baseline)",
             "lstm_np_busy": "lstm_np, one core busy", "torch_busy": "PyTorch, one core busy"}
    lines = [f"At {row['units']} units, {row['features']} feature(s), {row['dtype']}: "
             f"`--baseline` and `--busy-core` runs (the busy core: another process running "
             f"`{BUSY_LOOP}` while the worker runs), interleaved with the others.", "",
             "| run | epoch (s) | predict (ms) |", "|---|---:|---:|"]
    for name, label in names.items():
        if f"{name}_epoch" in row:
            lines.append(f"| {label} | {fmt(row[f'{name}_epoch'], '.3f')} "
                         f"| {fmt(row[f'{name}_predict'] * 1e3, '.2f')} |")
    lines += ["", f"Epoch ratios: lstm_np ÷ baseline {fmt(row.get('baseline_ratio'), '.2f')}, "
                  f"lstm_np ÷ PyTorch with a busy core {fmt(row.get('busy_ratio'), '.2f')}.", ""]
    return lines


def cold_start_lines(report):
    """The cold-start table, or one line saying it was not measured."""
    cold = report.get("cold_start")
    if not cold:
        return ["Cold start not measured (`--cold-runs 0`).", ""]
    return ["`python -m lstm_np.train --epochs 2 --quiet`, seconds of the whole command: "
            "cold = empty `NUMBA_CACHE_DIR` (first run on a machine), warm = the same cache "
            "filled (every later run). CPU = user + system seconds of the command, which a "
            "busy machine inflates less than the wall clock.", "",
            "| | cold (s) | warm (s) | cold − warm (s) | target |", "|---|---|---|---|---|",
            f"| wall | {cold['median_cold']:.1f} | {cold['median_warm']:.1f} "
            f"| {cold['difference']:.1f} | ≤ {COLD_START_TARGET:g} |",
            f"| CPU | {cold['median_cold_cpu']:.1f} | {cold['median_warm_cpu']:.1f} "
            f"| {cold['cpu_difference']:.1f} | |", ""]


def method_lines(report):
    """What every point measured, in one bullet list."""
    return [f"- Random windows of {TIMESTEPS} steps per epoch: {windows_text(report)}; batch "
            f"{BATCH_SIZE}, Adam, MSE; {report['rounds']} round(s) × {report['epochs']} timed "
            f"epoch(s) and {report['predict_runs']} predict calls of {PREDICT_WINDOWS} windows "
            "per library and point, each round a fresh process, libraries interleaved; medians.",
            "- Threads in the workers: " + "; ".join(
                f"{lib}: " + ", ".join(f"{k}={v}" for k, v in t.items())
                for lib, t in report["worker_threads"].items()),
            f"- Targets (issue 20): epoch ≤ {TARGETS['epoch']}× PyTorch, predict ≤ "
            f"{TARGETS['predict']}× PyTorch at every point; at the seed point epoch ≤ "
            f"{SEED_TARGETS['baseline']}× the first release, ≤ {SEED_TARGETS['busy']}× "
            f"PyTorch with one core busy, and ≥ {PEAK_FRACTION_TARGET:.0%} of the FLOP peak."]


def markdown(report):
    lines = ["# lstm_np against PyTorch over model sizes", ""]
    if report["smoke"]:
        lines += ["**Smoke run** (CI size): the numbers say nothing about speed.", ""]
    lines += bc.header_lines(report["machine"], report["versions"], report["threads"],
                             report["blas"])
    lines += [f"- Load average before / after: {report['load_before']} / {report['load_after']}"]
    lines += method_lines(report) + [""]
    if report.get("missing"):
        lines += [f"*{report['missing']}*", ""]
    lines += grid_table_lines(report) + [""]
    lines += seed_point_lines(report)
    lines += ["## FLOPs", ""] + flops_lines(report) + [""]
    if report.get("cold_start"):
        lines += ["## Cold start", ""]
    lines += cold_start_lines(report)
    return "\n".join(lines)


def main(argv=None):
    options = parse_args(argv)
    if isinstance(options, argparse.Namespace):      # --worker
        worker(options.worker)
        return 0
    bc.set_thread_env(options.threads)
    peers = list(options.peers)
    missing = None
    if "torch" in peers and not torch_available(options.torch_python):
        peers.remove("torch")
        missing = (f"torch not importable by {Path(options.torch_python).name} — pass "
                   f"--torch-python (or {bc.INSTALL_HINT}) to compare; timing lstm_np only")
        print(missing, flush=True)
    settings, limiter = bc.apply_threads(options.threads, ())
    report = {"smoke": options.smoke, "machine": bc.machine_info(), "versions": bc.versions(()),
              "threads": settings, "blas": bc.blas_info(), "load_before": bc.loadavg(),
              "windows": options.windows, "windows_float64": options.windows_float64,
              "epochs": options.epochs, "rounds": options.rounds,
              "predict_runs": options.predict_runs, "peers": peers, "missing": missing,
              "worker_threads": {},
              "options": {k: _recordable(k, v) for k, v in asdict(options).items()},
              "results": []}
    points = [Point(u, f, d) for u in options.units for f in options.features
              for d in options.dtypes]
    first_float32 = next((p for p in points if p.dtype == "float32"), None)
    if options.baseline is not None:
        report["baseline"] = {"path": _recordable("baseline", Path(options.baseline)),
                              "commit": baseline_commit(options.baseline)}
    report["peak_gflops_per_core"] = measure_peak(points)
    pythons = {"lstm_np": sys.executable, "torch": options.torch_python}
    for point in points:
        print(f"{point.label}, {options.windows_for(point.dtype)} windows:", flush=True)
        point_start = time.perf_counter()
        runs = contenders(peers, point, first_float32, options)
        times = {c.name: {"epoch": [], "predict": []} for c in runs}
        for r in range(options.rounds):
            order = runs if r % 2 == 0 else runs[::-1]          # who goes first alternates
            for contender in order:
                result = run_worker(pythons[contender.library], contender, point, options)
                if contender.name in LIBRARIES:
                    report["versions"][contender.name] = result["version"]
                    report["worker_threads"][contender.name] = result["threads"]
                times[contender.name]["epoch"] += result["epoch_seconds"]
                times[contender.name]["predict"] += result["predict_seconds"]
                print(f"  round {r + 1} {contender.name}: epoch "
                      f"{bc.median(result['epoch_seconds']):.3f} s, predict "
                      f"{bc.median(result['predict_seconds']) * 1e3:.2f} ms", flush=True)
        report["results"].append(point_row(point, options, times, report,
                                           time.perf_counter() - point_start))
    if options.cold_runs and "lstm_np" in peers:
        print("cold start: lstm_np.train --epochs 2, empty vs filled Numba cache", flush=True)
        report["cold_start"] = cold_start(options.cold_runs)
    report["load_after"] = bc.loadavg()
    if limiter is not None:
        limiter.restore_original_limits()
    options.out.mkdir(parents=True, exist_ok=True)
    bc.write_json(options.out / "grid.json", report)
    (options.out / "grid.md").write_text(markdown(report) + "\n")
    print(f"wrote {options.out / 'grid.json'} and {options.out / 'grid.md'}")
    return 0


def point_row(point, options, times, report, wall_seconds):
    """One point's medians, ratios, GFLOP/s and fraction of the measured peak."""
    windows = options.windows_for(point.dtype)
    row = {"units": f"{point.units[0]}/{point.units[1]}", "features": point.features,
           "dtype": point.dtype, "windows": windows, "wall_seconds": wall_seconds, "raw": times}
    for name, measured in times.items():
        row[f"{name}_epoch"] = bc.median(measured["epoch"])
        row[f"{name}_predict"] = bc.median(measured["predict"])
    if "torch" in times and "lstm_np" in times:
        row["epoch_ratio"] = bc.ratio(row["lstm_np_epoch"], row["torch_epoch"])
        row["predict_ratio"] = bc.ratio(row["lstm_np_predict"], row["torch_predict"])
    if "baseline" in times:
        row["baseline_ratio"] = bc.ratio(row["lstm_np_epoch"], row["baseline_epoch"])
    if "lstm_np_busy" in times and "torch_busy" in times:
        row["busy_ratio"] = bc.ratio(row["lstm_np_busy_epoch"], row["torch_busy_epoch"])
    gflop = bc.model_flops_per_window(point.units, point.features, TIMESTEPS) * windows / 1e9
    row["gflop_per_epoch"] = gflop
    peak = report["peak_gflops_per_core"].get(point.dtype)
    row["peak_gflops"] = peak * options.threads if peak else None
    for name in times:
        epoch = row[f"{name}_epoch"]
        row[f"{name}_gflops"] = gflop / epoch if epoch else None
        row[f"{name}_peak_fraction"] = bc.ratio(row[f"{name}_gflops"], row["peak_gflops"])
    return row


def measure_peak(points):
    """Per-core GFLOP/s of a register-resident FMA loop (``peak.py``), per dtype measured."""
    import peak
    return {dtype: peak.fma_peak_gflops(dtype) for dtype in sorted({p.dtype for p in points})}


def baseline_commit(path):
    out = subprocess.run(["git", "-C", str(path), "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True)
    return out.stdout.strip() or None


def _recordable(key, value):
    """An option as the report records it: only the name of the torch interpreter — where it
    lives on the measuring machine is nobody else's business — and an output folder inside the
    repository relative to it."""
    if key == "torch_python":
        return Path(value).name
    if isinstance(value, Path):
        value = value.resolve()
        return str(value.relative_to(bc.REPO) if value.is_relative_to(bc.REPO) else value)
    return value


if __name__ == "__main__":
    sys.exit(main())
