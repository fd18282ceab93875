"""The GRU over a whole sequence, forward and backward through time, compiled by Numba.

Same math as :func:`lstm_np.layers.gru.gru_cell_forward` / ``gru_cell_backward`` (Keras's
``reset_after=True``), arranged as in :mod:`lstm_np.kernels.lstm`:

* the input projection ``x_t @ kernel + input_bias`` of every timestep arrives precomputed as
  one ``(T, N, 3H)`` array ``xw``;
* each step does one fused ``(N, H) @ (H, 3H)`` product for all three blocks, written into
  preallocated memory (``np.dot(a, b, out)``), then one pass over the gate values — possible
  because with ``reset_after=True`` the reset gate multiplies ``h_{t-1} @ U_h + b'_h`` *after*
  the product;
* nothing is allocated inside the time loop;
* the backward kernel returns the gradients at the two projections of every step and the
  caller forms the weight gradients as single products over all timesteps.

Arrays are time-major, ``(T, N, ...)``; blocks along the last axis are ``z, r, h``
(:data:`lstm_np.gates.GRU_GATES`).
"""
import numpy as np

from .._jit import njit
from ..gates import CANDIDATE, RESET, UPDATE
from .activations import activate, derivative


@njit
def gru_forward_sequence(xw, recurrent_kernel, recurrent_bias, h0, activation,
                         recurrent_activation):
    """Run the GRU over ``T`` steps.

    Parameters
    ----------
    xw : (T, N, 3H) array — ``x_t @ kernel + input_bias`` for every step.
    recurrent_kernel : (H, 3H) array, blocks ``z, r, h``.
    recurrent_bias : (3H,) array — ``b'`` (zeros when the layer has no bias).
    h0 : (N, H) array — the initial state.
    activation, recurrent_activation : int codes (see ``lstm_np.activations.CODES``).

    Returns
    -------
    h : (T + 1, N, H) — ``h[0] = h0``, ``h[t + 1] = h_t``.
    gates : (T, N, 3H) — the activated ``z, r, h̃`` of every step.
    recurrent_h : (T, N, H) — ``h_{t-1} @ U_h + b'_h``, which the reset gate scales; kept for
        the backward pass.
    """
    T, N, H3 = xw.shape
    H = H3 // 3
    zo, ro, ho = UPDATE * H, RESET * H, CANDIDATE * H      # column offsets of the blocks
    h = np.empty((T + 1, N, H), dtype=xw.dtype)
    gates = np.empty((T, N, H3), dtype=xw.dtype)
    recurrent_h = np.empty((T, N, H), dtype=xw.dtype)
    h[0] = h0
    for t in range(T):
        g = gates[t]                                   # (N, 3H), overwritten in place
        np.dot(h[t], recurrent_kernel, g)              # h_{t-1} @ U for all three blocks
        xw_t, h_prev, h_t, rh_t = xw[t], h[t], h[t + 1], recurrent_h[t]
        for n in range(N):
            for j in range(H):
                z = activate(recurrent_activation,
                             xw_t[n, zo + j] + g[n, zo + j] + recurrent_bias[zo + j])
                r = activate(recurrent_activation,
                             xw_t[n, ro + j] + g[n, ro + j] + recurrent_bias[ro + j])
                rh = g[n, ho + j] + recurrent_bias[ho + j]
                hh = activate(activation, xw_t[n, ho + j] + r * rh)
                g[n, zo + j] = z
                g[n, ro + j] = r
                g[n, ho + j] = hh
                rh_t[n, j] = rh
                h_t[n, j] = z * h_prev[n, j] + (1.0 - z) * hh
    return h, gates, recurrent_h


@njit
def gru_backward_sequence(dh_seq, dh_last, gates, h, recurrent_h, recurrent_kernel_t,
                          activation, recurrent_activation):
    """Backpropagation through time.

    With ``dh = dh_seq[t] + dh_next`` and ``a_z, a_r, a_h`` the pre-activations of ``z, r, h̃``,
    the chain rule through ``h_t = z * h_{t-1} + (1 - z) * h̃`` and
    ``h̃ = act(xw_h + r * recurrent_h)`` gives::

        da_h = dh * (1 - z) * act'(h̃)
        da_r = da_h * recurrent_h * σ'(r)          da_z = dh * (h_{t-1} - h̃) * σ'(z)
        dxw  = [da_z, da_r, da_h]                  (gradient at x_t @ W + b)
        dhu  = [da_z, da_r, da_h * r]              (gradient at h_{t-1} @ U + b')
        dh_next = dh * z + dhu @ recurrent_kernel.T

    Parameters
    ----------
    dh_seq : (T, N, H) — dL/dh_t from above.
    dh_last : (N, H) — extra gradient on the final state ``h_T``.
    gates, h, recurrent_h : the forward caches.
    recurrent_kernel_t : (3H, H) — the transposed recurrent kernel, contiguous.

    Returns
    -------
    dxw, dhu : (T, N, 3H) — gradients at the input and recurrent projections of every step.
    dh0 : (N, H) — gradient at the initial state.
    """
    T, N, H = recurrent_h.shape
    zo, ro, ho = UPDATE * H, RESET * H, CANDIDATE * H
    dxw = np.empty((T, N, 3 * H), dtype=gates.dtype)
    dhu = np.empty((T, N, 3 * H), dtype=gates.dtype)
    dh_next = dh_last.copy()
    dh_direct = np.empty((N, H), dtype=gates.dtype)     # the dh * z path that skips the product
    for t in range(T - 1, -1, -1):
        g, h_prev, rh_t, dh_t = gates[t], h[t], recurrent_h[t], dh_seq[t]
        dxw_t, dhu_t = dxw[t], dhu[t]
        for n in range(N):
            for j in range(H):
                z = g[n, zo + j]
                r = g[n, ro + j]
                hh = g[n, ho + j]
                dh = dh_t[n, j] + dh_next[n, j]
                da_h = dh * (1.0 - z) * derivative(activation, hh)
                da_r = da_h * rh_t[n, j] * derivative(recurrent_activation, r)
                da_z = dh * (h_prev[n, j] - hh) * derivative(recurrent_activation, z)
                dxw_t[n, zo + j] = da_z
                dxw_t[n, ro + j] = da_r
                dxw_t[n, ho + j] = da_h
                dhu_t[n, zo + j] = da_z
                dhu_t[n, ro + j] = da_r
                dhu_t[n, ho + j] = da_h * r
                dh_direct[n, j] = dh * z
        np.dot(dhu_t, recurrent_kernel_t, dh_next)     # dL/dh_{t-1} through all three blocks
        dh_next += dh_direct
    return dxw, dhu, dh_next
