"""forecasts.csv carries each run's interval (``low``, ``high``) and the backtest's coverage is
that of the scored forecast, the mean over seeds: both recomputed here from the file alone."""
import json

import numpy as np
import pandas as pd
import pytest

from lstm_np.forecast.backtest import CSV_COLUMNS, main

from conftest import write_price_csv

TINY = ["--folds", "2", "--test-days", "8", "--window", "5", "--units", "3", "--epochs", "2",
        "--batch-size", "16", "--quiet", "--models", "mlp,gru", "--seeds", "2"]


@pytest.fixture(scope="module")
def interval_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("intervals")
    csv = write_price_csv(folder / "btc.csv", 90)
    assert main([str(a) for a in [*TINY, "--csv", csv, "--interval", "0.8", "--horizon", "2",
                                  "--out", folder / "o"]]) == 0
    return folder / "o"


def test_coverage_is_recomputed_from_forecasts_csv(interval_run):
    forecasts = pd.read_csv(interval_run / "forecasts.csv")
    report = json.loads((interval_run / "backtest.json").read_text())
    assert list(forecasts.columns) == [*CSV_COLUMNS[:3], "step", *CSV_COLUMNS[3:], "low", "high"]
    assert (forecasts["low"] <= forecasts["y_pred"]).all() and (forecasts["y_pred"] <= forecasts["high"]).all()
    for kind, entry in report["models"].items():
        rows = forecasts[forecasts["model"] == kind]
        # the scored forecast: the mean over seeds, with the mean of the seeds' bounds
        mean = rows.groupby(["fold", "step", "date"], sort=False)[["y_true", "y_pred", "low", "high"]].mean()
        inside = (mean["low"] <= mean["y_true"]) & (mean["y_true"] <= mean["high"])
        assert entry["coverage"] == float(np.mean(inside))
        assert entry["mae"] == pytest.approx(float(np.mean(np.abs(mean["y_pred"] - mean["y_true"]))),
                                             rel=1e-12)
        own = (rows["low"] <= rows["y_true"]) & (rows["y_true"] <= rows["high"])
        assert entry["coverage_of_runs"] == float(np.mean(own))
    markdown = (interval_run / "backtest.md").read_text()
    assert "interval of the scored forecast (the mean over seeds" in markdown


def test_without_intervals_forecasts_csv_has_no_bounds(tmp_path):
    csv = write_price_csv(tmp_path / "btc.csv", 90)
    assert main([str(a) for a in [*TINY, "--csv", csv, "--interval", "0", "--out", tmp_path / "o"]]) == 0
    assert list(pd.read_csv(tmp_path / "o" / "forecasts.csv").columns) == list(CSV_COLUMNS)
    report = json.loads((tmp_path / "o" / "backtest.json").read_text())
    assert all(m["coverage"] is None for m in report["models"].values())
