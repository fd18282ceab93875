"""Finite-difference gradient checks, for the tests and for learners who want to see for
themselves that backpropagation through time is exact."""
import numpy as np


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


def relative_error(analytic, numeric, floor=1e-3):
    """Largest ``|a - n| / max(|a|, |n|, s)`` over the entries, where the scale floor
    ``s = floor * max|a|`` keeps entries whose true gradient is essentially zero from turning
    rounding noise into a large ratio."""
    mask = ~np.isnan(numeric)
    a, n = analytic[mask], numeric[mask]
    if a.size == 0:
        return 0.0
    scale = max(floor * np.max(np.abs(analytic)), 1e-12)
    return float(np.max(np.abs(a - n) / np.maximum(np.maximum(np.abs(a), np.abs(n)), scale)))


def gradcheck(model, x, y, eps=1e-4, max_entries=64, seed=0):
    """Compare ``model.compute_gradients`` with finite differences, in float64.

    The model is copied to float64 (the original is untouched); dropout is off; the loss is
    the compiled one (MSE if the model is not compiled). For each parameter at most
    ``max_entries`` entries, chosen at random with ``seed``, are checked.

    Returns
    -------
    dict : parameter path (``"lstm/kernel"``) -> largest relative error. Below ~1e-6 means the
    analytic gradient is right.

    >>> import numpy as np
    >>> from lstm_np import Sequential, LSTM, Dense, gradcheck
    >>> model = Sequential([LSTM(4, input_shape=(5, 2)), Dense(1)], seed=0)
    >>> rng = np.random.default_rng(1)
    >>> errors = gradcheck(model, rng.normal(size=(3, 5, 2)), rng.normal(size=(3, 1)))
    >>> max(errors.values()) < 1e-6
    True
    """
    model64 = model.copy(dtype="float64")
    x, y = model64._check_data(x, y)       # float64, shapes checked (a 1-D y for one output)
    _, grads = model64.compute_gradients(x, y)
    rng = np.random.default_rng(seed)

    errors = {}
    for (path, w), g in zip(model64.params.items(), grads):
        idx = None
        if max_entries is not None and w.size > max_entries:
            idx = rng.choice(w.size, size=max_entries, replace=False)
        numeric = numerical_gradient(lambda: model64._loss_only(x, y), w, eps, idx)
        errors[path] = relative_error(g, numeric)
    return errors
