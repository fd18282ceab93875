"""Compiled loops: ``@njit`` functions on arrays only — no classes, no globals.

The readable NumPy versions of the same math live beside each layer in ``lstm_np.layers``;
the tests prove the two paths agree.
"""
