"""Windows over a time series, cut batch by batch (``keras.utils.timeseries_dataset_from_array``).

Keras builds a ``tf.data`` pipeline; here the dataset is a small re-iterable object that keeps
the array and the windows' start positions and cuts each batch's windows only when the batch is
asked for, so a long series never has all its windows in memory at once.
"""
import math
import random

import numpy as np


class Tensor(np.ndarray):
    """A NumPy array that also answers ``.numpy()``, as the tensors of a Keras dataset do
    (``inputs.numpy().shape`` in the Keras tutorials)."""

    def numpy(self):
        return np.asarray(self)


def _tensor(array):
    return np.asarray(array).view(Tensor)


def set_random_seed(seed):
    """Seed Python's ``random`` and NumPy's global generator (``keras.utils.set_random_seed``).
    Models created afterwards without ``seed=`` draw their seed from NumPy's generator, so a
    script that calls this (or ``np.random.seed``) first repeats its run."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"set_random_seed takes an integer, got {seed!r}")
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)


def _count(name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"`{name}` must be an integer of at least {minimum}. Received: "
                         f"{name}={value!r}")
    return int(value)


def timeseries_dataset_from_array(data, targets, sequence_length, sequence_stride=1,
                                  sampling_rate=1, batch_size=128, shuffle=False, seed=None,
                                  start_index=None, end_index=None):
    """Batches of sliding windows over ``data`` (Keras's arguments and semantics).

    Window ``i`` holds ``data[s], data[s + sampling_rate], ...`` (``sequence_length`` rows) for
    ``s = start_index + i * sequence_stride``; its target is ``targets[s]`` (``targets=None``:
    the dataset yields the windows alone). Windows end before ``end_index`` (default: the end
    of ``data``). ``shuffle=True`` shuffles the start positions once with
    ``np.random.RandomState(seed)`` — the same order as Keras — and each pass then shuffles
    locally through a buffer of ``8 * batch_size`` windows (as Keras's ``tf.data`` shuffle
    does, with NumPy's random numbers instead of TensorFlow's). ``batch_size=None`` yields one
    window at a time.

    Returns
    -------
    TimeseriesDataset
        Iterate it for ``(inputs, targets)`` batches shaped ``(batch, sequence_length,
        *data.shape[1:])`` and ``(batch, *targets.shape[1:])``; ``len()`` is the number of
        batches; pass it to ``fit`` (also as ``validation_data``), ``evaluate``, ``predict``.
    """
    data = np.asarray(data)
    if data.ndim == 0 or len(data) == 0:
        raise ValueError("`data` must be an array with at least one row (time step)")
    sequence_length = _count("sequence_length", sequence_length)
    sampling_rate = _count("sampling_rate", sampling_rate)
    sequence_stride = _count("sequence_stride", sequence_stride)
    if batch_size is not None:
        batch_size = _count("batch_size", batch_size)
    if sampling_rate >= len(data):
        raise ValueError(f"`sampling_rate` must be lower than the length of the data. "
                         f"Received: sampling_rate={sampling_rate}, for data of length "
                         f"{len(data)}")
    if sequence_stride >= len(data):
        raise ValueError(f"`sequence_stride` must be lower than the length of the data. "
                         f"Received: sequence_stride={sequence_stride}, for data of length "
                         f"{len(data)}")
    if start_index:
        start_index = _count("start_index", start_index, minimum=0)
        if start_index >= len(data):
            raise ValueError(f"`start_index` must be lower than the length of the data. "
                             f"Received: start_index={start_index}, for data of length "
                             f"{len(data)}")
    if end_index:
        end_index = _count("end_index", end_index)
        if start_index and end_index <= start_index:
            raise ValueError(f"`end_index` must be higher than `start_index`. Received: "
                             f"start_index={start_index}, and end_index={end_index}")
        if end_index >= len(data):
            raise ValueError(f"`end_index` must be lower than the length of the data. "
                             f"Received: end_index={end_index}, for data of length {len(data)}")
    start_index = start_index or 0
    end_index = end_index or len(data)
    if targets is not None:
        targets = np.asarray(targets)
    count = end_index - start_index - (sequence_length - 1) * sampling_rate
    if targets is not None:
        count = min(count, len(targets))
    starts = np.arange(0, max(count, 0), sequence_stride)
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        np.random.RandomState(seed).shuffle(starts)
    return TimeseriesDataset(data, targets, starts + start_index, sequence_length,
                             sampling_rate, batch_size, shuffle, seed)


class TimeseriesDataset:
    """What :func:`timeseries_dataset_from_array` returns: re-iterable, one pass per epoch."""

    def __init__(self, data, targets, starts, sequence_length, sampling_rate, batch_size,
                 shuffle, seed):
        self.data, self.targets, self.starts = data, targets, starts
        self.offsets = np.arange(sequence_length) * sampling_rate     # (T,)
        self.batch_size, self.shuffle = batch_size, shuffle
        self._rng = np.random.default_rng(seed)
        self._limit = None

    def __len__(self):
        n = len(self.starts) if self.batch_size is None else \
            math.ceil(len(self.starts) / self.batch_size)
        return n if self._limit is None else min(n, self._limit)

    def _order(self):
        """The window order of one pass: a local shuffle through a buffer of 8 batches."""
        if not self.shuffle:
            return self.starts
        size = 1024 if self.batch_size is None else 8 * self.batch_size
        buffer, order = list(self.starts[:size]), []
        for start in self.starts[size:]:
            k = self._rng.integers(len(buffer))
            order.append(buffer[k])
            buffer[k] = start
        self._rng.shuffle(buffer)
        return np.asarray(order + buffer, dtype=self.starts.dtype)

    def __iter__(self):
        order = self._order()
        step = 1 if self.batch_size is None else self.batch_size
        for k, first in enumerate(range(0, len(order), step)):
            if self._limit is not None and k >= self._limit:
                return
            starts = order[first:first + step]
            x = self.data[starts[:, None] + self.offsets]              # (B, T, ...)
            if self.batch_size is None:
                x, starts = x[0], starts[0]
            if self.targets is None:
                yield _tensor(x)
            else:
                yield _tensor(x), _tensor(self.targets[starts])

    def take(self, count):
        """The first ``count`` batches of each pass (``tf.data.Dataset.take``)."""
        taken = TimeseriesDataset.__new__(TimeseriesDataset)
        taken.__dict__.update(self.__dict__)
        taken._limit = int(count) if self._limit is None else min(self._limit, int(count))
        return taken

    def __repr__(self):
        return (f"<TimeseriesDataset: {len(self.starts)} windows of {len(self.offsets)} steps, "
                f"batch_size={self.batch_size}>")
