"""The blocks of a batch run side by side on a small pool of Python threads.

Each block kernel is compiled with ``nogil=True``: once called it releases the GIL, so two
threads run two blocks truly in parallel. This replaces Numba's ``parallel=True`` (``prange``),
which gave the same speed but compiled three times slower — most of a first run's minute went
into the parallel kernels' compilation (see ``_runtime.py``).

The work does not depend on the number of threads: the batch is always cut into blocks of the
same width (:data:`lstm_np.layers.blocks.BLOCK_WIDTH`), each block computes alone into its own
slice of the outputs, and whatever is summed over blocks is summed afterwards, in block order,
by the caller. Which thread runs which block changes no number.
"""
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from .._jit import jit_enabled
from .._runtime import kernel_threads

_pool = None
_pool_pid = None
_pool_lock = threading.Lock()


def _executor(workers):
    """The process's pool of ``workers`` threads (made again after a fork, whose child has none
    of the parent's threads)."""
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid() or _pool._max_workers < workers:
            _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lstm_np")
            _pool_pid = os.getpid()
        return _pool


def run_blocks(P, block):
    """Call ``block(p)`` for ``p`` in ``range(P)``, on up to :func:`kernel_threads` threads.

    The calling thread takes blocks too; the others come from the pool. Each thread takes the
    next block not yet taken until none is left. Without the JIT (plain Python holds the GIL,
    so threads would only add overhead) the blocks run one after another.
    """
    threads = min(kernel_threads(), P)
    if threads <= 1 or not jit_enabled():
        for p in range(P):
            block(p)
        return
    todo = iter(range(P))      # shared: next() on a range iterator is atomic under the GIL

    def work():
        for p in todo:
            block(p)

    futures = [_executor(threads - 1).submit(work) for _ in range(threads - 1)]
    try:
        work()
    finally:
        for future in futures:            # wait for every block, and raise what one raised
            future.result()


def sum_over_blocks(a):
    """``a[0] + a[1] + … + a[P-1]``, always in that order: a sum of floats depends on its
    order, and this one must not depend on anything but the batch."""
    total = a[0].copy()
    for p in range(1, a.shape[0]):
        total += a[p]
    return total
