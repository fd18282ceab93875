"""How one LSTM layer's forward + backward time grows with batch size, timesteps and units.

One layer, float32, ``return_sequences=True``, a random ``dy`` on every output: lstm_np's
``layer.forward`` then ``layer.backward``; PyTorch's ``nn.LSTM`` forward then
``out.backward(dy)`` (autograd). Both compute the input gradient and all weight gradients.
One variable moves at a time around (batch 64, timesteps 60, units 50); each point is the median
of ``--runs`` runs after one untimed warm-up, the libraries interleaved run by run.

    python benchmarks/scaling.py                 # full grid
    python benchmarks/scaling.py --smoke --out /tmp/bench
"""
import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_common as bc  # noqa: E402

LIBRARIES = ("lstm_np", "torch")
AXES = ("batch", "timesteps", "units")
CENTER = {"batch": 64, "timesteps": 60, "units": 50}
GRID = {"batch": (16, 64, 256), "timesteps": (15, 60, 240), "units": (25, 50, 100, 200)}
SMOKE_CENTER = {"batch": 8, "timesteps": 10, "units": 8}
SMOKE_GRID = {"batch": (4, 8), "timesteps": (5, 10), "units": (4, 8)}


@dataclass
class Options:
    peers: tuple
    features: int
    runs: int
    threads: int
    out: Path
    smoke: bool
    seed: int


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Time one LSTM layer's forward+backward over batch size, timesteps and units.")
    parser.add_argument("--peers", default=",".join(LIBRARIES),
                        help="comma-separated subset of lstm_np,torch (default both)")
    parser.add_argument("--features", type=int, default=1,
                        help="input features D (default 1, as the seed model's first layer)")
    parser.add_argument("--runs", type=int, default=7, help="timed runs per point (default 7)")
    parser.add_argument("--threads", type=int, default=2,
                        help="threads for torch, numba and BLAS alike (default 2)")
    parser.add_argument("--out", type=Path, default=None,
                        help="where the reports go (default: a new folder runs/bench-scaling-<time>; "
                             "the committed benchmarks/results only when named here)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", help="tiny grid, 2 runs per point")
    args = parser.parse_args(argv)
    peers = tuple(p.strip() for p in args.peers.split(",") if p.strip())
    if not peers or set(peers) - set(LIBRARIES):
        parser.error(f"--peers takes names from {','.join(LIBRARIES)}; got {args.peers!r}")
    if min(args.features, args.runs, args.threads) < 1:
        parser.error("--features, --runs and --threads must be at least 1")
    return Options(peers=peers, features=args.features, runs=2 if args.smoke else args.runs,
                   threads=args.threads, out=bc.out_or_fresh(args.out, "scaling"),
                   smoke=args.smoke, seed=args.seed)


class LstmNpStep:
    """lstm_np: ``forward(x, training=True)`` then ``backward(dy, cache)``."""

    def __init__(self, N, T, D, H, seed):
        from lstm_np import LSTM
        rng = np.random.default_rng(seed)
        self.layer = LSTM(H, return_sequences=True)
        self.layer.build((T, D), rng, "float32")
        self.x = rng.standard_normal((N, T, D)).astype(np.float32)
        self.dy = rng.standard_normal((N, T, H)).astype(np.float32)

    def __call__(self):
        _, cache = self.layer.forward(self.x, training=True)
        self.layer.backward(self.dy, cache)


class TorchStep:
    """torch: ``nn.LSTM`` forward then ``out.backward(dy)``, input gradient included."""

    def __init__(self, N, T, D, H, seed):
        import torch
        torch.manual_seed(seed)
        self.lstm = torch.nn.LSTM(D, H, batch_first=True)
        self.x = torch.randn(N, T, D, requires_grad=True)
        self.dy = torch.randn(N, T, H)

    def __call__(self):
        self.lstm.zero_grad(set_to_none=True)
        self.x.grad = None
        out, _ = self.lstm(self.x)
        out.backward(self.dy)


STEPS = {"lstm_np": LstmNpStep, "torch": TorchStep}


def grid_points(center, grid):
    """``(axis, N, T, H)`` for every point; the centre appears once per axis."""
    points = []
    for axis in AXES:
        for value in grid[axis]:
            sizes = dict(center, **{axis: value})
            points.append((axis, sizes["batch"], sizes["timesteps"], sizes["units"]))
    return points


def time_point(N, T, H, libs, options):
    """Median seconds per library for one (N, T, H), runs interleaved with a rotating order."""
    steps = [(lib, STEPS[lib](N, T, options.features, H, options.seed)) for lib in libs]
    for _, step in steps:
        step()                                            # warm-up: JIT, allocator
    runs = {lib: [] for lib in libs}
    for k in range(options.runs):
        shift = k % len(steps)
        for lib, step in steps[shift:] + steps[:shift]:
            start = time.perf_counter()
            step()
            runs[lib].append(time.perf_counter() - start)
    return runs


def markdown(rows, libs, env, options):
    lines = ["# One LSTM layer, forward + backward", ""]
    if options.smoke:
        lines += ["**Smoke run** (tiny grid): not a result.", ""]
    lines += bc.header_lines(env["machine"], env["versions"], env["threads"], env["blas"])
    lines += [f"- float32, input features D={options.features}, return_sequences=True, random dy; "
              f"median of {options.runs} interleaved runs after one warm-up",
              f"- Load average (1, 5, 15 min) before → after: {env['loadavg_before']} → "
              f"{env['loadavg_after']}", ""]
    head = "| varied | batch | timesteps | units | " + " | ".join(f"{lib} (ms)" for lib in libs)
    sep = "|---|---:|---:|---:|" + "---:|" * len(libs)
    if "lstm_np" in libs and "torch" in libs:
        head, sep = head + " | lstm_np ÷ torch", sep + "---:|"
    lines += [head + " |", sep]
    for row in rows:
        cells = [f"{row[lib] * 1e3:.2f}" for lib in libs]
        if "lstm_np" in libs and "torch" in libs:
            cells.append(f"{bc.ratio(row['lstm_np'], row['torch']):.2f}")
        lines.append(f"| {row['axis']} | {row['batch']} | {row['timesteps']} | {row['units']} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(rows, libs, path, smoke):
    plt = bc.use_agg()
    fig, axes = plt.subplots(1, len(AXES), figsize=(13, 4), sharey=True)
    for ax, axis in zip(axes, AXES):
        part = [r for r in rows if r["axis"] == axis]
        xs = [r[axis] for r in part]
        for lib in libs:
            ax.loglog(xs, [r[lib] * 1e3 for r in part], "o-", label=lib)
        ax.set_xticks(xs, [str(v) for v in xs], minor=False)
        ax.set_xticks([], minor=True)
        ax.set_xlabel(axis)
        ax.grid(True, which="major", alpha=0.3)
    axes[0].set_ylabel("forward + backward (ms)")
    axes[0].legend()
    fig.suptitle("One LSTM layer, float32, median time" + (" — smoke" if smoke else ""))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    options = parse_args(argv)
    bc.set_thread_env(options.threads)
    present, missing = bc.split_peers([p for p in options.peers if p != "lstm_np"])
    libs = [lib for lib in options.peers if lib == "lstm_np" or lib in present]
    if missing:
        print(bc.missing_message(missing, libs), flush=True)
    for peer in present:
        __import__(bc.PEER_MODULES[peer][0])
    settings, limiter = bc.apply_threads(options.threads, present)
    env = {"machine": bc.machine_info(), "versions": bc.versions(present), "threads": settings,
           "blas": bc.blas_info(), "missing_peers": missing}
    center, grid = (SMOKE_CENTER, SMOKE_GRID) if options.smoke else (CENTER, GRID)
    cache, rows = {}, []
    env["loadavg_before"] = bc.loadavg()
    try:
        for axis, N, T, H in grid_points(center, grid):
            if (N, T, H) not in cache:                    # the centre is timed once
                cache[N, T, H] = time_point(N, T, H, libs, options)
            runs = cache[N, T, H]
            row = {"axis": axis, "batch": N, "timesteps": T, "units": H,
                   **{lib: bc.median(runs[lib]) for lib in libs},
                   **{f"{lib}_runs": runs[lib] for lib in libs}}
            rows.append(row)
            print(f"{axis:>9}: N={N:<4} T={T:<4} H={H:<4} "
                  + "  ".join(f"{lib} {row[lib] * 1e3:8.2f} ms" for lib in libs), flush=True)
    finally:
        if limiter is not None:
            limiter.restore_original_limits()
    env["loadavg_after"] = bc.loadavg()
    options.out.mkdir(parents=True, exist_ok=True)
    bc.write_json(options.out / "scaling.json",
                  {**env, "smoke": options.smoke, "features": options.features,
                   "runs": options.runs, "dtype": "float32", "center": center, "results": rows})
    (options.out / "scaling.md").write_text(markdown(rows, libs, env, options))
    plot(rows, libs, options.out / "scaling.png", options.smoke)
    print(f"wrote {options.out}/scaling.json, scaling.md, scaling.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
