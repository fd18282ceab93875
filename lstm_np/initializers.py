"""Weight initializers, by their Keras names and with Keras's formulas."""
import functools

import numpy as np


def glorot_uniform(shape, rng):
    """Uniform on ``[-limit, limit]``, ``limit = sqrt(6 / (fan_in + fan_out))`` over the whole matrix."""
    fan_in, fan_out = shape[0], shape[-1]
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape)


def orthogonal(shape, rng):
    """Keras's orthogonal initializer for a ``(rows, cols)`` matrix.

    For ``rows < cols`` (the recurrent kernel ``(H, 4H)``) Keras draws the transposed
    ``(cols, rows)`` normal matrix, takes ``Q`` of its QR decomposition, fixes the signs
    with ``sign(diag(R))`` and transposes back, so the rows are orthonormal.

    The QR runs on one BLAS thread: threaded OpenBLAS splits the blocked Householder updates
    differently for some sizes (``(520, 130)``, ``(390, 130)``, ``(600, 200)``), so the default
    weights would depend on ``OPENBLAS_NUM_THREADS`` and on the machine's core count. The sizes
    of the seed model, ``(200, 50)`` and ``(400, 100)``, give the same bits either way.
    """
    rows, cols = shape
    flat = (rows, cols) if rows >= cols else (cols, rows)
    a = rng.standard_normal(flat)
    with _one_blas_thread():
        q, r = np.linalg.qr(a)
    q = q * np.sign(np.diag(r))
    return q if rows >= cols else q.T


@functools.cache
def _blas_controller():
    from threadpoolctl import ThreadpoolController     # lazy: it inspects the loaded libraries

    return ThreadpoolController()


def _one_blas_thread():
    return _blas_controller().limit(limits=1, user_api="blas")


def zeros(shape, rng=None):
    return np.zeros(shape)


INITIALIZERS = {"glorot_uniform": glorot_uniform, "orthogonal": orthogonal, "zeros": zeros}


def get(name):
    if name not in INITIALIZERS:
        raise ValueError(f"unknown initializer {name!r}; choose one of {', '.join(INITIALIZERS)}")
    return INITIALIZERS[name]
