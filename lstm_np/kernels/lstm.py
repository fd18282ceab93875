"""The LSTM over a whole sequence, forward and backward through time, compiled by Numba.

Same math as :func:`lstm_np.layers.lstm.lstm_cell_forward` / ``lstm_cell_backward``, arranged
for speed:

* **unit-major arrays.** Inside the kernels a step's gates are stored as ``(4H, N)`` — units
  along the rows, the batch along the columns — so each gate block ``i, f, g, o`` is one
  contiguous run of ``H*N`` numbers. The gate math then runs as a few long, branch-free loops
  that LLVM compiles to SIMD code (short per-row loops of ``H`` would not be);
* the input projection ``kernel.T @ x_t + bias`` of every timestep arrives precomputed as one
  ``(4H, T, N)`` array (one large matrix product instead of T small ones);
* each step does one fused ``(4H, H) @ (H, N)`` product for all four gates into preallocated
  memory (``np.dot(a, b, out)``); nothing else is allocated inside the time loop;
* the backward kernel returns every step's ``dz`` as one ``(4H, T, N)`` array, so the caller forms
  ``dkernel``, ``drecurrent_kernel`` and ``dx`` as single products over all timesteps.

The elementwise helpers take distinct input and output arrays (or work in place on one): when
two arguments may overlap, LLVM guards the vector loop with a runtime check and falls back to
scalar code, which is four times slower.
"""
import numpy as np

from .._jit import njit
from .activations import activate, derivative


# --- elementwise pieces, each a single straight loop -------------------------------------------
@njit
def _activate_inplace(code, a):
    for k in range(a.shape[0]):
        a[k] = activate(code, a[k])


@njit
def _add_inplace(a, b):
    for k in range(a.shape[0]):
        a[k] += b[k]


@njit
def _activate(code, a, out):
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
    """dc = dc_next + dh * o * act'(c)."""
    for k in range(dc.shape[0]):
        dc[k] = dc_next[k] + dh[k] * o[k] * derivative(activation, act_c[k])


@njit
def _gate_grad(upstream, other, gate, code, dz):
    """dz = upstream * other * act'(gate), the gradient at one gate's pre-activation."""
    for k in range(dz.shape[0]):
        dz[k] = upstream[k] * other[k] * derivative(code, gate[k])


# --- the sequence kernels ----------------------------------------------------------------------
@njit
def lstm_forward_sequence(xw, recurrent_kernel_t, h0, c0, activation, recurrent_activation):
    """Run the LSTM over ``T`` steps.

    Parameters
    ----------
    xw : (4H, T, N) — ``kernel.T @ x_t + bias`` for every step.
    recurrent_kernel_t : (4H, H) — the transposed recurrent kernel, gate blocks ``i, f, g, o``.
    h0, c0 : (H, N) — initial hidden and cell state.
    activation, recurrent_activation : int codes (see ``lstm_np.activations.CODES``).

    Returns
    -------
    h : (H, T + 1, N) — ``h[:, 0] = h0``, ``h[:, t + 1] = h_t``.
    c : (T + 1, H, N) — ``c[0] = c0``, ``c[t + 1] = c_t``.
    gates : (T, 4H, N) — the activated gates ``i, f, g, o`` of every step.
    act_c : (T, H, N) — ``activation(c_t)``, kept for the backward pass.
    """
    H4, T, N = xw.shape
    H = H4 // 4
    HN = H * N
    h = np.empty((H, T + 1, N), dtype=xw.dtype)
    c = np.empty((T + 1, H, N), dtype=xw.dtype)
    gates = np.empty((T, H4, N), dtype=xw.dtype)
    act_c = np.empty((T, H, N), dtype=xw.dtype)
    h_t = h0.copy()                                   # (H, N), contiguous for the product
    h[:, 0, :] = h0
    c[0] = c0
    for t in range(T):
        np.dot(recurrent_kernel_t, h_t, gates[t])     # z = U.T @ h_{t-1}, all four gates
        for j in range(H4):                           #   + kernel.T @ x_t + bias
            _add_inplace(gates[t, j], xw[j, t])
        z = gates[t].reshape(H4 * N)
        i, f, g, o = z[:HN], z[HN:2 * HN], z[2 * HN:3 * HN], z[3 * HN:]
        _activate_inplace(recurrent_activation, z[:2 * HN])   # i, f
        _activate_inplace(activation, g)
        _activate_inplace(recurrent_activation, o)
        c_t, a_t = c[t + 1].reshape(HN), act_c[t].reshape(HN)
        _cell_update(f, c[t].reshape(HN), i, g, c_t)          # c = f * c_prev + i * g
        _activate(activation, c_t, a_t)
        _mul(o, a_t, h_t.reshape(HN))                         # h = o * act(c)
        for j in range(H):
            h[j, t + 1] = h_t[j]
    return h, c, gates, act_c


@njit
def lstm_backward_sequence(dh_seq, dh_last, dc_last, gates, c, act_c, recurrent_kernel,
                           activation, recurrent_activation):
    """Backpropagation through time.

    With ``dh = dh_seq[t] + dh_next`` (the loss's own gradient at ``h_t`` plus what flows back
    from step ``t + 1``), the chain rule through ``h_t = o * act(c_t)`` and
    ``c_t = f * c_{t-1} + i * g`` gives::

        dc   = dc_next + dh * o * act'(c_t)
        dz_i = dc * g * σ'(i)        dz_f = dc * c_{t-1} * σ'(f)
        dz_g = dc * i * act'(g)      dz_o = dh * act(c_t) * σ'(o)      (σ = recurrent_activation)
        dc_next = dc * f             dh_next = recurrent_kernel @ dz

    Parameters
    ----------
    dh_seq : (T, H, N) — dL/dh_t from above (zeros except the last step when the layer
        returns only its last output).
    dh_last, dc_last : (H, N) — extra gradient on the final state ``h_T`` and ``c_T``.
    gates, c, act_c : the forward caches (see :func:`lstm_forward_sequence`).
    recurrent_kernel : (H, 4H).

    Returns
    -------
    dz : (4H, T, N) — gradient at the gate pre-activations of every step.
    dh0, dc0 : (H, N) — gradient at the initial state.
    """
    T, H4, N = gates.shape
    H = H4 // 4
    HN = H * N
    dtype = gates.dtype
    dz_all = np.empty((H4, T, N), dtype=dtype)
    dz_t = np.empty((H4, N), dtype=dtype)
    dh = np.empty(HN, dtype=dtype)
    dc = np.empty(HN, dtype=dtype)
    dh_next = dh_last.copy()
    dc_next = dc_last.copy()
    dz = dz_t.reshape(H4 * N)
    dz_i, dz_f, dz_g, dz_o = dz[:HN], dz[HN:2 * HN], dz[2 * HN:3 * HN], dz[3 * HN:]
    for t in range(T - 1, -1, -1):
        z = gates[t].reshape(H4 * N)
        i, f, g, o = z[:HN], z[HN:2 * HN], z[2 * HN:3 * HN], z[3 * HN:]
        a_t, c_prev = act_c[t].reshape(HN), c[t].reshape(HN)
        _add(dh_seq[t].reshape(HN), dh_next.reshape(HN), dh)
        _dc_total(dc_next.reshape(HN), dh, o, a_t, activation, dc)
        _gate_grad(dh, a_t, o, recurrent_activation, dz_o)
        _gate_grad(dc, g, i, recurrent_activation, dz_i)
        _gate_grad(dc, c_prev, f, recurrent_activation, dz_f)
        _gate_grad(dc, i, g, activation, dz_g)
        _mul(dc, f, dc_next.reshape(HN))
        np.dot(recurrent_kernel, dz_t, dh_next)      # dL/dh_{t-1} through all four gates
        dz_all[:, t, :] = dz_t
    return dz_all, dh_next, dc_next
