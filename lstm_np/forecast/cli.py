"""What every forecasting command (``train``, ``predict``, ``compare``) shares to talk to a user.

* Error conventions: a user error (bad flag, bad data, bad model file, an unusable output
  folder, a NaN loss) ends with one sentence on stderr, ``error: ...``, and exit code 2 — never a
  traceback. Ctrl-C prints ``interrupted; nothing was saved`` and exits 130. Bugs still raise,
  so they can be reported.
* The argument parser whose usage errors are such sentences, and its help formatter.

The options themselves are defined once, in :mod:`.options`; run folders are written by
:mod:`.runfolder`.
"""
from __future__ import annotations

import argparse
import errno
import functools
import os
import signal
import sys
import threading

from .._runtime import keep_memory_mapped
from ..files import OutputError
from . import runfolder
from .reader import DataError

__all__ = ["ArgumentParser", "HelpFormatter", "UserError", "command", "is_user_error", "one_sentence"]

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C
EXIT_TERMINATED = 143   # 128 + SIGTERM, what shells report for `kill`
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what shells report when a reader such as head stops early


class UserError(Exception):
    """A mistake the user can fix (a flag value, an output folder), phrased as one sentence."""


def is_user_error(err):
    """Whether ``err`` is a mistake the user can fix: a :class:`UserError`, a ``DataError``, an
    ``OutputError`` (a path that must not be written, a run folder), or the model module's ``ModelFileError`` or ``NonFiniteLossError``.

    The model module is not imported to ask: it loads Numba, which a ``--help`` or a bad flag
    should not wait for, and its errors cannot have been raised if it was never imported.
    """
    if isinstance(err, (UserError, DataError, OutputError)):
        return True
    models = sys.modules.get(__package__.rpartition(".")[0] + ".models")  # lstm_np.models
    return models is not None and isinstance(err, (models.ModelFileError, models.NonFiniteLossError))


def one_sentence(err):
    """The error's message on one line, ending with a full stop."""
    text = " ".join(str(err).split()) or type(err).__name__
    return text if text.endswith((".", "!", "?")) else text + "."


def command(run):
    """Turn ``run(argv) -> int`` into ``main(argv=None) -> int`` with the CLI's exit codes.

    0 success; 2 a user error (one ``error: ...`` line on stderr); 130 Ctrl-C; 143 SIGTERM;
    141 a closed pipe on stdout (``| head``); 2 any other failure to write stdout (``> /dev/full``,
    a closed stdout: one sentence on stderr, never a forecast lost with exit 0). ``--help``
    returns 0 instead of leaving the interpreter, so tests can call ``main`` directly.

    SIGTERM is handled as Ctrl-C is (the same clean-up: claims released, a cluster shut down),
    and ends in ``terminated; nothing was saved``.

    Ctrl-C is recognised however it surfaces: as ``KeyboardInterrupt``, or as whatever a
    compiled kernel turns it into (Numba's dispatcher reports an interrupt that arrives during
    its argument checks as ``SystemError: ... returned a result with an exception set``). A
    SIGINT handler records the press, so any exception after it is the interruption. Output
    folders the command claimed and did not fill are released whatever happens.

    A command turns on :func:`lstm_np._runtime.keep_memory_mapped` before it runs: training
    frees and reallocates the same large arrays every batch, and the commands own their
    process. Library users decide for their own process (call it themselves).
    """
    @functools.wraps(run)
    def main(argv=None):
        keep_memory_mapped()
        pressed = []
        previous = _catch_signals(pressed)
        runfolder.COMMITTED.clear()
        stdout = sys.stdout
        try:
            if stdout is None:  # started with stdout closed (`>&-`): the results would vanish
                raise StdoutError(OSError(errno.EBADF, "it is closed"))
            sys.stdout = _Guarded(stdout)
            code = run(argv)
            sys.stdout.flush()  # a full disk behind stdout shows here, not after exit 0
            return code
        except BaseException as err:
            if pressed or _is_interrupt(err):
                saved = runfolder.COMMITTED[-1] if runfolder.COMMITTED else None
                what = "terminated" if signal.SIGTERM in pressed else "interrupted"
                _say(f"{what}; nothing was saved" if saved is None
                     else f"{what} after the run was saved in {saved}")
                return EXIT_TERMINATED if signal.SIGTERM in pressed else EXIT_INTERRUPTED
            if isinstance(err, StdoutError) and isinstance(err.error, BrokenPipeError) \
                    or isinstance(err, BrokenPipeError):  # `... --json | head` closed our stdout
                _silence_stdout(stdout)
                return EXIT_BROKEN_PIPE
            if isinstance(err, StdoutError):
                _silence_stdout(stdout)
                saved = runfolder.COMMITTED[-1] if runfolder.COMMITTED else None
                _say(f"error: could not write the results to standard output "
                     f"({err.error.strerror or err.error}); "
                     + ("give the command a terminal, a file or a pipe that can take them." if saved is None
                        else f"the run was saved in {saved}."))
                return EXIT_USER_ERROR
            if is_user_error(err):
                print(f"error: {one_sentence(err)}", file=sys.stderr)
                return EXIT_USER_ERROR
            if isinstance(err, SystemExit):  # argparse's --help; our parser never exits on errors
                return err.code if isinstance(err.code, int) else (0 if err.code is None else 1)
            raise
        finally:
            if sys.stdout is not stdout and isinstance(sys.stdout, _Guarded):
                sys.stdout = stdout
            runfolder.release_all()
            for signum, handler in (previous or {}).items():
                signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
    return main


class StdoutError(Exception):
    """Writing to standard output failed (``error``: the ``OSError``)."""

    def __init__(self, error):
        super().__init__(str(error))
        self.error = error


class _Guarded:
    """``sys.stdout`` for the length of a command: an ``OSError`` while writing or flushing
    becomes a :class:`StdoutError`, so it is never mistaken for the failure of another file."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        try:
            return self._stream.write(text)
        except OSError as err:
            raise StdoutError(err) from None

    def flush(self):
        try:
            return self._stream.flush()
        except OSError as err:
            raise StdoutError(err) from None

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _say(line):
    """One line on stderr, if stderr can take it."""
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError, AttributeError):
        pass


def _silence_stdout(stdout):
    """Point stdout at /dev/null, so the interpreter's final flush of a closed pipe or a full
    disk is quiet (what was not written is lost either way, and the exit code says so)."""
    try:
        fd = stdout.fileno()
    except (AttributeError, OSError, ValueError):  # a test's capture object: nothing to flush
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def _catch_signals(pressed):
    """Install SIGINT and SIGTERM handlers that record the signal and raise KeyboardInterrupt,
    as Python's own SIGINT handler does; returns ``{signal: previous handler}`` (None off the
    main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def interrupted(signum, frame):
        pressed.append(signum)
        raise KeyboardInterrupt

    return {signum: signal.signal(signum, interrupted) for signum in (signal.SIGINT, signal.SIGTERM)}


def _is_interrupt(err):
    """True if ``err`` is a KeyboardInterrupt or was raised while handling one."""
    seen = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, KeyboardInterrupt):
            return True
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return False


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
