"""Optimizers. Their state lives here, keyed by parameter path (``"lstm/kernel"``)."""
import math

import numpy as np

from ._jit import njit


class Optimizer:
    def __init__(self, learning_rate):
        if not learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, got {learning_rate!r}")
        self.learning_rate = float(learning_rate)
        self.iterations = 0

    def apply_gradients(self, params, grads):
        """Update every array of ``params`` (dict path -> array) in place."""
        self.iterations += 1
        for path, grad in grads.items():
            self._update(path, params[path], grad)

    def get_config(self):
        return {"name": type(self).__name__.lower(), "learning_rate": self.learning_rate}


class SGD(Optimizer):
    """``v = momentum * v - lr * g``; ``w += v`` (plain ``w -= lr * g`` when momentum is 0)."""

    def __init__(self, learning_rate=0.01, momentum=0.0):
        super().__init__(learning_rate)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        self.momentum = float(momentum)
        self.velocity = {}

    def _update(self, path, w, g):
        if self.momentum == 0.0:
            w -= self.learning_rate * g
            return
        v = self.velocity.setdefault(path, np.zeros_like(w))
        v *= self.momentum
        v -= self.learning_rate * g
        w += v

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum}


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) in Keras's form.

    At step ``t`` (from 1)::

        m    = beta_1 * m + (1 - beta_1) * g
        v    = beta_2 * v + (1 - beta_2) * g²
        lr_t = learning_rate * sqrt(1 - beta_2**t) / (1 - beta_1**t)
        w   -= lr_t * m / (sqrt(v) + epsilon)

    Keras adds ``epsilon`` to ``sqrt(v)`` *before* the bias correction of ``lr_t``; PyTorch adds it
    to the corrected ``sqrt(v̂)`` and defaults it to 1e-8. The two differ early in training.
    """

    def __init__(self, learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        super().__init__(learning_rate)
        for name, value in (("beta_1", beta_1), ("beta_2", beta_2)):
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {value!r}")
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)
        self.m, self.v = {}, {}

    def apply_gradients(self, params, grads):
        t = self.iterations + 1
        self._lr_t = self.learning_rate * np.sqrt(1 - self.beta_2 ** t) / (1 - self.beta_1 ** t)
        super().apply_gradients(params, grads)

    def _update(self, path, w, g):
        m = self.m.setdefault(path, np.zeros_like(w))
        v = self.v.setdefault(path, np.zeros_like(w))
        g = np.ascontiguousarray(g, dtype=w.dtype)
        _adam_step(w.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1), self.beta_1,
                   self.beta_2, self._lr_t, self.epsilon)      # views: w, m, v are contiguous

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


@njit
def _adam_step(w, g, m, v, beta_1, beta_2, lr_t, epsilon):
    """Adam's update, element by element in one pass (in float64, stored in the arrays' type)."""
    for k in range(w.shape[0]):
        m[k] = beta_1 * m[k] + (1 - beta_1) * g[k]
        v[k] = beta_2 * v[k] + (1 - beta_2) * (g[k] * g[k])
        w[k] -= lr_t * m[k] / (math.sqrt(v[k]) + epsilon)


OPTIMIZERS = {"adam": Adam, "sgd": SGD}


def get(optimizer):
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, str) and optimizer.lower() in OPTIMIZERS:
        return OPTIMIZERS[optimizer.lower()]()
    raise ValueError(f"unknown optimizer {optimizer!r}; use 'adam', 'sgd', Adam(...) or SGD(...)")
