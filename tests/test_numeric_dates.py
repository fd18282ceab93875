"""Numeric date columns (issue 19 item 10): unix epochs read in the unit their size implies,
Excel serial dates read as such with a note, and anything else — small counts, numbers beyond
any date, a 400-digit "timestamp" — refused in one sentence, never read as 1970 in silence."""
import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from lstm_np.forecast import train
from lstm_np.forecast.data import DataError, load_prices

from conftest import assert_user_error, run


def write(folder, dates, name="x.csv"):
    path = folder / name
    n = len(dates)
    pd.DataFrame({"timestamp": dates, "Close": np.linspace(100, 200, n)}).to_csv(path, index=False)
    return path


UNITS = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}


@settings(max_examples=30, deadline=None)
@given(start=st.integers(100_000_000, 9_000_000_000), unit=st.sampled_from(sorted(UNITS)),
       step=st.integers(60, 86_400))
@example(start=4_611_685_779, unit="ns", step=60)  # 19 digits: exact only as an integer
def test_unix_epochs_from_1973_on_are_read_in_their_unit(tmp_path_factory, start, unit, step):
    """From 1973-03-03 (1e8 s) on, the size of a number tells its unit (1e11 ms is 1e8 s)."""
    seconds = start + step * np.arange(5)
    path = write(tmp_path_factory.mktemp("epoch"), [str(int(s) * UNITS[unit]) for s in seconds])
    series = load_prices(path)
    assert (series.dates == pd.to_datetime(seconds, unit="s")).all()


@settings(max_examples=30, deadline=None)
@given(first=st.integers(20_000, 79_990), n=st.integers(3, 9))
def test_excel_serial_dates_are_read_as_excel_days_and_said(tmp_path_factory, first, n):
    path = write(tmp_path_factory.mktemp("excel"), list(range(first, first + n)))
    series = load_prices(path)
    assert series.dates[0] == pd.Timestamp("1899-12-30") + pd.Timedelta(days=first)
    assert any("Excel serial day numbers" in note for note in series.notes)


@settings(max_examples=30, deadline=None)
@given(first=st.integers(-10**6, 19_999), n=st.integers(3, 9))
def test_small_counts_are_refused_not_read_as_1970(tmp_path_factory, first, n):
    path = write(tmp_path_factory.mktemp("small"), list(range(first, first + n)))
    with pytest.raises(DataError, match="neither unix timestamps from 1971 to 2262"):
        load_prices(path)


def test_a_400_digit_timestamp_is_one_sentence_and_exit_2(tmp_path, capsys):
    dates = ["1" * 400] + [str(1_600_000_000 + 86_400 * k) for k in range(1, 40)]
    code, out, err = run(train.main, ["--csv", write(tmp_path, dates), "--out", tmp_path / "o",
                                      "--window", "5", "--test-days", "5"], capsys)
    assert_user_error(code, err)
    assert "such as 1111...1111 (400 characters)" in err
    assert not (tmp_path / "o").exists()


def test_numbers_one_to_sixty_are_refused(tmp_path):
    with pytest.raises(DataError, match="holds numbers such as 1, which as dates are neither"):
        load_prices(write(tmp_path, list(range(1, 61))))
