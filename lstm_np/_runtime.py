"""How lstm_np shares the machine: threads for the kernels, one thread for BLAS, and (opt-in)
memory that stays mapped.

**Threads.** The recurrent kernels cut a batch into blocks of 16 sequences (see
``layers/blocks.py``) and :func:`run_blocks` runs them side by side on a small pool of Python
threads — :func:`kernel_threads` of them, ``NUMBA_NUM_THREADS`` or the cores. Each block kernel
is compiled with ``nogil=True``, so the threads run truly in parallel. This replaced Numba's
``parallel=True``/``prange``, which ran as fast on an idle machine but compiled far slower: a
first ``python -m lstm_np.train --epochs 2`` on an empty Numba cache took 25.9 s against 1.9 s
with the cache filled; with per-block kernels and the compile-time trims noted in
``kernels/loops.py`` and ``kernels/activations.py``, 9.6 s against 1.8 s
(``benchmarks/grid.py`` measures it). Threads that take the next block when free also cope
better with a busy machine than ``prange``'s fixed shares: with four other processes running,
a seed-model epoch took 1.8 s against ``prange``'s 3.6 s.

**The same bits on any thread count.** A block computes alone into its own slice of the
outputs; which thread runs which block changes nothing, and the weight gradients of the blocks
are summed afterwards in block order (:func:`sum_over_blocks`). With the fixed block width, the
arithmetic of every sequence is the same for any batch size and thread count
(``tests/test_determinism.py``).

**BLAS on one thread.** Each block makes its own small matrix products. If BLAS also starts
threads for those products, two thread pools fight over the cores — NumPy and SciPy each bundle
their own OpenBLAS, and an idle OpenBLAS thread spins before it sleeps — and a training step
measured three times slower (125 against 39 ms). So around every kernel call the layers hold
every BLAS library to one thread with :func:`single_threaded_blas`; the user's own NumPy keeps
its settings outside those calls.

**Memory.** The kernels' large arrays (a layer's cache, the backward pass's work arrays: a few
MB each, allocated and freed at every training step) come from :func:`reusable`, which hands out
memory this process has already touched, so a step does not pay a page fault for every 4 KiB of
them; :func:`keep_memory_mapped` does the same for every allocation of the process, opt-in, as it
changes malloc for the whole process.
"""
import contextlib
import ctypes
import functools
import math
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD_MAX = 32 * 1024 * 1024       # glibc's ceiling for M_MMAP_THRESHOLD on 64 bits
TRIM_THRESHOLD = 1024 * 1024 * 1024


def kernel_threads():
    """How many threads the compiled kernels run on: ``NUMBA_NUM_THREADS`` (default: the
    cores), or what ``numba.set_num_threads`` set if it was called. The number changes only
    the speed, never a result (see :func:`run_blocks`)."""
    from ._jit import HAVE_NUMBA  # here, not at the top: the commands import this module to parse flags

    if not HAVE_NUMBA:
        return 1
    import numba
    from numba.np.ufunc import parallel

    if getattr(parallel, "_is_initialized", False):   # launched: set_num_threads may apply
        return numba.get_num_threads()
    return numba.config.NUMBA_NUM_THREADS             # without launching Numba's own threads


@functools.lru_cache(maxsize=1)
def _controller():
    try:
        import scipy.linalg.cython_blas  # noqa: F401  the BLAS Numba calls: load it to list it
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - both are dependencies
        return None
    return ThreadpoolController()


def single_threaded_blas():
    """Context manager: every BLAS library loaded in this process runs on one thread."""
    controller = _controller()
    if controller is None:  # pragma: no cover
        return contextlib.nullcontext()
    return controller.limit(limits=1, user_api="blas")


def keep_memory_mapped():
    """Ask glibc to keep freed blocks up to 32 MiB for reuse; returns whether it agreed.

    Opt-in: it changes malloc for the whole process, so importing lstm_np does not call it; a
    program that trains may call it once at its start (``lstm_np.keep_memory_mapped()``). ``LSTM_NP_KEEP_MALLOC=1``
    makes it a no-op. Linux with glibc only (elsewhere it returns ``False``).

    Why: a training step allocates and frees the same large arrays (the gate caches, a few MB
    each) again and again. By default glibc hands every block over 128 KiB back to the
    operating system when it is freed, so the next step pays a page fault for every 4 KiB it
    touches. Raising the thresholds keeps those blocks in the process. Measured on the seed
    model (2,631 windows of 60, float32, batch 64, 2 threads; five interleaved pairs of fresh
    processes on a busy 2-core machine): epoch median 2.81 s without, 2.29 s with; CPU per
    epoch 1.38 s without, 1.15 s with (−17%, the page faults' system time).
    """
    if not sys.platform.startswith("linux") or os.environ.get("LSTM_NP_KEEP_MALLOC") == "1":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX)
                    and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        return False


# --- memory the kernels reuse -----------------------------------------------------------------
REUSE_MIN_BYTES = 64 * 1024          # smaller arrays come from malloc's own free lists anyway
REUSE_MAX_BYTES = 512 * 1024 * 1024  # what the kept buffers may add up to
_buffers = {}                        # size in bytes -> the buffers of that size, free or lent
_buffers_lock = threading.Lock()


def reusable(shape, dtype):
    """``np.empty(shape, dtype)``, in a buffer this process has used before when one of that size
    is free.

    Why: glibc returns every freed block over 128 KiB to the operating system at once (or trims
    it soon), so the next training step's arrays of the same size start as fresh pages, and the
    first touch of each 4 KiB costs a page fault — on the seed model about a fifth of an epoch's
    CPU time (``benchmarks/README.md``). A buffer is free when no array made from it is alive:
    every view holds a reference to it, so its reference count tells (CPython). At most
    :data:`REUSE_MAX_BYTES` are kept; beyond that, and for small arrays, plain ``np.empty``.
    """
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes < REUSE_MIN_BYTES:
        return np.empty(shape, dtype)
    global _kept_bytes
    with _buffers_lock:
        same_size = _buffers.setdefault(nbytes, [])
        for buffer in same_size:
            if sys.getrefcount(buffer) == 3:          # the list, ``buffer`` and the argument
                return buffer.view(dtype).reshape(shape)
        if _kept_bytes + nbytes > REUSE_MAX_BYTES:
            return np.empty(shape, dtype)
        buffer = np.empty(nbytes, np.uint8)
        same_size.append(buffer)
        _kept_bytes += nbytes
        return buffer.view(dtype).reshape(shape)


_kept_bytes = 0


# --- the blocks of a batch side by side -------------------------------------------------------
_pool = None
_pool_pid = None
_pool_lock = threading.Lock()


def _executor(workers):
    """The process's pool of ``workers`` threads (made again after a fork, whose child has none
    of the parent's threads)."""
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid() or _pool._max_workers < workers:
            if _pool is not None and _pool_pid == os.getpid():
                _pool.shutdown(wait=False)            # more threads wanted: let these go
            _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lstm_np")
            _pool_pid = os.getpid()
        return _pool


def run_blocks(P, block):
    """Call ``block(p)`` for ``p`` in ``range(P)``, on up to :func:`kernel_threads` threads.

    The calling thread takes blocks too; the others come from the pool. Each thread takes the
    next block not yet taken until none is left. Without the JIT (plain Python holds the GIL,
    so threads would only add overhead) the blocks run one after another.
    """
    from ._jit import jit_enabled

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
