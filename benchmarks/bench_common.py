"""What ``compare.py`` and ``scaling.py`` share: thread settings, peer detection, machine facts.

Thread counts must be set before torch and TensorFlow are imported (they read ``OMP_NUM_THREADS``
and friends once), so the scripts call :func:`set_thread_env` first, import the peers, then
:func:`apply_threads` to set every library's own knob and read back what each one really uses.
"""
import datetime
import importlib
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
INSTALL_HINT = "pip install -e '.[bench]'"
# the modules a peer needs; "keras" means Keras 3 on the TensorFlow backend
PEER_MODULES = {"torch": ("torch",), "keras": ("tensorflow", "keras")}
COMMIT_ENV = "LSTM_NP_BENCH_COMMIT"
RESULTS = REPO / "benchmarks" / "results"       # the committed reports: written only when asked
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS",
              "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


def fresh_out(name):
    """Where a run writes when ``--out`` is not given: a new folder ``runs/bench-<name>-<UTC
    time>`` (``runs/`` is ignored by git), never the committed ``benchmarks/results/``."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")
    out = REPO / "runs" / f"bench-{name}-{stamp}"
    n = 1
    while out.exists():
        n += 1
        out = REPO / "runs" / f"bench-{name}-{stamp}-{n}"
    return out


def out_or_fresh(out, name):
    """``--out`` as given, or :func:`fresh_out`."""
    return Path(out) if out is not None else fresh_out(name)


# --- FLOPs: what a seed-model-shaped epoch computes -------------------------------------------
def lstm_flops(D, H, T, need_dx):
    """Multiply-add FLOPs (2 per multiply-add) of one LSTM layer, one sequence of ``T`` steps,
    forward and backward: the products only (the gate math is a few percent of them).

    forward  ``z = x_t kernel + h_{t-1} recurrent_kernel``:       2 · 4H · (D + H) per step
    backward ``dh_{t-1} = dz recurrent_kernelᵀ``:                 2 · 4H · H
             ``dkernel, drecurrent_kernel += [x_t; h_{t-1}] dzᵀ``: 2 · 4H · (D + H)
             ``dx_t = dz kernelᵀ`` (not for a model's first layer): 2 · 4H · D
    """
    G = 4 * H
    forward = 2 * G * (D + H)
    backward = 2 * G * H + 2 * G * (D + H) + (2 * G * D if need_dx else 0)
    return T * forward, T * backward


def model_flops_per_window(units, features, timesteps):
    """Forward + backward FLOPs of ``LSTM(u1, seq) → Dropout → LSTM(u2) → Dropout → Dense(1)``
    for one training window (the seed model's shape)."""
    u1, u2 = units
    total = sum(lstm_flops(features, u1, timesteps, need_dx=False))
    total += sum(lstm_flops(u1, u2, timesteps, need_dx=True))
    return total + 2 * u2 + 4 * u2                       # Dense(1): forward, dkernel and dx


def set_thread_env(threads):
    """Environment for libraries not imported yet: thread counts, quiet TF, Keras on TF."""
    for var in THREAD_ENV:
        os.environ[var] = str(threads)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ["KERAS_BACKEND"] = "tensorflow"


def split_peers(wanted):
    """``(present, missing)``: the requested peers in order, split by whether they import."""
    present, missing = [], []
    for name in wanted:
        modules = PEER_MODULES.get(name, ())
        ok = all(importlib.util.find_spec(m) is not None for m in modules)
        (present if ok else missing).append(name)
    return present, missing


def missing_message(missing, present):
    """``"torch not installed — pip install -e '.[bench]' to compare; timing lstm_np only"``."""
    timing = " and ".join(present) if present else "nothing"
    only = " only" if len(present) == 1 else ""
    return (f"{' and '.join(missing)} not installed — {INSTALL_HINT} to compare; "
            f"timing {timing}{only}")


def apply_threads(threads, peers):
    """Set every loaded library to ``threads`` threads; return ``(settings, limiter)``.

    ``settings`` is what each library reports back; keep ``limiter`` alive for the run
    (threadpoolctl's BLAS/OpenMP limit lasts as long as it does) and call
    ``limiter.restore_original_limits()`` at the end.
    """
    settings, limiter = {"requested": threads}, None
    try:
        from threadpoolctl import threadpool_limits
        limiter = threadpool_limits(limits=threads)
    except ImportError:
        settings["blas"] = "threadpoolctl not installed: BLAS threads left at their default"
    try:
        import numba
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        settings["numba"] = numba.get_num_threads()
    except ImportError:
        settings["numba"] = None
    if "torch" in peers:
        import torch
        torch.set_num_threads(threads)
        try:
            torch.set_num_interop_threads(threads)
        except RuntimeError:  # only allowed before torch's first parallel work
            pass
        settings["torch_intra_op"] = torch.get_num_threads()
        settings["torch_inter_op"] = torch.get_num_interop_threads()
    if "keras" in peers:
        import tensorflow as tf
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:  # only allowed before TF's runtime starts
            pass
        settings["tf_intra_op"] = tf.config.threading.get_intra_op_parallelism_threads()
        settings["tf_inter_op"] = tf.config.threading.get_inter_op_parallelism_threads()
    return settings, limiter


def blas_info():
    """numpy's (and any loaded) BLAS / OpenMP pools as threadpoolctl sees them."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    return [{k: pool.get(k) for k in ("user_api", "internal_api", "version", "num_threads",
                                      "threading_layer", "architecture")}
            | {"library": Path(pool["filepath"]).name} for pool in threadpool_info()]


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_commit():
    """The commit measured: ``LSTM_NP_BENCH_COMMIT`` when all.py runs us (it checked the tree
    once, before anything was written), else ``git describe --always --dirty``."""
    if os.environ.get(COMMIT_ENV):
        return os.environ[COMMIT_ENV]
    try:
        out = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"],
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def machine_info():
    return {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "cpu": cpu_model(), "logical_cpus": os.cpu_count(),
            "platform": platform.platform(), "python": platform.python_version(),
            "lstm_np_commit": git_commit()}


def versions(peers):
    import lstm_np
    import numpy
    found = {"lstm_np": lstm_np.__version__, "numpy": numpy.__version__}
    for module in ("numba",) + sum((PEER_MODULES[p] for p in peers), ()):
        try:
            found[module] = importlib.import_module(module).__version__
        except ImportError:
            found[module] = None
    return found


def loadavg():
    """1-, 5- and 15-minute load averages: a quiet machine shows about 0 before a run."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def median(values):
    return float(statistics.median(values)) if values else None


def ratio(a, b):
    return float(a / b) if a is not None and b else None


def write_json(path, obj):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, default=str) + "\n")


def header_lines(info, vers, settings, blas):
    """The markdown lines that say where and with what a result was measured."""
    blas_text = blas if isinstance(blas, str) else ", ".join(
        f"{b['internal_api']} {b['version'] or ''} `{b['library']}` ({b['num_threads']} threads)"
        for b in blas)
    return [f"- Date: {info['date']}; lstm_np commit `{info['lstm_np_commit']}`",
            f"- CPU: {info['cpu']} ({info['logical_cpus']} logical CPUs); Python {info['python']}",
            "- Versions: " + ", ".join(f"{k} {v}" for k, v in vers.items() if v),
            "- Threads: " + ", ".join(f"{k}={v}" for k, v in settings.items()),
            f"- BLAS / OpenMP pools (threadpoolctl): {blas_text}"]


def use_agg():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


if __name__ == "__main__":  # pragma: no cover
    sys.exit("bench_common is a helper module; run compare.py or scaling.py")
