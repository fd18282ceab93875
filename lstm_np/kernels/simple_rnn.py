"""The simple (Elman) RNN over a whole sequence, forward and backward through time, compiled by
Numba.

Same math as :func:`lstm_np.layers.simple_rnn.simple_rnn_cell_forward` / ``..._backward``,
arranged for speed as in :mod:`lstm_np.kernels.lstm` (the shared loops are in :mod:`.loops`):

* **unit-major arrays**, ``(H, N)`` per step, so the activation runs as one long, branch-free
  loop that LLVM compiles to SIMD code;
* each step adds ``kernel.T @ x_t`` and ``recurrent_kernel.T @ h_{t-1}`` to the bias with
  :func:`.panel.panel_dot` (one fixed order of fused multiply-adds per number) into
  preallocated memory; nothing is allocated inside the time loop;
* the backward kernel forms ``dx_t`` beside ``dh_next`` at every step, keeps every step's ``da``
  in one ``(T * N, H)`` array and forms ``dkernel`` and ``drecurrent_kernel`` as one product
  over ``[x_t; h_{t-1}]``;
* **both cores**: the batch is cut into ``P`` blocks of 16 sequences (the leading axis of every
  array) that run side by side on a thread pool (``lstm_np._runtime.run_blocks``); their weight
  gradients are summed at the end, in block order.
"""
import numpy as np

from .._jit import njit
from .._runtime import reusable, run_blocks, sum_over_blocks
from .activations import SIGMOID, TANH, derivative
from .loops import (apply_activation, copy, fill_rows, gradient_arrays, store_step,
                    to_panels, weight_gradients)
from .panel import panel_dot


@njit
def _pre_activation_grad(dh_t, dh_next, h, t, code, da):
    """da = (dh_t + dh_next) * act'(a_t), with act'(a_t) written through ``h_t = h[:, t, :]``."""
    H, N = da.shape
    if code == TANH:
        for j in range(H):
            for k in range(N):
                da[j, k] = (dh_t[j, k] + dh_next[j, k]) * (1 - h[j, t, k] * h[j, t, k])
    elif code == SIGMOID:
        for j in range(H):
            for k in range(N):
                da[j, k] = (dh_t[j, k] + dh_next[j, k]) * (h[j, t, k] * (1 - h[j, t, k]))
    else:
        for j in range(H):
            for k in range(N):
                da[j, k] = (dh_t[j, k] + dh_next[j, k]) * derivative(code, h[j, t, k])


# --- one block of the batch, all timesteps ----------------------------------------------------
@njit
def _forward_block(x, kernel_t, bias, recurrent_kernel_t, h0, activation, h):
    """The recurrence over ``T`` steps for one block of ``N`` sequences: ``x (D, T, N)`` the
    input, ``h (H, T + 1, N)`` the states."""
    D, T, N = x.shape
    H = kernel_t.shape[0]
    a = np.empty((H, N), dtype=x.dtype)              # the pre-activation
    h_t = np.empty_like(h0)                          # (H, N), contiguous for the product
    copy(h0, h_t)
    store_step(h, 0, h0)                             # h[:, 0, :] = h0
    for t in range(T):
        fill_rows(bias, a)                           # a = bias
        panel_dot(kernel_t, x[:, t, :], a, True)     #   + kernel.T @ x_t
        panel_dot(recurrent_kernel_t, h_t, a, True)  #   + recurrent_kernel.T @ h_{t-1}
        apply_activation(activation, a.reshape(H * N), h_t.reshape(H * N))
        store_step(h, t + 1, h_t)


@njit
def _backward_block(dh_seq, dh_last, h, kernel, recurrent_kernel, activation, need_dx, da_panels,
                    dx, dh_next):
    """BPTT for one block: writes every step's ``da`` into ``da_panels`` (row ``t * N + n`` is
    sequence ``n`` at step ``t``, in panels of 16 columns), ``dx (D, T, N)`` if ``need_dx``, and
    leaves dL/dh_0 in ``dh_next``."""
    T, H, N = dh_seq.shape
    da_t = np.empty((H, N), dtype=h.dtype)
    copy(dh_last, dh_next)
    for t in range(T - 1, -1, -1):
        _pre_activation_grad(dh_seq[t], dh_next, h, t + 1, activation, da_t)
        panel_dot(recurrent_kernel, da_t, dh_next, False)   # dL/dh_{t-1}
        if need_dx:
            panel_dot(kernel, da_t, dx[:, t, :], False)     # dL/dx_t
        to_panels(da_t, da_panels, t * N)


# --- one block from end to end: what a pool thread runs ---------------------------------------
@njit
def _backward_sequence_block(dh_seq, dh_last, x, h, kernel, recurrent_kernel, activation,
                             need_dx, dweights, dx, dh0, da_panels, inputs):
    """One block of :func:`simple_rnn_backward_sequence`: BPTT, then this block's share of the
    weight gradients into ``dweights (D + H + 1, H)`` (kernel, recurrent kernel, bias);
    ``da_panels`` and ``inputs (D + H + 1, T, N)`` are room to work in."""
    _backward_block(dh_seq, dh_last, h, kernel, recurrent_kernel, activation, need_dx, da_panels,
                    dx, dh0)
    weight_gradients(x, h, da_panels, dweights, inputs)


# --- the sequence kernels: P blocks side by side -----------------------------------------------
def simple_rnn_forward_sequence(x, kernel_t, bias, recurrent_kernel_t, h0, activation):
    """Run ``h_t = act(x_t @ kernel + h_{t-1} @ recurrent_kernel + bias)`` over ``T`` steps.

    Parameters
    ----------
    x : (P, D, T, N) — the input, the batch cut into ``P`` blocks of ``N``.
    kernel_t : (H, D), bias : (H,), recurrent_kernel_t : (H, H) — the transposed weights.
    h0 : (P, H, N) — the initial state.
    activation : int code (see ``lstm_np.activations.CODES``).

    Returns
    -------
    h : (P, H, T + 1, N) — ``h[:, :, 0] = h0``, ``h[:, :, t + 1] = h_t``.
    """
    P, D, T, N = x.shape
    H = kernel_t.shape[0]
    h = reusable((P, H, T + 1, N), x.dtype)
    run_blocks(P, lambda p: _forward_block(
        x[p], kernel_t, bias, recurrent_kernel_t, h0[p], activation, h[p]))
    return h


def simple_rnn_backward_sequence(dh_seq, dh_last, x, h, kernel, recurrent_kernel, activation,
                                 need_dx):
    """Backpropagation through time, and the weight gradients.

    With ``dh = dh_seq[t] + dh_next`` and ``a_t`` the pre-activation::

        da_t    = dh * act'(a_t)
        dh_next = recurrent_kernel @ da_t

    and, summed over every step and sequence, ``dkernel = x daᵀ``,
    ``drecurrent_kernel = h_{t-1} daᵀ``, ``dbias = Σ da``, ``dx = kernel da``.

    Parameters
    ----------
    dh_seq : (P, T, H, N) — dL/dh_t from above.
    dh_last : (P, H, N) — extra gradient on the final state ``h_T``.
    x, h : the input and the forward states (see :func:`simple_rnn_forward_sequence`).
    kernel : (D, H), recurrent_kernel : (H, H).
    need_dx : bool — skip ``dx`` (the first layer of a model has no use for it).

    Returns
    -------
    dkernel : (D, H), drecurrent_kernel : (H, H), dbias : (H,)
    dx : (P, D, T, N) — zeros when ``need_dx`` is false.
    dh0 : (P, H, N) — gradient at the initial state.
    """
    P, T, H, N = dh_seq.shape
    D = x.shape[1]
    dtype = h.dtype
    dweights, dx, dh0, da_panels, inputs = gradient_arrays(P, D, H, H, T, N, dtype, need_dx)
    need_dx = bool(need_dx)
    run_blocks(P, lambda p: _backward_sequence_block(
        dh_seq[p], dh_last[p], x[p], h[p], kernel, recurrent_kernel, activation, need_dx,
        dweights[p], dx[p], dh0[p], da_panels[p], inputs[p]))
    total = sum_over_blocks(dweights)
    return total[:D].copy(), total[D:D + H].copy(), total[D + H].copy(), dx, dh0
