"""lstm_np — an LSTM written from scratch in NumPy, with its hot loops compiled by Numba.

>>> from lstm_np import Sequential, LSTM, Dense, Dropout, Adam, SGD, load_model, gradcheck
"""
from ._runtime import keep_memory_mapped
from .callbacks import EarlyStopping
from .gradcheck import gradcheck
from .layers import GRU, LSTM, Dense, Dropout, Layer, SimpleRNN
from .models import Callback, History, ModelFileError, NonFiniteLossError, Sequential, load_model
from .optimizers import SGD, Adam

__version__ = "0.1.0"

__all__ = ["Sequential", "LSTM", "GRU", "SimpleRNN", "Dense", "Dropout", "Adam", "SGD",
           "load_model", "gradcheck", "Layer", "Callback", "History", "ModelFileError",
           "NonFiniteLossError", "EarlyStopping"]
