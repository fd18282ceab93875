"""What every forecasting command (``train``, ``predict``, ``compare``) shares to talk to a user.

* Error conventions: a user error (bad flag, bad data, bad model file, an unusable output
  folder, a NaN loss) ends with one sentence on stderr, ``error: ...``, and exit code 2 — never a
  traceback. Ctrl-C prints ``interrupted; nothing was saved`` and exits 130. Bugs still raise,
  so they can be reported.
* The argument parser whose usage errors are such sentences, and its help formatter.

The options themselves are defined once, in :mod:`.options`; files are written by
:mod:`lstm_np.files`.
"""
from __future__ import annotations

import argparse
import functools
import sys

from .._runtime import keep_memory_mapped
from ..files import OutputFolderError
from ..models import ModelFileError, NonFiniteLossError
from .data import DataError

__all__ = ["USER_ERRORS", "ArgumentParser", "HelpFormatter", "UserError", "command", "one_sentence"]

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C


class UserError(Exception):
    """A mistake the user can fix (a flag value, an output folder), phrased as one sentence."""


USER_ERRORS = (UserError, DataError, ModelFileError, NonFiniteLossError, OutputFolderError)


def one_sentence(err):
    """The error's message on one line, ending with a full stop."""
    text = " ".join(str(err).split()) or type(err).__name__
    return text if text.endswith((".", "!", "?")) else text + "."


def command(run):
    """Turn ``run(argv) -> int`` into ``main(argv=None) -> int`` with the CLI's exit codes.

    0 success; 2 a user error (one ``error: ...`` line on stderr); 130 Ctrl-C. ``--help``
    returns 0 instead of leaving the interpreter, so tests can call ``main`` directly.

    A command turns on :func:`lstm_np._runtime.keep_memory_mapped` before it runs: training
    frees and reallocates the same large arrays every batch, and the commands own their
    process. Library users decide for their own process (call it themselves).
    """
    @functools.wraps(run)
    def main(argv=None):
        keep_memory_mapped()
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
