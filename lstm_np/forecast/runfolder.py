"""Run folders: a run's files appear all together or not at all, and never over its inputs.

* :func:`output_folder` claims a run's output folder when the run starts (an exclusive
  ``mkdir``), so two runs never share one, and checks before any work that it can be written
  and that none of the files the run will write there is an input of the run or something
  other than a regular file (:func:`lstm_np.files.check_output`).
* :func:`write_outputs` writes a run's files into a staging folder inside it (so the final
  renames never cross a file system, even when the folder is a mount point) and moves them in
  only when every one is written: a failed run (an error, disk full, Ctrl-C, SIGTERM) leaves the
  folder, and a previous run in it, exactly as they were.

This module imports nothing from the model core, so the commands can write files without it.
"""
from __future__ import annotations

import atexit
import os
import shutil
import signal
import stat
import threading
import time

from ..files import OutputError, check_output, kind_of

__all__ = ["COMMITTED", "OutputFolderError", "RunFolder", "output_folder", "release", "release_all",
           "write_outputs"]

STAGING = ".lstm_np-staging"  # inside the output folder: on its file system


class OutputFolderError(OutputError):
    """The output folder cannot be used (it is a file, or not empty without ``force``)."""


class RunFolder(str):
    """An output folder claimed by this process: the path (a ``str``) plus its claim.

    The claim is a hidden folder beside it, ``.<name>.writing``, made with an exclusive
    ``mkdir`` and holding the owner's process id: a second run given the same ``--out`` finds it
    and is refused. The run's files are written into a hidden staging folder inside the output
    folder, :data:`STAGING`, and moved into the output folder only when every one is written, so
    a failed or interrupted run leaves the folder exactly as it was.
    """

    claim: str
    staging: str
    created: bool
    force: bool


_CLAIMS = []     # RunFolders claimed by this process and not yet released
COMMITTED = []   # folders whose files were moved in; a command reads it when interrupted


def output_folder(out, force, prefix="", names=(), inputs=()):
    """Claim the folder a run writes to, before any work starts.

    ``out=None`` gives ``runs/<prefix><YYYYmmdd-HHMMSS>``, created with an exclusive ``mkdir``;
    a name already taken (two runs started in the same second) gets ``-2``, ``-3``, ... Raises
    :class:`OutputFolderError` if ``out`` is a file, a dangling symbolic link, a non-empty
    folder and ``force`` is false, is being written by another run, or cannot be written (a
    read-only place, a path through a file, ``/proc``...), or if one of ``names`` (the files the
    run will write) is there as something other than a regular file or is one of ``inputs``
    (the run's CSV file, model file...: compared by resolved path and by device and inode, so
    a symbolic or hard link to an input counts). Returns a :class:`RunFolder`;
    :func:`write_outputs` fills it and :func:`release` (or :func:`release_all`) gives up the
    claim if the run fails.
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
                return _stage(_claim(name, force=False, created=True))
            except BaseException:
                _remove_empty(name)
                raise
        raise OutputFolderError(f"runs/ holds 10,000 runs named {base}; give --out")
    out = os.fspath(out)
    _check_out(out)
    _make_parent(out, out)
    claim = _claim(out, force=force, created=False)
    try:
        if os.path.isdir(out) and set(os.listdir(out)) - {STAGING} and not force:
            raise OutputFolderError(f"--out {out} is not empty; pass --force to overwrite its files "
                                    "or choose another --out folder")
        try:
            os.mkdir(out)
            claim.created = True
        except FileExistsError:
            pass
        except OSError as err:
            raise _unwritable(out, err) from None
        for name in names:
            try:
                check_output(os.path.join(out, name), overwrite=True, inputs=inputs,
                             shown=f"--out {out} would replace {name}, which")
            except OutputError as err:
                raise OutputFolderError(str(err)) from None
        return _stage(claim)
    except BaseException:
        release(claim)
        raise


def _check_out(out):
    """Refuse up front what would fail only when the files are moved in."""
    try:
        info = os.stat(out)
    except FileNotFoundError:
        if os.path.islink(out):
            raise OutputFolderError(f"--out {out} is a symbolic link to {os.path.realpath(out)}, which "
                                    "does not exist; create that folder or choose another --out") from None
        return
    except NotADirectoryError:
        raise _through_a_file(out) from None
    except OSError as err:
        raise _unwritable(out, err) from None
    if not stat.S_ISDIR(info.st_mode):
        what = "a file" if stat.S_ISREG(info.st_mode) else kind_of(info.st_mode)
        raise OutputFolderError(f"--out {out} is {what}, not a folder; choose a folder name")


def _make_parent(path, shown):
    parent = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(parent, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise _through_a_file(shown) from None
    except OSError as err:
        raise _unwritable(shown, err) from None


def _through_a_file(out):
    """``--out file/sub``: name the file the path goes through."""
    above = os.path.abspath(out)
    while os.path.dirname(above) != above and not os.path.isfile(above):
        above = os.path.dirname(above)
    return OutputFolderError(f"--out {out} cannot be written: {above} is a file, not a folder; "
                             "choose a folder name")


def _claim(out, force, created):
    folder = RunFolder(out)
    folder.claim = os.path.join(os.path.dirname(os.path.abspath(out)),
                                f".{os.path.basename(os.path.abspath(out))}.writing")
    folder.staging = os.path.join(os.path.abspath(out), STAGING)
    folder.created, folder.force = created, force
    for attempt in range(2):
        try:
            os.mkdir(folder.claim)  # exclusive: the claim
            break
        except FileExistsError:
            owner = _owner(folder.claim)
            if attempt == 0 and owner is not None and not _alive(owner):
                shutil.rmtree(folder.claim, ignore_errors=True)  # left by a killed run
                shutil.rmtree(folder.staging, ignore_errors=True)
                continue
            who = f"process {owner}" if owner is not None else "another process"
            raise OutputFolderError(f"--out {out} is being written by another run ({who}); "
                                    "choose another --out folder or wait for it to finish") from None
        except OSError as err:
            raise _unwritable(out, err) from None
    else:
        raise OutputFolderError(f"--out {out} is being written by another run; choose another --out folder")
    try:
        with open(os.path.join(folder.claim, "pid"), "w") as f:
            f.write(str(os.getpid()))
    except OSError as err:
        shutil.rmtree(folder.claim, ignore_errors=True)
        raise _unwritable(out, err) from None
    _CLAIMS.append(folder)
    return folder


def _stage(folder):
    """Make the staging folder inside the claimed folder: proves, before any training, that
    files can be created there (and on its file system, where the final renames happen)."""
    try:
        shutil.rmtree(folder.staging, ignore_errors=True)  # a killed run's, under our claim now
        os.mkdir(folder.staging)
    except OSError as err:
        release(folder)
        raise _unwritable(folder, err) from None
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
    shutil.rmtree(folder.claim, ignore_errors=True)
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
        for name in writers:  # a library caller's names, not checked when the folder was claimed
            check_output(os.path.join(folder, name), overwrite=True,
                         shown=f"{folder} holds {name}, which")
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


_HELD = {signal.SIGINT, signal.SIGTERM}


def _block_sigint():
    """Hold back Ctrl-C and SIGTERM (delivered when unblocked) while the files are renamed."""
    if threading.current_thread() is not threading.main_thread():
        return False
    signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
    return True


def _unblock_sigint(blocked):
    if blocked:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _HELD)


def _first(err):
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
