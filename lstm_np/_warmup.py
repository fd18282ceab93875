"""Compile a model's kernels before its first epoch, and say so when it takes a while.

Numba compiles a kernel the first time it is called with a new signature (array dtypes and
dimensions) and keeps the machine code in its cache, so only the very first run on a machine
pays — a few seconds (see ``_runtime.py`` for the numbers). :func:`compile_kernels` runs one
forward and one backward pass of the model on a single row before training starts, so the
compilation never counts in an epoch's time, its ETA or ``train_seconds``, and a user waiting in
front of a silent terminal is told why.
"""
import sys
import threading
import time

import numpy as np

NOTICE_AFTER = 1.0          # seconds: a warm cache loads faster than this, compiling takes longer
_done = set()               # the models already warmed up in this process (by their signature)


def _signature(model):
    """What decides which kernels a model calls: its dtype and its layers (names aside)."""
    return (str(model.dtype),) + tuple(
        (type(layer).__name__, repr(sorted((k, v) for k, v in layer.get_config().items()
                                           if k != "name")))
        for layer in model.layers)


def compile_kernels(model, x, verbose=1):
    """Run ``model`` forward and backward on ``x[:1]`` (dropout off, no weight touched, no random
    number drawn), once per kind of model and process. If it takes longer than
    :data:`NOTICE_AFTER`, print ``compiling kernels, first run only …`` on stderr while it runs
    and the time it took when done (unless ``verbose`` is 0)."""
    key = _signature(model)
    if key in _done or len(x) == 0:
        return
    started = time.perf_counter()
    noticed = threading.Event()

    def notice():
        noticed.set()
        print("compiling kernels, first run only …", end="", file=sys.stderr, flush=True)

    timer = threading.Timer(NOTICE_AFTER, notice) if verbose else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        y, caches = model.forward(x[:1], training=False)
        outputs = y if isinstance(y, list) else [y]
        model.backward(np.ones_like(outputs[0]) if len(outputs) == 1 else
                       [np.ones_like(o) for o in outputs], caches)
    finally:
        if timer is not None:
            timer.cancel()
    _done.add(key)
    if noticed.is_set():
        print(f" {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
