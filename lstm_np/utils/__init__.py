"""``keras.utils``: ``timeseries_dataset_from_array``, ``set_random_seed``.

>>> import numpy as np
>>> from lstm_np.utils import timeseries_dataset_from_array
>>> data = np.arange(10.0)[:, None]
>>> ds = timeseries_dataset_from_array(data, data[3:, 0], sequence_length=3, batch_size=4)
>>> [(x.shape, y.tolist()) for x, y in ds]
[((4, 3, 1), [3.0, 4.0, 5.0, 6.0]), ((3, 3, 1), [7.0, 8.0, 9.0])]
"""
from .timeseries import Tensor, TimeseriesDataset, set_random_seed, timeseries_dataset_from_array

__all__ = ["timeseries_dataset_from_array", "set_random_seed", "TimeseriesDataset", "Tensor"]
