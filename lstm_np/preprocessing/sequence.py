"""Keras 2's ``keras.preprocessing.sequence.TimeseriesGenerator`` (gone from Keras 3, whose
spelling is :func:`lstm_np.utils.timeseries_dataset_from_array`).

>>> import numpy as np
>>> data = np.arange(10.0)[:, None]
>>> gen = TimeseriesGenerator(data, data, length=3, batch_size=2)   # doctest: +SKIP
>>> x, y = gen[0]    # x: windows data[0:3], data[1:4]; y: data[3], data[4]
"""
import warnings

import numpy as np


class TimeseriesGenerator:
    """Batches of windows ``data[row - length:row:sampling_rate]`` with target
    ``targets[row]``, for rows ``start_index + length`` to ``end_index`` (inclusive; default the
    last row) taken every ``stride`` rows — Keras 2's arguments and semantics. ``shuffle=True``
    draws each batch's rows at random (with NumPy's global generator, as Keras 2 did);
    ``reverse=True`` gives each window in reverse time order.

    Indexable (``gen[i]`` is batch ``i``) with ``len(gen)`` batches; ``fit``, ``evaluate`` and
    ``predict`` take it. Creating one warns once (``DeprecationWarning``) with the Keras 3
    spelling.
    """

    def __init__(self, data, targets, length, sampling_rate=1, stride=1, start_index=0,
                 end_index=None, shuffle=False, reverse=False, batch_size=128):
        warnings.warn("keras.preprocessing.sequence.TimeseriesGenerator is a Keras 2 spelling; "
                      "Keras 3 writes keras.utils.timeseries_dataset_from_array(...)",
                      DeprecationWarning, stacklevel=2)
        if len(data) != len(targets):
            raise ValueError(f"Data and targets have to be of same length. Data length is "
                             f"{len(data)} while target length is {len(targets)}")
        for name, value in (("length", length), ("sampling_rate", sampling_rate),
                            ("stride", stride), ("batch_size", batch_size)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"TimeseriesGenerator's {name} must be a positive integer, "
                                 f"got {value!r}")
        self.data, self.targets = data, targets
        self.length, self.sampling_rate, self.stride = length, sampling_rate, stride
        self.start_index = start_index + length
        self.end_index = len(data) - 1 if end_index is None else end_index
        self.shuffle, self.reverse, self.batch_size = shuffle, reverse, batch_size
        if self.start_index > self.end_index:
            raise ValueError(f"`start_index+length={self.start_index} > end_index="
                             f"{self.end_index}` is disallowed, as no part of the sequence "
                             "would be left to be used as current step.")

    def __len__(self):
        return (self.end_index - self.start_index + self.batch_size * self.stride) // \
            (self.batch_size * self.stride)

    def __getitem__(self, index):
        if not -len(self) <= index < len(self):
            raise IndexError(f"batch {index} of a TimeseriesGenerator with {len(self)} batches")
        index %= len(self)
        if self.shuffle:
            rows = np.random.randint(self.start_index, self.end_index + 1, size=self.batch_size)
        else:
            first = self.start_index + self.batch_size * self.stride * index
            rows = np.arange(first, min(first + self.batch_size * self.stride,
                                        self.end_index + 1), self.stride)
        samples = np.array([self.data[row - self.length:row:self.sampling_rate]
                            for row in rows])
        targets = np.array([self.targets[row] for row in rows])
        if self.reverse:
            return samples[:, ::-1, ...], targets
        return samples, targets

    def __iter__(self):
        for index in range(len(self)):
            yield self[index]
