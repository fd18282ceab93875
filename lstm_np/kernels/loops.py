"""Compiled loops the recurrent kernels share (:mod:`.lstm`, :mod:`.gru`, :mod:`.simple_rnn`).

Each elementwise piece is a single straight loop over a contiguous array. The activation code is
tested once, outside the loop, so the loop body is branch-free and LLVM compiles it to SIMD code.
The pieces take distinct input and output arrays, or work in place on one: when two arguments
may overlap, LLVM guards the vector loop with a runtime check and falls back to scalar code,
which is four times slower — hence both ``apply_activation`` and ``apply_activation_inplace``.

Arrays are copied with these loops, never with slice assignment (``a[:] = b``): Numba compiles
a slice assignment together with its broadcasting checks and their error messages (string
formatting), which cost about two seconds of compilation per number of dimensions — a good
part of a first run.
"""
import numpy as np

from .._jit import jit_enabled, njit
from .activations import SIGMOID, TANH, activate_piecewise, derivative, sigmoid_vec, tanh_vec


@njit
def apply_activation_inplace(code, a):
    """a = act(a) (one array, so no aliasing check stands in LLVM's way)."""
    if code == SIGMOID:
        for k in range(a.shape[0]):
            a[k] = sigmoid_vec(a[k])
    elif code == TANH:
        for k in range(a.shape[0]):
            a[k] = tanh_vec(a[k])
    else:
        for k in range(a.shape[0]):
            a[k] = activate_piecewise(code, a[k])


@njit
def apply_activation(code, a, out):
    """out = act(a), ``out`` distinct from ``a``."""
    if code == SIGMOID:
        for k in range(a.shape[0]):
            out[k] = sigmoid_vec(a[k])
    elif code == TANH:
        for k in range(a.shape[0]):
            out[k] = tanh_vec(a[k])
    else:
        for k in range(a.shape[0]):
            out[k] = activate_piecewise(code, a[k])


@njit
def multiply(a, b, out):
    for k in range(a.shape[0]):
        out[k] = a[k] * b[k]


@njit
def add(a, b, out):
    for k in range(a.shape[0]):
        out[k] = a[k] + b[k]


@njit
def gate_grad(upstream, other, gate, code, dz):
    """dz = upstream * other * act'(gate), the gradient at one gate's pre-activation."""
    if code == SIGMOID:
        for k in range(dz.shape[0]):
            dz[k] = upstream[k] * other[k] * (gate[k] * (1 - gate[k]))
    elif code == TANH:
        for k in range(dz.shape[0]):
            dz[k] = upstream[k] * other[k] * (1 - gate[k] * gate[k])
    else:
        for k in range(dz.shape[0]):
            dz[k] = upstream[k] * other[k] * derivative(code, gate[k])


@njit
def add_step(a, b, t):
    """a += b[:, t, :] — one timestep of a (rows, T, N) array."""
    for j in range(a.shape[0]):
        for k in range(a.shape[1]):
            a[j, k] += b[j, t, k]


def stacked_gradient_arrays(P, D, H, G, T, N, dtype):
    """The per-block outputs of a backward pass whose two weight gradients are one product
    (LSTM, SimpleRNN): ``dweights (P, D + H, G)`` = [dkernel; drecurrent_kernel] and
    ``dbias (P, G)``, both zero; ``dx (P, D, T, N)``, zero (it stays so when skipped); and
    ``dh0 (P, H, N)``."""
    return (np.zeros((P, D + H, G), dtype=dtype), np.zeros((P, G), dtype=dtype),
            np.zeros((P, D, T, N), dtype=dtype), np.empty((P, H, N), dtype=dtype))


@njit
def copy(b, a):
    """a = b, two arrays of the same ``(rows, N)`` shape."""
    for j in range(b.shape[0]):
        for k in range(b.shape[1]):
            a[j, k] = b[j, k]


@njit
def total(a):
    """Σ a, in index order (a single running sum: the same bits on every call)."""
    s = a.dtype.type(0)
    for k in range(a.shape[0]):
        s += a[k]
    return s


@njit
def store_step(a, t, b):
    """a[:, t, :] = b — one timestep into a (rows, T, N) array."""
    for j in range(b.shape[0]):
        for k in range(b.shape[1]):
            a[j, t, k] = b[j, k]


def _dot_nt_tiles(a, bt, out):
    """out = a @ btᵀ: ``a (M, K)``, ``bt (N, K)``, ``out (M, N)``, in tiles of 4 × 4.

    Why not BLAS: the recurrent products are skinny — ``(4H, H) @ (H, 16)`` for a block of 16
    sequences — and OpenBLAS's kernel for them runs at ~100 GFLOP/s in float32 on this kind of
    machine (AVX2 code even where the core has AVX-512). Here each output ``out[j, n]`` is a dot
    product of two contiguous rows, ``a[j]`` and ``bt[n]``, and sixteen of them (rows ``j..j+3``
    against rows ``n..n+3``) run in one pass over ``k``: every number loaded feeds four
    multiply-adds, and LLVM vectorises the pass over ``k`` at the core's full SIMD width. Measured
    single-threaded for ``(1024, 256) @ (256, 16)``: 48 µs against OpenBLAS's 84 µs in float32,
    96 against 199 µs in float64.

    **The same bits wherever a column sits.** ``reassoc`` lets LLVM split each dot product into
    SIMD partial sums; that order is fixed by the compiled code, and all sixteen sums of a tile,
    and all tiles, run the same code. So ``out[:, n]`` depends on ``bt[n]`` alone, never on ``n``
    or on the other rows of ``bt`` — as long as ``N`` is a multiple of 4, as the kernels' blocks
    of 16 are (other widths finish their last columns in a plain loop).
    """
    M, K = a.shape
    N = bt.shape[0]
    M4, N4 = M - M % 4, N - N % 4
    zero = out.dtype.type(0)
    for n0 in range(0, N4, DOT_NT_ROWS):      # DOT_NT_ROWS rows of bt at a time stay in L2
        for j in range(0, M4, 4):
            for n in range(n0, min(n0 + DOT_NT_ROWS, N4), 4):
                _tile(a, bt, out, j, n, K, zero)
    for j in range(M):                       # the rows and columns the tiles left over
        for n in range(N4 if j < M4 else 0, N):
            s = zero
            for k in range(K):
                s += a[j, k] * bt[n, k]
            out[j, n] = s


def _tile_code(a, bt, out, j, n, K, zero):
    """out[j:j+4, n:n+4], the sixteen dot products in one pass over ``k``."""
    s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = zero
    s20 = s21 = s22 = s23 = s30 = s31 = s32 = s33 = zero
    for k in range(K):
        a0, a1, a2, a3 = a[j, k], a[j + 1, k], a[j + 2, k], a[j + 3, k]
        b0, b1, b2, b3 = bt[n, k], bt[n + 1, k], bt[n + 2, k], bt[n + 3, k]
        s00 += a0 * b0; s01 += a0 * b1; s02 += a0 * b2; s03 += a0 * b3   # noqa: E702
        s10 += a1 * b0; s11 += a1 * b1; s12 += a1 * b2; s13 += a1 * b3   # noqa: E702
        s20 += a2 * b0; s21 += a2 * b1; s22 += a2 * b2; s23 += a2 * b3   # noqa: E702
        s30 += a3 * b0; s31 += a3 * b1; s32 += a3 * b2; s33 += a3 * b3   # noqa: E702
    out[j, n], out[j, n + 1], out[j, n + 2], out[j, n + 3] = s00, s01, s02, s03
    out[j + 1, n], out[j + 1, n + 1], out[j + 1, n + 2], out[j + 1, n + 3] = \
        s10, s11, s12, s13
    out[j + 2, n], out[j + 2, n + 1], out[j + 2, n + 2], out[j + 2, n + 3] = \
        s20, s21, s22, s23
    out[j + 3, n], out[j + 3, n + 1], out[j + 3, n + 2], out[j + 3, n + 3] = \
        s30, s31, s32, s33


def _dot_nt_numpy(a, bt, out):
    """out = a @ btᵀ, by NumPy: the tile loops above as plain Python would take minutes."""
    np.dot(a, bt.T, out)


DOT_NT_ROWS = 64
if jit_enabled():
    _tile = njit(fastmath={"contract", "reassoc"})(_tile_code)
    dot_nt = njit(fastmath={"contract", "reassoc"})(_dot_nt_tiles)
else:
    dot_nt = _dot_nt_numpy


DOT_NT_MIN_FLOAT32 = 128


@njit
def dot_skinny(a, b, b_rows, out):
    """out = a @ b for the per-step products ``(G, K) @ (K, N)``: by :func:`dot_nt` (through
    ``b_rows``, where ``bᵀ`` is written), or by BLAS for float32 with ``K`` under
    :data:`DOT_NT_MIN_FLOAT32`, where the tiles' final sums across the SIMD lanes cost more than
    BLAS's kernel (``(200, 50) @ (50, 16)``: 5.5 against 3.8 µs; from ``K = 128`` on the tiles
    win). Which one runs depends on the weights' shape and dtype only, never on the batch, and
    both give a column the same bits wherever it sits in a block of 16."""
    if a.itemsize == 4 and a.shape[1] < DOT_NT_MIN_FLOAT32:
        np.dot(a, b, out)
    else:
        transpose(b, b_rows)
        dot_nt(a, b_rows, out)


@njit
def transpose(a, out):
    """out = aᵀ, ``a (R, C)``, ``out (C, R)``."""
    for j in range(a.shape[0]):
        for k in range(a.shape[1]):
            out[k, j] = a[j, k]


@njit
def project(kernel_t, bias, x, out):
    """out = kernel_t @ x + bias at every step: ``kernel_t (G, D)``, ``x (D, T, N)``,
    ``out (G, T, N)``.

    With more than a handful of features, one :func:`dot_skinny` product per step, of the same
    ``(G, D) @ (D, N)`` shape as the recurrent product: one ``(G, D) @ (D, T*N)`` BLAS product
    would be a little faster, but float32 BLAS then sums a column in an order that depends on
    where it sits among the ``T*N`` columns, so a sequence's output would depend on its place in
    the batch.
    """
    G, D = kernel_t.shape
    T, N = x.shape[1], x.shape[2]
    if D > 8:
        x_t = np.empty((D, N), dtype=x.dtype)
        x_rows = np.empty((N, D), dtype=x.dtype)
        z = np.empty((G, N), dtype=x.dtype)
        for t in range(T):
            for d in range(D):
                for k in range(N):
                    x_t[d, k] = x[d, t, k]
            dot_skinny(kernel_t, x_t, x_rows, z)
            for j in range(G):
                _add_scalar(z[j], bias[j], out[j, t])
    else:                                           # an outer product: a loop beats BLAS
        flat = x.reshape(D, T * N)
        for j in range(G):
            row = out[j].reshape(T * N)
            _fill(row, bias[j])
            for d in range(D):
                _axpy(kernel_t[j, d], flat[d], row)


@njit
def _add_scalar(a, b, out):
    for k in range(a.shape[0]):
        out[k] = a[k] + b


@njit
def _fill(a, b):
    for k in range(a.shape[0]):
        a[k] = b


@njit
def _axpy(alpha, x, y):
    for k in range(y.shape[0]):
        y[k] += alpha * x[k]


@njit
def block_weight_gradients(x, h, dz, kernel, need_dx, dweights, dbias, dx):
    """One block's share of the weight gradients, each a single product over all timesteps.

    ``x (D, T, N)`` the input, ``h (H, T + 1, N)`` the states (``h[:, t]`` is ``h_{t-1}`` of
    step ``t``), ``dz (G, T*N)`` the gradient at the pre-activations of every step. Writes
    ``dweights (D + H, G)`` = ``[x_t; h_{t-1}] dzᵀ`` — ``dkernel`` stacked on
    ``drecurrent_kernel``, one product for both — ``dbias (G,)`` = ``Σ dz`` and, if ``need_dx``,
    ``dx (D, T*N)`` = ``kernel dz``.
    """
    D, T, N = x.shape
    H = h.shape[0]
    inputs = np.empty((D + H, T, N), dtype=dz.dtype)         # [x_t; h_{t-1}] for every step
    for t in range(T):
        for d in range(D):
            for k in range(N):
                inputs[d, t, k] = x[d, t, k]
        for j in range(H):
            for k in range(N):
                inputs[D + j, t, k] = h[j, t, k]
    dot_nt(inputs.reshape(D + H, T * N), dz, dweights)
    for j in range(dz.shape[0]):
        dbias[j] = total(dz[j])
    if need_dx:
        np.dot(kernel, dz, dx)
