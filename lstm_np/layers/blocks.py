"""The batch cut into blocks for the compiled kernels, and put back together.

Every recurrent kernel (:mod:`lstm_np.kernels`) runs the batch as ``P`` blocks of ``B``
sequences side by side (:func:`lstm_np._runtime.run_blocks`), with the block as the leading
axis and the batch as the last axis of every array (units before batch, so a gate is one
contiguous run of ``H * B`` numbers). These helpers take batch-first arrays to that layout and back.

**The same bits on any machine setting.** A block is always :data:`BLOCK_WIDTH` sequences wide,
the last one padded with zeros, whatever the batch size and the number of threads. So every
matrix product a kernel makes has the same shape for every batch, a sequence's numbers go
through exactly the same arithmetic wherever it sits in whichever batch, and a prediction does
not depend on ``batch_size``, on the other rows of its batch, or on the thread count.
"""
import numpy as np

from .._runtime import reusable

BLOCK_WIDTH = 16


def blocks_for(n):
    """How many blocks of :data:`BLOCK_WIDTH` sequences hold a batch of ``n``.

    Sixteen sequences keep a step's gates in the core's L1 cache (a batch of 64 trained 6%
    faster as four blocks than as two), and give two threads four blocks to share.
    """
    return max(1, -(-n // BLOCK_WIDTH))


def to_blocks(a, P, axes):
    """``(N, ...)`` → ``(P, ...)`` with the batch axis last, zero-padded to ``P * B`` rows.

    ``B`` is :data:`BLOCK_WIDTH` when ``P`` is :func:`blocks_for` ``(N)``; for any other ``P``
    (tests cut a batch differently on purpose) the rows are shared out evenly,
    ``B = ceil(N / P)``. ``axes`` orders the remaining axes of ``a`` (1-based) before the
    batch, e.g. ``(2, 1)`` takes ``x (N, T, D)`` to ``(P, D, T, B)``.
    """
    N = a.shape[0]
    B = BLOCK_WIDTH if (P - 1) * BLOCK_WIDTH < N <= P * BLOCK_WIDTH else -(-N // P)
    if P * B != N:
        a = np.concatenate([a, np.zeros((P * B - N,) + a.shape[1:], a.dtype)])
    a = a.reshape((P, B) + a.shape[1:])
    return _copy(a.transpose((0,) + tuple(k + 1 for k in axes) + (1,)))


def from_blocks(a, n):
    """``(P, B, ...)`` → ``(N, ...)``: merge the blocks, drop the padding."""
    P, B = a.shape[:2]
    out = reusable((n,) + a.shape[2:], a.dtype)
    full = n // B if B else 0           # whole blocks, then the rows of the last one
    np.copyto(out[:full * B].reshape((full, B) + a.shape[2:]), a[:full])
    np.copyto(out[full * B:], a[full, :n - full * B] if full < P else a[:0, 0])
    return out


def _copy(a):
    """A contiguous copy of ``a`` in memory the process has touched before: these arrays are
    made at every training step (:func:`lstm_np._runtime.reusable`)."""
    out = reusable(a.shape, a.dtype)
    np.copyto(out, a)
    return out
