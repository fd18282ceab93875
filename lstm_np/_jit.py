"""A tiny shim around Numba so every kernel also runs as plain Python.

``NUMBA_DISABLE_JIT=1`` is honoured by Numba itself; when Numba is not installed at
all, ``njit`` becomes the identity decorator and ``prange`` becomes ``range``.
Kernels are written so that both readings compute the same thing.
"""
try:  # pragma: no cover - exercised by the environment, not by a test branch
    from numba import njit as _numba_njit
    from numba import prange

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover
    HAVE_NUMBA = False
    prange = range

    def _numba_njit(*args, **kwargs):
        if len(args) == 1 and callable(args[0]) and not kwargs:
            return args[0]
        return lambda func: func


def njit(*args, **kwargs):
    """``numba.njit`` with the defaults every kernel here wants.

    * ``cache=True``: the JIT cost is paid once per machine, not once per process.
    * ``error_model="numpy"``: a division by zero gives inf/nan as in NumPy instead of a Python
      exception; the exception check inside a loop is what stops LLVM from vectorising it.
    * ``fastmath={"contract"}``: fused multiply-adds only. No ``nnan``/``ninf``: a NaN must
      propagate so that a diverging loss is caught, never silently clipped away.
    * ``nogil=True``: a kernel releases the GIL while it runs, so the blocks of a batch run side
      by side on Python threads (:func:`lstm_np._runtime.run_blocks`).
    """
    kwargs.setdefault("cache", True)
    kwargs.setdefault("nogil", True)
    kwargs.setdefault("error_model", "numpy")
    kwargs.setdefault("fastmath", {"contract"})
    if len(args) == 1 and callable(args[0]):
        return _numba_njit(**kwargs)(args[0])
    return _numba_njit(*args, **kwargs)


def jit_enabled():
    """Whether kernels run compiled (Numba installed and ``NUMBA_DISABLE_JIT`` not set)."""
    if not HAVE_NUMBA:
        return False
    import numba

    return not numba.config.DISABLE_JIT


__all__ = ["njit", "prange", "HAVE_NUMBA", "jit_enabled"]
