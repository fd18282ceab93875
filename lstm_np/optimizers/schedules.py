"""Learning-rate schedules, by Keras 3's names (``keras.optimizers.schedules``).

A schedule is called with the optimizer's iteration count before the step (0 for the first step)
and returns the learning rate of that step::

    >>> from lstm_np.optimizers import SGD, schedules
    >>> lr = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    >>> [round(lr(step), 6) for step in (0, 10, 20)]
    [0.1, 0.05, 0.025]
    >>> opt = SGD(learning_rate=lr)

Keras computes a schedule in float32 whatever ``floatx`` and the weights' dtype (TensorFlow turns
the Python floats into float32 tensors), so here too every operation is rounded to float32
(``_f32`` after each one: a float64 operation rounded to float32 is the float32 operation for
``+ - * /``; ``**`` and ``cos`` are correctly rounded, where TensorFlow's may be one unit off).
A float64 model then sees the same float32 rate as in Keras.
"""
import math
import numbers

import numpy as np


def _f32(x):
    """``x`` rounded to float32 (returned as a Python float)."""
    return float(np.float32(x))


def _number(name, value, positive=False):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if positive and not value > 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return value


class LearningRateSchedule:
    """The base class: subclasses define ``__call__(step)`` and ``get_config()``."""

    def __call__(self, step):
        raise NotImplementedError(f"{type(self).__name__} must define __call__(self, step)")

    def get_config(self):
        raise NotImplementedError(f"{type(self).__name__} must define get_config()")

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class _DecayEverySteps(LearningRateSchedule):
    """The arguments ExponentialDecay and InverseTimeDecay share."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name=None):
        self.initial_learning_rate = _number("initial_learning_rate", initial_learning_rate)
        self.decay_steps = _number("decay_steps", decay_steps, positive=True)
        self.decay_rate = _number("decay_rate", decay_rate)
        self.staircase = bool(staircase)
        self.name = type(self).__name__ if name is None else name

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}

    def _exponent(self, step):
        """``step / decay_steps`` in float32, floored when ``staircase``."""
        p = _f32(_f32(step) / _f32(self.decay_steps))
        return math.floor(p) if self.staircase else p


class ExponentialDecay(_DecayEverySteps):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)`` (the exponent floored when
    ``staircase``)."""

    def __call__(self, step):
        p = self._exponent(step)
        return _f32(_f32(self.initial_learning_rate) * _f32(_f32(self.decay_rate) ** p))


class InverseTimeDecay(_DecayEverySteps):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)`` (``step / decay_steps``
    floored when ``staircase``)."""

    def __call__(self, step):
        p = self._exponent(step)
        denominator = _f32(1.0 + _f32(_f32(self.decay_rate) * p))
        return _f32(_f32(self.initial_learning_rate) / denominator)


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` while
    ``boundaries[i-1] < step <= boundaries[i]``, ``values[-1]`` after the last boundary."""

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        boundaries, values = list(boundaries), list(values)
        if len(boundaries) != len(values) - 1:
            raise ValueError(f"boundaries must have one element fewer than values, got "
                             f"{len(boundaries)} boundaries and {len(values)} values")
        for b in boundaries:
            _number("each boundary", b)
        for v in values:
            _number("each value", v)
        if any(b >= c for b, c in zip(boundaries, boundaries[1:])):
            raise ValueError(f"boundaries must increase strictly, got {boundaries}")
        self.boundaries, self.values, self.name = boundaries, values, name

    def __call__(self, step):
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return _f32(value)
        return _f32(self.values[-1])

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Cosine decay from ``initial_learning_rate`` (or, after a linear warm-up of
    ``warmup_steps`` steps, from ``warmup_target``) to ``alpha`` times it over ``decay_steps``::

        decayed(s) = lr0 * ((1 - alpha) * 0.5 * (1 + cos(pi * min(s, decay_steps) / decay_steps))
                            + alpha)
        warm-up:     (warmup_target - initial_learning_rate) * step / warmup_steps
                     + initial_learning_rate,     then decayed(step - warmup_steps)
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        self.initial_learning_rate = _number("initial_learning_rate", initial_learning_rate)
        self.decay_steps = _number("decay_steps", decay_steps, positive=True)
        self.alpha = _number("alpha", alpha)
        self.name = name
        self.warmup_target = None if warmup_target is None else _number("warmup_target",
                                                                         warmup_target)
        self.warmup_steps = _number("warmup_steps", warmup_steps)

    def _decayed(self, step, lr0):
        fraction = _f32(step / _f32(self.decay_steps))
        cosine = _f32(0.5 * _f32(1.0 + _f32(math.cos(_f32(_f32(math.pi) * fraction)))))
        alpha = _f32(self.alpha)
        return _f32(lr0 * _f32(_f32(_f32(1.0 - alpha) * cosine) + alpha))

    def __call__(self, step):
        lr0, decay_steps = _f32(self.initial_learning_rate), _f32(self.decay_steps)
        if self.warmup_target is None:
            return self._decayed(min(_f32(step), decay_steps), lr0)
        target, warmup = _f32(self.warmup_target), _f32(self.warmup_steps)
        step = min(_f32(step), _f32(decay_steps + warmup))
        if step < warmup:
            return _f32(_f32(_f32(target - lr0) * _f32(step / warmup)) + lr0)
        return self._decayed(_f32(step - warmup), target)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


SCHEDULES = {cls.__name__: cls for cls in (ExponentialDecay, InverseTimeDecay,
                                           PiecewiseConstantDecay, CosineDecay)}


def serialize(schedule):
    """Keras's serialized form: ``{"module", "class_name", "config", "registered_name"}``."""
    return {"module": "keras.optimizers.schedules", "class_name": type(schedule).__name__,
            "config": schedule.get_config(), "registered_name": None}


def deserialize(config):
    """The schedule of :func:`serialize`'s dict (or of Keras's)."""
    name = config.get("class_name") if isinstance(config, dict) else None
    if name not in SCHEDULES:
        raise ValueError(f"unknown learning-rate schedule {name!r}; choose one of "
                         f"{', '.join(SCHEDULES)}")
    return SCHEDULES[name].from_config(config.get("config", {}))
