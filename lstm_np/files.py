"""Writing files so that a failure never leaves half a result behind.

* :func:`atomic_write` writes one file through a temporary file beside it and a rename: a reader
  sees the old file or the new one, never a torn one. :meth:`Sequential.save` uses it too.
* :func:`write_outputs` writes a run's files into its output folder and, if any of them fails
  (an error, Ctrl-C), removes the ones it wrote and the folder if it created it.

This module imports nothing from the model core, so the commands can write files without it.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
import time

__all__ = ["OutputFolderError", "atomic_write", "output_folder", "write_bytes", "write_json",
           "write_outputs", "write_text"]


class OutputFolderError(ValueError):
    """The output folder cannot be used (it is a file, or not empty without ``force``)."""


def atomic_write(path, write):
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it into place, so an
    interrupted write never leaves a half-written file behind."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
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


def output_folder(out, force, prefix=""):
    """The folder a run writes to, checked before any work starts.

    ``out=None`` gives ``runs/<prefix><YYYYmmdd-HHMMSS>``. Raises :class:`OutputFolderError` if
    ``out`` is a file, or a non-empty folder and ``force`` is false.
    """
    out = out or os.path.join("runs", time.strftime(f"{prefix}%Y%m%d-%H%M%S"))
    if os.path.exists(out) and not os.path.isdir(out):
        raise OutputFolderError(f"--out {out} is a file, not a folder; choose a folder name")
    if os.path.isdir(out) and os.listdir(out) and not force:
        raise OutputFolderError(f"--out {out} is not empty; pass --force to overwrite its files "
                                "or choose another --out folder")
    return out


def write_outputs(out, writers):
    """Create ``out`` if needed and call ``writers[name](path)`` for each file, in order.

    On any failure, Ctrl-C included, the files written so far are removed, and so is ``out`` if
    this call created it and it is empty: a failed run leaves nothing behind.

    Parameters
    ----------
    out : str or os.PathLike
        The output folder.
    writers : dict of str to callable
        File name -> a function that writes that file to the path it is given (atomically).
    """
    created, written = not os.path.exists(out), []
    try:
        os.makedirs(out, exist_ok=True)
        for name, write in writers.items():
            path = os.path.join(out, name)
            write(path)
            written.append(path)
    except BaseException:
        for path in written:
            if os.path.exists(path):
                os.unlink(path)
        if created and os.path.isdir(out) and not os.listdir(out):
            os.rmdir(out)
        raise


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
