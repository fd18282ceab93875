"""Gated recurrent unit: the readable cell, and the layer that runs it over time.

The readable cell (:func:`gru_cell_forward`, :func:`gru_cell_backward`) is the math a learner
reads beside the equations; :class:`GRU` runs it step by step with ``implementation="numpy"``,
or runs the same math through the compiled kernels of :mod:`lstm_np.kernels.gru` (the default).
What the three recurrent layers share is in :mod:`.recurrent`.
"""
from typing import NamedTuple

import numpy as np

from ..activations import CODES, DERIVATIVES, FUNCTIONS
from ..gates import GRU_GATES, gate_slice, split_gates
from ..kernels.gru import gru_backward_sequence, gru_forward_sequence
from . import schema
from .cells import KerasCell, flag
from .registry import register
from .recurrent import FEATURES_FIRST, STEPS_FIRST, Recurrent, from_kernel


# --------------------------------------------------------------------------------------------
# The readable cell: one timestep, forward and backward, in plain NumPy.
# --------------------------------------------------------------------------------------------
class GRUCellCache(NamedTuple):
    x_t: np.ndarray
    h_prev: np.ndarray
    recurrent_mask: object       # (N, H) recurrent dropout mask, or None
    z: np.ndarray
    r: np.ndarray
    hh: np.ndarray
    recurrent_h: np.ndarray      # reset_after: h_{t-1} @ U_h + b'_h; else (r * h_{t-1}) @ U_h
    h: np.ndarray


def gru_cell_forward(x_t, h_prev, kernel, recurrent_kernel, bias, activation="tanh",
                     recurrent_activation="sigmoid", recurrent_mask=None, reset_after=True):
    """One GRU step, line for line the equations of :class:`GRU`: ``sigma`` and ``tanh`` are
    the functions named by ``recurrent_activation`` and ``activation`` (Keras's defaults: the
    logistic sigmoid and tanh).

    ``x_t (N, D)``, ``h_prev (N, H)``, ``kernel (D, 3H)``, ``recurrent_kernel (H, 3H)``,
    ``bias (2, 3H)`` (input bias, recurrent bias) — with ``reset_after=False``, ``bias (3H,)``
    and the reset gate scales ``h_prev`` before its product with ``U_h``. ``recurrent_mask
    (N, H)`` (recurrent dropout) multiplies ``h_prev`` where it enters the products, not in the
    last line (as in Keras). Returns ``h (N, H)`` and the cache for the backward step.
    """
    sigma, tanh = FUNCTIONS[recurrent_activation], FUNCTIONS[activation]
    h_in = h_prev if recurrent_mask is None else h_prev * recurrent_mask
    H = h_prev.shape[-1]
    if reset_after:
        xw_z, xw_r, xw_h = split_gates(x_t @ kernel + bias[0], GRU_GATES)            # (N, H) each
        hu_z, hu_r, recurrent_h = split_gates(h_in @ recurrent_kernel + bias[1], GRU_GATES)
    else:
        xw_z, xw_r, xw_h = split_gates(x_t @ kernel + bias, GRU_GATES)
        hu_z, hu_r = split_gates(h_in @ recurrent_kernel[:, :2 * H], GRU_GATES[:2])
    z = sigma(xw_z + hu_z)            # update gate: how much of the old state to keep
    r = sigma(xw_r + hu_r)            # reset gate: how much of the old state the candidate sees
    if reset_after:
        hh = tanh(xw_h + r * recurrent_h)      # candidate state h̃ (Keras's "hh")
    else:
        recurrent_h = (r * h_in) @ recurrent_kernel[:, gate_slice("h", H, GRU_GATES)]
        hh = tanh(xw_h + recurrent_h)
    h = z * h_prev + (1 - z) * hh
    return h, GRUCellCache(x_t, h_prev, recurrent_mask, z, r, hh, recurrent_h, h)


def gru_cell_backward(dh, cache, kernel, recurrent_kernel, activation="tanh",
                      recurrent_activation="sigmoid", reset_after=True):
    """Backward through one step: the chain rule applied to the four forward equations.

    ``dh`` is dL/dh_t (from the output and from step t+1). Returns ``dx_t, dh_prev`` and the
    step's contribution to ``dkernel, drecurrent_kernel, dbias``.
    """
    dsigma, dtanh = DERIVATIVES[recurrent_activation], DERIVATIVES[activation]
    x_t, h_prev, mask, z, r, hh, recurrent_h, h = cache
    h_in = h_prev if mask is None else h_prev * mask
    dz, dhh = dh * (h_prev - hh), dh * (1 - z)      # h = z * h_prev + (1 - z) * hh
    da_h = dhh * dtanh(hh)                           # through tanh
    da_z = dz * dsigma(z)                            # through σ
    if reset_after:
        da_r = da_h * recurrent_h * dsigma(r)        # hh = tanh(.. + r * recurrent_h), then σ
        dxw = np.concatenate([da_z, da_r, da_h], axis=-1)       # (N, 3H) at x_t @ kernel + b
        dhu = np.concatenate([da_z, da_r, da_h * r], axis=-1)   # (N, 3H) at h_in @ U + b'
        dh_in = dhu @ recurrent_kernel.T
        drecurrent_kernel = h_in.T @ dhu
        dbias = np.stack([dxw.sum(axis=0), dhu.sum(axis=0)])
    else:
        U_zr, U_h = recurrent_kernel[:, :2 * z.shape[-1]], recurrent_kernel[:, 2 * z.shape[-1]:]
        drh = da_h @ U_h.T                           # at r * h_in, the input of U_h
        da_r = drh * h_in * dsigma(r)
        dxw = np.concatenate([da_z, da_r, da_h], axis=-1)       # (N, 3H) at x_t @ kernel + b
        dh_in = np.concatenate([da_z, da_r], axis=-1) @ U_zr.T + drh * r
        drecurrent_kernel = np.concatenate([h_in.T @ np.concatenate([da_z, da_r], axis=-1),
                                            (r * h_in).T @ da_h], axis=-1)
        dbias = dxw.sum(axis=0)
    dh_prev = dh * z + (dh_in if mask is None else dh_in * mask)
    return dxw @ kernel.T, dh_prev, (x_t.T @ dxw, drecurrent_kernel, dbias)


@register
class GRUCell(KerasCell):
    """One GRU step as a cell for :class:`.RNN` (Keras's ``GRUCell``): the equations of
    :class:`GRU`, computed by :func:`gru_cell_forward` and :func:`gru_cell_backward`. The state
    and the output are ``h``. Weights and options are those of :class:`GRU`."""

    gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 reset_after=True, **options):
        super().__init__(units, activation, recurrent_activation, use_bias, **options)
        self.reset_after = flag("reset_after", reset_after)

    def bias_shape(self):
        # reset_after: the input bias b and the recurrent bias b'; else one bias
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def forward(self, inputs, states, training=False, recurrent_mask=None):
        h, cache = gru_cell_forward(inputs, *states, *self.weight_arrays(), self.activation,
                                    self.recurrent_activation, recurrent_mask, self.reset_after)
        return h, [h], cache

    def backward(self, d_output, d_states, cache):
        dx_t, dh_prev, dweights = gru_cell_backward(
            d_output + d_states[0], cache, *self.weight_arrays()[:2], self.activation,
            self.recurrent_activation, self.reset_after)
        return dx_t, [dh_prev], self.named(dweights)


# --------------------------------------------------------------------------------------------
# The layer.
# --------------------------------------------------------------------------------------------
class GRUCache(NamedTuple):
    """The compiled path's cache, in the kernels' layouts (see :mod:`.recurrent`)."""
    x: np.ndarray             # (P, D, T, B) the input
    h: np.ndarray             # (P, H, T + 1, B), h[:, :, 0] is the initial state
    gates: np.ndarray         # (P, T, 3H, B) activated z, r, h̃
    recurrent_h: np.ndarray   # (P, T, H, B) h_{t-1} @ U_h + b'_h
    sizes: tuple              # (N, T, D, H)
    has_initial_state: bool

    def batch_major(self):
        """The cache as batch-first arrays ``(N, T, H)``: ``z, r, hh`` (h̃), ``recurrent_h``
        and ``h`` (without the initial state), for learners and plots."""
        n = self.sizes[0]
        gates = split_gates(from_kernel(self.gates, STEPS_FIRST, n), GRU_GATES)
        record = dict(zip(("z", "r", "hh"), gates))
        record["recurrent_h"] = from_kernel(self.recurrent_h, STEPS_FIRST, n)
        record["h"] = from_kernel(self.h, FEATURES_FIRST, n, steps=slice(1, None))
        return record


@register(kind="gru")
class GRU(Recurrent):
    """Gated recurrent unit (Cho et al., 2014), Keras's flavour (``reset_after=True`` by default).

    For each timestep ``t`` with input ``x_t`` and previous state ``h_{t-1}``::

        z   = σ(x_t @ W_z + b_z + h_{t-1} @ U_z + b'_z)          update gate
        r   = σ(x_t @ W_r + b_r + h_{t-1} @ U_r + b'_r)          reset gate
        h̃   = tanh(x_t @ W_h + b_h + r * (h_{t-1} @ U_h + b'_h))  candidate state
        h_t = z * h_{t-1} + (1 - z) * h̃

    σ is ``recurrent_activation`` (default the logistic sigmoid) and tanh is ``activation``;
    ``W = kernel``, ``U = recurrent_kernel``, ``b = bias[0]``, ``b' = bias[1]``. This is also
    PyTorch's ``nn.GRU`` (whose ``n`` is our ``h̃`` and whose block order is r, z, n).
    Shapes: N batch, T timesteps, D input features, H = ``units``. Input ``(N, T, D)``; output
    ``(N, T, H)`` if ``return_sequences`` else ``(N, H)``; the state is ``h``.

    Weights (Keras's layout, blocks ``z, r, h`` along the last axis)
    ---------------------------------------------------------------
    kernel : (D, 3H), ``glorot_uniform`` over the whole matrix.
    recurrent_kernel : (H, 3H), one ``orthogonal`` matrix.
    bias : (2, 3H), zeros — row 0 the input bias ``b``, row 1 the recurrent bias ``b'``.

    With ``reset_after=False`` (the original GRU, Keras's other convention) the reset gate
    scales the state *before* its product with ``U_h``, and there is one bias ``(3H,)``::

        h̃   = tanh(x_t @ W_h + b_h + (r * h_{t-1}) @ U_h)       (z and r without b')

    Its weights are ``kernel (D, 3H)``, ``recurrent_kernel (H, 3H)``, ``bias (3H,)``; the
    compiled kernels compute only ``reset_after=True``, so this variant always runs the
    readable cell (``implementation`` is kept but changes nothing).

    Parameters
    ----------
    recurrent_activation : str — σ above.
    reset_after : bool — see above.
    The others are every recurrent layer's (:class:`.Recurrent`). ``GRU(...)`` computes what
    ``RNN(GRUCell(...))`` computes.

    Examples
    --------
    >>> from lstm_np import Dense, GRU, Sequential
    >>> model = Sequential([GRU(5, input_shape=(4, 3)), Dense(1)], seed=0)
    >>> model.count_params()       # 3H (D + H) + 6H for the GRU, H + 1 for the Dense
    156
    """

    kind = "gru"
    config_checks = {"recurrent_activation": schema.activation, "reset_after": schema.boolean}
    keras_options = Recurrent.keras_options + ("recurrent_activation", "reset_after")
    gate_names = GRU_GATES
    torch_gates = ("r", "z", "h")    # nn.GRU's r, z, n, with our name h for its candidate n
    torch_module = "GRU"
    cell_class = GRUCell
    KernelCache = GRUCache

    @property
    def has_kernel(self):
        return self.reset_after         # the compiled kernels compute reset_after=True

    def torch_weights(self):
        if not self.reset_after:
            raise ValueError("has reset_after=False, which PyTorch's nn.GRU does not compute "
                             "(it applies the reset gate after the recurrent product, as "
                             "reset_after=True does)")
        return super().torch_weights()

    def torch_biases(self, bias):
        """Row 0 of ``bias (2, 3H)`` is torch's input bias, row 1 its recurrent one."""
        return bias[0], bias[1]

    def bias_from_torch(self, bias_ih, bias_hh):
        return np.stack([bias_ih, bias_hh])

    def kernel_forward(self, x, states, weights, keep_cache):
        kernel, recurrent_kernel, bias = weights
        H = self.units
        # b' of z and r joins the same sum as b, so it rides along with the input projection;
        # b'_h stays apart, since the reset gate scales it
        input_bias = bias[0].copy()
        for gate in ("z", "r"):
            input_bias[gate_slice(gate, H, GRU_GATES)] += bias[1, gate_slice(gate, H, GRU_GATES)]
        recurrent_bias_h = np.ascontiguousarray(bias[1, gate_slice("h", H, GRU_GATES)])
        h, gates, recurrent_h = gru_forward_sequence(
            x, np.ascontiguousarray(kernel.T), input_bias,
            np.ascontiguousarray(recurrent_kernel.T), recurrent_bias_h, *states,
            CODES[self.activation], CODES[self.recurrent_activation], keep_cache)
        return (h, gates, recurrent_h), []

    def kernel_backward(self, dh_seq, dstates, cache, weights, need_dx):
        dkernel, drecurrent_kernel, dbias, dx, dh0 = gru_backward_sequence(
            dh_seq, *dstates, cache.x, cache.h, cache.gates, cache.recurrent_h, *weights[:2],
            CODES[self.activation], CODES[self.recurrent_activation], need_dx)
        return (dkernel, drecurrent_kernel, dbias), dx, [dh0]
