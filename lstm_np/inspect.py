"""Look inside a trained LSTM: what its gates do, and how the gradient flows back through time.

Both functions read what the layers already compute — the caches of
:meth:`lstm_np.layers.lstm.LSTM.forward` (through their ``batch_major()``) and the readable cell
:func:`lstm_np.layers.lstm.lstm_cell_forward` / ``lstm_cell_backward`` that the layer runs with
``implementation="numpy"`` — so there is no second implementation of the math to drift out of
date. Nothing here is exported from :mod:`lstm_np`; import it directly::

    from lstm_np.inspect import trace, cell_gradient_norms
"""
import numpy as np

from .layers.lstm import LSTM, lstm_cell_backward, lstm_cell_forward

__all__ = ["trace", "cell_gradient_norms"]


def trace(model, x):
    """Record every LSTM layer's gates and states for the inputs ``x`` (inference, dropout off).

    Parameters
    ----------
    model : Sequential
    x : array_like, shape (N, T, D)

    Returns
    -------
    list of dict
        One dict per :class:`~lstm_np.layers.lstm.LSTM` layer, in model order, with the arrays
        ``i, f, g, o`` (activated gates), ``c`` (cell state ``c_t``) and ``h`` (output
        ``h_t``), each shaped ``(N, T, H)`` — batch first, ``[:, t]`` is step ``t``. The
        initial state (zeros inside a ``Sequential``) is not included, so
        ``c[:, t] = f[:, t] * c[:, t - 1] + i[:, t] * g[:, t]`` with ``c[:, -1]`` read as 0.

    Examples
    --------
    >>> import numpy as np
    >>> from lstm_np import Sequential, LSTM, Dense
    >>> model = Sequential([LSTM(5, input_shape=(4, 3)), Dense(1)], seed=0)
    >>> [layer["f"].shape for layer in trace(model, np.ones((2, 4, 3)))]
    [(2, 4, 5)]
    """
    _, caches = model.forward(model._check_input(x), training=False)
    return [{name: np.ascontiguousarray(array) for name, array in cache.batch_major().items()}
            for layer, cache in zip(model.layers, caches) if isinstance(layer, LSTM)]


def cell_gradient_norms(layer, x, dy_last=None, initial_state=None):
    """‖dL/dc_t‖ for every timestep: how far back the gradient of a loss on the last output
    reaches through the cell state.

    The loss is ``L = Σ dy_last * h_T`` (the last output of the layer). Stepping the
    readable cell over ``x``, then :func:`~lstm_np.layers.lstm.lstm_cell_backward` back over
    its caches (what the layer does with ``implementation="numpy"``), gives at each step
    ``dc_prev = dc * f``: the gradient with respect to the cell state ``c_t`` that the rest of
    the sequence receives. Along this path the gradient is multiplied by the
    forget gate once per step, so ``f`` near 1 carries it far and ``f`` near 0.5 lets it fade
    (the "constant error carousel" of Hochreiter & Schmidhuber, 1997; hence the forget-gate
    bias of 1 of Jozefowicz et al., 2015).

    Parameters
    ----------
    layer : LSTM
        A built layer, with any activations; ``return_sequences`` may be either.
    x : array_like, shape (N, T, D)
    dy_last : array_like, shape (N, H), optional
        dL/dh_T; default ones.
    initial_state : [h0, c0], optional
        Each ``(N, H)``; default zeros.

    Returns
    -------
    ndarray, shape (T,)
        Entry ``t`` is the norm over batch and units of ``dL/dc_t``, the gradient at the cell
        state that enters step ``t + 1`` (``t = 0`` is the initial state ``c_0``; its gradient
        equals the ``dc0`` that :meth:`LSTM.backward` returns). Equivalently: run the layer
        on ``x[:, t:]`` from the state ``(h_t, c_t)`` and take the norm of ``dc0``.

    Examples
    --------
    >>> import numpy as np
    >>> from lstm_np import LSTM
    >>> layer = LSTM(5)
    >>> layer.build((20, 1), np.random.default_rng(0), "float64")
    >>> norms = cell_gradient_norms(layer, np.ones((2, 20, 1)))
    >>> norms.shape, bool(norms[0] < norms[-1])
    ((20,), True)
    """
    x = np.asarray(x, dtype=layer.params["kernel"].dtype)
    N, T, _ = x.shape
    H = layer.units
    if initial_state is None:
        initial_state = [np.zeros((N, H), x.dtype), np.zeros((N, H), x.dtype)]
    h, c = (np.asarray(s, dtype=x.dtype) for s in initial_state)
    kernel, recurrent_kernel = layer.params["kernel"], layer.params["recurrent_kernel"]
    bias = layer.params.get("bias", np.zeros(4 * H, x.dtype))
    activations = layer.activation, layer.recurrent_activation
    steps = []
    for t in range(T):                                # forward: the cell's cache at every step
        h, c, step = lstm_cell_forward(x[:, t], h, c, kernel, recurrent_kernel, bias, *activations)
        steps.append(step)
    dh = np.array(np.broadcast_to(1.0 if dy_last is None else dy_last, (N, H)), dtype=x.dtype)
    dc = np.zeros((N, H), x.dtype)                    # nothing flows into c_T from after the end
    norms = np.empty(T)
    for t in range(T - 1, -1, -1):
        _, dh, dc, _ = lstm_cell_backward(dh, dc, steps[t], kernel, recurrent_kernel, *activations)
        norms[t] = np.linalg.norm(dc)                 # dL/dc_t, t = 0 the initial state
    return norms
