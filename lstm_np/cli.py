"""What ``python -m lstm_np.train`` and ``python -m lstm_np.predict`` share.

* Error conventions: a user error (bad flag, bad data, bad model file, a NaN loss) ends with
  one sentence on stderr, ``error: ...``, and exit code 2 — never a traceback. Ctrl-C prints
  ``interrupted; nothing was saved`` and exits 130. Bugs still raise, so they can be reported.
* Argument types that check flag values at parse time, before any data is read.
* Atomic output files (text, JSON, bytes), all through :func:`lstm_np.models.atomic_write`.
"""
from __future__ import annotations

import argparse
import functools
import json
import math
import sys

import pandas as pd

from .data import DataError
from .models import ModelFileError, NonFiniteLossError, atomic_write

__all__ = [
    "USER_ERRORS", "ArgumentParser", "HelpFormatter", "UserError", "command",
    "comma_ints", "fraction", "positive_float", "positive_int",
    "format_date", "write_bytes", "write_json", "write_text",
]

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C


class UserError(Exception):
    """A mistake the user can fix (a flag value, an output folder), phrased as one sentence."""


USER_ERRORS = (UserError, DataError, ModelFileError, NonFiniteLossError)


def one_sentence(err):
    """The error's message on one line, ending with a full stop."""
    text = " ".join(str(err).split()) or type(err).__name__
    return text if text.endswith((".", "!", "?")) else text + "."


def command(run):
    """Turn ``run(argv) -> int`` into ``main(argv=None) -> int`` with the CLI's exit codes.

    0 success; 2 a user error (one ``error: ...`` line on stderr); 130 Ctrl-C. ``--help``
    returns 0 instead of leaving the interpreter, so tests can call ``main`` directly.
    """
    @functools.wraps(run)
    def main(argv=None):
        try:
            return run(argv)
        except USER_ERRORS as err:
            print(f"error: {one_sentence(err)}", file=sys.stderr)
            return EXIT_USER_ERROR
        except KeyboardInterrupt:
            print("interrupted; nothing was saved", file=sys.stderr)
            return EXIT_INTERRUPTED
        except SystemExit as exit_:  # argparse's --help; our parser never exits on errors
            return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    return main


# ------------------------------------------------------------------- argparse ---

class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Append ``(default: X)`` to each flag's help unless the help already names its default,
    and keep the description's and the example epilog's line breaks."""

    def _get_help_string(self, action):
        text = action.help or ""
        if ("default" in text or action.default in (None, False, argparse.SUPPRESS)
                or action.option_strings == [] or isinstance(action, argparse._HelpAction)):
            return text
        return f"{text} (default: %(default)s)"


class ArgumentParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors become one-line :class:`UserError` s."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        kwargs.setdefault("allow_abbrev", False)  # "--epoch 3" is a typo, not --epochs
        super().__init__(*args, **kwargs)

    def error(self, message):
        raise UserError(f"{message}; run `python -m {self.prog} --help` to see the options")


def positive_int(text):
    """``"64"`` -> 64; zero, negatives and non-integers are refused."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return value


def positive_float(text):
    """``"1e-3"`` -> 0.001; zero, negatives, NaN and infinity are refused."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text!r}")
    return value


def fraction(text):
    """A rate in ``[0, 1)``, such as a dropout rate or a validation split."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}")
    return value


def comma_ints(text):
    """``"50,100"`` -> ``(50, 100)``: one or more positive whole numbers."""
    parts = [p.strip() for p in str(text).split(",")]
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        values = ()
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(
            f"expected positive whole numbers separated by commas such as 50,100, got {text!r}")
    return values


# ---------------------------------------------------------------- formatting ---

def format_date(stamp, dates=None):
    """``2021-10-27`` for dates at midnight, ``2021-10-27 13:15`` (plus the zone) otherwise.

    ``dates`` (the whole index) decides, so a daily series prints every date the same way.
    """
    dates = pd.DatetimeIndex([stamp] if dates is None else dates)
    midnight = bool((dates == dates.normalize()).all()) and dates.tz is None
    stamp = pd.Timestamp(stamp)
    return stamp.strftime("%Y-%m-%d") if midnight else stamp.strftime("%Y-%m-%d %H:%M %Z").strip()


def money(value):
    """``60123.449`` -> ``"60,123.45"``."""
    return f"{value:,.2f}"


# ----------------------------------------------------------------- writing ---

def write_bytes(path, data):
    """Write ``data`` to ``path`` atomically (temporary file, then rename)."""
    atomic_write(path, lambda f: f.write(data))


def write_text(path, text):
    """Write UTF-8 ``text`` to ``path`` atomically."""
    write_bytes(path, text.encode("utf-8"))


def write_json(path, obj):
    """Write ``obj`` as indented JSON to ``path`` atomically; NaN and infinity become ``null``
    (strict JSON has no spelling for them)."""
    write_text(path, json.dumps(_finite(obj), indent=2, allow_nan=False) + "\n")


def _finite(obj):
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj
