"""The LSTM over a whole sequence, forward and backward through time, compiled by Numba.

Same math as :func:`lstm_np.layers.lstm.lstm_cell_forward` / ``lstm_cell_backward``, arranged
for speed:

* the input projection ``x_t @ kernel + bias`` of every timestep arrives precomputed as one
  ``(T, N, 4H)`` array ``xw`` (one large matrix product instead of T small ones);
* each step does one fused ``(N, H) @ (H, 4H)`` product for all four gates, written into
  preallocated memory (``np.dot(a, b, out)``), then one pass over the gate values;
* nothing is allocated inside the time loop, and the batch is never looped over in Python;
* the weight gradients are *not* summed step by step: the backward kernel returns every
  ``dz_t`` and the caller forms ``dkernel`` and ``drecurrent_kernel`` as single products
  over all timesteps.

Arrays are time-major, ``(T, N, ...)``, so that each step's slice is contiguous.
"""
import numpy as np

from .._jit import njit
from .activations import activate, derivative


@njit
def lstm_forward_sequence(xw, recurrent_kernel, h0, c0, activation, recurrent_activation):
    """Run the LSTM over ``T`` steps.

    Parameters
    ----------
    xw : (T, N, 4H) array — ``x_t @ kernel + bias`` for every step.
    recurrent_kernel : (H, 4H) array, gate blocks ``i, f, g, o``.
    h0, c0 : (N, H) arrays — initial hidden and cell state.
    activation, recurrent_activation : int codes (see ``lstm_np.activations.CODES``).

    Returns
    -------
    h : (T + 1, N, H) — ``h[0] = h0``, ``h[t + 1] = h_t``.
    c : (T + 1, N, H) — likewise for the cell state.
    gates : (T, N, 4H) — the activated gates ``i, f, g, o`` of every step.
    act_c : (T, N, H) — ``activation(c_t)``, kept for the backward pass.
    """
    T, N, H4 = xw.shape
    H = H4 // 4
    h = np.empty((T + 1, N, H), dtype=xw.dtype)
    c = np.empty((T + 1, N, H), dtype=xw.dtype)
    gates = np.empty((T, N, H4), dtype=xw.dtype)
    act_c = np.empty((T, N, H), dtype=xw.dtype)
    h[0] = h0
    c[0] = c0
    for t in range(T):
        z = gates[t]                                   # (N, 4H), overwritten in place
        np.dot(h[t], recurrent_kernel, z)              # h_{t-1} @ U for all four gates
        xw_t, c_prev, c_t, h_t, a_t = xw[t], c[t], c[t + 1], h[t + 1], act_c[t]
        for n in range(N):
            for j in range(H):
                i = activate(recurrent_activation, z[n, j] + xw_t[n, j])
                f = activate(recurrent_activation, z[n, H + j] + xw_t[n, H + j])
                g = activate(activation, z[n, 2 * H + j] + xw_t[n, 2 * H + j])
                o = activate(recurrent_activation, z[n, 3 * H + j] + xw_t[n, 3 * H + j])
                cc = f * c_prev[n, j] + i * g
                ac = activate(activation, cc)
                z[n, j] = i
                z[n, H + j] = f
                z[n, 2 * H + j] = g
                z[n, 3 * H + j] = o
                c_t[n, j] = cc
                a_t[n, j] = ac
                h_t[n, j] = o * ac
    return h, c, gates, act_c


@njit
def lstm_backward_sequence(dh_seq, dh_last, dc_last, gates, c, act_c, recurrent_kernel_t,
                           activation, recurrent_activation):
    """Backpropagation through time.

    With ``dh = dh_seq[t] + dh_next`` (the loss's own gradient at ``h_t`` plus what flows back
    from step ``t + 1``), the chain rule through ``h_t = o * act(c_t)`` and
    ``c_t = f * c_{t-1} + i * g`` gives::

        do = dh * act(c_t)                 dc = dc_next + dh * o * act'(c_t)
        di = dc * g      df = dc * c_{t-1}      dg = dc * i      dc_next = dc * f
        dz = [di * σ'(i), df * σ'(f), dg * act'(g), do * σ'(o)]       (σ = recurrent_activation)
        dh_next = dz @ recurrent_kernel.T

    Parameters
    ----------
    dh_seq : (T, N, H) — dL/dh_t from above (zeros except the last step when the layer
        returns only its last output).
    dh_last, dc_last : (N, H) — extra gradient on the final state ``h_T`` and ``c_T``.
    gates, c, act_c : the forward caches.
    recurrent_kernel_t : (4H, H) — the transposed recurrent kernel, contiguous.

    Returns
    -------
    dz : (T, N, 4H) — gradient at the gate pre-activations of every step.
    dh0, dc0 : (N, H) — gradient at the initial state.
    """
    T, N, H = act_c.shape
    dz = np.empty((T, N, 4 * H), dtype=gates.dtype)
    dh_next = dh_last.copy()
    dc_next = dc_last.copy()
    for t in range(T - 1, -1, -1):
        g_t, c_prev, a_t, dz_t, dh_t = gates[t], c[t], act_c[t], dz[t], dh_seq[t]
        for n in range(N):
            for j in range(H):
                i = g_t[n, j]
                f = g_t[n, H + j]
                g = g_t[n, 2 * H + j]
                o = g_t[n, 3 * H + j]
                dh = dh_t[n, j] + dh_next[n, j]
                do = dh * a_t[n, j]
                dc = dc_next[n, j] + dh * o * derivative(activation, a_t[n, j])
                dz_t[n, j] = dc * g * derivative(recurrent_activation, i)
                dz_t[n, H + j] = dc * c_prev[n, j] * derivative(recurrent_activation, f)
                dz_t[n, 2 * H + j] = dc * i * derivative(activation, g)
                dz_t[n, 3 * H + j] = do * derivative(recurrent_activation, o)
                dc_next[n, j] = dc * f
        np.dot(dz_t, recurrent_kernel_t, dh_next)     # dL/dh_{t-1} through all four gates
    return dz, dh_next, dc_next
