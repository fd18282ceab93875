"""``predict --days`` is bounded and long forecasts show progress (issue 19, item 6)."""
import numpy as np
import pandas as pd
import pytest

from lstm_np.forecast import predict
from lstm_np.forecast.options import MAX_DAYS, PredictOptions, build_parser

from conftest import assert_user_error, run
from test_writers import trained  # noqa: F401  (a module fixture: one tiny model file)


def test_the_bound_is_said_in_help():
    text = " ".join(build_parser(PredictOptions, "p", "", "").format_help().split())
    assert f"at most {MAX_DAYS:,}" in text


@pytest.mark.parametrize("days", [str(MAX_DAYS + 1), str(10**9), "0", "-1"])
def test_days_beyond_the_bound_are_one_sentence(trained, capsys, days):  # noqa: F811
    model, csv = trained
    code, stdout, err = run(predict.main, ["--model", model, "--csv", csv, "--days", days], capsys)
    assert_user_error(code, err)
    assert f"from 1 to {MAX_DAYS:,}" in err and stdout == ""


def test_a_long_forecast_shows_its_progress_on_stderr(trained, capsys):  # noqa: F811
    model, csv = trained
    days = predict.LONG_FORECAST + 100
    code, stdout, err = run(predict.main, ["--model", model, "--csv", csv, "--days", days, "--json"], capsys)
    assert code == 0, err
    assert len(__import__("json").loads(stdout)) == days
    lines = [line for line in err.splitlines() if line.startswith("forecast periods:")]
    assert 2 <= len(lines) <= 25 and lines[-1].startswith(f"forecast periods: {days}/{days} done")


def test_a_short_forecast_is_quiet(trained, capsys):  # noqa: F811
    model, csv = trained
    code, _, err = run(predict.main, ["--model", model, "--csv", csv, "--days", "30"], capsys)
    assert code == 0 and err == ""


def test_days_beyond_the_last_representable_date_are_one_sentence(trained, tmp_path, capsys):  # noqa: F811
    model, _ = trained
    yearly = tmp_path / "yearly.csv"
    pd.DataFrame({"Date": [f"{y}-01-01" for y in range(1990, 2021)],
                  "Close": np.linspace(100, 200, 31)}).to_csv(yearly, index=False)
    code, _, err = run(predict.main, ["--model", model, "--csv", yearly, "--days", "9000"], capsys)
    assert_user_error(code, err)
    assert "year 9999" in err and "fewer --days" in err
