"""Layers: each a ``params`` dict, ``forward(x, training) -> (y, cache)`` and
``backward(dy, cache) -> (dx, grads)``."""
from .base import Layer
from .dense import Dense, Dropout
from .gru import GRU
from .lstm import LSTM
from .reshaping import Activation, Flatten, RepeatVector
from .simple_rnn import SimpleRNN
from .wrappers import Bidirectional, TimeDistributed

LAYERS = {"LSTM": LSTM, "Dense": Dense, "Dropout": Dropout, "GRU": GRU,
          "SimpleRNN": SimpleRNN, "Bidirectional": Bidirectional,
          "TimeDistributed": TimeDistributed, "RepeatVector": RepeatVector, "Flatten": Flatten,
          "Activation": Activation}

__all__ = ["Layer", "LSTM", "Dense", "Dropout", "GRU", "SimpleRNN", "Bidirectional",
           "TimeDistributed", "RepeatVector", "Flatten", "Activation", "LAYERS"]
