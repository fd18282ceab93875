"""Layers: each a ``params`` dict, ``forward(x, training) -> (y, cache)`` and
``backward(dy, cache) -> (dx, grads)``."""
from ..functional import Input
from .base import Layer
from .dense import Dense, Dropout
from .gru import GRU
from .lstm import LSTM
from .simple_rnn import SimpleRNN

LAYERS = {"LSTM": LSTM, "Dense": Dense, "Dropout": Dropout, "GRU": GRU,
          "SimpleRNN": SimpleRNN}

__all__ = ["Input", "Layer", "LSTM", "Dense", "Dropout", "GRU", "SimpleRNN", "LAYERS"]
