"""Optimizers. Their state lives here, keyed by parameter path (``"lstm/kernel"``)."""
import decimal
import math
import numbers

import numpy as np

from ._jit import njit


def _real(name, value):
    """``value`` as a float if it is a finite real number (not a bool, a string or NaN)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return value


def _in_unit_interval(name, value):
    value = _real(name, value)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return value


class Optimizer:
    def __init__(self, learning_rate):
        self.learning_rate = _real("learning_rate", learning_rate)
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, got {learning_rate!r}")
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
        self.momentum = _in_unit_interval("momentum", momentum)
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
    """Adam (Kingma & Ba, 2015) exactly as Keras 3 computes it (TensorFlow backend).

    At step ``t`` (from 1), every operation rounded to the weights' dtype, in this order::

        alpha = lr * sqrt(1 - b2**t) / (1 - b1**t)        b1 = float32(beta_1), b2 = float32(beta_2)
        m     = m + (g - m) * (1 - beta_1)
        v     = v + (g * g - v) * (1 - beta_2)
        w     = w - (m * alpha) / (sqrt(v) + epsilon)

    This is the textbook update with ``epsilon`` added to ``sqrt(v)`` before the bias
    correction is applied (PyTorch adds it to the corrected ``sqrt(v̂)`` and defaults it to
    1e-8), written the way Keras writes it, with two details that move the numbers:

    - The betas in the bias correction pass through float32 even for float64 weights: Keras
      calls ``ops.cast(beta, variable.dtype)`` on the Python float, and TensorFlow converts a
      Python float to a float32 tensor before casting it. ``float32(0.999)`` is 0.999 + 1.3e-8
      and ``float32(0.9)`` is 0.9 - 2.4e-8, so ``1 - b2**t`` is 1.3e-5 smaller in relative
      terms at ``t = 1`` and each early step is 6.7e-6 shorter than the textbook one (6.4e-6
      at ``t = 20``). The moment updates use the exact ``1 - beta`` (a Python float there).
    - The powers ``b**t`` are rounded correctly to the weights' dtype (computed here with
      exact decimal arithmetic), as TensorFlow's ``pow`` nearly always is. The C library's
      ``pow`` (NumPy's) is one unit in the last place off for 13 of the first 199 powers of
      ``float32(0.999)`` in float64, and ``1 - b2**t`` magnifies that a thousandfold.

    ``learning_rate``, ``epsilon`` and the ``1 - beta`` factors are rounded to the weights'
    dtype, as Keras does when it builds the optimizer under ``floatx`` equal to that dtype.

    Measured against live Keras 3.15.1 / TensorFlow 2.21 (``tests/test_keras_live.py``, and the
    golden files of ``tests/test_golden.py``): float64 and float32 weights equal Keras's bit
    for bit over 30 steps for the defaults and two other settings. Where TensorFlow's own
    ``pow`` is one unit off the correct power (with the defaults in float64: ``0.999**31`` and
    ``0.999**170`` among the first 1000 steps) the weights then differ in their last bits:
    at most 8 units in the last place after 200 steps at ``learning_rate=1e-3``.
    """

    def __init__(self, learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        super().__init__(learning_rate)
        self.beta_1 = _in_unit_interval("beta_1", beta_1)
        self.beta_2 = _in_unit_interval("beta_2", beta_2)
        self.epsilon = _real("epsilon", epsilon)
        if not self.epsilon > 0:
            raise ValueError(f"epsilon must be positive, got {epsilon!r}")
        self.m, self.v = {}, {}

    def apply_gradients(self, params, grads):
        self._constants = {}          # per dtype, for this step
        super().apply_gradients(params, grads)

    def step_constants(self, t, dtype):
        """``(alpha, 1 - beta_1, 1 - beta_2, epsilon)`` of step ``t``, as scalars of ``dtype``."""
        real = np.dtype(dtype).type
        one = real(1)
        b1_t = real(_power(float(np.float32(self.beta_1)), t))
        b2_t = real(_power(float(np.float32(self.beta_2)), t))
        alpha = real(self.learning_rate) * np.sqrt(one - b2_t) / (one - b1_t)
        return (real(alpha), real(1 - self.beta_1), real(1 - self.beta_2), real(self.epsilon))

    def _update(self, path, w, g):
        if w.dtype not in self._constants:
            self._constants[w.dtype] = self.step_constants(self.iterations, w.dtype)
        m = self.m.setdefault(path, np.zeros_like(w))
        v = self.v.setdefault(path, np.zeros_like(w))
        g = np.ascontiguousarray(g, dtype=w.dtype)
        _adam_step(w.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1),
                   *self._constants[w.dtype])        # views: w, m, v are contiguous

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


_POWER_CONTEXT = decimal.Context(prec=60)


def _power(base, t):
    """``base ** t`` for a float ``base`` and an integer ``t >= 1``, correctly rounded to float64
    (60 exact digits first; a float32 result rounds this float64 once more, which can differ
    from a direct rounding only for a float64 lying exactly halfway between two float32s)."""
    return float(_POWER_CONTEXT.power(decimal.Decimal(base), int(t)))


@njit(fastmath=False)
def _adam_step(w, g, m, v, alpha, one_minus_beta_1, one_minus_beta_2, epsilon):
    """Adam's update, element by element in one pass, every operation in the arrays' dtype
    (the scalars come in that dtype too) and in Keras's order. No fused multiply-adds
    (``fastmath=False``): each product is rounded before it is added, as in TensorFlow's
    separate kernels. ``np.sqrt`` keeps a float32 scalar float32, with or without the JIT."""
    for k in range(w.shape[0]):
        m[k] = m[k] + (g[k] - m[k]) * one_minus_beta_1
        v[k] = v[k] + (g[k] * g[k] - v[k]) * one_minus_beta_2
        w[k] = w[k] - (m[k] * alpha) / (np.sqrt(v[k]) + epsilon)


OPTIMIZERS = {"adam": Adam, "sgd": SGD}


def get(optimizer):
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, str) and optimizer.lower() in OPTIMIZERS:
        return OPTIMIZERS[optimizer.lower()]()
    raise ValueError(f"unknown optimizer {optimizer!r}; use 'adam', 'sgd', Adam(...) or SGD(...)")
