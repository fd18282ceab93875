"""Numbers are right for every asset (issue 19 items 8 and 9): flat prices finish every report
with the undefined statistics said as such, prices too small to scale are refused in one
sentence, and a $0.00001 asset prints its prices and errors with significant digits."""
import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lstm_np.forecast import backtest, compare, predict, train
from lstm_np.forecast.format import money, price_decimals, whole_money

from conftest import assert_user_error, calm_walk, run

TINY = ["--window", "5", "--test-days", "8", "--epochs", "1", "--units", "3", "--batch-size", "16",
        "--quiet"]


def price_file(path, prices):
    pd.DataFrame({"Date": pd.date_range("2021-01-01", periods=len(prices), freq="D").strftime("%Y-%m-%d"),
                  "Close": prices}).to_csv(path, index=False)
    return path


@given(scale=st.floats(1e-90, 1e12), factor=st.floats(1.0, 9.99))
def test_money_shows_four_significant_digits_of_a_price_of_the_series_size(scale, factor):
    value = scale * factor
    text = money(value, scale)
    assert float(text.replace(",", "")) == pytest.approx(value, rel=1e-3, abs=0.005 if scale >= 1 else 0)
    assert price_decimals(scale) == (2 if scale >= 1 else 3 + math.ceil(-math.log10(scale)))
    assert float(whole_money(value, scale).replace(",", "")) != 0


def test_money_keeps_cents_for_ordinary_prices():
    assert money(60123.449) == money(60123.449, 30000.0) == "60,123.45"
    assert money(0.0000123456, 1.2e-5) == "0.00001235"
    assert whole_money(60123.4, 3e4) == "60,123"


def test_flat_prices_finish_every_report(tmp_path, capsys):
    path = price_file(tmp_path / "flat.csv", [5.0] * 80)
    code, out, err = run(train.main, ["--csv", path, *TINY, "--out", tmp_path / "t"], capsys)
    assert code == 0, err
    assert "The naive forecast is exact on this test period" in out
    code, out, err = run(compare.main, ["--csv", path, *TINY, "--models", "mlp", "--seeds", "2",
                                        "--out", tmp_path / "c"], capsys)
    assert code == 0 and "Traceback" not in err, err
    assert "The naive forecast is exact on this test period" in out
    code, out, err = run(backtest.main, ["--csv", path, *TINY, "--models", "mlp", "--folds", "2",
                                         "--out", tmp_path / "b"], capsys)
    assert code == 0, err
    report = json.loads((tmp_path / "b" / "backtest.json").read_text())
    assert report["models"]["mlp"]["mase"] is None and report["naive"]["mase"] is None
    assert report["mase_undefined_folds"] == [1, 2]
    markdown = (tmp_path / "b" / "backtest.md").read_text()
    assert "| undefined |" in markdown and "never change, so the naive forecast's in-sample error" in markdown


@pytest.mark.parametrize("value", [1e-311, 1e-200])
def test_prices_too_small_to_scale_are_refused_in_one_sentence(tmp_path, capsys, value):
    path = price_file(tmp_path / "tiny.csv", value * (1 + np.arange(80) % 3))
    code, out, err = run(train.main, ["--csv", path, *TINY, "--out", tmp_path / "t"], capsys)
    assert_user_error(code, err)
    assert "below the smallest value this tool accepts" in err
    assert not (tmp_path / "t").exists()


def test_a_hundred_thousandth_of_a_dollar_asset_prints_significant_digits(tmp_path, capsys):
    path = price_file(tmp_path / "shib.csv", 1e-5 * calm_walk(80) / 30_000)
    code, out, err = run(train.main, ["--csv", path, *TINY, "--out", tmp_path / "t"], capsys)
    assert code == 0, err
    model_row = next(line for line in out.splitlines() if line.startswith("model "))
    mae = model_row.split()[1]
    assert float(mae) > 0 and len(mae.split(".")[1]) == 8, model_row
    code, out, err = run(predict.main, ["--model", tmp_path / "t" / "model.npz"], capsys)
    assert code == 0, err
    forecast = out.strip().splitlines()[-1].split(": ")[1].split()[0]
    assert float(forecast) == pytest.approx(1e-5, rel=0.2) and forecast.startswith("0.0000")
