"""Gradient descent with momentum, and the adaptive optimizers that scale it per weight:
SGD, RMSprop, Adagrad and Adadelta, each exactly as Keras 3 computes it (TensorFlow backend).

Every operation runs in the weights' dtype, in Keras's order; ``lr`` is the step's learning rate
rounded to that dtype.
"""
import numpy as np

from .base import Optimizer, flag, in_unit_interval, non_negative, positive, via_float32


class SGD(Optimizer):
    """Gradient descent, with (Nesterov) momentum::

        momentum == 0:   w = w - g * lr
        otherwise:       v = v * mu - g * lr        mu = float32(momentum), as Keras casts it
                         w = w + v                  (nesterov: w = w + (v * mu - g * lr))
    """

    hyperparameters = {"momentum": in_unit_interval, "nesterov": flag}

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, name="SGD", **kwargs):
        super().__init__(learning_rate, name=name, momentum=momentum, nesterov=nesterov, **kwargs)
        self.velocity = {}

    def _step_constants(self, t, lr, real_):
        return real_(lr), real_(via_float32(self.momentum))

    def _update(self, path, w, g, lr):
        lr_, mu = self.constants(w.dtype, lr)
        if self.momentum == 0.0:
            w -= g * lr_
            return
        v = self.velocity.setdefault(path, np.zeros_like(w))
        v[...] = v * mu - g * lr_
        w += v * mu - g * lr_ if self.nesterov else v


class RMSprop(Optimizer):
    """RMSprop (Hinton, 2012), Keras's form (``epsilon`` inside the square root)::

        v = rho * v + (1 - rho) * g * g
        a = rho * a + (1 - rho) * g                 (centered only)
        step = (lr * g) / sqrt(v - a * a + epsilon)    (not centered: sqrt(v + epsilon))
        p = momentum * p + step;  w = w - p         (momentum > 0; otherwise w = w - step)
    """

    hyperparameters = {"rho": in_unit_interval, "momentum": in_unit_interval, "epsilon": positive,
                       "centered": flag}

    def __init__(self, learning_rate=1e-3, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 name="rmsprop", **kwargs):
        super().__init__(learning_rate, name=name, rho=rho, momentum=momentum, epsilon=epsilon,
                         centered=centered, **kwargs)
        self.velocity, self.momentums, self.average_gradient = {}, {}, {}

    def _step_constants(self, t, lr, real_):
        return (real_(lr), real_(self.rho), real_(1 - self.rho), real_(self.epsilon),
                real_(self.momentum))

    def _update(self, path, w, g, lr):
        lr_, rho, one_minus_rho, eps, mu = self.constants(w.dtype, lr)
        v = self.velocity.setdefault(path, np.zeros_like(w))
        v[...] = rho * v + one_minus_rho * (g * g)
        if self.centered:
            a = self.average_gradient.setdefault(path, np.zeros_like(w))
            a[...] = rho * a + one_minus_rho * g
            denominator = v - a * a + eps
        else:
            denominator = v + eps
        step = (lr_ * g) / np.sqrt(denominator)
        if self.momentum > 0:
            p = self.momentums.setdefault(path, np.zeros_like(w))
            p[...] = mu * p + step
            w -= p
        else:
            w -= step


class Adagrad(Optimizer):
    """Adagrad (Duchi et al., 2011), Keras's form::

        s = s + g * g                 (s starts at float32(initial_accumulator_value))
        w = w - (lr * g) / sqrt(s + epsilon)
    """

    hyperparameters = {"initial_accumulator_value": non_negative, "epsilon": positive}

    def __init__(self, learning_rate=1e-3, initial_accumulator_value=0.1, epsilon=1e-7,
                 name="adagrad", **kwargs):
        super().__init__(learning_rate, name=name, epsilon=epsilon,
                         initial_accumulator_value=initial_accumulator_value, **kwargs)
        self.accumulator = {}

    def _step_constants(self, t, lr, real_):
        return real_(lr), real_(self.epsilon)

    def _update(self, path, w, g, lr):
        lr_, eps = self.constants(w.dtype, lr)
        s = self.accumulator.get(path)
        if s is None:
            start = w.dtype.type(via_float32(self.initial_accumulator_value))
            s = self.accumulator[path] = np.full_like(w, start)
        s += g * g
        w -= (lr_ * g) / np.sqrt(s + eps)


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012), Keras's form (with a learning rate, 1.0 in the paper)::

        s  = rho * s + (1 - rho) * g * g
        d  = -(sqrt(x + epsilon) * g) / sqrt(s + epsilon)
        x  = rho * x + (1 - rho) * d * d
        w  = w + lr * d
    """

    hyperparameters = {"rho": in_unit_interval, "epsilon": positive}

    def __init__(self, learning_rate=1e-3, rho=0.95, epsilon=1e-7, name="adadelta", **kwargs):
        super().__init__(learning_rate, name=name, rho=rho, epsilon=epsilon, **kwargs)
        self.accumulated_grad, self.accumulated_delta = {}, {}

    def _step_constants(self, t, lr, real_):
        return real_(lr), real_(self.rho), real_(1 - self.rho), real_(self.epsilon)

    def _update(self, path, w, g, lr):
        lr_, rho, one_minus_rho, eps = self.constants(w.dtype, lr)
        s = self.accumulated_grad.setdefault(path, np.zeros_like(w))
        x = self.accumulated_delta.setdefault(path, np.zeros_like(w))
        s[...] = rho * s + one_minus_rho * (g * g)
        d = -((np.sqrt(x + eps) * g) / np.sqrt(s + eps))
        x[...] = rho * x + one_minus_rho * (d * d)
        w += lr_ * d

