"""The fully connected layer's products, compiled, one row of the batch at a time.

``x @ kernel`` in NumPy goes to BLAS, which picks its method by shape: a dot product for one
row, ``gemv`` or ``gemm`` for many, with sums in another order for a row at another position. So
a row's output would depend on how many rows came with it. Here every output row is formed from
its own input row alone, always summing over the input features in the same order (the inner
loop runs along the output units, contiguous, so it still compiles to SIMD code): a prediction is
the same bit for bit in a batch of 1, 7 or 64, and on any number of threads, since no BLAS
thread pool is involved.
"""
from .._jit import njit
from .loops import _axpy, _fill


@njit
def dense_forward(x, kernel, bias, out):
    """``out = x @ kernel + bias``: ``x (M, D)``, ``kernel (D, U)``, ``bias (U,)``, ``out (M, U)``;
    row ``m`` is ``(x[m, 0] kernel[0] + x[m, 1] kernel[1] + …) + bias``, in that order."""
    M, D = x.shape
    for m in range(M):
        _fill(out[m], 0.0)
        for d in range(D):
            _axpy(x[m, d], kernel[d], out[m])
        for j in range(out.shape[1]):
            out[m, j] += bias[j]


@njit
def dense_backward(x, da, kernel_t, need_dx, dkernel, dbias, dx):
    """``dkernel = xᵀ da``, ``dbias = Σ da`` (summed over rows in order) and, if ``need_dx``,
    ``dx = da kernelᵀ``: ``x (M, D)``, ``da (M, U)``, ``kernel_t (U, D)``."""
    M, D = x.shape
    U = da.shape[1]
    _fill(dbias, 0.0)
    for d in range(D):
        _fill(dkernel[d], 0.0)
    for m in range(M):
        for d in range(D):
            _axpy(x[m, d], da[m], dkernel[d])
        for j in range(U):
            dbias[j] += da[m, j]
        if need_dx:
            _fill(dx[m], 0.0)
            for j in range(U):
                _axpy(da[m, j], kernel_t[j], dx[m])
