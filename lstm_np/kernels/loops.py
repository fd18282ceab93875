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

from .._jit import njit
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


@njit
def copy(b, a):
    """a = b, two arrays of the same ``(rows, N)`` shape."""
    for j in range(b.shape[0]):
        for k in range(b.shape[1]):
            a[j, k] = b[j, k]


@njit
def load_step(b, t, a):
    """a = b[:, t, :] — one timestep of a (rows, T, N) array."""
    for j in range(a.shape[0]):
        for k in range(a.shape[1]):
            a[j, k] = b[j, t, k]


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


@njit
def project(kernel_t, bias, x, out):
    """out = kernel_t @ x + bias at every step: ``kernel_t (G, D)``, ``x (D, T, N)``,
    ``out (G, T, N)``.

    With more than a handful of features, one BLAS product per step, of the same
    ``(G, D) @ (D, N)`` shape as the recurrent product: one ``(G, D) @ (D, T*N)`` product would
    be a little faster, but float32 BLAS then sums a column in an order that depends on where it
    sits among the ``T*N`` columns, so a sequence's output would depend on its place in the batch.
    """
    G, D = kernel_t.shape
    T, N = x.shape[1], x.shape[2]
    if D > 8:
        x_t = np.empty((D, N), dtype=x.dtype)
        z = np.empty((G, N), dtype=x.dtype)
        for t in range(T):
            load_step(x, t, x_t)
            np.dot(kernel_t, x_t, z)
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
    np.dot(inputs.reshape(D + H, T * N), dz.T, dweights)
    for j in range(dz.shape[0]):
        dbias[j] = total(dz[j])
    if need_dx:
        np.dot(kernel, dz, dx)
