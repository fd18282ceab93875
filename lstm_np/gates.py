"""The one place that names the order of the gate blocks of the LSTM and the GRU.

Keras and PyTorch both lay the four LSTM gates out side by side along the last axis of the
kernel, the recurrent kernel and the bias, in the order input, forget, cell candidate,
output. Keras's GRU lays out its three blocks as update, reset, candidate (PyTorch's order is
r, z, n — :mod:`lstm_np` follows Keras). Every other module slices through :func:`gate_slice`
instead of writing ``2*H:3*H`` by hand.
"""
import numpy as np

LSTM_GATES = ("i", "f", "g", "o")  # input, forget, cell candidate (Keras calls it "c"), output
I, F, G, O = range(4)

GRU_GATES = ("z", "r", "h")  # update, reset, candidate state h̃ (PyTorch calls it "n")
UPDATE, RESET, CANDIDATE = range(3)  # block indices, for the kernels (offset = index * H)


def gate_slice(gate, units, order=LSTM_GATES):
    """Columns of gate ``gate`` (an index or a name in ``order``) in a ``(.., len(order) * H)``
    array; ``order`` is ``LSTM_GATES`` (the default) or ``GRU_GATES``."""
    k = order.index(gate) if isinstance(gate, str) else int(gate)
    return slice(k * units, (k + 1) * units)


def regate(a, src, dst):
    """``a`` with its gate blocks along the last axis reordered from order ``src`` to ``dst``
    (two orders of the same names, e.g. Keras's GRU ``z, r, h`` and PyTorch's ``r, z, h``)."""
    units = a.shape[-1] // len(src)
    return np.concatenate([a[..., gate_slice(g, units, src)] for g in dst], axis=-1)


def split_gates(z, order=LSTM_GATES):
    """Split ``z`` of shape ``(..., len(order) * H)`` into its ``(..., H)`` blocks, in ``order``
    (``i, f, g, o`` by default; ``z, r, h`` with ``GRU_GATES``)."""
    units = z.shape[-1] // len(order)
    return tuple(z[..., gate_slice(k, units)] for k in range(len(order)))
