"""Writing files so that a failure never leaves half a result behind.

* :func:`atomic_write` writes one file through a temporary file beside it and a rename: a reader
  sees the old file or the new one, never a torn one. :meth:`Sequential.save` uses it too.
* :func:`output_folder` claims a run's output folder when the run starts (an exclusive
  ``mkdir``), so two runs never share one, and checks that it can be written before any work.
* :func:`write_outputs` writes a run's files into a staging folder beside it and moves them in
  only when every one is written: a failed run (an error, disk full, Ctrl-C) leaves the folder,
  and a previous run in it, exactly as they were.

This module imports nothing from the model core, so the commands can write files without it.
"""
from __future__ import annotations

import atexit
import json
import math
import os
import shutil
import signal
import tempfile
import threading
import time

__all__ = ["OutputFolderError", "RunFolder", "atomic_write", "output_folder", "release",
           "release_all", "write_bytes", "write_json", "write_outputs", "write_text"]


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


class RunFolder(str):
    """An output folder claimed by this process: the path (a ``str``) plus its claim.

    The claim is a hidden folder beside it, ``.<name>.writing``, made with an exclusive
    ``mkdir``: a second run given the same ``--out`` finds it and is refused. The run's files are
    written into it (the staging folder), and moved into the output folder only when every one is
    written, so a failed or interrupted run leaves the folder exactly as it was.
    """

    staging: str
    created: bool
    force: bool


_CLAIMS = []     # RunFolders claimed by this process and not yet released
COMMITTED = []   # folders whose files were moved in; a command reads it when interrupted


def output_folder(out, force, prefix=""):
    """Claim the folder a run writes to, before any work starts.

    ``out=None`` gives ``runs/<prefix><YYYYmmdd-HHMMSS>``, created with an exclusive ``mkdir``;
    a name already taken (two runs started in the same second) gets ``-2``, ``-3``, ... Raises
    :class:`OutputFolderError` if ``out`` is a file, a non-empty folder and ``force`` is false,
    is being written by another run, or cannot be written (a read-only place, a path through a
    file, ``/proc``...). Returns a :class:`RunFolder`; :func:`write_outputs` fills it and
    :func:`release` (or :func:`release_all`) gives up the claim if the run fails.
    """
    if not out:  # None, or "" from a script
        base = os.path.join("runs", time.strftime(f"{prefix}%Y%m%d-%H%M%S"))
        _make_parent(base, base)
        for k in range(1, 10_000):
            name = base if k == 1 else f"{base}-{k}"
            try:
                os.mkdir(name)
            except FileExistsError:
                continue
            except OSError as err:
                raise _unwritable(name, err) from None
            try:
                return _claim(name, force=False, created=True)
            except BaseException:
                _remove_empty(name)
                raise
        raise OutputFolderError(f"runs/ holds 10,000 runs named {base}; give --out")
    out = os.fspath(out)
    if os.path.exists(out) and not os.path.isdir(out):
        raise OutputFolderError(f"--out {out} is a file, not a folder; choose a folder name")
    _make_parent(out, out)
    claim = _claim(out, force=force, created=False)
    try:
        if os.path.isdir(out) and os.listdir(out) and not force:
            raise OutputFolderError(f"--out {out} is not empty; pass --force to overwrite its files "
                                    "or choose another --out folder")
        try:
            os.mkdir(out)
            claim.created = True
        except FileExistsError:
            pass
    except BaseException:
        release(claim)
        raise
    return claim


def _make_parent(path, shown):
    parent = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(parent, exist_ok=True)
    except OSError as err:
        raise _unwritable(shown, err) from None


def _claim(out, force, created):
    folder = RunFolder(out)
    folder.staging = os.path.join(os.path.dirname(os.path.abspath(out)),
                                  f".{os.path.basename(os.path.abspath(out))}.writing")
    folder.created, folder.force = created, force
    for attempt in range(2):
        try:
            os.mkdir(folder.staging)  # exclusive: the claim
            break
        except FileExistsError:
            owner = _owner(folder.staging)
            if attempt == 0 and owner is not None and not _alive(owner):
                shutil.rmtree(folder.staging, ignore_errors=True)  # left by a killed run
                continue
            who = f"process {owner}" if owner is not None else "another process"
            raise OutputFolderError(f"--out {out} is being written by another run ({who}); "
                                    "choose another --out folder or wait for it to finish") from None
        except OSError as err:
            raise _unwritable(out, err) from None
    else:
        raise OutputFolderError(f"--out {out} is being written by another run; choose another --out folder")
    try:  # a first file proves that files can be created there, before any training
        with open(os.path.join(folder.staging, "pid"), "w") as f:
            f.write(str(os.getpid()))
    except OSError as err:
        shutil.rmtree(folder.staging, ignore_errors=True)
        raise _unwritable(out, err) from None
    _CLAIMS.append(folder)
    return folder


def _owner(staging):
    try:
        with open(os.path.join(staging, "pid")) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def _alive(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def _unwritable(out, err):
    reason = err.strerror or type(err).__name__
    return OutputFolderError(f"--out {out} cannot be written ({reason}); choose a folder you can write to")


def release(folder):
    """Give up a claim: remove the staging folder, and the output folder if this run created it
    and it is still empty. Safe to call twice."""
    if folder in _CLAIMS:
        _CLAIMS.remove(folder)
    shutil.rmtree(folder.staging, ignore_errors=True)
    if folder.created:
        _remove_empty(folder)


def release_all():
    """Release every claim this process still holds (a command calls it when it ends)."""
    for folder in list(_CLAIMS):
        release(folder)


atexit.register(release_all)  # a library caller that claims and never writes leaves nothing


def _remove_empty(path):
    try:
        if os.path.isdir(path) and not os.listdir(path):
            os.rmdir(path)
    except OSError:
        pass


def write_outputs(out, writers):
    """Write a run's files into ``out``, all or nothing, and release its claim.

    Each file is written into the staging folder first; only when every one is written are they
    moved into ``out`` (renames, with Ctrl-C held back for those few microseconds), replacing
    files of the same names; other files in ``out`` are kept. On any failure, Ctrl-C included,
    ``out`` is left exactly as it was (and removed if this run created it). A failed write
    (disk full, read-only) raises :class:`OutputFolderError`.

    Parameters
    ----------
    out : RunFolder or str or os.PathLike
        The folder from :func:`output_folder`; a plain path is claimed here (with ``force``).
    writers : dict of str to callable
        File name -> a function that writes that file to the path it is given.
    """
    folder = out if isinstance(out, RunFolder) and out in _CLAIMS else output_folder(os.fspath(out), True)
    try:
        for name, write in writers.items():
            try:
                write(os.path.join(folder.staging, name))
            except OSError as err:
                raise OutputFolderError(
                    f"could not save {name} in {folder} ({err.strerror or _first(err)}); nothing was "
                    f"saved{' and the previous files are unchanged' if not folder.created else ''}") from None
        _move_in(folder, list(writers))
    finally:
        release(folder)


def _move_in(folder, names):
    """Move the staged files into the folder; on an error put the previous files back."""
    backup = os.path.join(folder.staging, ".previous")
    os.mkdir(backup)
    moved, saved = [], []
    blocked = _block_sigint()
    try:
        os.makedirs(folder, exist_ok=True)
        for name in names:
            target = os.path.join(folder, name)
            if os.path.lexists(target):
                os.rename(target, os.path.join(backup, name))
                saved.append(name)
            os.rename(os.path.join(folder.staging, name), target)
            moved.append(name)
    except BaseException as err:
        for name in moved:
            os.unlink(os.path.join(folder, name))
        for name in saved:
            os.rename(os.path.join(backup, name), os.path.join(folder, name))
        if isinstance(err, OSError):
            raise OutputFolderError(f"could not move the new files into {folder} ({err.strerror}); "
                                    "the previous files are unchanged") from None
        raise
    finally:
        _unblock_sigint(blocked)
    folder.created = False  # it now holds the run: never remove it
    COMMITTED.append(str(folder))


def _block_sigint():
    if threading.current_thread() is not threading.main_thread():
        return False
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    return True


def _unblock_sigint(blocked):
    if blocked:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _first(err):
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


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
