"""Every benchmark of issues 11 and 20 in one run, at one commit: the grid, the cold start, the
seed model.

Runs, one after the other (never two at once, so they do not slow each other down):

1. ``grid.py``: lstm_np against PyTorch over units × features × dtypes with each point's
   GFLOP/s and fraction of the measured FLOP peak; at the seed point the first release
   (``--baseline``) and both libraries with one core busy (``--busy-core``); and the cold-start
   row (``python -m lstm_np.train --epochs 2`` with an empty and a filled Numba cache);
2. ``compare.py``: the seed model on both bundled BTC data sets in lstm_np, PyTorch and Keras,
   without the peak-memory subprocesses unless ``--memory``.

lstm_np and the grid run in this interpreter; PyTorch's grid workers and the whole of
``compare.py`` (which imports all three libraries in one process) run in ``--peers-python``,
with this repository first on ``PYTHONPATH`` so it measures this checkout's lstm_np. Then
``all.md`` gathers the commit, date, machine, load average, total wall time, every table and a
targets summary computed from the measured numbers.

The working tree must be clean (``--allow-dirty`` overrides), so the commit in the report is
the code that was measured; the commit is read once, before anything is written, and handed to
both scripts, so a report never calls the tree dirty because of its own output. Everything goes
into ``--out``, by default a new folder ``runs/bench-all-<time>``: the committed
``benchmarks/results`` only when named.

    python benchmarks/all.py --peers-python PATH/TO/venv/bin/python
    python benchmarks/all.py --smoke --allow-dirty --out /tmp/bench     # seconds
"""
import argparse
import datetime
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_common as bc  # noqa: E402
import compare  # noqa: E402
import grid  # noqa: E402

HERE = Path(__file__).resolve().parent
LIBRARIES = ("lstm_np", "torch", "keras")
# the seed model's epoch, lstm_np ÷ peer (issue 20)
SEED_TARGETS = {"torch": 0.70, "keras": 0.40}
# grid.py options passed through when given: (flag, type, help)
GRID_FLAGS = (("--units", str, "unit pairs, e.g. 50/100,128/128 (grid default: all three)"),
              ("--features", str, "input features, e.g. 1,5"),
              ("--dtypes", str, "float32,float64"),
              ("--windows", int, "float32 training windows per epoch (grid default 2631)"),
              ("--windows-float64", int, "float64 training windows per epoch (grid default 256)"),
              ("--epochs", int, "timed epochs per round (grid default 2)"),
              ("--rounds", int, "fresh processes per library and point (grid default 3)"),
              ("--predict-runs", int, "timed predict calls per round (grid default 10)"),
              ("--cold-runs", int, "cold and warm lstm_np.train runs (grid default 2)"))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Run grid.py (with the cold start) and then compare.py (both data sets) at "
                    "one commit, one after the other, and write one report, all.md.")
    parser.add_argument("--peers-python", "--torch-python", dest="peers_python",
                        default=sys.executable,
                        help="the interpreter that has torch and tensorflow/keras (default: this "
                             "one); it runs the grid's PyTorch workers and compare.py, with this "
                             "repository first on PYTHONPATH")
    parser.add_argument("--peers", default=",".join(LIBRARIES),
                        help="comma-separated subset of lstm_np,torch,keras (default all three)")
    parser.add_argument("--out", type=Path, default=None,
                        help="where grid.*, compare_* and all.md go (default: a new folder "
                             "runs/bench-all-<time>; benchmarks/results only when named here)")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="grid.py: a checkout of the first release (6153b33), timed at the "
                             "seed point beside this commit")
    parser.add_argument("--busy-core", action="store_true",
                        help="grid.py: also time the seed point with one core kept busy")
    parser.add_argument("--threads", type=int, default=2, help="threads for every library")
    parser.add_argument("--seed", type=int, default=0)
    for flag, kind, text in GRID_FLAGS:
        parser.add_argument(flag, type=kind, default=None, help="grid.py: " + text)
    parser.add_argument("--compare-epochs", type=int, default=None,
                        help="compare.py: timed epochs per library (its default 5)")
    parser.add_argument("--compare-repeats", type=int, default=None,
                        help="compare.py: repeats with fresh models (its default 1)")
    parser.add_argument("--compare-smoke", action="store_true",
                        help="compare.py at its smoke size only (a plumbing check)")
    parser.add_argument("--memory", action="store_true",
                        help="let compare.py measure peak memory too (off by default)")
    parser.add_argument("--allow-dirty", action="store_true",
                        help="run even with uncommitted changes (the report says so)")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny run in seconds: grid.py --smoke and compare.py --smoke; peers "
                             "the peers interpreter lacks are left out")
    args = parser.parse_args(argv)
    peers = tuple(p.strip() for p in args.peers.split(",") if p.strip())
    if not peers or set(peers) - set(LIBRARIES) or "lstm_np" not in peers:
        parser.error(f"--peers takes lstm_np plus any of torch,keras; got {args.peers!r}")
    args.peers = peers
    args.out = bc.out_or_fresh(args.out, "all")
    return args


# ------------------------------------------------------------------------------------------
# The checkout and the interpreters.
# ------------------------------------------------------------------------------------------
def git(*args, repo=bc.REPO):
    out = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {out.stderr.strip()}")
    return out.stdout      # unstripped: a porcelain line may begin with a space


def dirty_files(repo=bc.REPO):
    """``git status --porcelain`` lines: changed, staged and untracked (not ignored) files."""
    return [line for line in git("status", "--porcelain", repo=repo).splitlines() if line]


def peers_env(commit=None):
    """This environment with the repository first on ``PYTHONPATH`` (and the commit measured,
    for the scripts' reports)."""
    paths = [str(bc.REPO)] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    if commit:
        env[bc.COMMIT_ENV] = commit
    return env


def probe_peers(python):
    """Which peers ``python`` imports, and where its lstm_np comes from."""
    code = ("import importlib.util, json, lstm_np; print(json.dumps({'lstm_np': lstm_np.__file__, "
            "'torch': importlib.util.find_spec('torch') is not None, "
            "'keras': all(importlib.util.find_spec(m) is not None "
            "for m in ('tensorflow', 'keras'))}))")
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, env=peers_env())
    if out.returncode != 0:
        raise SystemExit(f"all.py: {python} cannot import lstm_np from this checkout:\n"
                         f"{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def choose_peers(args, found):
    """The libraries to run: all requested ones, or (``--smoke``) those the interpreter has."""
    if not Path(found["lstm_np"]).resolve().is_relative_to(bc.REPO):
        raise SystemExit(f"all.py: the peers interpreter imports lstm_np from {found['lstm_np']}, "
                         "not from this checkout")
    absent = [p for p in args.peers if p != "lstm_np" and not found[p]]
    if absent and not args.smoke:
        raise SystemExit(f"all.py: {', '.join(absent)} not importable by "
                         f"{Path(args.peers_python).name}; pass --peers-python (the interpreter "
                         "that has torch and tensorflow/keras) or leave them out with --peers")
    return tuple(p for p in args.peers if p not in absent), absent


# ------------------------------------------------------------------------------------------
# The two runs.
# ------------------------------------------------------------------------------------------
def grid_command(args, peers):
    cmd = [sys.executable, str(HERE / "grid.py"), "--out", str(args.out),
           "--torch-python", args.peers_python, "--threads", str(args.threads),
           "--seed", str(args.seed), "--peers", ",".join(p for p in peers if p != "keras")]
    for flag, _, _ in GRID_FLAGS:
        value = getattr(args, flag[2:].replace("-", "_"))
        if value is not None:
            cmd += [flag, str(value)]
    if args.baseline is not None:
        cmd += ["--baseline", str(args.baseline)]
    if args.busy_core:
        cmd.append("--busy-core")
    return cmd + (["--smoke"] if args.smoke else [])


def compare_command(args, peers):
    cmd = [args.peers_python, str(HERE / "compare.py"), "--out", str(args.out),
           "--dataset", "both", "--threads", str(args.threads), "--seed", str(args.seed),
           "--peers", ",".join(peers)]
    if args.compare_epochs is not None:
        cmd += ["--epochs", str(args.compare_epochs)]
    if args.compare_repeats is not None:
        cmd += ["--repeats", str(args.compare_repeats)]
    if not args.memory:
        cmd.append("--no-memory")
    return cmd + (["--smoke"] if args.smoke or args.compare_smoke else [])


def run_step(name, cmd, commit):
    """Run one benchmark to completion, its output going to ours; return its wall seconds."""
    print(f"== {name}: {shlex.join(cmd)}", flush=True)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, env=peers_env(commit))
    return time.perf_counter() - start


# ------------------------------------------------------------------------------------------
# Targets, from the measured numbers.
# ------------------------------------------------------------------------------------------
def target_row(scope, point, measure, value, limit, at_least=False):
    """One target, ``value ≤ limit`` (or ``≥`` with ``at_least``): ``met`` is True, False, or
    None when ``value`` was not measured."""
    met = None if value is None else bool(value >= limit if at_least else value <= limit)
    return {"scope": scope, "point": point, "measure": measure, "value": value, "limit": limit,
            "at_least": at_least, "met": met}


def targets(grid_report, compare_reports):
    """Every issue-20 target checked against the reports' numbers, one row per point."""
    rows = []
    for row in grid_report["results"]:
        point = f"{row['units']} units, {row['features']} feature(s), {row['dtype']}"
        for key in ("epoch", "predict"):
            rows.append(target_row("grid", point, f"{key} ÷ torch", row.get(f"{key}_ratio"),
                                   grid.TARGETS[key]))
    seed = next((r for r in grid_report["results"] if r["dtype"] == "float32"), None)
    if seed is not None:
        point = f"{seed['units']} units, {seed['features']} feature(s), {seed['dtype']}"
        rows += [target_row("seed point", point, "epoch ÷ first release",
                            seed.get("baseline_ratio"), grid.SEED_TARGETS["baseline"]),
                 target_row("seed point", point, "epoch ÷ torch, one core busy",
                            seed.get("busy_ratio"), grid.SEED_TARGETS["busy"]),
                 target_row("seed point", point, "fraction of FLOP peak",
                            seed.get("lstm_np_peak_fraction"), grid.PEAK_FRACTION_TARGET,
                            at_least=True)]
    cold = grid_report.get("cold_start")
    if cold:
        rows.append(target_row("cold start", "lstm_np.train --epochs 2", "cold − warm (s)",
                               cold["difference"], grid.COLD_START_TARGET))
    for rep in compare_reports:
        for peer, limit in SEED_TARGETS.items():
            value = rep["ratios"].get(f"lstm_np/{peer}", {}).get("epoch")
            rows.append(target_row("seed model", f"{rep['dataset']} ({rep['n_train']} windows)",
                                   f"epoch ÷ {peer}", value, limit))
    return rows


def targets_lines(rows):
    verdict = {True: "met", False: "**not met**", None: "not measured"}
    met = sum(r["met"] is True for r in rows)
    measured = sum(r["met"] is not None for r in rows)
    lines = [f"{met} of {measured} measured targets met"
             + (f" ({len(rows) - measured} not measured)" if measured < len(rows) else "") + ".",
             "", "| scope | point | measure | measured | target | |", "|---|---|---|---:|---:|---|"]
    for r in rows:
        lines.append(f"| {r['scope']} | {r['point']} | {r['measure']} "
                     f"| {grid.fmt(r['value'], '.2f')} | {'≥' if r.get('at_least') else '≤'} "
                     f"{r['limit']:g} | {verdict[r['met']]} |")
    return lines


# ------------------------------------------------------------------------------------------
# The report.
# ------------------------------------------------------------------------------------------
def minutes(seconds):
    return f"{seconds / 60:.1f} min ({seconds:.0f} s)"


def markdown(run, grid_report, compare_reports, rows):
    machine = grid_report["machine"]
    lines = ["# lstm_np benchmarks: grid, cold start and seed model in one run", ""]
    if run["smoke"]:
        lines += ["**Smoke run**: tiny sizes, the numbers say nothing about speed.", ""]
    elif run["compare_smoke"]:
        lines += ["**Seed model at smoke size** (`--compare-smoke`): its rows and targets say "
                  "nothing about speed.", ""]
    tree = ("clean working tree" if not run["dirty"] else
            f"**dirty working tree**: {len(run['dirty'])} changed file(s), `--allow-dirty`")
    lines += [f"- Commit `{run['commit']}`, {tree}"
              + ("" if run["commit_after"] == run["commit"] else
                 f"; **HEAD moved to `{run['commit_after']}` during the run**"),
              f"- Date: {run['started']} → {run['finished']}",
              f"- Machine: {machine['cpu']} ({machine['logical_cpus']} logical CPUs), "
              f"{machine['platform']}, Python {machine['python']}",
              f"- Interpreters: lstm_np and the grid in `{run['python']}`, PyTorch workers and "
              f"compare.py in `{run['peers_python']}`",
              f"- Load average (1, 5, 15 min) before / after: {run['load_before']} / "
              f"{run['load_after']}",
              f"- Total wall time: {minutes(run['total_seconds'])} — grid and cold start "
              f"{minutes(run['grid_seconds'])}, seed model {minutes(run['compare_seconds'])}",
              f"- Command: `{run['command']}`"]
    if run["absent_peers"]:
        lines.append(f"- Not measured: {', '.join(run['absent_peers'])} (not importable by the "
                     "peers interpreter)")
    lines += ["", "## Grid: lstm_np against PyTorch", ""]
    lines += bc.header_lines(machine, grid_report["versions"], grid_report["threads"],
                             grid_report["blas"])[2:]
    lines += grid.method_lines(grid_report) + [""]
    if grid_report.get("missing"):
        lines += [f"*{grid_report['missing']}*", ""]
    lines += grid.grid_table_lines(grid_report) + [""]
    lines += grid.seed_point_lines(grid_report)
    lines += ["## FLOPs", ""] + grid.flops_lines(grid_report)
    lines += ["", "## Cold start", ""] + grid.cold_start_lines(grid_report)
    seed = compare.markdown(compare_reports, compare_reports[0]).splitlines()
    lines += ["## Seed model: lstm_np, PyTorch and Keras on the bundled BTC data", ""]
    lines += [line for line in seed[1:] if not line.startswith("- Date:")][1:]
    lines += ["", "## Targets (issue 20)", "",
              "Computed from the numbers above: a ratio is lstm_np ÷ the peer, and a target is "
              "met when the measured value is at or below it.", ""]
    lines += targets_lines(rows)
    return "\n".join(lines) + "\n"


def public_command(argv, peers_python):
    """The command line as run, naming the peers interpreter only by its file name."""
    shown = [Path(peers_python).name if a == peers_python else a for a in argv]
    return shlex.join(["python", "benchmarks/all.py", *shown])


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    dirty = dirty_files()
    if dirty and not args.allow_dirty:
        raise SystemExit("all.py: the working tree has uncommitted changes, so the report's "
                         "commit would not be the code measured; commit them or pass "
                         "--allow-dirty:\n" + "\n".join(dirty))
    peers, absent = choose_peers(args, probe_peers(args.peers_python))
    if absent:
        print(f"{', '.join(absent)} not importable by {Path(args.peers_python).name}: "
              "smoke run without them", flush=True)
    commit = git("rev-parse", "--short", "HEAD").strip()
    run = {"smoke": args.smoke, "compare_smoke": args.compare_smoke, "commit": commit,
           "dirty": dirty, "absent_peers": absent,
           "python": Path(sys.executable).name, "peers_python": Path(args.peers_python).name,
           "command": public_command(argv, args.peers_python), "load_before": bc.loadavg(),
           "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}
    start = time.perf_counter()
    measured = commit + ("-dirty" if dirty else "")     # as the scripts' reports will say
    run["grid_seconds"] = run_step("grid", grid_command(args, peers), measured)
    run["compare_seconds"] = run_step("seed model", compare_command(args, peers), measured)
    run["total_seconds"] = time.perf_counter() - start
    run["load_after"] = bc.loadavg()
    run["finished"] = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    run["commit_after"] = git("rev-parse", "--short", "HEAD").strip()
    grid_report = json.loads((args.out / "grid.json").read_text())
    compare_reports = [json.loads((args.out / f"compare_{d}.json").read_text())
                       for d in compare.DATASETS]
    rows = targets(grid_report, compare_reports)
    bc.write_json(args.out / "all.json", {**run, "targets": rows})
    (args.out / "all.md").write_text(markdown(run, grid_report, compare_reports, rows))
    print(targets_lines(rows)[0])
    print(f"wrote {args.out / 'all.md'} and {args.out / 'all.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
