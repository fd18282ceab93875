"""Layers: each a ``params`` dict, ``forward(x, training) -> (y, cache)`` and
``backward(dy, cache) -> (dx, grads)``."""
from .base import Layer
from .dense import Dense, Dropout
from .lstm import LSTM

LAYERS = {"LSTM": LSTM, "Dense": Dense, "Dropout": Dropout}

__all__ = ["Layer", "LSTM", "Dense", "Dropout", "LAYERS"]
