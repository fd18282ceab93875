"""The simple (Elman) RNN over a whole sequence, forward and backward through time, compiled by
Numba.

Same math as :func:`lstm_np.layers.simple_rnn.simple_rnn_cell_forward` / ``..._backward``,
arranged as in :mod:`lstm_np.kernels.lstm`: the input projection ``x_t @ kernel + bias`` of every
step arrives precomputed as one ``(T, N, H)`` array ``xw``; each step does one
``np.dot(h_{t-1}, U, h_t)`` straight into the output array and activates it in place; nothing is
allocated inside the time loop; the backward kernel returns every ``da_t`` and the caller forms
the weight gradients as single products over all timesteps.

Arrays are time-major, ``(T, N, ...)``.
"""
import numpy as np

from .._jit import njit
from .activations import activate, derivative


@njit
def simple_rnn_forward_sequence(xw, recurrent_kernel, h0, activation):
    """Run ``h_t = act(xw_t + h_{t-1} @ recurrent_kernel)`` over ``T`` steps.

    Parameters
    ----------
    xw : (T, N, H) array — ``x_t @ kernel + bias`` for every step.
    recurrent_kernel : (H, H) array.
    h0 : (N, H) array — the initial state.
    activation : int code (see ``lstm_np.activations.CODES``).

    Returns
    -------
    h : (T + 1, N, H) — ``h[0] = h0``, ``h[t + 1] = h_t``.
    """
    T, N, H = xw.shape
    h = np.empty((T + 1, N, H), dtype=xw.dtype)
    h[0] = h0
    for t in range(T):
        h_t, xw_t = h[t + 1], xw[t]
        np.dot(h[t], recurrent_kernel, h_t)            # h_{t-1} @ U, into h_t's own memory
        for n in range(N):
            for j in range(H):
                h_t[n, j] = activate(activation, h_t[n, j] + xw_t[n, j])
    return h


@njit
def simple_rnn_backward_sequence(dh_seq, dh_last, h, recurrent_kernel_t, activation):
    """Backpropagation through time.

    With ``dh = dh_seq[t] + dh_next`` and ``a_t`` the pre-activation::

        da_t    = dh * act'(h_t)
        dh_next = da_t @ recurrent_kernel.T

    Parameters
    ----------
    dh_seq : (T, N, H) — dL/dh_t from above.
    dh_last : (N, H) — extra gradient on the final state ``h_T``.
    h : (T + 1, N, H) — the forward states.
    recurrent_kernel_t : (H, H) — the transposed recurrent kernel, contiguous.

    Returns
    -------
    da : (T, N, H) — gradient at the pre-activation of every step.
    dh0 : (N, H) — gradient at the initial state.
    """
    T, N, H = dh_seq.shape
    da = np.empty((T, N, H), dtype=h.dtype)
    dh_next = dh_last.copy()
    for t in range(T - 1, -1, -1):
        h_t, da_t, dh_t = h[t + 1], da[t], dh_seq[t]
        for n in range(N):
            for j in range(H):
                da_t[n, j] = (dh_t[n, j] + dh_next[n, j]) * derivative(activation, h_t[n, j])
        np.dot(da_t, recurrent_kernel_t, dh_next)      # dL/dh_{t-1}
    return da, dh_next
