"""How much memory a run will need, estimated before anything large is allocated.

``--units 100000`` asks for an LSTM whose weights alone take 160 GB, and ``--window 500000``
on a million-row file for 3 TB of windows; NumPy would find out mid-run with an
``_ArrayMemoryError`` traceback. :func:`check_memory` compares an estimate with the memory
the machine has (physical memory, or the container's limit if lower) and refuses with one
sentence before the windows are cut or the model is built.

The estimate counts what the pipeline and the kernels allocate (see ``kernels/lstm.py``):

* windows: the float64 windows ``split_series`` cuts, plus ``fit``'s copy in the model dtype;
* weights: each parameter, its gradient, Adam's two moments and a per-block gradient buffer;
* activations: per batch and layer, the kernels keep about ``(4 g + 4) * units * window``
  values for backpropagation (``g`` gates: 4 LSTM, 3 GRU, 1 SimpleRNN).

It aims to be right within a factor of about two, which is all a refusal needs.
"""
from __future__ import annotations

import os

__all__ = ["available_memory", "check_memory", "estimate_bytes", "format_bytes"]

_PER_PARAMETER = 5   # weight, gradient, Adam's m and v, a per-block gradient buffer


def available_memory():
    """Bytes of memory this process may use: physical memory, or a lower cgroup limit."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path) as f:
                text = f.read().strip()
        except OSError:
            continue
        if text.isdigit():
            total = min(total, int(text))
    return total


def estimate_bytes(kind, units, window, n_prices, batch_size, dtype, n_features=1):
    """Peak bytes of training a ``kind`` network on ``n_prices`` rows of ``n_features`` input
    columns (see the module notes)."""
    itemsize = 4 if str(dtype) == "float32" else 8
    n_windows = max(n_prices - window, 0)
    windows = (n_windows * window * (8 + itemsize) + n_prices * 8 * 3) * n_features
    params, activations, gates, inputs = 0, 0, 0, (window * n_features if kind == "mlp" else n_features)
    for u in units:
        if kind == "mlp":
            params += u * (inputs + 1)
            activations += 4 * u * batch_size
        else:
            gates = gates or _gates(kind)
            params += gates * u * (inputs + u + 1)
            activations += (4 * gates + 4) * u * window * batch_size
        inputs = u
    params += inputs + 1  # Dense(1)
    return windows + (params * _PER_PARAMETER + activations) * itemsize


def _gates(kind):
    """The gate blocks of a model kind's cell, as its class declares them (4 if it does not)."""
    from ..layers import KINDS

    cls = KINDS.get(kind)
    return int(getattr(getattr(cls, "cell_class", None) or cls, "gates", 4))


def format_bytes(n):
    """``3.2e11`` -> ``"298 GiB"``."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.3g} {unit}"
        n /= 1024


def check_memory(opts, n_prices, error=ValueError):
    """Raise ``error`` (one sentence) if training as ``opts`` says would need more memory
    than the machine has. ``opts`` needs ``window``; ``units``, ``batch_size``, ``dtype`` and
    ``model`` (or ``models``) are used when present, so data-only options check the windows."""
    units = tuple(getattr(opts, "units", ()) or ())
    kinds = getattr(opts, "models", None) or (getattr(opts, "model", None) or "lstm",)
    batch = int(getattr(opts, "batch_size", 32) or 32)
    dtype = getattr(opts, "dtype", "float32")
    n_features = len(getattr(opts, "features", None) or ("close",))
    need = max(estimate_bytes(k, units, opts.window, n_prices, batch, dtype, n_features) for k in kinds)
    have = available_memory()
    if have is None or need <= have:
        return need
    size = f"--units {','.join(map(str, units))}, " if units else ""
    raise error(f"{size}--window {opts.window} and --batch-size {batch} on {n_prices:,} prices need "
                f"about {format_bytes(need)} of memory but this machine has {format_bytes(have)}; "
                "use fewer --units, a smaller --window or --batch-size, or a shorter file")
