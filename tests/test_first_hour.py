"""A new user's first hour (issue 19 item 18): help that reads as written, defaults shown,
predict --plot saying what it wrote, figures whose titles, bands and legends are readable, and
the README's recipes for the notebooks and the backtests."""
import re
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lstm_np.forecast import plots, predict, train
from lstm_np.forecast.backtest import where

from conftest import run, write_price_csv

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--window", "5", "--test-days", "5", "--epochs", "1", "--units", "3", "--batch-size", "16",
        "--quiet"]


def help_text(main, capsys):
    assert main(["--help"]) == 0
    return capsys.readouterr().out


def test_train_help_keeps_the_example_lines_and_shows_the_seed_default(capsys):
    text = help_text(train.main, capsys)
    assert "--features close,volume \\\n      --patience 10" in text   # two lines, as written
    flat = " ".join(text.split())
    assert "--seed N seed for weights, dropout and shuffling; a run repeats bit for bit (default: 0)" in flat


def test_predict_plot_says_what_it_wrote(tmp_path, capsys):
    csv = write_price_csv(tmp_path / "btc.csv", 60)
    assert run(train.main, ["--csv", csv, *TINY, "--out", tmp_path / "r"], capsys)[0] == 0
    code, out, err = run(predict.main, ["--model", tmp_path / "r" / "model.npz",
                                        "--plot", tmp_path / "next.png"], capsys)
    assert code == 0, err
    assert f"wrote the plot to {tmp_path / 'next.png'}" in out
    code, out, err = run(predict.main, ["--model", tmp_path / "r" / "model.npz", "--json",
                                        "--plot", tmp_path / "next2.png"], capsys)
    assert code == 0 and "wrote the plot to" in err and out.lstrip().startswith("[")


@pytest.fixture
def figures(monkeypatch):
    """The figures the plot functions draw, instead of PNG files."""
    drawn = []
    monkeypatch.setattr(plots, "_save", lambda fig, path: drawn.append(fig))
    return drawn


def test_the_horizon_plot_has_both_bands_in_its_legend_and_a_title_broken_between_words(figures):
    dates = pd.date_range("2021-01-01", periods=10, freq="D")
    true = np.linspace(100, 110, 10)
    title = ("BTC-USD-1-DAY.csv Close: forecast over the test period (window 60, LSTM 50,100, "
             "50 epochs, log-return target, 7-step direct)")
    far = {"dates": dates, "predicted": true + 1, "step": 7, "mae": 1.0, "low": true - 3, "high": true + 3}
    plots.plot_forecast(dates, true, true + 0.5, true - 1, title, "x.png",
                        band=(true - 2, true + 2, 0.9), far=far)
    ax = figures[0].axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "90% interval, 1 step ahead" in labels and "90% interval, 7 steps ahead" in labels
    words = set(re.split(r"[\s\n]+", title))
    assert set(re.split(r"[\s\n]+", ax.get_title())) >= words      # no word cut in two


def test_the_backtest_legend_sits_beside_the_bars(figures):
    from lstm_np.forecast.data import PriceSeries
    from lstm_np.forecast.folds import make_folds

    n = 60
    series = PriceSeries(dates=pd.date_range("2021-01-01", periods=n, freq="D"),
                         prices=np.linspace(100, 200, n), source="x.csv", column="Close")
    folds = make_folds(n, folds=2, test_days=10, window=5)
    report = {"models": {"mlp": {"name": "MLP", "mae_by_fold": {"1": 5.0, "2": 6.0}}},
              "naive": {"mae_by_fold": {"1": 4.0, "2": 4.5}},
              "folds": [{"test_start": "2021-02-10"}, {"test_start": "2021-02-20"}],
              "options": {"seeds": [0], "test_days": 10}, "source": "x.csv"}
    frame = pd.DataFrame({"fold": [1, 2], "date": ["2021-02-10", "2021-02-20"], "y_pred": [1.0, 2.0]})
    plots.plot_backtest(series, folds, report, {"mlp": frame}, "x.png")
    bottom = figures[0].axes[1]
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    renderer = FigureCanvasAgg(figures[0]).get_renderer()
    legend = bottom.get_legend().get_window_extent(renderer)
    assert legend.x0 >= bottom.get_window_extent(renderer).x1     # right of the bars' axes


def test_worker_processes_are_spelled_right():
    assert where({"scheduler": None, "workers": 2}) == "on 2 local worker processes"
    assert "processs" not in (ROOT / "docs" / "backtest" / "backtest.md").read_text()


def test_the_readme_says_how_to_run_the_notebooks_and_how_long_things_take():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(d.startswith("nbconvert") for d in extras["notebooks"])
    readme = (ROOT / "README.md").read_text()
    assert 'pip install -e ".[notebooks]"' in readme and "jupyter nbconvert --to notebook --execute" in readme
    assert "python -m lstm_np.backtest --target log-return --models lstm,gru --seeds 1" in readme
    assert re.search(r"python -m lstm_np\.backtest --folds 10 --seeds 3 .*# \d+ s on 2 cores", readme)
