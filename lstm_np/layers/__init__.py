"""Layers: each a ``params`` dict, ``forward(x, training) -> (y, cache)`` and
``backward(dy, cache) -> (dx, grads)``; recurrent cells for :class:`RNN` (see :mod:`.cells`)."""
from .base import Layer
from .cells import Cell
from .dense import Dense, Dropout
from .gru import GRU, GRUCell
from .lstm import LSTM, LSTMCell
from .reshaping import Activation, Flatten, RepeatVector
from .rnn import RNN
from .simple_rnn import SimpleRNN, SimpleRNNCell
from .wrappers import Bidirectional, TimeDistributed

LAYERS = {"LSTM": LSTM, "Dense": Dense, "Dropout": Dropout, "GRU": GRU,
          "SimpleRNN": SimpleRNN, "Bidirectional": Bidirectional,
          "TimeDistributed": TimeDistributed, "RepeatVector": RepeatVector, "Flatten": Flatten,
          "Activation": Activation, "RNN": RNN}
CELLS = {"LSTMCell": LSTMCell, "GRUCell": GRUCell, "SimpleRNNCell": SimpleRNNCell}

__all__ = ["Layer", "LSTM", "Dense", "Dropout", "GRU", "SimpleRNN", "Bidirectional",
           "TimeDistributed", "RepeatVector", "Flatten", "Activation", "LAYERS", "RNN", "Cell",
           "LSTMCell", "GRUCell", "SimpleRNNCell", "CELLS"]
