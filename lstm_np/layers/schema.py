"""The checks a layer class declares for its configuration, and the limits they hold to.

A model file is checked before anything is built (:mod:`lstm_np.modelfile`): each layer class
says, in its ``config_checks``, which value each of its constructor's arguments may take, and,
in ``weight_shapes_for``, which weights it holds for a given input shape. The checks are
predicates on JSON values (true if the value is valid), written once here.
"""
import math
import numbers

import numpy as np

from .. import activations, initializers

#: sizes beyond which a model file is refused before it is read (the seed model has 70,901
#: parameters; LSTM(3500) on one feature has 49 million; 50 million float64 take 400 MB)
MAX_PARAMETERS = 50_000_000
MAX_TIMESTEPS = 1_000_000


class ShapeError(ValueError):
    """A layer that does not fit its inputs (or, a wrapper, the layers it wraps); the message
    reads after the layer's name (``"needs (timesteps, features) inputs but gets (4,)"``)."""


def is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)) \
        and math.isfinite(value)


def anything(value):
    """Checked elsewhere: by the constructor, or (an input shape, a wrapped layer) on its own."""
    return True


def boolean(value):
    return isinstance(value, bool)


def activation(value):
    return value is None or (isinstance(value, str) and value in activations.CODES)


def initializer(value):
    return isinstance(value, str) and value in initializers.INITIALIZERS


def units(value):
    return is_int(value) and 1 <= value <= MAX_PARAMETERS


def steps(value):
    return is_int(value) and 1 <= value <= MAX_TIMESTEPS


def rate(value):
    return is_number(value) and 0 <= value < 1


def name(value):
    return value is None or (isinstance(value, str) and 0 < len(value) <= 200)


def false(value):
    """An option lstm_np accepts only switched off in a model file (``return_state``)."""
    return value is False


def one_of(*values):
    """The check that a value is one of ``values``."""
    return lambda value: value in values
