"""The LSTM over a whole sequence, forward and backward through time, compiled by Numba.

Same math as :func:`lstm_np.layers.lstm.lstm_cell_forward` / ``lstm_cell_backward``, arranged
for speed:

* **unit-major arrays.** Inside the kernels a step's gates are stored as ``(4H, N)`` — units
  along the rows, the batch along the columns — so each gate block ``i, f, g, o`` is one
  contiguous run of ``H*N`` numbers. The gate math then runs as a few long, branch-free loops
  that LLVM compiles to SIMD code (short per-row loops of ``H`` would not be);
* each step forms all four gates' pre-activations ``bias + kernel.T @ x_t +
  recurrent_kernel.T @ h_{t-1}`` in one ``(4H, N)`` array, both products by
  :func:`.panel.panel_dot` — one fixed chain of fused multiply-adds per number, so a
  sequence's sums never depend on its place in the batch, at the core's full SIMD width (about
  95% of this machine's measured FMA peak on the seed model's products); nothing else is
  allocated inside the time loop;
* the backward kernel forms ``dh_next = recurrent_kernel @ dz`` and ``dx_t = kernel @ dz`` at
  every step while ``dz`` is in cache, keeps every step's ``dz`` as rows of ``T * N`` by
  ``4H`` numbers (in panels of 16 columns), and forms ``dkernel``, ``drecurrent_kernel`` and
  ``dbias`` as one product over all timesteps (:func:`.loops.weight_gradients`);
* the large arrays (the cache, the backward pass's work arrays) reuse memory the process has
  already touched (:func:`lstm_np._runtime.reusable`): no page fault per 4 KiB at every step;
* **both cores**: the batch is cut into ``P`` blocks of 16 sequences (the leading axis of every
  array) and the blocks run side by side on a thread pool (``lstm_np._runtime.run_blocks``) —
  the recurrence never mixes batch rows, so the blocks are independent until their weight
  gradients are summed, in block order.

The elementwise loops shared with the GRU and SimpleRNN kernels are in :mod:`.loops`.
"""
import numpy as np

from .._jit import njit
from .._runtime import reusable, run_blocks, sum_over_blocks
from .activations import TANH, derivative
from .loops import (add, apply_activation_inplace, copy, fill_rows, gate_grad, multiply,
                    gradient_arrays, store_step, to_panels, weight_gradients)
from .panel import panel_dot


# --- the LSTM's own elementwise pieces (the shared ones are in loops.py) -----------------------
@njit
def _cell_update(f, c_prev, i, g, c):
    for k in range(c.shape[0]):
        c[k] = f[k] * c_prev[k] + i[k] * g[k]


@njit
def _dc_total(dc_next, dh, o, act_c, activation, dc):
    """dc = dc_next + dh * o * act'(c), with act'(c) written through act_c = act(c)."""
    if activation == TANH:
        for k in range(dc.shape[0]):
            dc[k] = dc_next[k] + dh[k] * o[k] * (1 - act_c[k] * act_c[k])
    else:
        for k in range(dc.shape[0]):
            dc[k] = dc_next[k] + dh[k] * o[k] * derivative(activation, act_c[k])


@njit
def _gate_blocks(z, HN):
    """The four gate blocks of one step's flattened ``(4H, N)`` array, in Keras's order
    ``i, f, g, o`` (``lstm_np.gates.LSTM_GATES``), each ``H * N`` long."""
    return z[:HN], z[HN:2 * HN], z[2 * HN:3 * HN], z[3 * HN:]


# --- one block of the batch, all timesteps ----------------------------------------------------
@njit
def _forward_block(x, kernel_t, bias, recurrent_kernel_t, h0, c0, activation,
                   recurrent_activation, keep, h, c, gates, act_c):
    """The recurrence over ``T`` steps for one block of ``N`` sequences, into given arrays.

    ``x (D, T, N)`` the input, ``h (H, T + 1, N)``. With ``keep`` (training), every step is kept
    for the backward pass: ``c (T + 1, H, N)``, ``gates (T, 4H, N)``, ``act_c (T, H, N)``;
    without it (inference) ``c`` holds two steps in turn and ``gates``, ``act_c`` one.
    """
    D, T, N = x.shape
    H4 = kernel_t.shape[0]
    H = H4 // 4
    HN = H * N
    h_t = np.empty_like(h0)                           # (H, N), contiguous for the product
    copy(h0, h_t)
    store_step(h, 0, h0)                             # h[:, 0, :] = h0
    copy(c0, c[0])
    for t in range(T):
        s, prev, now = (t, t, t + 1) if keep else (0, t % 2, (t + 1) % 2)
        fill_rows(bias, gates[s])                                    # z = bias
        panel_dot(kernel_t, x[:, t, :], gates[s], True)              #   + x_t @ kernel
        panel_dot(recurrent_kernel_t, h_t, gates[s], True)           #   + h_{t-1} @ rec. kernel
        z = gates[s].reshape(H4 * N)
        i, f, g, o = _gate_blocks(z, HN)
        apply_activation_inplace(recurrent_activation, z[:2 * HN])   # i = σ(z_i), f = σ(z_f)
        apply_activation_inplace(activation, g)                      # g = tanh(z_g)
        apply_activation_inplace(recurrent_activation, o)            # o = σ(z_o)
        c_t, a_t = c[now].reshape(HN), act_c[s].reshape(HN)
        _cell_update(f, c[prev].reshape(HN), i, g, c_t)              # c_t = f * c_{t-1} + i * g
        copy(c[now], act_c[s])                                       # a_t = tanh(c_t), computed
        apply_activation_inplace(activation, a_t)                    #   in place on a copy of c_t
        multiply(o, a_t, h_t.reshape(HN))                            # h_t = o * tanh(c_t)
        store_step(h, t + 1, h_t)


@njit
def _backward_block(dh_seq, dh_last, dc_last, gates, c, act_c, kernel, recurrent_kernel,
                    activation, recurrent_activation, need_dx, dz_panels, dx, dh_next, dc_next):
    """BPTT for one block: writes every step's ``dz`` into ``dz_panels`` (row ``t * N + n`` is
    sequence ``n`` at step ``t``, in panels of 16 columns: the layout the weight gradients'
    product reads), ``dx (D, T, N)`` if ``need_dx``, and leaves dL/dh_0, dL/dc_0 in
    ``dh_next, dc_next (H, N)``."""
    T, H4, N = gates.shape
    H = H4 // 4
    HN = H * N
    dtype = gates.dtype
    dz_t = np.empty((H4, N), dtype=dtype)
    dh = np.empty(HN, dtype=dtype)
    dc = np.empty(HN, dtype=dtype)
    copy(dh_last, dh_next)
    copy(dc_last, dc_next)
    dz = dz_t.reshape(H4 * N)
    dz_i, dz_f, dz_g, dz_o = _gate_blocks(dz, HN)
    for t in range(T - 1, -1, -1):
        z = gates[t].reshape(H4 * N)
        i, f, g, o = _gate_blocks(z, HN)
        a_t, c_prev = act_c[t].reshape(HN), c[t].reshape(HN)
        add(dh_seq[t].reshape(HN), dh_next.reshape(HN), dh)         # dh = dh_t + dh_next
        _dc_total(dc_next.reshape(HN), dh, o, a_t, activation, dc)   # dc = dc_next + dh o tanh'
        gate_grad(dh, a_t, o, recurrent_activation, dz_o)            # dz_o = dh tanh(c_t) σ'(o)
        gate_grad(dc, g, i, recurrent_activation, dz_i)              # dz_i = dc g σ'(i)
        gate_grad(dc, c_prev, f, recurrent_activation, dz_f)         # dz_f = dc c_{t-1} σ'(f)
        gate_grad(dc, i, g, activation, dz_g)                        # dz_g = dc i tanh'(g)
        multiply(dc, f, dc_next.reshape(HN))                         # dc_next = dc * f
        panel_dot(recurrent_kernel, dz_t, dh_next, False)            # dh_next = dz @ U.T
        if need_dx:
            panel_dot(kernel, dz_t, dx[:, t, :], False)              # dx_t = dz @ W.T
        to_panels(dz_t, dz_panels, t * N)


# --- one block from end to end: what a pool thread runs ---------------------------------------
@njit
def _backward_sequence_block(dh_seq, dh_last, dc_last, x, h, c, gates, act_c, kernel,
                             recurrent_kernel, activation, recurrent_activation, need_dx,
                             dweights, dx, dh0, dc0, dz_panels, inputs):
    """One block of :func:`lstm_backward_sequence`: BPTT, then this block's share of the weight
    gradients into ``dweights (D + H + 1, 4H)`` (kernel, recurrent kernel, bias);
    ``dz_panels`` and ``inputs (D + H + 1, T, N)`` are room to work in."""
    _backward_block(dh_seq, dh_last, dc_last, gates, c, act_c, kernel, recurrent_kernel,
                    activation, recurrent_activation, need_dx, dz_panels, dx, dh0, dc0)
    weight_gradients(x, h, dz_panels, dweights, inputs)


# --- the sequence kernels: P blocks side by side -----------------------------------------------
def lstm_forward_sequence(x, kernel_t, bias, recurrent_kernel_t, h0, c0, activation,
                          recurrent_activation, keep=True):
    """Run the LSTM over ``T`` steps.

    Parameters
    ----------
    x : (P, D, T, N) — the input, the batch cut into ``P`` blocks of ``N``.
    kernel_t : (4H, D), bias : (4H,), recurrent_kernel_t : (4H, H) — the transposed weights,
        gate blocks ``i, f, g, o``.
    h0, c0 : (P, H, N) — initial hidden and cell state.
    activation, recurrent_activation : int codes (see ``lstm_np.activations.CODES``).
    keep : bool — keep every step's ``c``, gates and ``act(c)`` for the backward pass. Without
        it (inference) only ``h`` is complete and ``c[:, T % 2]`` is the final cell state.

    Returns
    -------
    h : (P, H, T + 1, N) — ``h[:, :, 0] = h0``, ``h[:, :, t + 1] = h_t``.
    c : (P, T + 1, H, N) — ``c[:, 0] = c0``, ``c[:, t + 1] = c_t``.
    gates : (P, T, 4H, N) — the activated gates ``i, f, g, o`` of every step.
    act_c : (P, T, H, N) — ``activation(c_t)``, kept for the backward pass.
    """
    P, D, T, N = x.shape
    H4 = kernel_t.shape[0]
    H = H4 // 4
    dtype = x.dtype
    h = reusable((P, H, T + 1, N), dtype)
    steps = T if keep else 1
    c = reusable((P, T + 1 if keep else 2, H, N), dtype)
    gates = reusable((P, steps, H4, N), dtype)
    act_c = reusable((P, steps, H, N), dtype)
    keep = bool(keep)
    run_blocks(P, lambda p: _forward_block(
        x[p], kernel_t, bias, recurrent_kernel_t, h0[p], c0[p], activation, recurrent_activation,
        keep, h[p], c[p], gates[p], act_c[p]))
    return h, c, gates, act_c


def lstm_backward_sequence(dh_seq, dh_last, dc_last, x, h, c, gates, act_c, kernel,
                           recurrent_kernel, activation, recurrent_activation, need_dx):
    """Backpropagation through time, and the weight gradients.

    With ``dh = dh_seq[t] + dh_next`` (the loss's own gradient at ``h_t`` plus what flows back
    from step ``t + 1``), the chain rule through ``h_t = o * act(c_t)`` and
    ``c_t = f * c_{t-1} + i * g`` gives::

        dc   = dc_next + dh * o * act'(c_t)
        dz_i = dc * g * σ'(i)        dz_f = dc * c_{t-1} * σ'(f)
        dz_g = dc * i * act'(g)      dz_o = dh * act(c_t) * σ'(o)      (σ = recurrent_activation)
        dc_next = dc * f             dh_next = recurrent_kernel @ dz

    and, summed over every step and sequence, ``dkernel = x dzᵀ``,
    ``drecurrent_kernel = h_{t-1} dzᵀ``, ``dbias = Σ dz``, ``dx = kernel dz``.

    Parameters
    ----------
    dh_seq : (P, T, H, N) — dL/dh_t from above (zeros except the last step when the layer
        returns only its last output).
    dh_last, dc_last : (P, H, N) — extra gradient on the final state ``h_T`` and ``c_T``.
    x, h, c, gates, act_c : the input and forward caches (see :func:`lstm_forward_sequence`).
    kernel : (D, 4H), recurrent_kernel : (H, 4H).
    need_dx : bool — skip ``dx`` (the first layer of a model has no use for it).

    Returns
    -------
    dkernel : (D, 4H), drecurrent_kernel : (H, 4H), dbias : (4H,)
    dx : (P, D, T, N) — zeros when ``need_dx`` is false.
    dh0, dc0 : (P, H, N) — gradient at the initial state.
    """
    P, T, H4, N = gates.shape
    H = H4 // 4
    D = x.shape[1]
    dtype = gates.dtype
    dweights, dx, dh0, dz_panels, inputs = gradient_arrays(P, D, H, H4, T, N, dtype, need_dx)
    dc0 = np.empty((P, H, N), dtype=dtype)
    need_dx = bool(need_dx)
    run_blocks(P, lambda p: _backward_sequence_block(
        dh_seq[p], dh_last[p], dc_last[p], x[p], h[p], c[p], gates[p], act_c[p], kernel,
        recurrent_kernel, activation, recurrent_activation, need_dx, dweights[p], dx[p], dh0[p],
        dc0[p], dz_panels[p], inputs[p]))
    total = sum_over_blocks(dweights)
    return total[:D].copy(), total[D:D + H].copy(), total[D + H].copy(), dx, dh0, dc0
