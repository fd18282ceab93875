"""How lstm_np shares the machine: threads for the kernels, one thread for BLAS, and memory
that stays mapped.

**Threads.** The compiled kernels cut a batch into blocks (see ``layers/blocks.py``) and run
them side by side on the compiled threads (``prange``), each block doing its own small matrix
products. If BLAS also starts threads for those products, two thread pools fight over the
cores — NumPy and SciPy each bundle their own OpenBLAS, and an idle OpenBLAS thread spins before
it sleeps — and a training step measured three times slower (125 against 39 ms). So around
every kernel call the layers hold every BLAS library to one thread with
:func:`single_threaded_blas`; the user's own NumPy keeps its settings outside those calls.

**Memory.** A training step allocates and frees the same large arrays (the gate caches, a few
MB each) again and again. By default glibc hands every block over 128 KiB back to the
operating system when it is freed, so the next step pays a page fault for every 4 KiB it
touches — measured as more than half of the forward pass of the seed model's second layer
(9.5 ms with the default thresholds, 4.4 ms without the page faults). On import, on
Linux with glibc, :func:`keep_memory_mapped` raises the thresholds so freed blocks up to 32 MiB
stay in the process for reuse; set ``LSTM_NP_KEEP_MALLOC=1`` to leave malloc alone.
"""
import contextlib
import ctypes
import functools
import os
import sys

from ._jit import HAVE_NUMBA

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD_MAX = 32 * 1024 * 1024       # glibc's ceiling for M_MMAP_THRESHOLD on 64 bits
TRIM_THRESHOLD = 1024 * 1024 * 1024


def kernel_threads():
    """How many threads the compiled kernels run on: ``NUMBA_NUM_THREADS`` (default: the
    cores), or what ``numba.set_num_threads`` set if it was called. The number changes only
    the speed, never a result (see :mod:`lstm_np.kernels.pool`)."""
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
    """Ask glibc to keep freed blocks up to 32 MiB for reuse; returns whether it agreed."""
    if not sys.platform.startswith("linux") or os.environ.get("LSTM_NP_KEEP_MALLOC") == "1":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX)
                    and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        return False
