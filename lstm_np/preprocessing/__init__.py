"""``keras.preprocessing`` of Keras 2: :mod:`lstm_np.preprocessing.sequence`."""
from . import sequence

__all__ = ["sequence"]
