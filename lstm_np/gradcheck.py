"""Finite-difference gradient checks, for the tests and for learners who want to see for
themselves that backpropagation through time is exact.

:func:`gradcheck` checks a whole model: every weight, the input ``x`` (``dx`` of the first
layer) and the initial states of its recurrent layers, and raises :class:`GradcheckError`
naming the worst entry when one is off (PyTorch's ``raise_exception=True``).
"""
import copy

import numpy as np


class GradcheckError(RuntimeError):
    """An analytic gradient that disagrees with finite differences; the message names the worst
    entry (as PyTorch's ``torch.autograd.gradcheck.GradcheckError``)."""


def numerical_gradient(f, array, eps=1e-4, indices=None):
    """Finite-difference gradient of the scalar function ``f()`` with respect to the entries of
    ``array`` (perturbed in place and restored), by the five-point central stencil::

        df/dw ≈ (-f(w + 2e) + 8 f(w + e) - 8 f(w - e) + f(w - 2e)) / 12e

    Its truncation error shrinks like ``e**4`` (plain central differences: ``e**2``), so a
    larger step can be used and rounding noise in ``f`` — divided by the step — stays small:
    with ``e = 1e-4`` in float64 both errors are far below 1e-8 of the gradient.

    ``indices`` (flat positions) limits the check to some entries; the others stay NaN.
    """
    grad = np.full(array.shape, np.nan)
    flat, gflat = array.reshape(-1), grad.reshape(-1)
    for k in range(flat.size) if indices is None else indices:
        old = flat[k]
        values = []
        for step in (2 * eps, eps, -eps, -2 * eps):
            flat[k] = old + step
            values.append(f())
        flat[k] = old
        gflat[k] = (-values[0] + 8 * values[1] - 8 * values[2] + values[3]) / (12 * eps)
    return grad


def _errors(analytic, numeric, floor, noise=1e-12):
    """Per entry ``|a - n| / max(|a|, |n|, s)`` (NaN where ``numeric`` is), ``s = max(floor *
    max|a|, noise)``."""
    scale = max(floor * float(np.max(np.abs(analytic), initial=0.0)), noise)
    with np.errstate(invalid="ignore"):
        return np.abs(analytic - numeric) / np.maximum(np.maximum(np.abs(analytic),
                                                                  np.abs(numeric)), scale)


def relative_error(analytic, numeric, floor=1e-3):
    """Largest ``|a - n| / max(|a|, |n|, s)`` over the entries, where the scale floor
    ``s = floor * max|a|`` keeps entries whose true gradient is essentially zero from turning
    rounding noise into a large ratio."""
    errors = _errors(np.asarray(analytic, float), np.asarray(numeric, float), floor)
    errors = errors[~np.isnan(numeric)]
    return float(errors.max()) if errors.size else 0.0


def _gradients(model, x, y, states):
    """Loss and every gradient: ``{path: dL/dweight}``, ``"x"`` and ``"<layer>/<state>0"``.
    Each recurrent layer starts from its entry of ``states`` (so its initial-state gradient is
    returned); dropout is off."""
    from .layers import RNN

    caches, out = [], x
    for layer in model.layers:
        kwargs = {"initial_state": states[layer.name]} if isinstance(layer, RNN) else {}
        out, cache = layer.forward(out, training=False, **kwargs)
        caches.append(cache)
    loss, dy = model._loss_or_mse.value_and_grad(y, out)    # the compiled loss, else MSE
    grads = {}
    for layer, cache in zip(reversed(model.layers), reversed(caches)):
        dy, layer_grads = layer.backward(dy, cache)
        grads.update({f"{layer.name}/{key}": g for key, g in layer_grads.items()})
        if isinstance(layer, RNN):
            dy, *dstates = dy
            grads.update({f"{layer.name}/{name}0": d
                          for name, d in zip(layer.state_names, dstates)})
    grads["x"] = dy
    return loss, grads


def gradcheck(model, x, y, eps=1e-4, max_entries=None, seed=0, dtype="float64", tolerance=None,
              raise_exception=True, check_inputs=True):
    """Compare a model's backward pass with finite differences of its loss.

    The model is copied (the original is untouched); dropout is off; the loss is the compiled
    one (MSE if the model is not compiled). Checked: every weight, and with ``check_inputs``
    the input ``x`` (``dx`` of the first layer) and the initial states of every recurrent
    layer, drawn non-zero with ``seed`` (inside a model they are zeros, which would hide a wrong
    state gradient).

    Parameters
    ----------
    max_entries : int, optional — check at most this many entries of each array, chosen at
        random with ``seed``; ``None`` (the default) checks every entry.
    dtype : "float64" (default) or "float32" — the precision of the analytic pass; the
        numerical one always runs in float64 on the same weights, so ``"float32"`` checks the
        float32 kernels against the exact gradient.
    tolerance : float, optional — the largest relative error allowed (default 1e-6 in float64,
        1e-3 in float32: float32 keeps about 7 digits, and the sums over the batch and the
        sequence lose some; small LSTM and GRU stacks measured up to 1.3e-4).
    raise_exception : bool — raise :class:`GradcheckError` naming the worst entry when an
        error exceeds ``tolerance`` (PyTorch's default); ``False`` only returns the errors.

    Returns
    -------
    dict : path -> largest relative error: the weights (``"lstm/kernel"``) in model order, then
    ``"x"`` and the initial states (``"lstm/h0"``).

    >>> import numpy as np
    >>> from lstm_np import Sequential, LSTM, Dense, gradcheck
    >>> model = Sequential([LSTM(4, input_shape=(5, 2)), Dense(1)], seed=0)
    >>> rng = np.random.default_rng(1)
    >>> errors = gradcheck(model, rng.normal(size=(3, 5, 2)), rng.normal(size=(3, 1)))
    >>> max(errors.values()) < 1e-6
    True
    """
    from .layers import RNN

    if dtype not in ("float64", "float32"):
        raise ValueError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
    tolerance = (1e-6 if dtype == "float64" else 1e-3) if tolerance is None else tolerance
    model64 = _copy(model, "float64")
    x, y = model64._check_data(x, y)       # float64, shapes checked (a 1-D y for one output)
    rng = np.random.default_rng(seed)
    recurrent = [layer for layer in model64.layers if isinstance(layer, RNN)]
    states = {layer.name: [rng.normal(scale=0.5, size=(len(x), size))
                           for size in layer.state_sizes] if check_inputs else None
              for layer in recurrent}
    analytic_model = model64 if dtype == "float64" else _copy(model, "float32")
    cast = (lambda a: a) if dtype == "float64" else (lambda a: np.asarray(a, np.float32))
    _, grads = _gradients(analytic_model, cast(x), cast(y),
                          {name: s and [cast(a) for a in s] for name, s in states.items()})

    arrays = dict(model64.params)
    if check_inputs:
        arrays["x"] = x
        for layer in recurrent:
            arrays.update({f"{layer.name}/{name}0": s
                           for name, s in zip(layer.state_names, states[layer.name])})

    def loss():
        return _gradients_free_loss(model64, x, y, states)

    # Rounding in the loss gives finite differences an absolute noise of about 1e-12 of the
    # gradients' scale; an array whose whole gradient is that small (the initial state of a long
    # sequence) is compared on that scale, not on its own.
    noise = 1e-6 * max(float(np.max(np.abs(g), initial=0.0)) for g in grads.values())
    errors, worst = {}, None
    for path, array in arrays.items():
        idx = None
        if max_entries is not None and array.size > max_entries:
            idx = rng.choice(array.size, size=max_entries, replace=False)
        numeric = numerical_gradient(loss, array, eps, idx)
        analytic = np.asarray(grads[path], np.float64)
        per_entry = _errors(analytic, numeric, 1e-3, noise)
        per_entry[np.isnan(numeric)] = -1.0
        k = int(np.argmax(per_entry))
        errors[path] = max(float(per_entry.reshape(-1)[k]), 0.0)
        if worst is None or errors[path] > worst[0]:
            worst = (errors[path], path, np.unravel_index(k, array.shape),
                     analytic.reshape(-1)[k], numeric.reshape(-1)[k])
    if raise_exception and worst is not None and worst[0] > tolerance:
        error, path, index, a, n = worst
        where = "[" + ", ".join(str(int(i)) for i in index) + "]"
        raise GradcheckError(f"gradcheck failed: {path}{where} has the analytic gradient {a:.6g} "
                             f"but finite differences give {n:.6g} (relative error {error:.2g} > "
                             f"tolerance {tolerance:g})")
    return errors


def _gradients_free_loss(model, x, y, states):
    """The loss of :func:`_gradients`, without caches."""
    from .layers import RNN

    out = x
    for layer in model.layers:
        kwargs = {"initial_state": states[layer.name]} if isinstance(layer, RNN) else {}
        out = layer.forward(out, training=False, **kwargs)[0]
    return model._loss_or_mse.value_and_grad(y, out)[0]


def _copy(model, dtype):
    """A deep copy of ``model`` in ``dtype`` (a copy through its config would need every cell
    registered; a learner checks a cell before registering it)."""
    clone = copy.deepcopy(model)
    clone.dtype = np.dtype(dtype)
    for layer in clone.layers:
        layer.cast(dtype)
    return clone
