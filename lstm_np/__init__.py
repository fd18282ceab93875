"""lstm_np — an LSTM written from scratch in NumPy, with its hot loops compiled by Numba.

>>> from lstm_np import Sequential, LSTM, Dense, Dropout, Adam, SGD, load_model, gradcheck

The names below are imported on first use (PEP 562), not when the package is: importing the
layers loads Numba, and ``python -m lstm_np.train --help`` should not wait for it.
"""

from ._lazy import lazy_attributes as _lazy_attributes

# Eager: it needs only NumPy, and the function must shadow its own submodule's name, as it
# would not if ``import lstm_np.gradcheck`` ran first and bound the module here.
from .gradcheck import GradcheckError, gradcheck

__version__ = "0.1.0"

# Public name -> the module (relative to this package) that defines it.
_SOURCES = {
    "Sequential": ".models", "load_model": ".models", "Callback": ".models", "History": ".models",
    "ModelFileError": ".models", "NonFiniteLossError": ".models",
    "LSTM": ".layers", "GRU": ".layers", "SimpleRNN": ".layers", "Dense": ".layers",
    "Dropout": ".layers", "Layer": ".layers",
    "Adam": ".optimizers", "SGD": ".optimizers",
    "EarlyStopping": ".callbacks",
    "keep_memory_mapped": "._runtime",
}

__all__ = ["Sequential", "LSTM", "GRU", "SimpleRNN", "Dense", "Dropout", "Adam", "SGD",
           "load_model", "gradcheck", "GradcheckError", "Layer", "Callback", "History", "ModelFileError",
           "NonFiniteLossError", "EarlyStopping"]

__getattr__, __dir__ = _lazy_attributes(__name__, _SOURCES, globals())
