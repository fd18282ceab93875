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
    """``numba.njit`` with ``cache=True`` by default, so the JIT cost is paid once per machine."""
    kwargs.setdefault("cache", True)
    if len(args) == 1 and callable(args[0]):
        return _numba_njit(**kwargs)(args[0])
    return _numba_njit(*args, **kwargs)


__all__ = ["njit", "prange", "HAVE_NUMBA"]
