"""The LSTM over a whole sequence, forward and backward through time, compiled by Numba.

Same math as :func:`lstm_np.layers.lstm.lstm_cell_forward` / ``lstm_cell_backward``, arranged
for speed:

* **unit-major arrays.** Inside the kernels a step's gates are stored as ``(4H, N)`` — units
  along the rows, the batch along the columns — so each gate block ``i, f, g, o`` is one
  contiguous run of ``H*N`` numbers. The gate math then runs as a few long, branch-free loops
  that LLVM compiles to SIMD code (short per-row loops of ``H`` would not be);
* the input projection ``kernel.T @ x_t + bias`` of every timestep is computed once, before the
  time loop, as one ``(4H, T*N)`` product (one large matrix product instead of T small ones;
  for a handful of input features, as a plain loop, since BLAS is slow at outer products);
* each step does one fused ``(4H, H) @ (H, N)`` product for all four gates into preallocated
  memory (``np.dot(a, b, out)``); nothing else is allocated inside the time loop;
* the backward kernel keeps every step's ``dz`` in one ``(4H, T, N)`` array and forms
  ``dkernel``, ``drecurrent_kernel`` and ``dx`` as single products over all timesteps;
* **both cores**: the batch is cut into ``P`` equal blocks (the leading axis of every array) and
  the blocks run side by side under ``prange`` — the recurrence never mixes batch rows, so the
  blocks are independent until their weight gradients are summed. BLAS itself is kept to one
  thread (see :mod:`lstm_np._threads`): a second BLAS thread per small product costs more in
  synchronisation than it gains.

The elementwise helpers take distinct input and output arrays (or work in place on one): when
two arguments may overlap, LLVM guards the vector loop with a runtime check and falls back to
scalar code, which is four times slower.
"""
import numpy as np

from .._jit import njit, prange
from .activations import SIGMOID, TANH, activate, derivative, sigmoid_vec, tanh_vec


# --- elementwise pieces, each a single straight loop -------------------------------------------
# The activation code is tested once, outside the loop, so that each loop body is branch-free.
@njit
def _activate_inplace(code, a):
    """a = act(a) (one array, so no aliasing check stands in LLVM's way)."""
    if code == SIGMOID:
        for k in range(a.shape[0]):
            a[k] = sigmoid_vec(a[k])
    elif code == TANH:
        for k in range(a.shape[0]):
            a[k] = tanh_vec(a[k])
    else:
        for k in range(a.shape[0]):
            a[k] = activate(code, a[k])


@njit
def _activate(code, a, out):
    """out = act(a), ``out`` distinct from ``a``."""
    if code == SIGMOID:
        for k in range(a.shape[0]):
            out[k] = sigmoid_vec(a[k])
    elif code == TANH:
        for k in range(a.shape[0]):
            out[k] = tanh_vec(a[k])
    else:
        for k in range(a.shape[0]):
            out[k] = activate(code, a[k])


@njit
def _mul(a, b, out):
    for k in range(a.shape[0]):
        out[k] = a[k] * b[k]


@njit
def _cell_update(f, c_prev, i, g, c):
    for k in range(c.shape[0]):
        c[k] = f[k] * c_prev[k] + i[k] * g[k]


@njit
def _add(a, b, out):
    for k in range(a.shape[0]):
        out[k] = a[k] + b[k]


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
def _gate_grad(upstream, other, gate, code, dz):
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
def _gate_blocks(z, HN):
    """The four gate blocks of one step's flattened ``(4H, N)`` array, in Keras's order
    ``i, f, g, o`` (``lstm_np.gates.LSTM_GATES``), each ``H * N`` long."""
    return z[:HN], z[HN:2 * HN], z[2 * HN:3 * HN], z[3 * HN:]


@njit
def _add_step(a, b, t):
    """a += b[:, t, :] — one timestep of a (rows, T, N) array."""
    for j in range(a.shape[0]):
        for k in range(a.shape[1]):
            a[j, k] += b[j, t, k]


@njit
def _store_step(a, t, b):
    """a[:, t, :] = b — one timestep into a (rows, T, N) array."""
    for j in range(b.shape[0]):
        for k in range(b.shape[1]):
            a[j, t, k] = b[j, k]


# --- one block of the batch, all timesteps ----------------------------------------------------
@njit
def _project(kernel_t, bias, x, out):
    """out = kernel_t @ x + bias: ``kernel_t (4H, D)``, ``x (D, M)``, ``out (4H, M)``."""
    H4, D = kernel_t.shape
    if D > 8:
        np.dot(kernel_t, x, out)
        for j in range(H4):
            _add_scalar_inplace(out[j], bias[j])
    else:                                           # an outer product: a loop beats BLAS
        for j in range(H4):
            _fill(out[j], bias[j])
            for d in range(D):
                _axpy(kernel_t[j, d], x[d], out[j])


@njit
def _add_scalar_inplace(a, b):
    for k in range(a.shape[0]):
        a[k] += b


@njit
def _fill(a, b):
    for k in range(a.shape[0]):
        a[k] = b


@njit
def _axpy(alpha, x, y):
    for k in range(y.shape[0]):
        y[k] += alpha * x[k]


@njit
def _forward_block(xw, recurrent_kernel_t, h0, c0, activation, recurrent_activation,
                   h, c, gates, act_c, keep):
    """The recurrence over ``T`` steps for one block of ``N`` sequences, into given arrays.

    ``xw (4H, T, N)`` the projected inputs, ``h (H, T + 1, N)``. With ``keep`` (training),
    every step is kept for the backward pass: ``c (T + 1, H, N)``, ``gates (T, 4H, N)``,
    ``act_c (T, H, N)``; without it (inference) ``c`` holds two steps in turn and ``gates``,
    ``act_c`` one.
    """
    H4, T, N = xw.shape
    H = H4 // 4
    HN = H * N
    h_t = h0.copy()                                   # (H, N), contiguous for the product
    h[:, 0, :] = h0
    c[0] = c0
    for t in range(T):
        s, prev, now = (t, t, t + 1) if keep else (0, t % 2, (t + 1) % 2)
        np.dot(recurrent_kernel_t, h_t, gates[s])     # z = U.T @ h_{t-1}, all four gates
        _add_step(gates[s], xw, t)                    #   + kernel.T @ x_t + bias
        z = gates[s].reshape(H4 * N)
        i, f, g, o = _gate_blocks(z, HN)
        _activate_inplace(recurrent_activation, z[:2 * HN])   # i, f
        _activate_inplace(activation, g)
        _activate_inplace(recurrent_activation, o)
        c_t, a_t = c[now].reshape(HN), act_c[s].reshape(HN)
        _cell_update(f, c[prev].reshape(HN), i, g, c_t)       # c = f * c_prev + i * g
        _activate(activation, c_t, a_t)
        _mul(o, a_t, h_t.reshape(HN))                         # h = o * act(c)
        _store_step(h, t + 1, h_t)


@njit
def _backward_block(dh_seq, dh_last, dc_last, gates, c, act_c, recurrent_kernel,
                    activation, recurrent_activation, dz_all, dh_next, dc_next):
    """BPTT for one block; writes ``dz_all (4H, T, N)`` and leaves dL/dh_0, dL/dc_0 in
    ``dh_next, dc_next (H, N)``."""
    T, H4, N = gates.shape
    H = H4 // 4
    HN = H * N
    dtype = gates.dtype
    dz_t = np.empty((H4, N), dtype=dtype)
    dh = np.empty(HN, dtype=dtype)
    dc = np.empty(HN, dtype=dtype)
    dh_next[:] = dh_last
    dc_next[:] = dc_last
    dz = dz_t.reshape(H4 * N)
    dz_i, dz_f, dz_g, dz_o = _gate_blocks(dz, HN)
    for t in range(T - 1, -1, -1):
        z = gates[t].reshape(H4 * N)
        i, f, g, o = _gate_blocks(z, HN)
        a_t, c_prev = act_c[t].reshape(HN), c[t].reshape(HN)
        _add(dh_seq[t].reshape(HN), dh_next.reshape(HN), dh)
        _dc_total(dc_next.reshape(HN), dh, o, a_t, activation, dc)
        _gate_grad(dh, a_t, o, recurrent_activation, dz_o)
        _gate_grad(dc, g, i, recurrent_activation, dz_i)
        _gate_grad(dc, c_prev, f, recurrent_activation, dz_f)
        _gate_grad(dc, i, g, activation, dz_g)
        _mul(dc, f, dc_next.reshape(HN))
        np.dot(recurrent_kernel, dz_t, dh_next)      # dL/dh_{t-1} through all four gates
        _store_step(dz_all, t, dz_t)


# --- the sequence kernels: P blocks side by side -----------------------------------------------
@njit(parallel=True)
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
    xw = np.empty((P, H4, T, N), dtype=dtype)
    h = np.empty((P, H, T + 1, N), dtype=dtype)
    steps = T if keep else 1
    c = np.empty((P, T + 1 if keep else 2, H, N), dtype=dtype)
    gates = np.empty((P, steps, H4, N), dtype=dtype)
    act_c = np.empty((P, steps, H, N), dtype=dtype)
    for p in prange(P):
        _project(kernel_t, bias, x[p].reshape(D, T * N), xw[p].reshape(H4, T * N))
        _forward_block(xw[p], recurrent_kernel_t, h0[p], c0[p], activation,
                       recurrent_activation, h[p], c[p], gates[p], act_c[p], keep)
    return h, c, gates, act_c


@njit(parallel=True)
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
    dz_all = np.empty((P, H4, T, N), dtype=dtype)
    dh0 = np.empty((P, H, N), dtype=dtype)
    dc0 = np.empty((P, H, N), dtype=dtype)
    dweights = np.zeros((P, D + H, H4), dtype=dtype)   # [dkernel; drecurrent_kernel] per block
    dbias = np.zeros((P, H4), dtype=dtype)
    dx = np.zeros((P, D, T, N), dtype=dtype)
    for p in prange(P):
        _backward_block(dh_seq[p], dh_last[p], dc_last[p], gates[p], c[p], act_c[p],
                        recurrent_kernel, activation, recurrent_activation, dz_all[p],
                        dh0[p], dc0[p])
        dz = dz_all[p].reshape(H4, T * N)
        inputs = np.empty((D + H, T, N), dtype=dtype)        # [x_t; h_{t-1}] for every step
        inputs[:D] = x[p]
        inputs[D:] = h[p, :, :T, :]
        np.dot(inputs.reshape(D + H, T * N), dz.T, dweights[p])   # one product for both
        for j in range(H4):
            dbias[p, j] = dz[j].sum()
        if need_dx:
            np.dot(kernel, dz, dx[p].reshape(D, T * N))
    dweights_total = dweights.sum(axis=0)
    return (dweights_total[:D].copy(), dweights_total[D:].copy(), dbias.sum(axis=0), dx, dh0,
            dc0)
