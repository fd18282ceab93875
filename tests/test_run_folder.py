"""Run folders, faults and interruptions: no lost run, no traceback, no hang.

Contract: an output folder is claimed when a run starts (an exclusive ``mkdir``), so two runs
never share one; it is checked for writability before training; a run's files go to a staging
folder beside it and are moved in only when all are written, so a failing ``--force`` rerun
(disk full, Ctrl-C) leaves the previous run byte for byte as it was. Ctrl-C ends in
``interrupted; nothing was saved`` and exit code 130, a user error in one sentence and exit 2.
"""
import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lstm_np.forecast import runfolder as files
from lstm_np.forecast.runfolder import OutputFolderError, output_folder, write_outputs
from lstm_np.forecast import compare, memory, predict, train
from lstm_np.models import Sequential

from conftest import assert_user_error, run

TINY = ["--window", "5", "--test-days", "5", "--epochs", "2", "--units", "4", "--batch-size", "8",
        "--quiet"]


def prices(n=80, seed=0):
    rng = np.random.default_rng(seed)
    return 30_000 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))


@pytest.fixture
def csv(tmp_path):
    path = tmp_path / "btc.csv"
    pd.DataFrame({"Date": pd.date_range("2021-01-01", periods=80).strftime("%Y-%m-%d"),
                  "Close": prices()}).to_csv(path, index=False)
    return path


def snapshot(folder):
    folder = Path(folder)
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def hidden_leftovers(folder):
    """Staging folders left beside ``folder``."""
    parent = Path(folder).parent
    return [p.name for p in parent.iterdir() if p.name.startswith(".") and p.name.endswith(".writing")]


@pytest.fixture
def trained(tmp_path, csv, capsys):
    out = tmp_path / "run"
    code, _, err = run(train.main, ["--csv", csv, "--out", out, *TINY], capsys)
    assert code == 0, err
    return out, csv


@pytest.fixture
def no_training(monkeypatch):
    """Fail the test if training starts: checks must come first."""
    def fit(*args, **kwargs):
        raise AssertionError("training started before the check")
    monkeypatch.setattr(Sequential, "fit", fit)


# ------------------------------------------------ 8: a failing --force rerun ---

def disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def ctrl_c(*args, **kwargs):
    raise KeyboardInterrupt


@pytest.mark.parametrize("fault, code", [(disk_full, 2), (ctrl_c, 130)])
@pytest.mark.parametrize("at", ["plot_forecast", "plot_loss"])
def test_a_failing_force_rerun_leaves_the_previous_run_exactly(trained, capsys, monkeypatch, fault,
                                                                code, at):
    out, csv = trained
    before = snapshot(out)
    monkeypatch.setattr(train, at, fault)
    got, _, err = run(train.main, ["--csv", csv, "--out", out, "--force", *TINY, "--seed", "1"], capsys)
    assert got == code
    if code == 2:
        assert_user_error(got, err)
        assert "No space left on device" in err and "unchanged" in err
    else:
        assert err.strip() == "interrupted; nothing was saved"
    assert snapshot(out) == before
    assert hidden_leftovers(out) == []


def test_a_force_rerun_replaces_the_outputs_and_keeps_other_files(trained, capsys):
    out, csv = trained
    (out / "notes.txt").write_text("mine")
    before = snapshot(out)
    code, _, err = run(train.main, ["--csv", csv, "--out", out, "--force", *TINY, "--seed", "1"], capsys)
    assert code == 0, err
    after = snapshot(out)
    assert after.keys() == before.keys() and after[Path("notes.txt")] == b"mine"
    assert after[Path("model.npz")] != before[Path("model.npz")]
    assert hidden_leftovers(out) == []


def test_a_failing_first_run_leaves_nothing(tmp_path, csv, capsys, monkeypatch):
    monkeypatch.setattr(train, "plot_loss", disk_full)
    out = tmp_path / "new"
    code, _, err = run(train.main, ["--csv", csv, "--out", out, *TINY], capsys)
    assert_user_error(code, err)
    assert not out.exists() and hidden_leftovers(out) == []


def test_write_outputs_rolls_back_when_a_rename_fails(tmp_path, monkeypatch):
    out = tmp_path / "run"
    out.mkdir()
    (out / "a.txt").write_text("old a")
    (out / "b.txt").write_text("old b")
    folder = output_folder(out, force=True)
    real_rename, calls = os.rename, []

    def rename(src, dst):
        calls.append(dst)
        if len(calls) == 4:  # a.txt saved and moved in, b.txt saved: fail moving the new b.txt in
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename)
    with pytest.raises(OutputFolderError, match="unchanged"):
        write_outputs(folder, {"a.txt": lambda p: Path(p).write_text("new a"),
                               "b.txt": lambda p: Path(p).write_text("new b")})
    assert snapshot(out) == {Path("a.txt"): b"old a", Path("b.txt"): b"old b"}


# ------------------------------------------------- 9: the folder is claimed ---

def test_default_names_never_collide_within_one_second(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(files.time, "strftime", lambda fmt: fmt.replace("%Y%m%d-%H%M%S", "20260101-000000"))
    claimed = [output_folder(None, False) for _ in range(3)]
    assert claimed == [os.path.join("runs", n) for n in ("20260101-000000", "20260101-000000-2",
                                                          "20260101-000000-3")]
    assert all(os.path.isdir(c) for c in claimed)
    files.release_all()
    assert not os.listdir("runs")  # unfilled claims leave nothing


def test_two_runs_started_together_with_the_default_out_both_keep_their_files(tmp_path, csv):
    env = dict(os.environ)
    procs = [subprocess.Popen([sys.executable, "-m", "lstm_np.train", "--csv", str(csv), *TINY,
                               "--seed", str(k)], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for k in range(2)]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    runs = sorted(os.listdir(tmp_path / "runs"))
    assert len(runs) == 2
    for name in runs:
        assert sorted(os.listdir(tmp_path / "runs" / name)) == sorted(train.OUTPUT_FILES)


def test_a_second_run_on_the_same_out_is_refused(tmp_path, csv, capsys, no_training):
    out = tmp_path / "shared"
    first = output_folder(out, force=False)  # a run in progress in this process
    try:
        code, _, err = run(train.main, ["--csv", csv, "--out", out, *TINY], capsys)
    finally:
        files.release(first)
    assert_user_error(code, err)
    assert "being written by another run" in err


def test_a_second_run_in_another_process_on_the_same_out_is_refused(tmp_path, csv):
    out = tmp_path / "shared"
    first = output_folder(out, force=False)
    try:
        done = subprocess.run([sys.executable, "-m", "lstm_np.train", "--csv", str(csv), "--out", str(out),
                               "--force", *TINY], capture_output=True, text=True, timeout=120)
    finally:
        files.release(first)
    assert done.returncode == 2
    assert done.stderr.startswith("error: --out") and "another run (process" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_claim_left_by_a_killed_run_is_taken_over(tmp_path, csv, capsys):
    out = tmp_path / "run"
    stale = tmp_path / ".run.writing"
    stale.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (stale / "pid").write_text(str(dead.pid))
    code, _, err = run(train.main, ["--csv", csv, "--out", out, *TINY], capsys)
    assert code == 0, err
    assert sorted(os.listdir(out)) == sorted(train.OUTPUT_FILES) and not stale.exists()


# ------------------------------------------ 11: unwritable --out, disk full ---

@pytest.mark.parametrize("where", ["/proc/lstm_np_run", "through_a_file/run"])
def test_unwritable_out_is_refused_before_training(tmp_path, csv, capsys, no_training, where):
    """(As a real command: test_a_read_only_disk_is_refused_before_training.)"""
    (tmp_path / "through_a_file").write_text("a file")
    out = where if where.startswith("/") else tmp_path / where
    code, stdout, err = run(train.main, ["--csv", csv, "--out", out, *TINY], capsys)
    assert_user_error(code, err)
    assert err.startswith(f"error: --out {out} cannot be written") and stdout == ""


def test_read_only_out_is_refused_before_training(tmp_path, csv, capsys, monkeypatch, no_training):
    # Tests run as root here, and root ignores permission bits: the read-only file system is
    # simulated at the one call that meets it.
    real_mkdir = os.mkdir

    def mkdir(path, *args, **kwargs):
        if str(tmp_path / "ro") in os.fspath(path):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        return real_mkdir(path, *args, **kwargs)

    (tmp_path / "ro").mkdir()
    monkeypatch.setattr(os, "mkdir", mkdir)
    code, _, err = run(train.main, ["--csv", csv, "--out", tmp_path / "ro" / "run", *TINY], capsys)
    assert_user_error(code, err)
    assert "Read-only file system" in err


def test_disk_full_while_saving_compare(tmp_path, csv, capsys, monkeypatch):
    monkeypatch.setattr(compare, "plot_comparison", disk_full)
    out = tmp_path / "cmp"
    code, _, err = run(compare.main, ["--csv", csv, "--out", out, "--models", "mlp", "--seeds", "1",
                                      *TINY], capsys)
    assert_user_error(code, err)
    assert "No space left on device" in err and not out.exists()


# ------------------------------------------------------------ 10: Ctrl-C ---

def test_ctrl_c_during_training_as_a_real_signal(tmp_path):
    """SIGINT at random moments of real training: always exit 130 and one line, never a
    ``SystemError`` from a Numba dispatcher, and nothing saved."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    rng = np.random.default_rng(0)
    outs = [tmp_path / f"run{k}" for k in range(3)]
    procs = [subprocess.Popen([sys.executable, "-m", "lstm_np.train", "--epochs", "200", "--units", "16",
                               "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env) for out in outs]   # side by side: each starts alone
    for proc in procs:
        for line in proc.stdout:
            if line.startswith("Epoch 1/"):
                break
        time.sleep(rng.uniform(0, 0.3))
        proc.send_signal(signal.SIGINT)
    for proc, out in zip(procs, outs):
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        *before, last = err.strip().splitlines()
        assert last == "interrupted; nothing was saved"
        # the only other line allowed: the warm-up's notice, when loading the kernels took >1 s
        assert all(line.startswith("compiling kernels, first run only …") for line in before), err
        assert not out.exists() and hidden_leftovers(out) == []


def test_an_exception_raised_while_handling_ctrl_c_is_still_an_interruption(tmp_path, csv, capsys,
                                                                             monkeypatch):
    def numba_like(*args, **kwargs):  # what a Numba dispatcher raises when SIGINT lands in it
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise SystemError("CPUDispatcher(<function f>) returned a result with an exception set")
    monkeypatch.setattr(Sequential, "fit", numba_like)
    out = tmp_path / "out"
    code, _, err = run(train.main, ["--csv", csv, "--out", out, *TINY], capsys)
    assert code == 130 and err.strip() == "interrupted; nothing was saved"
    assert not out.exists()


# -------------------------------------------------------- 12: memory sizes ---

def test_huge_units_are_refused_before_allocating(tmp_path):
    out = tmp_path / "never-written"
    done = subprocess.run([sys.executable, "-m", "lstm_np.train", "--units", "100000", "--epochs", "1",
                           "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --units 100000") and "memory" in lines[0]
    assert not out.exists()


def test_windows_of_a_long_file_are_counted_before_they_are_cut(tmp_path, capsys, monkeypatch,
                                                               no_training):
    path = tmp_path / "long.csv"
    n = 5000
    pd.DataFrame({"Date": pd.date_range("2000-01-01", periods=n, freq="h").strftime("%Y-%m-%d %H:%M"),
                  "Close": prices(n)}).to_csv(path, index=False)
    need = memory.estimate_bytes("lstm", (4,), 2000, n, 8, "float32")
    assert need > 3000 * 2000 * 12  # the windows alone: 3,000 windows of 2,000 prices
    monkeypatch.setattr(memory, "available_memory", lambda: need - 1)
    monkeypatch.setattr("lstm_np.forecast.data.make_windows",
                        lambda *a: pytest.fail("windows cut before the check"))
    code, _, err = run(train.main, ["--csv", path, "--out", tmp_path / "o", *TINY, "--window", "2000"],
                       capsys)
    assert_user_error(code, err)
    assert "--window 2000" in err and "memory" in err


def test_the_tutorial_run_fits_in_memory():
    need = memory.estimate_bytes("lstm", (50, 100), 60, 666, 64, "float32")
    assert need < 200 * 2**20 < memory.available_memory()


# ---------------------------------------------------------------- 13: seed ---

@pytest.mark.parametrize("seed", ["-1", "4294967296", "1.5"])
def test_seed_out_of_range_is_one_sentence(tmp_path, csv, capsys, seed):
    code, _, err = run(train.main, ["--csv", csv, "--out", tmp_path / "o", *TINY, "--seed", seed], capsys)
    assert_user_error(code, err)
    assert "0 to 4294967295" in err


def test_largest_seed_is_accepted(tmp_path, csv, capsys):
    code, _, err = run(train.main, ["--csv", csv, "--out", tmp_path / "o", *TINY, "--seed", "4294967295"],
                       capsys)
    assert code == 0, err


def test_compare_seed_list_out_of_range(tmp_path, csv, capsys):
    code, _, err = run(compare.main, ["--csv", csv, "--seeds", "0,4294967296", *TINY], capsys)
    assert_user_error(code, err)


# ----------------------------------------------- 7: predict on other data ---

def test_predict_on_another_asset_warns_like_train(trained, tmp_path, capsys):
    out, _ = trained
    eth = tmp_path / "eth.csv"
    pd.DataFrame({"Date": pd.date_range("2021-01-01", periods=30).strftime("%Y-%m-%d"),
                  "Close": prices(30) / 50}).to_csv(eth, index=False)
    code, stdout, err = run(predict.main, ["--model", out / "model.npz", "--csv", eth], capsys)
    assert code == 0, err
    assert "  note: the last 5 prices fall to" in stdout and "below the training minimum" in stdout


def test_predict_on_another_step_says_so(trained, tmp_path, capsys):
    out, _ = trained
    quarter = tmp_path / "15min.csv"
    pd.DataFrame({"Datetime": pd.date_range("2021-03-01", periods=30, freq="15min").strftime("%Y-%m-%d %H:%M"),
                  "Close": prices(30)}).to_csv(quarter, index=False)
    code, stdout, err = run(predict.main, ["--model", out / "model.npz", "--csv", quarter, "--json"], capsys)
    assert code == 0, err
    __import__("json").loads(stdout)  # stdout stays one JSON document; notes go to stderr
    assert "note: the data's step is 0:15:00 but the model was trained on steps of 1 day" in err


def test_predict_within_the_training_range_has_no_warning(trained, tmp_path, capsys):
    out, csv = trained
    early = tmp_path / "early.csv"
    pd.read_csv(csv).iloc[:40].to_csv(early, index=False)  # training prices only
    code, stdout, err = run(predict.main, ["--model", out / "model.npz", "--csv", early], capsys)
    assert code == 0, err
    assert "note:" not in stdout


# ------------------------------------------------- 14: sources read once ---

def test_train_reads_a_fifo(tmp_path, capsys):
    fifo = tmp_path / "prices.csv"
    os.mkfifo(fifo)
    text = "Date;Close\n" + "".join(f"{d:%Y-%m-%d};{str(round(p, 2)).replace('.', ',')}\n"
                                    for d, p in zip(pd.date_range("2021-01-01", periods=80), prices()))
    writer = subprocess.Popen(["sh", "-c", f"cat > '{fifo}'"], stdin=subprocess.PIPE)
    writer.stdin.write(text.encode())
    writer.stdin.close()
    code, _, err = run(train.main, ["--csv", fifo, "--out", tmp_path / "o", *TINY], capsys)
    writer.wait(10)
    assert code == 0, err


def test_a_silent_server_times_out_as_a_real_command(tmp_path):
    import socket
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)  # accepts (the kernel completes the handshake) and never answers
    url = f"http://127.0.0.1:{server.getsockname()[1]}/btc.csv"
    start = time.monotonic()
    try:
        done = subprocess.run([sys.executable, "-m", "lstm_np.train", "--csv", url, "--timeout", "1",
                               "--out", str(tmp_path / "o"), *TINY], capture_output=True, text=True, timeout=60)
    finally:
        server.close()
    assert done.returncode == 2
    assert "no answer within 1 s" in done.stderr or "no complete answer within 1 s" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert time.monotonic() - start < 30
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("value", ["0", "-3", "nan", "1e9"])
def test_timeout_must_be_a_sensible_number_of_seconds(tmp_path, csv, capsys, value):
    code, _, err = run(train.main, ["--csv", csv, "--timeout", value, *TINY], capsys)
    assert_user_error(code, err)


# ------------------------------- 8, 11 on real small and read-only disks ---

@pytest.fixture
def small_disk(tmp_path):
    """A 160 KiB file system: room for one tiny run (about 104 KiB), not for a second beside it."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", str(mount)],
                          capture_output=True)
    if done.returncode != 0:
        pytest.skip("mounting a small file system needs root")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_force_rerun_on_a_full_disk_keeps_the_previous_run(small_disk, csv, capsys):
    out = small_disk / "run"
    code, _, err = run(train.main, ["--csv", csv, "--out", out, *TINY], capsys)   # the previous run
    assert code == 0, err
    before = snapshot(out)
    again = subprocess.run([sys.executable, "-m", "lstm_np.train", "--csv", str(csv), "--out", str(out),
                            *TINY, "--force", "--seed", "1"], capture_output=True, text=True, timeout=120)
    assert again.returncode == 2
    assert again.stderr.startswith("error: could not save ") and "No space left on device" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    assert snapshot(out) == before
    assert hidden_leftovers(out) == []


def test_a_read_only_disk_is_refused_before_training(small_disk, csv):
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    done = subprocess.run([sys.executable, "-m", "lstm_np.train", "--csv", str(csv),
                           "--out", str(small_disk / "run"), *TINY], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == (f"error: --out {small_disk / 'run'} cannot be written (Read-only file "
                                   "system); choose a folder you can write to.")
