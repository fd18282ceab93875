"""Compiled loops: ``@njit`` functions on arrays only — no classes, no globals.

Each recurrent module ends in two plain functions, ``*_forward_sequence`` and
``*_backward_sequence``, that allocate the outputs and hand the blocks of the batch to the
compiled per-block kernels, side by side on a few threads (:func:`lstm_np._runtime.run_blocks`).

The readable NumPy versions of the same math live beside each layer in ``lstm_np.layers``;
the tests prove the two paths agree.
"""
