"""Adam and its relatives, exactly as Keras 3 computes them (TensorFlow backend): Adam (with
``amsgrad``), AdamW, Adamax and Nadam."""
import decimal

import numpy as np

from .._jit import njit
from .base import Optimizer, flag, in_unit_interval, positive, via_float32


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) exactly as Keras 3 computes it (TensorFlow backend).

    At step ``t`` (from 1), every operation rounded to the weights' dtype, in this order::

        alpha = lr * sqrt(1 - b2**t) / (1 - b1**t)        b1 = float32(beta_1), b2 = float32(beta_2)
        m     = m + (g - m) * (1 - beta_1)
        v     = v + (g * g - v) * (1 - beta_2)
        v̂     = max(v̂, v)                                 (only with amsgrad=True; then v̂ below)
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

    hyperparameters = {"beta_1": in_unit_interval, "beta_2": in_unit_interval,
                       "epsilon": positive, "amsgrad": flag}

    def __init__(self, learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, name="adam", **kwargs):
        super().__init__(learning_rate, name=name, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         amsgrad=amsgrad, **kwargs)
        self.m, self.v, self.v_hat = {}, {}, {}

    def step_constants(self, t, dtype, lr=None):
        """``(alpha, 1 - beta_1, 1 - beta_2, epsilon)`` of step ``t``, as scalars of ``dtype``."""
        real = np.dtype(dtype).type
        lr = self.learning_rate if lr is None else lr
        one = real(1)
        b1_t = real(power(via_float32(self.beta_1), t))
        b2_t = real(power(via_float32(self.beta_2), t))
        alpha = real(lr) * np.sqrt(one - b2_t) / (one - b1_t)
        return (real(alpha), real(1 - self.beta_1), real(1 - self.beta_2), real(self.epsilon))

    def _step_constants(self, t, lr, real):
        return self.step_constants(t, real, lr)

    def _update(self, path, w, g, lr):
        alpha, c1, c2, eps = self.constants(w.dtype, lr)
        m = self.m.setdefault(path, np.zeros_like(w))
        v = self.v.setdefault(path, np.zeros_like(w))
        if not self.amsgrad:
            g = np.ascontiguousarray(g)
            _adam_step(w.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1),
                       alpha, c1, c2, eps)        # views: w, m, v are contiguous
            return
        v_hat = self.v_hat.setdefault(path, np.zeros_like(w))
        m += (g - m) * c1
        v += (g * g - v) * c2
        np.maximum(v_hat, v, out=v_hat)
        w -= (m * alpha) / (np.sqrt(v_hat) + eps)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019), Keras's default 0.004:
    before each Adam step ``w = w - w * weight_decay * lr``."""

    def __init__(self, learning_rate=1e-3, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, name="adamw", **kwargs):
        if weight_decay is None:
            raise ValueError("AdamW's weight_decay must be a number, got None")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad,
                         weight_decay=weight_decay, name=name, **kwargs)


class Adamax(Optimizer):
    """Adamax (Kingma & Ba, 2015, section 7.1), Keras's form. At step ``t``::

        m = m + (g - m) * (1 - beta_1)
        u = max(beta_2 * u, |g|)
        w = w - (lr * m) / ((1 - b1**t) * (u + epsilon))       b1 = float32(beta_1)
    """

    hyperparameters = {"beta_1": in_unit_interval, "beta_2": in_unit_interval,
                       "epsilon": positive}

    def __init__(self, learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 name="adamax", **kwargs):
        super().__init__(learning_rate, name=name, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         **kwargs)
        self.m, self.u = {}, {}

    def _step_constants(self, t, lr, real):
        b1_t = real(power(via_float32(self.beta_1), t))
        return (real(lr), real(1) - b1_t, real(1 - self.beta_1), real(self.beta_2),
                real(self.epsilon))

    def _update(self, path, w, g, lr):
        lr_, one_minus_b1_t, c1, b2, eps = self.constants(w.dtype, lr)
        m = self.m.setdefault(path, np.zeros_like(w))
        u = self.u.setdefault(path, np.zeros_like(w))
        m += (g - m) * c1
        np.maximum(b2 * u, np.abs(g), out=u)
        w -= (lr_ * m) / (one_minus_b1_t * (u + eps))


class Nadam(Adam):
    """Nadam (Dozat, 2016): Adam with Nesterov momentum, Keras's form. At step ``t``, with
    ``b1 = float32(beta_1)``, ``b2 = float32(beta_2)``, ``d = float32(0.96)``::

        mu_t  = b1 * (1 - 0.5 * d**t)            mu_t1 = b1 * (1 - 0.5 * d**(t + 1))
        P_t   = P_{t-1} * beta_1 * (1 - 0.5 * 0.96**t)      (P_0 = 1; here beta_1 and 0.96 exact)
        m     = m + (g - m) * (1 - b1)
        v     = v + (g * g - v) * (1 - b2)
        m̂     = mu_t1 * m / (1 - P_t * mu_t1) + (1 - mu_t) * g / (1 - P_t)
        w     = w - (m̂ * lr) / (sqrt(v / (1 - b2**t)) + epsilon)
    """

    def __init__(self, learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 name="nadam", **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, name=name, **kwargs)
        self.u_product = {}           # P_t per dtype

    def _step_constants(self, t, lr, real):
        one, half = real(1), real(0.5)
        product = self.u_product.get(real, one)
        product = (product * real(self.beta_1)) * (one - half * real(power(0.96, t)))
        self.u_product[real] = product
        b1, b2, decay = (real(via_float32(x)) for x in (self.beta_1, self.beta_2, 0.96))
        mu_t = b1 * (one - half * real(power(float(decay), t)))
        mu_t1 = b1 * (one - half * real(power(float(decay), t + 1)))
        return (real(lr), mu_t, mu_t1, product, product * mu_t1, one - b1, one - b2,
                one - real(power(float(b2), t)), real(self.epsilon))

    def _update(self, path, w, g, lr):
        lr_, mu_t, mu_t1, p_t, p_t1, c1, c2, one_minus_b2_t, eps = self.constants(w.dtype, lr)
        one = w.dtype.type(1)
        m = self.m.setdefault(path, np.zeros_like(w))
        v = self.v.setdefault(path, np.zeros_like(w))
        m += (g - m) * c1
        v += (g * g - v) * c2
        m_hat = (mu_t1 * m) / (one - p_t1) + ((one - mu_t) * g) / (one - p_t)
        w -= (m_hat * lr_) / (np.sqrt(v / one_minus_b2_t) + eps)

    def _own_config(self):
        config = super()._own_config()
        del config["amsgrad"]             # Keras's Nadam has none (this one never uses it)
        return config


_POWER_CONTEXT = decimal.Context(prec=60)


def power(base, t):
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
