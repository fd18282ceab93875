"""CSV dialects: a file is read in one dialect, decided once and said aloud, or refused.

Contract: for any dialect (delimiter, decimal mark, thousands mark, quoting, date format,
encoding, row order) a known series is read back *exactly*, or the reader raises
:class:`DataError` with one sentence that names the flag that settles the question. A silently
wrong number is never an outcome. Also: a source is read once (a FIFO works) and a URL that
never answers times out.
"""
import codecs
import os
import socket
import threading
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from lstm_np.forecast.data import DataError, load_prices


def write(tmp_path, text, name="prices.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def refused(source, **kwargs):
    with pytest.raises(DataError) as info:
        load_prices(source, **kwargs)
    text = str(info.value)
    assert "\n" not in text and text.endswith(".")
    return text


def daily(n, start="2020-01-01"):
    return pd.date_range(start, periods=n, freq="D")


# ------------------------------------------------------- the files ---

def test_decimal_commas_in_a_semicolon_file(tmp_path):
    s = load_prices(write(tmp_path, "Date;Close\n2020-01-01;7200,17\n2020-01-02;6985,47\n"))
    assert s.prices.tolist() == [7200.17, 6985.47]
    assert "numbers read with comma ',' as decimal mark and no thousands mark" in s.notes
    assert "fields separated by semicolons" in s.notes


def test_decimal_commas_with_whole_numbers_between_them(tmp_path):
    text = "Date;Close\n2020-01-01;14,9\n2020-01-02;14,17\n2020-01-03;15\n2020-01-04;15,5\n"
    assert load_prices(write(tmp_path, text)).prices.tolist() == [14.9, 14.17, 15.0, 15.5]


def test_day_first_dates_are_not_scrambled(tmp_path):
    dates = daily(40)
    prices = np.arange(40) + 100.0
    text = "Date,Close\n" + "".join(f"{d:%d/%m/%Y},{p}\n" for d, p in zip(dates, prices))
    s = load_prices(write(tmp_path, text))
    assert list(s.dates) == list(dates)
    assert s.prices.tolist() == prices.tolist()
    assert "dates read as %d/%m/%Y" in s.notes
    assert not any("sorted" in n for n in s.notes)


def test_month_first_dates(tmp_path):
    dates = daily(40)
    text = "Date,Close\n" + "".join(f"{d:%m/%d/%Y},{k + 1}\n" for k, d in enumerate(dates))
    assert list(load_prices(write(tmp_path, text)).dates) == list(dates)


def test_day_and_month_both_fitting_and_both_regular_is_refused(tmp_path):
    # 01/01 ... 10/01: ten days day-first, or the first of ten months month-first.
    text = "Date,Close\n" + "".join(f"{d:%d/%m/%Y},{k + 1}\n" for k, d in enumerate(daily(10)))
    assert "--date-format" in refused(write(tmp_path, text))
    s = load_prices(write(tmp_path, text), date_format="%d/%m/%Y")
    assert list(s.dates) == list(daily(10))


def test_the_only_regular_reading_settles_day_against_month(tmp_path):
    # 11/01, 12/01, 01/02, 02/02, 03/02: day-first is ordered; month-first jumps Nov -> Jan.
    dates = pd.to_datetime(["2020-01-11", "2020-01-12", "2020-02-01", "2020-02-02", "2020-02-03"])
    text = "Date,Close\n" + "".join(f"{d:%d/%m/%Y},{k + 1}\n" for k, d in enumerate(dates))
    assert list(load_prices(write(tmp_path, text)).dates) == list(dates)


@pytest.mark.parametrize("decimal, expected", [(",", [1.234, 2.5]), (".", None)])
def test_a_comma_that_may_be_decimal_or_thousands_is_refused_unless_told(tmp_path, decimal, expected):
    path = write(tmp_path, 'Date,Close\n2020-01-01,"1,234"\n2020-01-02,"2,500"\n')
    message = refused(path)
    assert "--decimal" in message and "1.234" in message and "1,234" in message
    s = load_prices(path, decimal=decimal)
    assert s.prices.tolist() == (expected or [1234.0, 2500.0])


@pytest.mark.parametrize("text, expected, note", [
    ("Date;Close\n2020-01-01;1.234,56\n2020-01-02;987,5\n", [1234.56, 987.5], "'.' as thousands"),
    ("Date;Close\n2020-01-01;30 123,45\n2020-01-02;29 999,5\n", [30123.45, 29999.5], "spaces"),
    ("Date,Close\n2020-01-01,30'123.45\n2020-01-02,29'999.50\n", [30123.45, 29999.5], "\"'\" as"),
    ("Date,Close\n2020-01-01,\"$30,123.45\"\n2020-01-02,\"$29,999.50\"\n", [30123.45, 29999.5], None),
    ("Date\tClose\n2020-01-01\t30123.45\n2020-01-02\t29999.5\n", [30123.45, 29999.5], "tabs"),
    ("Date|Close\n2020-01-01|30123.45\n2020-01-02|29999.5\n", [30123.45, 29999.5], "pipes"),
])
def test_number_and_field_marks(tmp_path, text, expected, note):
    s = load_prices(write(tmp_path, text))
    assert s.prices.tolist() == expected
    if note is not None:
        assert any(note in n for n in s.notes), s.notes


def test_thousands_flag_restricts_the_reading(tmp_path):
    path = write(tmp_path, "Date;Close\n2020-01-01;1.234\n2020-01-02;2.500\n")
    assert "--decimal" in refused(path)
    assert load_prices(path, thousands=".").prices.tolist() == [1234.0, 2500.0]
    assert load_prices(path, thousands="none").prices.tolist() == [1.234, 2.5]


def test_unquoted_decimal_comma_in_a_comma_file_is_refused_not_truncated(tmp_path):
    text = "Date,Close\n2020-01-01,7200,17\n2020-01-02,6985,47\n"
    assert "more fields than its header" in refused(write(tmp_path, text))


@pytest.mark.parametrize("value", ["1e300", "1.7976931348623157e308", "1e400", "2e15"])
def test_absurd_magnitudes_are_refused(tmp_path, value):
    text = f"Date,Close\n2020-01-01,100\n2020-01-02,{value}\n2020-01-03,101\n"
    assert "rescale" in refused(write(tmp_path, text))


def test_largest_accepted_price(tmp_path):
    s = load_prices(write(tmp_path, "Date,Close\n2020-01-01,1e15\n2020-01-02,9.5e14\n"))
    assert s.prices.tolist() == [1e15, 9.5e14]


@pytest.mark.parametrize("encoding, bom", [("utf-16-le", codecs.BOM_UTF16_LE),
                                           ("utf-16-be", codecs.BOM_UTF16_BE),
                                           ("utf-8", codecs.BOM_UTF8),
                                           ("utf-32-le", codecs.BOM_UTF32_LE)])
def test_encoding_comes_from_the_byte_order_mark(tmp_path, encoding, bom):
    path = tmp_path / "p.csv"
    path.write_bytes(bom + "Date,Close\n2020-01-01,7200.17\n2020-01-02,6985.47\n".encode(encoding))
    s = load_prices(path)
    assert s.prices.tolist() == [7200.17, 6985.47]
    assert s.column == "Close"  # the BOM is not part of the first header
    if "16" in encoding or "32" in encoding:
        assert any(n.startswith("read as UTF-") for n in s.notes)


def test_utf16_without_a_byte_order_mark(tmp_path):
    path = tmp_path / "p.csv"
    path.write_bytes("Date,Close\n2020-01-01,7200.17\n2020-01-02,6985.47\n".encode("utf-16-le"))
    assert load_prices(path).prices.tolist() == [7200.17, 6985.47]


def test_latin1_text_is_refused_with_the_encodings_that_work(tmp_path):
    path = tmp_path / "p.csv"
    path.write_bytes("Date,Close,Note\n2020-01-01,7200.17,caf\xe9\n".encode("latin-1"))
    assert "UTF-8" in refused(path)


def test_naive_and_offset_timestamps_are_refused(tmp_path):
    text = ("Datetime,Close\n2021-01-01 10:00:00+01:00,1\n2021-01-01 10:15:00,2\n"
            "2021-01-01 10:30:00+01:00,3\n")
    assert "UTC offset" in refused(write(tmp_path, text))


def test_dates_that_merely_end_in_digits_are_not_offsets(tmp_path):
    text = "Date,Close\n13-01-2021,1\n14-01-2021,2\n15-01-2021,3\n"
    assert list(load_prices(write(tmp_path, text)).dates) == list(daily(3, "2021-01-13"))


# ------------------------------------------------------------ read once ---

def test_a_fifo_is_read_once(tmp_path):
    fifo = tmp_path / "prices.csv"
    os.mkfifo(fifo)
    text = "Date;Close\n2020-01-01;7200,17\n2020-01-02;6985,47\n"
    writer = threading.Thread(target=lambda: fifo.write_text(text), daemon=True)
    writer.start()
    assert load_prices(fifo).prices.tolist() == [7200.17, 6985.47]
    writer.join(5)
    assert not writer.is_alive()


@pytest.fixture
def silent_server():
    """A server on 127.0.0.1 that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/prices.csv"
    stop.set()
    thread.join(2)
    for conn in accepted:
        conn.close()
    server.close()


def test_a_url_that_never_answers_times_out(silent_server):
    start = time.monotonic()
    message = refused(silent_server, timeout=0.5)
    assert time.monotonic() - start < 5
    assert "0.5 s" in message and "--timeout" in message


# ------------------------------------------------------- property based ---

DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M",
                "%b %d, %Y"]
THOUSANDS_MARKS = {"none": "", ",": ",", ".": ".", "space": " ", "'": "'"}


def render(value, decimal, thousands):
    text = f"{value:,.2f}" if value != int(value) else f"{value:,.0f}"
    text = text.replace(",", "\0").replace(".", decimal)
    return text.replace("\0", THOUSANDS_MARKS[thousands])


@st.composite
def dialects(draw):
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    decimal = draw(st.sampled_from([".", ","]))
    thousands = draw(st.sampled_from([t for t in THOUSANDS_MARKS if t != decimal]))
    return dict(delimiter=delimiter, decimal=decimal, thousands=thousands,
                quoted=draw(st.booleans()), date_format=draw(st.sampled_from(DATE_FORMATS)),
                bom=draw(st.booleans()), encoding=draw(st.sampled_from(["utf-8", "utf-16"])),
                newest_first=draw(st.booleans()))


@st.composite
def series(draw):
    n = draw(st.integers(3, 40))
    start = draw(st.dates(min_value=pd.Timestamp("1990-01-01").date(),
                          max_value=pd.Timestamp("2030-01-01").date()))
    if draw(st.booleans()):  # whole numbers: "1,234" is 1234 or 1.234, to be settled or refused
        return pd.date_range(start, periods=n, freq="D"), [float(v) for v in draw(
            st.lists(st.integers(1, 10**7), min_size=n, max_size=n))]
    cents = draw(st.lists(st.integers(1, 10**9), min_size=n, max_size=n))
    return pd.date_range(start, periods=n, freq="D"), [c / 100 for c in cents]


@settings(suppress_health_check=[HealthCheck.too_slow])  # examples: the profile's (conftest.py)
@given(series(), dialects())
def test_any_dialect_reads_back_exactly_or_is_refused(tmp_path_factory, data, dialect):
    dates, prices = data
    d = dialect
    quote = '"' if d["quoted"] else ""
    rows = [(f"{day.strftime(d['date_format'])}", render(p, d["decimal"], d["thousands"]))
            for day, p in zip(dates, prices)]
    if d["newest_first"]:
        rows = rows[::-1]
    sep = d["delimiter"]
    if not d["quoted"] and any(sep in a or sep in b for a, b in rows):
        quote = '"'  # a field holding the delimiter must be quoted in any dialect
    lines = [f"Date{sep}Close"] + [f"{quote}{a}{quote}{sep}{quote}{b}{quote}" for a, b in rows]
    text = "\n".join(lines) + "\n"
    body = text.encode("utf-16-le" if d["encoding"] == "utf-16" else "utf-8")
    bom = codecs.BOM_UTF16_LE if d["encoding"] == "utf-16" else codecs.BOM_UTF8
    path = tmp_path_factory.mktemp("dialect") / "p.csv"
    path.write_bytes((bom if d["bom"] or d["encoding"] == "utf-16" else b"") + body)
    try:
        s = load_prices(path)
    except DataError as err:
        message = str(err)
        assert "\n" not in message and message.endswith(".")
        assert "--" in message, message  # a refusal names the flag that settles it
        event(f"refused: {message.split(';')[-1].strip()[:40]}")
        return
    event("read back exactly")
    assert list(s.dates) == list(dates), (text, s.notes)
    assert s.prices.tolist() == prices, (text, s.notes)


@settings(max_examples=60, deadline=None)
@given(series(), st.sampled_from([".", ","]), st.sampled_from(DATE_FORMATS))
def test_unambiguous_files_are_never_refused(tmp_path_factory, data, decimal, date_format):
    """Prices with cents and no thousands mark, and at least 13 days (so a day-first date has a
    day above 12), leave nothing to guess: they must load."""
    dates, prices = data
    if len(dates) < 13 and date_format.startswith(("%d", "%m")):
        dates = pd.date_range("2021-01-13", periods=len(dates), freq="D")
    sep = ";" if decimal == "," else ","
    text = f"Date{sep}Close\n" + "".join(
        f"\"{day.strftime(date_format)}\"{sep}{f'{p:.2f}'.replace('.', decimal)}\n"
        for day, p in zip(dates, prices))
    path = tmp_path_factory.mktemp("plain") / "p.csv"
    path.write_text(text)
    s = load_prices(path)
    assert list(s.dates) == list(dates) and s.prices.tolist() == prices


@pytest.mark.parametrize("values", [("1.5", "2,5", "3.5"), ("1 000", "1,000.01", "1 002")])
def test_a_column_mixing_number_formats_is_refused(tmp_path, values):
    text = "Date;Close\n" + "".join(f"2020-01-0{k + 1};{v}\n" for k, v in enumerate(values))
    message = refused(write(tmp_path, text))
    assert "consistent" in message and "--decimal" in message


def test_a_bad_date_format_is_one_sentence(tmp_path):
    path = write(tmp_path, "Date,Close\n2020-01-01,1\n2020-01-02,2\n")
    assert "--date-format '%Q' is not a date format" in refused(path, date_format="%Q")


def test_the_same_mark_cannot_be_decimal_and_thousands(tmp_path):
    path = write(tmp_path, "Date,Close\n2020-01-01,1\n2020-01-02,2\n")
    assert "both ','" in refused(path, decimal=",", thousands=",")


@given(st.binary(max_size=8).flatmap(lambda prefix: st.tuples(
    st.sampled_from([b"", codecs.BOM_UTF8, codecs.BOM_UTF16_LE, prefix]),
    st.text(alphabet="Date;Close,\t|\n0123456789-/.:' \"$e+", max_size=160))))
def test_any_dialect_soup_loads_or_raises_one_sentence(tmp_path_factory, case):
    bom, text = case
    path = tmp_path_factory.mktemp("soup") / "p.csv"
    path.write_bytes(bom + text.encode("utf-16-le" if bom == codecs.BOM_UTF16_LE else "utf-8"))
    try:
        s = load_prices(path)
    except DataError as err:
        assert "\n" not in str(err)
        return
    assert np.isfinite(s.prices).all() and (s.prices > 0).all() and s.dates.is_monotonic_increasing
