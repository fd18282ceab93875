"""Optimizers by Keras 3's names, with Keras's update rules, defaults and arguments.

>>> from lstm_np.optimizers import RMSprop, schedules
>>> opt = RMSprop(learning_rate=schedules.ExponentialDecay(1e-3, 100, 0.9), clipnorm=1.0)

Each is equal to Keras 3 (TensorFlow backend) step for step: ``tests/test_optimizers_golden.py``
replays trajectories recorded from Keras by ``tests/golden/make_golden_optimizers.py``. Their
state lives here, keyed by parameter path (``"lstm/kernel"``).
"""
from . import schedules
from .adam import Adam, Adamax, AdamW, Nadam
from .base import Optimizer
from .sgd import SGD, Adadelta, Adagrad, RMSprop

__all__ = ["SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "Adamax", "Nadam", "Optimizer",
           "RMSprop", "deserialize", "get", "schedules", "serialize"]

#: Keras's string identifiers (``compile(optimizer="rmsprop")``), each with the class's defaults
OPTIMIZERS = {cls.__name__.lower(): cls
              for cls in (Adam, AdamW, Adamax, Nadam, SGD, RMSprop, Adagrad, Adadelta)}


def serialize(optimizer):
    """Keras's serialized form ``{"module", "class_name", "config", "registered_name"}``."""
    return {"module": "keras.optimizers", "class_name": type(optimizer).__name__,
            "config": optimizer.get_config(), "registered_name": None}


def deserialize(config):
    """The optimizer of :func:`serialize`'s dict (or of Keras's)."""
    name = str(config.get("class_name", "")).lower()
    if name not in OPTIMIZERS:
        raise ValueError(_unknown(config.get("class_name")))
    return OPTIMIZERS[name].from_config(config.get("config", {}))


def get(identifier):
    """An optimizer from an instance, a Keras name (``"adam"``, ``"rmsprop"``, …: Keras's
    defaults) or a serialized dict."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in OPTIMIZERS:
        return OPTIMIZERS[identifier.lower()]()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise ValueError(_unknown(identifier))


def _unknown(identifier):
    return (f"unknown optimizer {identifier!r}; use one of {', '.join(map(repr, OPTIMIZERS))} "
            f"or an instance such as lstm_np.optimizers.RMSprop(learning_rate=1e-3)")
