"""Writing one file so that nothing of the user's is lost: checked first, then written atomically.

* :func:`check_output` decides, before any work, whether a path may be written: it refuses
  (one sentence, :class:`OutputError`) a path whose folder is missing or whose name is too
  long, anything there that is not a regular file (a folder, a device such as ``/dev/null``,
  a FIFO, a socket: never replaced), an existing file unless ``overwrite``, and any of the
  run's inputs (the same path, a symbolic link to it or a hard link: the same ``st_dev`` and
  ``st_ino``), whatever ``overwrite`` says.
* :func:`atomic_write` writes through a temporary file beside the target and a rename: a
  reader sees the old file or the new one, never a torn one.

:meth:`lstm_np.models.Sequential.save` and the commands' writers (``lstm_np.forecast``) share
both; run folders are the commands' business (:mod:`lstm_np.forecast.runfolder`).
"""
from __future__ import annotations

import errno
import json
import math
import os
import stat
import tempfile

__all__ = ["OutputError", "atomic_write", "check_output", "same_file", "write_bytes", "write_json",
           "write_text"]


class OutputError(ValueError):
    """A path that must not be written (a device, an input, an existing file without
    ``overwrite``...), phrased as one sentence."""


_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISSOCK, "a socket"))


def kind_of(mode):
    """``"a folder"``, ``"a character device"``... for a ``st_mode`` that is not a regular file."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def check_output(path, overwrite=False, inputs=(), shown=None, force="overwrite=True"):
    """Check that ``path`` may be written; return the path to write (symbolic links resolved).

    Parameters
    ----------
    path : str or os.PathLike
    overwrite : bool
        Whether an existing regular file may be replaced.
    inputs : iterable of str or os.PathLike or None
        The run's inputs (model file, CSV...); never written to. ``None`` and URLs are skipped.
    shown : str, optional
        How the sentence names the path (default: the path), e.g. ``"--plot out.png"``.
    force : str
        What the user passes to allow replacing a file: ``"--force"`` for a command.

    Raises
    ------
    OutputError
        With one sentence saying why and what to do instead.
    """
    path = os.fspath(path)
    shown = shown or path
    if not path:
        raise OutputError(f"{shown}: an empty name cannot be written; give a file name")
    info, target = _stat(shown, path, os.lstat), path
    if info is not None and stat.S_ISLNK(info.st_mode):
        target = os.path.realpath(path)
        info = _stat(shown, target, missing=f"{shown} is a symbolic link to {target}, which does "
                                              "not exist; create its folder or give another name")
    if info is None:
        _check_folder(shown, target)
        return target
    for source in inputs:
        if same_file(target, source, info):
            raise OutputError(f"{shown} is the input {os.fspath(source)}; writing there would destroy it, "
                              "so choose another name")
    if not stat.S_ISREG(info.st_mode):
        raise OutputError(f"{shown} is {kind_of(info.st_mode)}, not a regular file, and is never "
                          "replaced; give a file name")
    if not overwrite:
        raise OutputError(f"{shown} already exists; pass {force} to replace it, or give another name")
    return target


def same_file(path, source, info=None):
    """Whether ``source`` (a path, or None/a URL: never) is the file at ``path``: the same
    resolved path, or the same device and inode (a symbolic or hard link)."""
    if source is None:
        return False
    source = os.fspath(source)
    if source.lower().startswith(("http://", "https://")):
        return False
    try:
        theirs = os.stat(source)
        info = info if info is not None else os.stat(path)
    except (OSError, ValueError):
        return os.path.realpath(path) == os.path.realpath(source)
    return (info.st_dev, info.st_ino) == (theirs.st_dev, theirs.st_ino)


def _check_folder(shown, path):
    """The folder a new file goes into exists and is a folder; the name fits the file system."""
    folder = os.path.dirname(os.path.abspath(path))
    info = _stat(shown, folder, missing=f"{shown} cannot be written: the folder {folder} does "
                                        "not exist; create it first")
    if not stat.S_ISDIR(info.st_mode):
        raise OutputError(f"{shown} cannot be written: {folder} is {kind_of(info.st_mode)}, "
                          "not a folder")
    try:
        limit = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    if len(os.fsencode(os.path.basename(path))) > limit:
        raise OutputError(f"{shown} cannot be written: its name is longer than the {limit} bytes "
                          "the file system allows; give a shorter name")


def _stat(shown, path, how=os.stat, missing=None):
    """``how(path)`` (``os.stat`` or ``os.lstat``); if nothing is there, ``None``, or the
    :class:`OutputError` ``missing`` when given; any other failure explained by :func:`_cannot`."""
    try:
        return how(path)
    except FileNotFoundError:
        if missing is None:
            return None
        raise OutputError(missing) from None
    except OSError as err:
        raise _cannot(shown, path, err) from None


def _cannot(shown, path, err):
    if err.errno == errno.ENAMETOOLONG:
        return OutputError(f"{shown} cannot be written: its name is too long for the file system; "
                           "give a shorter name")
    if err.errno == errno.ENOTDIR:
        return OutputError(f"{shown} cannot be written: a part of its path is a file, not a folder")
    return OutputError(f"{shown} cannot be written ({err.strerror or type(err).__name__})")


def atomic_write(path, write):
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it into place, so an
    interrupted write never leaves a half-written file behind. The checks are
    :func:`check_output`'s caller's: this replaces whatever regular file is at ``path``."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    # A short temporary name: the target's own name may already be as long as the system allows.
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".part")
    try:
        os.fchmod(fd, 0o666 & ~_umask())          # mkstemp makes 0600; give what open() would
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


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


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _finite(obj):
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj
