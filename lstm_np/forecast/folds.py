"""Rolling-origin folds: K consecutive test windows at the end of a series, each with its own
training part, and each fold's split fitted on that training part alone.

With ``n`` prices, ``folds=K`` and ``test_days=T``, fold k (1 .. K) tests the prices
``[n - (K - k + 1) T, n - (K - k) T)``, so the last fold ends with the data and the windows do
not overlap. Its training part is every price before its test window (expanding), or the
``train_days`` prices just before it (rolling)::

    expanding  |==== train ====|-- test 1 --|
               |========== train ==========|-- test 2 --|
    rolling           |== train ==|-- test 1 --|
                                   |== train ==|-- test 2 --|

:func:`fold_split` cuts the fold's prices out of the series — training part and test window,
nothing after — and hands them to :func:`lstm_np.forecast.data.split_series`, the train command's own
split. So the scaler, the training windows and the validation split cannot see the test window
or any later price, and each test day is forecast one step ahead from the observed prices before
it, exactly as ``train`` forecasts its test period.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .data import DataError, split_series

__all__ = ["Fold", "fold_seed", "fold_series", "fold_split", "make_folds"]


@dataclass(frozen=True)
class Fold:
    """Positions of one fold in the series (``prices[train_start:test_start]`` is its training
    part, ``prices[test_start:test_end]`` its test window)."""

    fold: int          # 1 .. K, oldest first
    train_start: int
    test_start: int
    test_end: int

    @property
    def test_days(self):
        return self.test_end - self.test_start

    @property
    def train_days(self):
        return self.test_start - self.train_start


def make_folds(n_prices, folds=10, test_days=30, train_days=None, window=60, lag=0, horizon=1):
    """The folds of a series of ``n_prices`` prices, oldest first.

    Parameters
    ----------
    n_prices : int
    folds : int
        Number of consecutive, non-overlapping test windows, the last ending at the last price.
    test_days : int
        Prices per test window.
    train_days : int, optional
        Rolling training part of this many prices; ``None``: all prices before the window.
    window : int
        Input window of the model, to check every fold can cut at least two training windows.
    lag : int
        Leading prices the target needs (:func:`.targets.target_lag`: 1 for returns and
        differences), which a fold's training part must also hold.
    horizon : int
        Steps forecast from each origin; a training window needs that many targets after it.

    Raises
    ------
    DataError
        If the series is too short for the folds, or ``train_days`` too short for ``window``.
    """
    for name, value in (("folds", folds), ("test_days", test_days), ("window", window)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise DataError(f"{name} must be a positive whole number, got {value!r}.")
    first_test = n_prices - folds * test_days
    need = window + horizon + 1 + lag  # split_series's minimum: two training windows and targets
    if train_days is not None:
        if isinstance(train_days, bool) or not isinstance(train_days, (int, np.integer)) \
                or train_days < need:
            raise DataError(f"--train-days {train_days} is too short for --window {window}: a fold "
                            f"needs at least {need} training prices.")
        if first_test < train_days:
            raise DataError(f"the series has {n_prices} prices; {folds} folds of {test_days} test "
                            f"days after {train_days} training days need {folds * test_days + train_days}"
                            "; use fewer --folds, a smaller --test-days or --train-days, or a longer file.")
    elif first_test < need:
        raise DataError(f"the series has {n_prices} prices; {folds} folds of {test_days} test days "
                        f"leave {max(first_test, 0)} training prices before the first fold, and "
                        f"--window {window} needs at least {need}; use fewer --folds, a smaller "
                        "--test-days or --window, or a longer file.")
    result = []
    for k in range(folds):
        start = first_test + k * test_days
        result.append(Fold(fold=k + 1, train_start=0 if train_days is None else start - train_days,
                           test_start=start, test_end=start + test_days))
    return result


def fold_series(series, fold):
    """The fold's own prices (and input columns): its training part and its test window,
    nothing after."""
    cut = slice(fold.train_start, fold.test_end)
    features = None if series.features is None else np.asarray(series.features[cut]).copy()
    return replace(series, dates=series.dates[cut], prices=np.asarray(series.prices[cut]).copy(),
                   features=features, notes=[])


def fold_split(series, fold, window, val_split=0.1, target="price", horizon=1):
    """The :class:`lstm_np.forecast.data.Split` of one fold, fitted on its training part only,
    for forecasts of ``target`` ``horizon`` steps ahead from every origin in its test window."""
    return split_series(fold_series(series, fold), window=window, test_days=fold.test_days,
                        val_split=val_split, target=target, horizon=horizon)


def fold_seed(seed, fold):
    """The training seed of (seed, fold): distinct folds of one seed train from distinct
    initialisations, and the same pair always gives the same number."""
    return int(np.random.SeedSequence([int(seed), int(fold)]).generate_state(1)[0])
