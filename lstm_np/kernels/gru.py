"""The GRU over a whole sequence, forward and backward through time, compiled by Numba.

Same math as :func:`lstm_np.layers.gru.gru_cell_forward` / ``gru_cell_backward`` (Keras's
``reset_after=True``), arranged for speed as in :mod:`lstm_np.kernels.lstm` (the loops they
share are in :mod:`.loops`):

* **unit-major arrays.** A step's gates are stored as ``(3H, N)`` — units along the rows, the
  batch along the columns — so each block ``z, r, h̃`` is one contiguous run of ``H*N`` numbers
  and the gate math runs as long, branch-free loops that LLVM compiles to SIMD code;
* the input projection ``kernel.T @ x_t + b`` of every timestep is computed once per block,
  before the time loop, as one ``(3H, T*N)`` product (a plain loop for a handful of features).
  The recurrent biases of ``z`` and ``r`` are folded into it by the caller: they are added to
  the same sum. Only ``b'_h`` stays in the loop, since the reset gate scales it;
* each step does one fused ``(3H, H) @ (H, N)`` product for all three blocks into preallocated
  memory — possible because with ``reset_after=True`` the reset gate multiplies
  ``h_{t-1} @ U_h + b'_h`` *after* the product; nothing is allocated inside the time loop;
* the backward kernel keeps every step's gradients at the two projections in ``(3H, T, N)``
  arrays and forms ``dkernel``, ``drecurrent_kernel`` and ``dx`` as single products over all
  timesteps;
* **both cores**: the batch is cut into ``P`` blocks of 16 sequences (the leading axis of every
  array) that run side by side on a thread pool (``lstm_np._runtime.run_blocks``); their weight
  gradients are summed at the end, in block order.

Blocks along the gate axis are ``z, r, h`` (:data:`lstm_np.gates.GRU_GATES`); ``z`` and ``r``
come first and share ``recurrent_activation``, so the kernels activate them as one run.
"""
import numpy as np

from .._jit import njit
from .._runtime import run_blocks, sum_over_blocks
from ..gates import CANDIDATE, RESET, UPDATE
from .activations import SIGMOID, TANH, derivative
from .loops import (add, add_step, apply_activation, copy, gate_grad, multiply,
                    project, store_step, total)
from .panel import panel_dot


# --- the GRU's own elementwise pieces (the shared ones are in loops.py) -----------------------
@njit
def _gate_blocks(a, HN):
    """The blocks ``z, r, h̃`` of one step's flattened ``(3H, N)`` array, each ``H * N`` long."""
    return (a[UPDATE * HN:(UPDATE + 1) * HN], a[RESET * HN:(RESET + 1) * HN],
            a[CANDIDATE * HN:(CANDIDATE + 1) * HN])


@njit
def _add_rows(a, bias, out):
    """out = a + bias[:, None]: ``a, out (H, N)``, one bias per unit."""
    for j in range(a.shape[0]):
        for k in range(a.shape[1]):
            out[j, k] = a[j, k] + bias[j]


@njit
def _candidate_input(xw_h, t, r, recurrent_h, out):
    """out = xw_h[:, t, :] + r * recurrent_h, the candidate's pre-activation."""
    for j in range(out.shape[0]):
        for k in range(out.shape[1]):
            out[j, k] = xw_h[j, t, k] + r[j, k] * recurrent_h[j, k]


@njit
def _interpolate_inplace(z, hh, h):
    """h = z * h + (1 - z) * h̃ (one in-place array, so no aliasing check)."""
    for k in range(h.shape[0]):
        h[k] = z[k] * h[k] + (1 - z[k]) * hh[k]


@njit
def _load_step(a, t, out):
    """out = a[:, t, :] — one timestep of a (rows, T, N) array."""
    for j in range(out.shape[0]):
        for k in range(out.shape[1]):
            out[j, k] = a[j, t, k]


@njit
def _candidate_grad(dh, z, hh, code, out):
    """out = dh * (1 - z) * act'(h̃), the gradient at the candidate's pre-activation."""
    if code == TANH:
        for k in range(out.shape[0]):
            out[k] = dh[k] * (1 - z[k]) * (1 - hh[k] * hh[k])
    else:
        for k in range(out.shape[0]):
            out[k] = dh[k] * (1 - z[k]) * derivative(code, hh[k])


@njit
def _update_grad(dh, h_prev, hh, z, code, out):
    """out = dh * (h_{t-1} - h̃) * σ'(z), the gradient at the update gate's pre-activation."""
    if code == SIGMOID:
        for k in range(out.shape[0]):
            out[k] = dh[k] * (h_prev[k] - hh[k]) * (z[k] * (1 - z[k]))
    else:
        for k in range(out.shape[0]):
            out[k] = dh[k] * (h_prev[k] - hh[k]) * derivative(code, z[k])


# --- one block of the batch, all timesteps ----------------------------------------------------
@njit
def _forward_block(xw, recurrent_kernel_t, recurrent_bias_h, h0, activation,
                   recurrent_activation, h, gates, recurrent_h, keep):
    """The recurrence over ``T`` steps for one block of ``N`` sequences, into given arrays.

    ``xw (3H, T, N)`` the projected inputs, ``h (H, T + 1, N)``. With ``keep`` (training) every
    step is kept for the backward pass: ``gates (T, 3H, N)``, ``recurrent_h (T, H, N)``; without
    it (inference) they hold one step.
    """
    H3, T, N = xw.shape
    H = H3 // 3
    HN = H * N
    hu = np.empty((H3, N), dtype=xw.dtype)          # h_{t-1} @ U, all three blocks
    a_h = np.empty((H, N), dtype=xw.dtype)          # the candidate's pre-activation
    hu_zr = hu[:2 * H]                               # z and r: the first two blocks
    hu_h = hu[CANDIDATE * H:]
    xw_zr, xw_h = xw[:2 * H], xw[CANDIDATE * H:]
    h_t = np.empty_like(h0)                          # (H, N), contiguous for the product
    copy(h0, h_t)
    store_step(h, 0, h0)                             # h[:, 0, :] = h0
    for t in range(T):
        s = t if keep else 0
        panel_dot(recurrent_kernel_t, h_t, hu, False)
        add_step(hu_zr, xw_zr, t)                   # + kernel.T @ x_t + b + b'  (z and r)
        g = gates[s].reshape(H3 * N)
        z, r, hh = _gate_blocks(g, HN)
        apply_activation(recurrent_activation, hu_zr.reshape(2 * HN), g[:2 * HN])     # z, r
        _add_rows(hu_h, recurrent_bias_h, recurrent_h[s])    # h_{t-1} @ U_h + b'_h
        _candidate_input(xw_h, t, r.reshape(H, N), recurrent_h[s], a_h)
        apply_activation(activation, a_h.reshape(HN), hh)
        _interpolate_inplace(z, hh, h_t.reshape(HN))         # h = z * h_{t-1} + (1 - z) * h̃
        store_step(h, t + 1, h_t)


@njit
def _backward_block(dh_seq, dh_last, h, gates, recurrent_h, recurrent_kernel, activation,
                    recurrent_activation, dxw_all, dhu_all, dh_next):
    """BPTT for one block; writes ``dxw_all, dhu_all (3H, T, N)`` and leaves dL/dh_0 in
    ``dh_next (H, N)``."""
    T, H3, N = gates.shape
    H = H3 // 3
    HN = H * N
    dtype = gates.dtype
    dhu_t = np.empty((H3, N), dtype=dtype)
    da_h = np.empty((H, N), dtype=dtype)
    h_prev = np.empty((H, N), dtype=dtype)
    dh_rec = np.empty((H, N), dtype=dtype)
    dh = np.empty(HN, dtype=dtype)
    dh_direct = np.empty(HN, dtype=dtype)           # the dh * z path that skips the product
    copy(dh_last, dh_next)
    da_z, da_r, dhu_h = _gate_blocks(dhu_t.reshape(H3 * N), HN)
    dxw_zr, dxw_h = dxw_all[:2 * H], dxw_all[CANDIDATE * H:]
    for t in range(T - 1, -1, -1):
        z, r, hh = _gate_blocks(gates[t].reshape(H3 * N), HN)
        add(dh_seq[t].reshape(HN), dh_next.reshape(HN), dh)
        _load_step(h, t, h_prev)
        _candidate_grad(dh, z, hh, activation, da_h.reshape(HN))
        gate_grad(da_h.reshape(HN), recurrent_h[t].reshape(HN), r, recurrent_activation, da_r)
        _update_grad(dh, h_prev.reshape(HN), hh, z, recurrent_activation, da_z)
        multiply(da_h.reshape(HN), r, dhu_h)
        multiply(dh, z, dh_direct)
        panel_dot(recurrent_kernel, dhu_t, dh_rec, False)  # dL/dh_{t-1} through all three blocks
        add(dh_rec.reshape(HN), dh_direct, dh_next.reshape(HN))
        store_step(dhu_all, t, dhu_t)
        store_step(dxw_zr, t, dhu_t[:2 * H])        # z and r: the same at both projections
        store_step(dxw_h, t, da_h)


# --- one block from end to end: what a pool thread runs ---------------------------------------
@njit
def _forward_sequence_block(x, kernel_t, input_bias, recurrent_kernel_t, recurrent_bias_h, h0,
                            activation, recurrent_activation, keep, h, gates, recurrent_h):
    """One block of :func:`gru_forward_sequence`: ``x (D, T, N)`` → ``h, gates, recurrent_h``."""
    D, T, N = x.shape
    H3 = kernel_t.shape[0]
    xw = np.empty((H3, T, N), dtype=x.dtype)
    project(kernel_t, input_bias, x, xw)
    _forward_block(xw, recurrent_kernel_t, recurrent_bias_h, h0, activation,
                   recurrent_activation, h, gates, recurrent_h, keep)


@njit
def _backward_sequence_block(dh_seq, dh_last, x, h, gates, recurrent_h, kernel,
                             recurrent_kernel, activation, recurrent_activation, need_dx,
                             dkernel, drecurrent, dbias, dx, dh0):
    """One block of :func:`gru_backward_sequence`: BPTT, then this block's share of the weight
    gradients into ``dkernel (D, 3H)``, ``drecurrent (H, 3H)``, ``dbias (2, 3H)``."""
    T, H3, N = gates.shape
    H = H3 // 3
    D = x.shape[0]
    dxw_all = np.empty((H3, T, N), dtype=gates.dtype)
    dhu_all = np.empty((H3, T, N), dtype=gates.dtype)
    _backward_block(dh_seq, dh_last, h, gates, recurrent_h, recurrent_kernel, activation,
                    recurrent_activation, dxw_all, dhu_all, dh0)
    dxw = dxw_all.reshape(H3, T * N)
    dhu = dhu_all.reshape(H3, T * N)
    np.dot(x.reshape(D, T * N), dxw.T, dkernel)
    h_prev = np.empty((H, T, N), dtype=h.dtype)             # h_{t-1} of every step
    for j in range(H):
        for t in range(T):
            for k in range(N):
                h_prev[j, t, k] = h[j, t, k]
    np.dot(h_prev.reshape(H, T * N), dhu.T, drecurrent)
    for j in range(H3):
        dbias[0, j] = total(dxw[j])
        dbias[1, j] = total(dhu[j])
    if need_dx:
        np.dot(kernel, dxw, dx.reshape(D, T * N))


# --- the sequence kernels: P blocks side by side -----------------------------------------------
def gru_forward_sequence(x, kernel_t, input_bias, recurrent_kernel_t, recurrent_bias_h, h0,
                         activation, recurrent_activation, keep=True):
    """Run the GRU over ``T`` steps.

    Parameters
    ----------
    x : (P, D, T, N) — the input, the batch cut into ``P`` blocks of ``N``.
    kernel_t : (3H, D), recurrent_kernel_t : (3H, H) — the transposed weights, blocks
        ``z, r, h``.
    input_bias : (3H,) — ``b``, plus ``b'`` in the ``z`` and ``r`` blocks.
    recurrent_bias_h : (H,) — ``b'_h``, which the reset gate scales.
    h0 : (P, H, N) — the initial state.
    activation, recurrent_activation : int codes (see ``lstm_np.activations.CODES``).
    keep : bool — keep every step's gates and ``recurrent_h`` for the backward pass.

    Returns
    -------
    h : (P, H, T + 1, N) — ``h[:, :, 0] = h0``, ``h[:, :, t + 1] = h_t``.
    gates : (P, T, 3H, N) — the activated ``z, r, h̃`` of every step (one step without keep).
    recurrent_h : (P, T, H, N) — ``h_{t-1} @ U_h + b'_h``, kept for the backward pass.
    """
    P, D, T, N = x.shape
    H3 = kernel_t.shape[0]
    H = H3 // 3
    dtype = x.dtype
    steps = T if keep else 1
    h = np.empty((P, H, T + 1, N), dtype=dtype)
    gates = np.empty((P, steps, H3, N), dtype=dtype)
    recurrent_h = np.empty((P, steps, H, N), dtype=dtype)
    keep = bool(keep)
    run_blocks(P, lambda p: _forward_sequence_block(
        x[p], kernel_t, input_bias, recurrent_kernel_t, recurrent_bias_h, h0[p], activation,
        recurrent_activation, keep, h[p], gates[p], recurrent_h[p]))
    return h, gates, recurrent_h


def gru_backward_sequence(dh_seq, dh_last, x, h, gates, recurrent_h, kernel, recurrent_kernel,
                          activation, recurrent_activation, need_dx):
    """Backpropagation through time, and the weight gradients.

    With ``dh = dh_seq[t] + dh_next`` and ``a_z, a_r, a_h`` the pre-activations of ``z, r, h̃``,
    the chain rule through ``h_t = z * h_{t-1} + (1 - z) * h̃`` and
    ``h̃ = act(xw_h + r * recurrent_h)`` gives::

        da_h = dh * (1 - z) * act'(h̃)
        da_r = da_h * recurrent_h * σ'(r)          da_z = dh * (h_{t-1} - h̃) * σ'(z)
        dxw  = [da_z, da_r, da_h]                  (gradient at x_t @ W + b)
        dhu  = [da_z, da_r, da_h * r]              (gradient at h_{t-1} @ U + b')
        dh_next = dh * z + recurrent_kernel @ dhu

    and, summed over every step and sequence, ``dkernel = x dxwᵀ``,
    ``drecurrent_kernel = h_{t-1} dhuᵀ``, ``dbias = [Σ dxw, Σ dhu]``, ``dx = kernel dxw``.

    Parameters
    ----------
    dh_seq : (P, T, H, N) — dL/dh_t from above.
    dh_last : (P, H, N) — extra gradient on the final state ``h_T``.
    x, h, gates, recurrent_h : the input and forward caches (see :func:`gru_forward_sequence`).
    kernel : (D, 3H), recurrent_kernel : (H, 3H).
    need_dx : bool — skip ``dx`` (the first layer of a model has no use for it).

    Returns
    -------
    dkernel : (D, 3H), drecurrent_kernel : (H, 3H), dbias : (2, 3H)
    dx : (P, D, T, N) — zeros when ``need_dx`` is false.
    dh0 : (P, H, N) — gradient at the initial state.
    """
    P, T, H3, N = gates.shape
    H = H3 // 3
    D = x.shape[1]
    dtype = gates.dtype
    dh0 = np.empty((P, H, N), dtype=dtype)
    dkernel = np.zeros((P, D, H3), dtype=dtype)
    drecurrent = np.zeros((P, H, H3), dtype=dtype)
    dbias = np.zeros((P, 2, H3), dtype=dtype)
    dx = np.zeros((P, D, T, N), dtype=dtype)
    need_dx = bool(need_dx)
    run_blocks(P, lambda p: _backward_sequence_block(
        dh_seq[p], dh_last[p], x[p], h[p], gates[p], recurrent_h[p], kernel, recurrent_kernel,
        activation, recurrent_activation, need_dx, dkernel[p], drecurrent[p], dbias[p], dx[p],
        dh0[p]))
    return (sum_over_blocks(dkernel), sum_over_blocks(drecurrent), sum_over_blocks(dbias), dx,
            dh0)
