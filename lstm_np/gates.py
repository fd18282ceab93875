"""The one place that names the order of the LSTM gate blocks.

Keras and PyTorch both lay the four gates out side by side along the last axis of the
kernel, the recurrent kernel and the bias, in the order input, forget, cell candidate,
output. Every other module slices through :func:`gate_slice` instead of writing
``2*H:3*H`` by hand.
"""
LSTM_GATES = ("i", "f", "g", "o")  # input, forget, cell candidate (Keras calls it "c"), output
I, F, G, O = range(4)


def gate_slice(gate, units):
    """Columns of gate ``gate`` (an index 0..3 or a name in ``LSTM_GATES``) in a ``(.., 4H)`` array."""
    k = LSTM_GATES.index(gate) if isinstance(gate, str) else int(gate)
    return slice(k * units, (k + 1) * units)


def split_gates(z):
    """Split ``z`` of shape ``(..., 4H)`` into its four ``(..., H)`` blocks ``i, f, g, o``."""
    units = z.shape[-1] // 4
    return tuple(z[..., gate_slice(k, units)] for k in range(4))
