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
from .._runtime import reusable
from .activations import SIGMOID, TANH, activate_piecewise, derivative, sigmoid_vec, tanh_vec
from .panel import WIDTH as PANEL, panel_dot


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


def gradient_arrays(P, D, H, G, T, N, dtype, need_dx):
    """The per-block outputs and work arrays of a backward pass whose weight gradients are one
    product (LSTM, SimpleRNN): ``dweights (P, D + H + 1, G)`` = [dkernel; drecurrent_kernel;
    dbias], ``dx (P, D, T, N)`` (zeros without ``need_dx``), ``dh0 (P, H, N)``, and room for
    ``dz_panels (P, ceil(G / 16), T * N, 16)`` and ``inputs (P, D + H + 1, T, N)`` (see
    :func:`weight_gradients`). The large ones are :func:`lstm_np._runtime.reusable` memory."""
    dx = reusable((P, D, T, N), dtype)
    if not need_dx:
        dx.fill(0)
    return (reusable((P, D + H + 1, G), dtype), dx, np.empty((P, H, N), dtype=dtype),
            reusable((P, -(-G // PANEL), T * N, PANEL), dtype),
            reusable((P, D + H + 1, T, N), dtype))


@njit
def to_panels(dz, dz_panels, row):
    """Store ``dz (G, N)`` as rows ``row … row + N - 1`` of the gradient panels: column ``g`` of
    the rows goes to ``dz_panels[g // 16, :, g % 16]`` (see :func:`weight_gradients`). Each
    panel row is written whole, 16 numbers side by side (a row of ``dz`` at a time was 2.6
    times slower)."""
    G, N = dz.shape
    for q in range(dz_panels.shape[0]):
        width = min(PANEL, G - q * PANEL)
        for n in range(N):
            for lane in range(width):
                dz_panels[q, row + n, lane] = dz[q * PANEL + lane, n]


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


@njit
def project(kernel_t, bias, x, out):
    """out = kernel_t @ x + bias at every step: ``kernel_t (G, D)``, ``x (D, T, N)``,
    ``out (G, T, N)``; one :func:`.panel.panel_dot` per step, so a sequence's sums never depend
    on its place in the batch."""
    for t in range(x.shape[1]):
        fill_rows(bias, out[:, t, :])
        panel_dot(kernel_t, x[:, t, :], out[:, t, :], True)


@njit
def _fill(a, b):
    for k in range(a.shape[0]):
        a[k] = b


@njit
def _axpy(alpha, x, y):
    for k in range(y.shape[0]):
        y[k] += alpha * x[k]


@njit
def fill_rows(values, out):
    """out[j, :] = values[j] for every row ``j``."""
    for j in range(out.shape[0]):
        _fill(out[j], values[j])


@njit
def weight_gradients(x, h, dz_panels, dweights, inputs):
    """One block's share of the weight gradients, one product over all timesteps.

    ``x (D, T, N)`` the input, ``h (H, T + 1, N)`` the states (``h[:, t]`` is ``h_{t-1}`` of
    step ``t``), ``dz_panels (ceil(G / 16), T * N, 16)`` the gradient at the pre-activations, one
    row per step and sequence (row ``t * N + n``), cut into panels of 16 columns (written by
    :func:`to_panels`). Writes ``dweights (D + H + 1, G)`` = ``[x_t; h_{t-1}; 1] dzᵀ`` —
    ``dkernel``, ``drecurrent_kernel`` and, from the row of ones, ``dbias = Σ dz`` — each number
    summed in the order of the rows (:func:`.panel.panel_dot`: ``fma(1, dz, s)`` is ``s + dz``
    rounded once, a plain running sum); ``inputs (D + H + 1, T, N)`` is room for
    ``[x_t; h_{t-1}; 1]``.

    Why panels: as one ``(T N, G)`` array, consecutive rows of ``dz`` lie ``4 G`` bytes apart —
    4 KiB for ``G = 1024`` — so the ``T N`` rows of a 16-column slice all fall in the same few
    cache sets and evict each other; the product ran at 46 GFLOP/s. A panel's rows are
    contiguous (64 bytes each): 105 GFLOP/s. Every number still gets the same chain of sums.
    """
    D, T, N = x.shape
    H = h.shape[0]
    G = dweights.shape[1]
    for t in range(T):
        for d in range(D):
            for k in range(N):
                inputs[d, t, k] = x[d, t, k]
        for j in range(H):
            for k in range(N):
                inputs[D + j, t, k] = h[j, t, k]
        for k in range(N):
            inputs[D + H, t, k] = 1
    rows = inputs.reshape(D + H + 1, T * N)
    for q in range(dz_panels.shape[0]):
        g0 = q * PANEL
        width = min(PANEL, G - g0)
        panel_dot(rows, dz_panels[q, :, :width], dweights[:, g0:g0 + width], False)
