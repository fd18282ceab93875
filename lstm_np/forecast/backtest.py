"""``python -m lstm_np.backtest``: walk-forward evaluation against the naive forecast.

Each (model, fold, seed) training is one task of :mod:`lstm_np.forecast.tasks`.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..models import NonFiniteLossError
from ..train import TrainOptions, train_model
from .folds import Fold, fold_seed, fold_split


@dataclass(frozen=True)
class FoldTask:
    """One training of a backtest: a model kind, a fold, a seed and the training options."""

    model: str
    fold: Fold
    seed: int
    options: TrainOptions

    @property
    def key(self):
        return f"{self.model}-fold{self.fold.fold}-seed{self.seed}"


def run_fold(task, series):
    """Train ``task.model`` from scratch on the fold's training part and forecast its test window.

    The model is seeded by :func:`~lstm_np.forecast.folds.fold_seed` (seed, fold). Returns a
    dict with ``y_pred`` (the test window's one-step forecasts in the series' units), ``epochs``
    and ``train_seconds``, or with ``error`` (one sentence) if the training diverged.
    """
    from ..cli import UserError

    split = fold_split(series, task.fold, task.options.window, task.options.val_split)
    options = replace(task.options, model=task.model, seed=fold_seed(task.seed, task.fold.fold),
                      quiet=True)
    try:
        _, _, history, predicted = train_model(options, split)
    except (UserError, NonFiniteLossError) as err:  # deterministic: a retry would fail again
        return {"error": " ".join(str(err).split())}
    return {"y_pred": np.asarray(predicted, dtype=np.float64), "epochs": len(history.epoch),
            "train_seconds": float(sum(history.seconds))}
