"""Layers: each a ``params`` dict, ``forward(x, training) -> (y, cache)`` and
``backward(dy, cache) -> (dx, grads)``; recurrent cells for :class:`RNN` (see :mod:`.cells`)."""
from .base import Layer
from .cells import Cell
from .dense import Dense, Dropout
from .gru import GRU, GRUCell
from .lstm import LSTM, LSTMCell
from .rnn import RNN
from .simple_rnn import SimpleRNN, SimpleRNNCell

LAYERS = {"LSTM": LSTM, "Dense": Dense, "Dropout": Dropout, "GRU": GRU,
          "SimpleRNN": SimpleRNN, "RNN": RNN}
CELLS = {"LSTMCell": LSTMCell, "GRUCell": GRUCell, "SimpleRNNCell": SimpleRNNCell}

__all__ = ["Layer", "LSTM", "Dense", "Dropout", "GRU", "SimpleRNN", "LAYERS", "RNN", "Cell",
           "LSTMCell", "GRUCell", "SimpleRNNCell", "CELLS"]
