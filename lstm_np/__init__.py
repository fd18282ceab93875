"""lstm_np — an LSTM written from scratch in NumPy, with its hot loops compiled by Numba.

>>> from lstm_np import Sequential, LSTM, Dense, Dropout, Adam, SGD, load_model, gradcheck

It answers to Keras 3's names, so a Keras tutorial runs with its import line changed:

>>> import lstm_np as keras
>>> model = keras.Sequential([keras.Input(shape=(60, 1)), keras.layers.LSTM(50),
...                           keras.layers.Dense(1)])
>>> model.compile(optimizer="adam", loss="huber", metrics=["mae"])

``keras.layers``, ``keras.models``, ``keras.optimizers``, ``keras.losses``, ``keras.metrics``,
``keras.callbacks``, ``keras.utils`` and Keras 2's ``keras.preprocessing.sequence`` are this
package's modules of those names.

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
    "Sequential": ".models", "Model": ".models", "load_model": ".models",
    "ModelFileError": ".models", "NonFiniteLossError": ".models",
    "Input": ".functional", "KerasTensor": ".functional",
    "Callback": ".callbacks", "History": ".callbacks", "EarlyStopping": ".callbacks",
    "LSTM": ".layers", "GRU": ".layers", "SimpleRNN": ".layers", "Dense": ".layers",
    "Dropout": ".layers", "Layer": ".layers",
    "Adam": ".optimizers", "SGD": ".optimizers",
    "keep_memory_mapped": "._runtime",
}

# Keras's namespaces: ``keras.layers.LSTM``, ``keras.losses.Huber``, ...
_SUBMODULES = ("layers", "models", "optimizers", "losses", "metrics", "callbacks", "utils",
               "preprocessing")

__all__ = ["Sequential", "Model", "Input", "LSTM", "GRU", "SimpleRNN", "Dense", "Dropout",
           "Adam", "SGD", "load_model", "gradcheck", "GradcheckError", "Layer", "Callback",
           "History", "ModelFileError", "NonFiniteLossError", "EarlyStopping", *_SUBMODULES]

__getattr__, __dir__ = _lazy_attributes(__name__, _SOURCES, globals(), _SUBMODULES)
