"""Reading a price CSV file: the source read once, its dialect decided once and said aloud.

A file is read in four steps, each decided for the whole file, never value by value:

1. **Bytes**, read exactly once (a FIFO or a pipe works; a URL gets a timeout).
2. **Text**: the encoding comes from the byte-order mark (UTF-8, UTF-16, UTF-32); without
   one the file must be UTF-8 (or BOM-less UTF-16, recognised by its NUL bytes).
3. **Table**: the delimiter (``,`` ``;`` tab ``|``) is the one that splits the header into
   several fields and every sampled row into as many.
4. **Values**: the decimal mark and the thousands mark are the pair that reads the most
   price values, checked against *all* of them; dates use *one* format for the column.

When two readings both fit every value but give different numbers (``1,234`` is 1.234 or
1234; ``01/02/2020`` is 1 February or 2 January) the reader refuses with one sentence that
names the flag that settles it (``--decimal``, ``--thousands``, ``--date-format``), unless
only one of the date readings gives a regular, strictly ordered series. A silently wrong
number is the one outcome it never gives.

Every problem raises :class:`DataError` (one sentence); every decision that is not the
plain default (UTF-8, comma-separated, ``.`` decimals, ISO dates) becomes a note.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
import os
import socket
import stat
import threading
import warnings
from pathlib import Path

import numpy as np

# pandas is imported by the functions that read a table, and urllib by the one that downloads, not
# here: the commands import this module (for DataError and the flags' choices) to parse their flags,
# which should not wait for either.

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_TIMEOUT", "DELIMITERS", "DECIMALS", "MAX_PRICE", "THOUSANDS", "DataError", "decode",
           "is_url", "numbers_note", "parse_dates", "parse_numbers", "read_source", "read_table",
           "sniff_delimiter"]

DEFAULT_TIMEOUT = 30.0          # seconds a whole download may take
DEFAULT_MAX_BYTES = 256 * 2**20  # a CSV file of prices this large is ~5 million rows
_CHUNK = 1 << 16
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
DECIMALS = {".": "point", ",": "comma"}
# --thousands values as typed -> the mark itself ("none": no grouping at all).
THOUSANDS = {"none": None, ",": ",", ".": ".", "space": " ", "'": "'"}
# Larger prices are refused: their squared errors overflow float64 (RMSE = inf), and no
# asset is quoted in quadrillions; a column that large is a misread or a unit error.
MAX_PRICE = 1e15
_SNIFF_LINES = 200
_CURRENCY = re.compile(r"[$€£¥]")
# A UTC offset only counts after a time of day: "01-01-2021" ends in "-2021", not an offset.
_OFFSET = r"\d:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$"


class DataError(ValueError):
    """A problem with the user's data, phrased as one sentence for the CLI."""


# ------------------------------------------------------------------ bytes ---

def read_source(path, name, timeout=DEFAULT_TIMEOUT, max_bytes=DEFAULT_MAX_BYTES):
    """The bytes of ``path`` (a local path, a Traversable or an http(s) URL), read once.

    Bounded: more than ``max_bytes`` bytes (``/dev/zero``, ``/dev/urandom``, a download that
    never ends) is refused with a :class:`DataError` as soon as the bound is passed, and a URL
    gets ``timeout`` seconds for the *whole* download — connection, headers and body — so a
    server that accepts but never answers, or trickles a byte at a time, ends in a sentence too.
    """
    if isinstance(path, str):  # a URL
        return _download(path, timeout, max_bytes)
    if not isinstance(path, Path):  # a bundled Traversable (zip installs too)
        return path.read_bytes()
    try:
        with open(path, "rb") as handle:  # once: a FIFO cannot be rewound
            size = os.fstat(handle.fileno()).st_size
            if stat.S_ISREG(os.fstat(handle.fileno()).st_mode) and size > max_bytes:
                raise _too_large(str(path), max_bytes)
            return _read_bounded(handle.read, str(path), max_bytes)
    except OSError as err:
        raise DataError(f"could not read {name} ({_reason(err)}); check that it is a readable file.") from None


def _read_bounded(read, name, max_bytes, stop=None):
    """Call ``read(size)`` until it returns nothing; refuse more than ``max_bytes`` bytes."""
    chunks, total = [], 0
    while chunk := read(_CHUNK):
        total += len(chunk)
        if total > max_bytes:
            raise _too_large(name, max_bytes)
        chunks.append(chunk)
        if stop is not None and stop.is_set():
            return None
    return b"".join(chunks)


def _too_large(name, max_bytes):
    return DataError(f"{name} is larger than the limit of {format_size(max_bytes)}; a price file is "
                     "far smaller, so check the source, or raise the limit with --max-bytes.")


def format_size(n):
    """``268435456`` -> ``"256 MiB"``."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} bytes"


def _download(url, timeout, max_bytes):
    """Download in a helper thread and wait for it at most ``timeout`` seconds in all.

    A socket timeout bounds each wait for data, not the whole transfer (a byte every half
    second never trips it), and DNS and the headers have no deadline of their own; waiting on
    the thread is one deadline for everything. A download given up on stops at its next chunk
    (the thread is a daemon: a stuck one does not keep the process alive).
    """
    done, stop, result = threading.Event(), threading.Event(), {}

    def fetch():
        try:
            result["data"] = _fetch(url, timeout, max_bytes, stop)
        except BaseException as err:  # handed to the waiting thread
            result["error"] = err
        finally:
            done.set()

    threading.Thread(target=fetch, name="lstm_np download", daemon=True).start()
    if not done.wait(timeout):
        stop.set()
        raise DataError(f"could not download {url}: no complete answer within {timeout:g} s; "
                        "check the address, or allow longer with --timeout.")
    if "error" in result:
        raise result["error"]
    return result["data"]


def _fetch(url, timeout, max_bytes, stop):
    import http.client  # with urllib.request, 20 ms of every command's start: only URLs need them
    import urllib.request

    request = urllib.request.Request(url, headers={"User-Agent": "lstm_np"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            if length is not None and length.isdigit() and int(length) > max_bytes:
                raise _too_large(url, max_bytes)
            return _read_bounded(response.read1, url, max_bytes, stop)
    except (TimeoutError, socket.timeout):
        raise DataError(f"could not download {url}: no complete answer within {timeout:g} s; "
                        "check the address, or allow longer with --timeout.") from None
    except (OSError, ValueError, http.client.HTTPException) as err:  # URLError, HTTPError, resets
        if isinstance(err, DataError):
            raise
        reason = getattr(err, "reason", None)
        if isinstance(reason, (TimeoutError, socket.timeout)):
            raise DataError(f"could not download {url}: no answer within {timeout:g} s; "
                            "check the address, or allow longer with --timeout.") from None
        raise DataError(f"could not download {url} ({_reason(err)}); "
                        "check the address and your network connection.") from None


# ------------------------------------------------------------------- text ---

_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"), (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
         (codecs.BOM_UTF8, "utf-8", "UTF-8"), (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
         (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"))


def decode(data, name):
    """``(text, note)``: the text of ``data`` and a note naming a non-UTF-8 encoding (or "")."""
    for bom, codec, label in _BOMS:  # UTF-32 LE first: its BOM starts with UTF-16 LE's
        if data.startswith(bom):
            body, note = data[len(bom):], (f"read as {label} (byte-order mark)" if label != "UTF-8" else "")
            break
    else:
        body, codec, note = data, "utf-8", ""
        head = data[:4096]
        if 0 in head:
            even, odd = head[0::2].count(0), head[1::2].count(0)
            # UTF-16 text of ASCII digits has a NUL in every other byte: LE odd, BE even.
            if odd > 0.4 * len(head) / 2 and even == 0:
                codec, note = "utf-16-le", "read as UTF-16 (little-endian, no byte-order mark)"
            elif even > 0.4 * len(head) / 2 and odd == 0:
                codec, note = "utf-16-be", "read as UTF-16 (big-endian, no byte-order mark)"
            else:
                raise DataError(f"could not read {name} as a CSV file (it holds binary data, not text); "
                                "give a comma-separated text file with a header row.")
    try:
        return body.decode(codec), note
    except UnicodeDecodeError as err:
        raise DataError(f"could not read {name} as a CSV file (byte {body[err.start]:#04x} at offset "
                        f"{err.start} is not {codec.upper()}); save it as UTF-8, or as UTF-16 with a "
                        "byte-order mark.") from None


# ------------------------------------------------------------------ table ---

def sniff_delimiter(text, name, delimiter=None):
    """The delimiter that splits the header into 2+ fields and the sampled rows into as many."""
    if delimiter is not None:
        return "\t" if delimiter == "tab" else delimiter
    lines = [line for line in text.splitlines()[:_SNIFF_LINES + 1] if line.strip()]
    if not lines:
        return ","
    scores = {}
    for candidate in DELIMITERS:
        rows = list(csv.reader(lines, delimiter=candidate, quotechar='"', skipinitialspace=True))
        width = len(rows[0])
        if width >= 2:
            scores[candidate] = (sum(len(r) == width for r in rows[1:]), width)
    if not scores:
        return ","  # one column: the column search says what is missing
    best = max(v[0] for v in scores.values())
    winners = [d for d, v in scores.items() if v[0] == best]
    if len(winners) > 1:
        names = " or ".join(f"{DELIMITERS[d]} ({d!r})" for d in winners)
        raise DataError(f"{name} could be split by {names}, and each gives a consistent table; "
                        f"say which with --delimiter.")
    return winners[0]


def read_table(data, name, delimiter=None):
    """``(frame, notes)``: every column as text, the header stripped, decided once per file."""
    import pandas as pd

    text, encoding_note = decode(data, name)
    if not text.strip():
        raise DataError(f"{name} is empty; it needs a header row such as Date,Close and data rows.")
    sep = sniff_delimiter(text, name, delimiter)
    try:
        with warnings.catch_warnings():
            # Rows longer than the header would lose their last fields (7200,17 -> 7200): refuse.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False,
                                na_filter=False, skipinitialspace=True, index_col=False, quotechar='"')
    except pd.errors.EmptyDataError:
        raise DataError(f"{name} is empty; it needs a header row such as Date,Close and data rows.") from None
    except (ValueError, pd.errors.ParserError, pd.errors.ParserWarning) as err:
        reason = ("its rows have more fields than its header" if isinstance(err, pd.errors.ParserWarning)
                  else _reason(err).rstrip("."))
        raise DataError(f"could not read {name} as a {DELIMITERS[sep]}-separated file ({reason}); "
                        "check that every row has as many fields as the header (a decimal comma in a "
                        "comma-separated file must be quoted).") from None
    notes = [n for n in (encoding_note,) if n]
    if sep != ",":
        notes.append(f"fields separated by {DELIMITERS[sep]}s")
    return frame, notes


# ---------------------------------------------------------------- numbers ---

def _number_pattern(decimal, thousands):
    integer = r"\d+" if thousands is None else rf"(?:\d+|\d{{1,3}}(?:{re.escape(thousands)}\d{{3}})+)"
    d = re.escape(decimal)
    return re.compile(rf"[+-]?(?:{integer}(?:{d}\d*)?|{d}\d+)(?:[eE][+-]?\d+)?")


_PAIRS = [(d, t) for d in DECIMALS for t in THOUSANDS.values() if t != d]


def _clean_numbers(column):
    text = column.astype(str).str.replace("\u00a0", " ").str.replace("\u202f", " ")
    return text.str.replace(_CURRENCY, "", regex=True).str.strip()


def parse_numbers(column, name="", label="", decimal=None, thousands=None):
    """``(values, decimal, thousands)``: float64 values (NaN where empty or unreadable) and the
    marks used, decided once for the whole column.

    Every (decimal, thousands) pair is matched against every value; the pairs that read the
    most values win. If they disagree on some value, :class:`DataError` names
    ``--decimal``/``--thousands``. ``thousands`` is ``"none"`` for no grouping.
    """
    if decimal is not None and decimal == THOUSANDS.get(thousands, thousands):
        raise DataError(f"--decimal and --thousands are both {decimal!r}; a mark cannot be both.")
    text = _clean_numbers(column)
    present = text != ""
    pairs = [(d, t) for d, t in _PAIRS
             if (decimal is None or d == decimal)
             and (thousands is None or t == THOUSANDS.get(thousands, thousands))]
    if not present.any() or not pairs:
        return np.full(len(text), np.nan), decimal or ".", None
    values = text[present]
    # Marks that never occur cannot matter: a pair whose thousands mark is absent reads what the
    # pair without one reads, and an absent decimal mark without grouping reads only whole
    # numbers, which the other decimal mark reads the same way.
    marks = {c for c in ".,' " if values.str.contains(c, regex=False).any()}
    pairs = [(d, t) for d, t in pairs
             if (t is None or t in marks) and not (t is None and d not in marks and marks & set(DECIMALS))
             ] or pairs
    fits = {pair: values.str.fullmatch(_number_pattern(*pair)).to_numpy(dtype=bool) for pair in pairs}
    best = max(int(f.sum()) for f in fits.values())
    if best == 0:
        return np.full(len(text), np.nan), pairs[0][0], None
    readings = []  # (pair, values) with distinct values
    for pair, fit in fits.items():
        if int(fit.sum()) != best:
            continue
        parsed = _convert(values, fit, *pair)
        for k, (_, other) in enumerate(readings):
            if np.array_equal(parsed, other, equal_nan=True):
                readings[k][0].append(pair)
                break
        else:
            readings.append(([pair], parsed))
    both = [(a, b) for i, (_, a) in enumerate(readings) for _, b in readings[i + 1:]
            if (~np.isnan(a) & ~np.isnan(b) & (a != b)).any()]
    if len(readings) > 1 and not both:  # they read different rows: the column mixes formats
        a, b = readings[0][1], readings[1][1]
        i, j = int(np.flatnonzero(np.isnan(b) & ~np.isnan(a))[0]), int(np.flatnonzero(np.isnan(a) & ~np.isnan(b))[0])
        raise DataError(f"{name}: {label} values {values.iloc[i]!r} and {values.iloc[j]!r} use different "
                        "decimal marks; make the column consistent, or say which mark to use with --decimal.")
    if len(readings) > 1:
        a, b = both[0]
        k = int(np.flatnonzero(~np.isnan(a) & ~np.isnan(b) & (a != b))[0])
        example = values.iloc[k]
        raise DataError(f"{name}: {label} values such as {example!r} read as {a[k]:,.10g} or as "
                        f"{b[k]:,.10g} depending on the decimal mark; say which with --decimal . or "
                        "--decimal , (and the thousands mark with --thousands if needed).")
    pairs_used, parsed = readings[0]
    fit = fits[pairs_used[0]]
    misfit = ~fit & np.logical_or.reduce([f for f in fits.values()])
    if misfit.any():  # a number in another format: a mix, not a missing value
        k = int(np.flatnonzero(misfit)[0])
        raise DataError(f"{name}: {label} value {values.iloc[k]!r} is written differently from the "
                        f"others (such as {values.iloc[int(np.flatnonzero(fit)[0])]!r}); make the column "
                        "consistent, or say which marks to use with --decimal and --thousands.")
    joined = "".join(values.tolist()[:100_000])
    decimal_used = next((d for d, _ in pairs_used if d in joined), pairs_used[0][0])
    thousands_used = next((t for d, t in pairs_used if d == decimal_used and t and t in joined), None)
    out = np.full(len(text), np.nan)
    out[present.to_numpy()] = parsed
    return out, decimal_used, thousands_used


def _convert(values, fit, decimal, thousands):
    import pandas as pd

    text = values.where(fit, "")
    if thousands is not None:
        text = text.str.replace(thousands, "", regex=False)
    if decimal != ".":
        text = text.str.replace(decimal, ".", regex=False)
    # Python's float() rounds correctly, so "7200.17" and "7200,17" give the same double.
    with np.errstate(over="ignore"):
        return pd.to_numeric(text.replace("", np.nan), errors="coerce").to_numpy(dtype=np.float64,
                                                                                  na_value=np.nan)


def numbers_note(decimal, thousands):
    """A note for marks other than the plain ``.`` decimal with ``,`` or no grouping, else ""."""
    if decimal == "." and thousands in (None, ","):
        return ""
    grouping = {None: "no thousands mark", " ": "spaces as thousands mark"}.get(
        thousands, f"{thousands!r} as thousands mark")
    return f"numbers read with {DECIMALS[decimal]} {decimal!r} as decimal mark and {grouping}"


# ------------------------------------------------------------------ dates ---

def parse_dates(column, name="", label="", date_format=None):
    """``(dates, mixed_tz, note)``: datetimes (NaT where unreadable), one format for the column.

    Numbers are unix epochs (unit from the magnitude) or ``yyyymmdd``. Text is tried as ISO 8601
    first, then in every format pandas guesses from the values, day-first and month-first alike;
    the formats that read the most values win, and if they disagree the one that gives a regular,
    strictly ordered series is taken — if none or several do, :class:`DataError` names
    ``--date-format``. Timestamps with a UTC offset beside ones without are refused.
    """
    import pandas as pd

    text = column.astype(str).str.strip()
    present = text != ""
    values = text[present]
    if not len(values):
        return pd.Series(pd.NaT, index=column.index, dtype="datetime64[ns]"), False, ""
    with_offset = values.str.contains(_OFFSET, regex=True)
    if with_offset.any() and not with_offset.all():
        k = int(np.flatnonzero(~with_offset.to_numpy())[0])
        j = int(np.flatnonzero(with_offset.to_numpy())[0])
        raise DataError(f"{name}: column {label!r} mixes timestamps without a UTC offset "
                        f"({values.iloc[k]!r}) and with one ({values.iloc[j]!r}), so their order is "
                        "unknown; give every timestamp an offset, or none.")
    if date_format is not None:
        try:
            parsed, mixed = _to_datetime(values, date_format)
        except ValueError as err:  # "%Q": a bad directive
            raise DataError(f"--date-format {date_format!r} is not a date format ({_reason(err).rstrip('.')}); "
                            "use strftime codes such as %d/%m/%Y or %Y-%m-%d %H:%M.") from None
        return _full(parsed, present), mixed, f"dates read as {date_format}"
    if values.str.fullmatch(r"[+-]?\d+(?:\.\d+)?").all():
        return _full(_epoch_dates(values), present), False, ""

    parsed, mixed = _to_datetime(values, "ISO8601")
    if parsed.notna().all():
        return _full(parsed, present), mixed, ""
    readings = [("ISO8601", parsed, mixed)]
    for fmt in _guess_formats(values):
        p, m = _to_datetime(values, fmt)
        readings.append((fmt, p, m))
    best = max(int(r[1].notna().sum()) for r in readings)
    distinct = []
    for fmt, p, m in readings:
        if int(p.notna().sum()) == best and not any(_same(p, q) for _, q, _ in distinct):
            distinct.append((fmt, p, m))
    if len(distinct) > 1:
        regular = [r for r in distinct if _regular(r[1])]
        if len(regular) != 1:
            a, b = distinct[0][1], distinct[1][1]
            differ = (a.notna() & b.notna() & (a != b)).to_numpy()
            k = int(np.flatnonzero(differ)[0]) if differ.any() else 0
            raise DataError(f"{name}: dates such as {values.iloc[k]!r} read both as {distinct[0][0]} and as "
                            f"{distinct[1][0]}, and {'both' if regular else 'neither'} give a regular "
                            f"series; say which with --date-format, e.g. --date-format {distinct[0][0]}.")
        distinct = regular
    fmt, parsed, mixed = distinct[0]
    note = "" if fmt == "ISO8601" else f"dates read as {fmt}"
    return _full(parsed, present), mixed, note


def _same(a, b):
    """The same instants in the same rows, whatever the resolution (``[us]`` or ``[ns]``)."""
    if not (a.isna().to_numpy() == b.isna().to_numpy()).all():
        return False
    try:
        return bool((a.dropna().to_numpy() == b.dropna().to_numpy()).all())
    except TypeError:  # tz-aware against naive
        return False


def _full(parsed, present):
    import pandas as pd

    out = pd.Series(pd.NaT, index=present.index, dtype=parsed.dtype)
    out[present.to_numpy()] = parsed.to_numpy()
    return out


def _to_datetime(values, fmt):
    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            return pd.to_datetime(values, format=fmt, errors="coerce"), False
        except (ValueError, TypeError):  # mixed UTC offsets cannot share one dtype
            return pd.to_datetime(values, format=fmt, errors="coerce", utc=True), True


def _epoch_dates(values):
    import pandas as pd

    numbers_ = pd.to_numeric(values, errors="coerce")
    if numbers_.between(19000101, 21001231).all():  # 20211027: a yyyymmdd date, not 1970
        ymd = pd.to_datetime(numbers_.astype("Int64").astype("string"), format="%Y%m%d", errors="coerce")
        if ymd.notna().all():
            return ymd
    # Unix epoch numbers; the unit follows from the magnitude (2021 is 1.6e9 s, 1.6e12 ms).
    magnitude = float(numbers_.abs().median())
    unit = next(u for u, top in (("s", 1e11), ("ms", 1e14), ("us", 1e17), ("ns", np.inf)) if magnitude < top)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pd.to_datetime(numbers_, unit=unit, errors="coerce")


def _guess_formats(values):
    from pandas.tseries.api import guess_datetime_format
    n = len(values)
    samples = values.iloc[sorted({0, n - 1, *range(0, n, max(1, n // 20))})].tolist()
    formats = []
    for sample in samples:
        for dayfirst in (False, True):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fmt = guess_datetime_format(sample, dayfirst=dayfirst)
            if fmt is None:
                continue
            for f in (fmt, _swap_day_month(fmt)):
                if f not in formats and not _year_day_month(f):
                    formats.append(f)
    return formats


def _year_day_month(fmt):
    """``%Y-%d-%m``: nobody writes dates so, and admitting it makes every ISO date ambiguous."""
    return ("%Y" in fmt and "%d" in fmt and "%m" in fmt
            and fmt.index("%Y") < fmt.index("%d") < fmt.index("%m"))


def _swap_day_month(fmt):
    if "%d" not in fmt or "%m" not in fmt:
        return fmt
    if "%Y" in fmt and fmt.index("%Y") < min(fmt.index("%d"), fmt.index("%m")):
        return fmt  # year-first formats are never year-day-month
    return fmt.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")


def _regular(parsed):
    """Strictly increasing or decreasing, with one step for at least half the steps."""
    stamps = parsed.dropna()
    if len(stamps) < 3:
        return False
    steps = np.diff(stamps.to_numpy().astype("datetime64[ns]").astype(np.int64))
    if not ((steps > 0).all() or (steps < 0).all()):
        return False
    _, counts = np.unique(np.abs(steps), return_counts=True)
    return counts.max() * 2 >= len(steps)


def _reason(err):
    text = str(getattr(err, "strerror", None) or getattr(err, "reason", None) or err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def is_url(source):
    """True for an ``http://`` or ``https://`` address."""
    return isinstance(source, str) and source.lower().startswith(("http://", "https://"))
