"""Layers: each a ``params`` dict, ``forward(x, training) -> (y, cache)`` and
``backward(dy, cache) -> (dx, grads)``; recurrent cells for :class:`RNN` (see :mod:`.cells`)."""
from ..functional import Input
from .base import Layer
from .cells import Cell
from .dense import Dense, Dropout
from .lstm import LSTM, LSTMCell          # first: the order of the built-in --models kinds
from .gru import GRU, GRUCell
from .reshaping import Activation, Flatten, RepeatVector
from .registry import CELLS, KINDS, LAYERS, register
from .rnn import RNN
from .simple_rnn import SimpleRNN, SimpleRNNCell
from .wrappers import Bidirectional, TimeDistributed


__all__ = ["Input", "Layer", "LSTM", "Dense", "Dropout", "GRU", "SimpleRNN", "Bidirectional",
           "TimeDistributed", "RepeatVector", "Flatten", "Activation", "LAYERS", "RNN", "Cell",
           "LSTMCell", "GRUCell", "SimpleRNNCell", "CELLS", "KINDS", "register"]
