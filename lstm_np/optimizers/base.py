"""What every optimizer shares, as Keras 3's ``BaseOptimizer`` defines it: the learning rate (a
number, a schedule or a callable), gradient clipping, decoupled weight decay and the config.

One step of :meth:`Optimizer.apply_gradients`, in Keras's order:

1. ``lr`` = the learning rate at the iteration count *before* the step (a schedule is called
   with ``iterations``, starting at 0);
2. the gradients are clipped: each by its own norm (``clipnorm``: ``g * c / max(|g|, c)``), or
   all by their global norm (``global_clipnorm``: ``g * c * min(1/|G|, 1/c)``), or element by
   element (``clipvalue``: ``g`` clipped to ``[-c, c]``) — at most one of the three;
3. weight decay, when set: ``w = w - w * weight_decay * lr`` (decoupled: the gradient does not
   see it);
4. each optimizer's own update of every weight, then ``iterations += 1``.

Every operation runs in the weights' dtype; each Python number is rounded to that dtype once.
Where Keras passes a Python float through ``ops.cast`` (the weight decay here, some constants of
the optimizers and the schedules), TensorFlow rounds it to float32 first, so the value used is
``float32(x)`` even for float64 weights; :func:`via_float32` marks those places.
"""
import math
import numbers
import warnings

import numpy as np

from . import schedules as schedules_mod

# Keras 3 arguments that lstm_np accepts with their default value only.
UNSUPPORTED_DEFAULTS = {"use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
                        "loss_scale_factor": None, "gradient_accumulation_steps": None}


def real(name, value):
    """``value`` as a float if it is a finite real number (not a bool, a string or NaN)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return value


def positive(name, value):
    value = real(name, value)
    if not value > 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return value


def in_unit_interval(name, value):
    value = real(name, value)
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return value


def non_negative(name, value):
    value = real(name, value)
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return value


def flag(name, value):
    return bool(value)


def optional(check, name, value):
    return None if value is None else check(name, value)


def via_float32(x):
    """A Python float as Keras's ``ops.cast(x, dtype)`` sees it: rounded to float32 first."""
    return float(np.float32(x))


class Optimizer:
    """The base class: learning rate, clipping, weight decay, ``iterations`` and the config.

    Every optimizer takes these keyword arguments (Keras 3's), beside its own:
    ``weight_decay=None``, ``clipnorm=None``, ``clipvalue=None``, ``global_clipnorm=None``
    (see the module docstring), and ``name``. Keras's ``use_ema``, ``ema_momentum``,
    ``ema_overwrite_frequency``, ``loss_scale_factor`` and ``gradient_accumulation_steps`` are
    accepted at their defaults only; Keras 2's ``lr=`` with a DeprecationWarning, ``decay=`` is
    ignored with a warning, as Keras 3 does.

    Subclasses declare their own arguments in :attr:`hyperparameters` and pass them on as
    keywords: each is checked, kept as the attribute of the same name and written by
    :meth:`get_config`. They define ``_update(path, w, g, lr)`` (``w`` updated in place, ``g`` already in
    ``w``'s dtype and clipped, ``lr`` a Python float) and keep their state in dicts keyed by
    the parameter path (``"lstm/kernel"``).
    """

    #: ``{argument: check}``: the subclass's own arguments, each checked by ``check(name,
    #: value)`` (:func:`positive`, :func:`in_unit_interval`, :func:`flag`, ...), in Keras's order
    hyperparameters = {}

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None, **kwargs):
        own = {key: kwargs.pop(key) for key in self.hyperparameters if key in kwargs}
        if "lr" in kwargs:
            warnings.warn("lr= is the Keras 2 spelling; Keras 3 and lstm_np call it learning_rate=",
                          DeprecationWarning, stacklevel=3)
            learning_rate = kwargs.pop("lr")
        if kwargs.pop("decay", None) is not None:
            warnings.warn("decay= is no longer supported (Keras 3 ignores it too); use "
                          "learning_rate=lstm_np.optimizers.schedules.InverseTimeDecay(...)",
                          stacklevel=3)
        for key, default in UNSUPPORTED_DEFAULTS.items():
            if key in kwargs and kwargs.pop(key) != default:
                raise ValueError(f"{key}= is not supported by lstm_np's optimizers; leave it at "
                                 f"Keras's default {default!r}")
        if kwargs:
            raise ValueError(f"{type(self).__name__} got unknown argument(s) "
                             f"{', '.join(map(repr, kwargs))}; see help({type(self).__name__})")
        self._learning_rate = self._checked_learning_rate(learning_rate)
        self.weight_decay = optional(non_negative, "weight_decay", weight_decay)
        self.clipnorm = optional(positive, "clipnorm", clipnorm)
        self.clipvalue = optional(positive, "clipvalue", clipvalue)
        self.global_clipnorm = optional(positive, "global_clipnorm", global_clipnorm)
        if sum(c is not None for c in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError("only one of clipnorm, clipvalue and global_clipnorm can be set")
        for key, check in self.hyperparameters.items():
            setattr(self, key, check(key, own[key]))
        self.name = type(self).__name__.lower() if name is None else str(name)
        self.iterations = 0
        self._constants = {}

    # ------------------------------------------------------------------ learning rate
    @staticmethod
    def _checked_learning_rate(value):
        if isinstance(value, schedules_mod.LearningRateSchedule) or (
                callable(value) and not isinstance(value, numbers.Real)):
            return value
        return positive("learning_rate", value)

    @property
    def learning_rate(self):
        """The learning rate of the next step, a float (a schedule evaluated at ``iterations``;
        a callable, as in Keras, called without arguments)."""
        lr = self._learning_rate
        if isinstance(lr, schedules_mod.LearningRateSchedule):
            return float(lr(self.iterations))
        if callable(lr):
            return float(lr())
        return lr

    @learning_rate.setter
    def learning_rate(self, value):
        if isinstance(self._learning_rate, schedules_mod.LearningRateSchedule) and not (
                isinstance(value, schedules_mod.LearningRateSchedule) or callable(value)):
            raise TypeError("this optimizer's learning rate is a schedule and cannot be set to a "
                            "number; create the optimizer with a float learning_rate instead")
        self._learning_rate = self._checked_learning_rate(value)

    # ------------------------------------------------------------------ one step
    def apply_gradients(self, params, grads):
        """One step: update every array of ``params`` (dict path -> array) named in ``grads``
        (dict path -> gradient) in place."""
        lr = self.learning_rate
        grads = {path: np.asarray(g, dtype=params[path].dtype) for path, g in grads.items()}
        grads = self._clipped(grads)
        if self.weight_decay is not None:
            for path in grads:
                w = params[path]
                real_ = w.dtype.type
                w -= w * real_(via_float32(self.weight_decay)) * real_(lr)
        self._constants = {}          # per dtype, for this step
        for path, g in grads.items():
            self._update(path, params[path], g, lr)
        self.iterations += 1

    def constants(self, dtype, lr):
        """This step's scalars for weights of ``dtype`` (``_step_constants``), computed once."""
        dtype = np.dtype(dtype)
        if dtype not in self._constants:
            self._constants[dtype] = self._step_constants(self.iterations + 1, lr, dtype.type)
        return self._constants[dtype]

    def _clipped(self, grads):
        if self.clipnorm is not None:
            return {path: _clip_by_norm(g, self.clipnorm) for path, g in grads.items()}
        if self.global_clipnorm is not None:
            return _clip_by_global_norm(grads, self.global_clipnorm)
        if self.clipvalue is not None:
            return {path: np.clip(g, -g.dtype.type(self.clipvalue), g.dtype.type(self.clipvalue))
                    for path, g in grads.items()}
        return grads

    # ------------------------------------------------------------------ config
    def get_config(self):
        """Keras 3's keys and values (a schedule as its serialized dict)."""
        lr = self._learning_rate
        if isinstance(lr, schedules_mod.LearningRateSchedule):
            lr = schedules_mod.serialize(lr)
        config = {"name": self.name, "learning_rate": lr, "weight_decay": self.weight_decay,
                  "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm,
                  "clipvalue": self.clipvalue}
        return {**config, **UNSUPPORTED_DEFAULTS, **self._own_config()}

    def _own_config(self):
        return {key: getattr(self, key) for key in self.hyperparameters}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules_mod.deserialize(config["learning_rate"])
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}(learning_rate={self._learning_rate!r})"


def _clip_by_norm(g, clipnorm):
    """``tf.clip_by_norm``: ``g * c / max(|g|, c)`` (a zero gradient stays zero, NaN stays NaN)."""
    c = g.dtype.type(clipnorm)
    l2sum = np.sum(g * g)
    l2norm = np.sqrt(l2sum) if l2sum > 0 else l2sum
    return (g * c) / np.maximum(l2norm, c)


def _clip_by_global_norm(grads, clipnorm):
    """Keras's ``clip_by_global_norm``: every gradient times ``c * min(1 / |G|, 1 / c)``, where
    ``|G|`` is the norm of all gradients together; a non-finite norm makes every gradient NaN."""
    out = {}
    for dtype in {g.dtype for g in grads.values()}:
        real_ = dtype.type
        norm = np.sqrt(np.sum([np.sum(g * g) for g in grads.values()], dtype=dtype))
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = real_(clipnorm) * np.minimum(real_(1) / norm, real_(1.0 / clipnorm))
            scale = scale + (norm - norm)
        out.update({path: g * scale for path, g in grads.items() if g.dtype == dtype})
    return out
