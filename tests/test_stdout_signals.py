"""A failing stdout and SIGTERM (issue 19, item 4): one sentence, a non-zero exit, nothing lost
silently and nothing left behind.

* Every ``OSError`` on stdout is handled like a closed pipe: ``> /dev/full`` (ENOSPC), a stdout
  closed before the start (``>&-``), an EIO in the middle; never a traceback, never exit 0 with
  the forecast gone.
* SIGTERM during training: exit 143, ``terminated; nothing was saved``, no --out folder, no
  hidden claim or staging folder, no leaked-semaphore warning.
"""
import errno
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from lstm_np.forecast import predict, train

from conftest import run

TINY = ["--window", "5", "--test-days", "5", "--epochs", "2", "--units", "4", "--batch-size", "8",
        "--quiet"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("trained")
    rng = np.random.default_rng(0)
    csv = folder / "btc.csv"
    pd.DataFrame({"Date": pd.date_range("2021-01-01", periods=80).strftime("%Y-%m-%d"),
                  "Close": 30_000 * np.exp(np.cumsum(rng.normal(0, 0.01, 80)))}).to_csv(csv, index=False)
    assert train.main(["--csv", str(csv), "--out", str(folder / "run"), *TINY]) == 0
    return folder / "run" / "model.npz", csv


class FailingStdout:
    """A stdout whose writes (or flushes) fail with ``error``."""

    def __init__(self, error, on="write"):
        self.error, self.on = error, on

    def write(self, text):
        if self.on == "write":
            raise OSError(self.error, os.strerror(self.error))
        return len(text)

    def flush(self):
        if self.on == "flush":
            raise OSError(self.error, os.strerror(self.error))


@pytest.mark.parametrize("error, on", [(errno.ENOSPC, "flush"), (errno.EIO, "write"),
                                       (errno.EBADF, "write"), (errno.EPIPE, "write")])
def test_any_oserror_on_stdout_is_one_sentence(trained, capsys, monkeypatch, error, on):
    model, csv = trained
    monkeypatch.setattr(sys, "stdout", FailingStdout(error, on))
    code = predict.main(["--model", str(model), "--csv", str(csv)])
    err = capsys.readouterr().err
    if error == errno.EPIPE:  # `| head`: quiet, as shells expect
        assert code == 141 and err == ""
    else:
        assert code == 2
        assert err.count("\n") == 1 and err.startswith("error: could not write the results to standard "
                                                       f"output ({os.strerror(error)})")


def test_stdout_on_a_full_disk_as_a_real_command(trained):
    model, csv = trained
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "lstm_np.predict", "--model", str(model), "--csv", str(csv)],
                              stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == ("error: could not write the results to standard output (No space left "
                                   "on device); give the command a terminal, a file or a pipe that can "
                                   "take them.")


def test_a_closed_stdout_as_a_real_command(trained):
    model, csv = trained
    done = subprocess.run(["sh", "-c", f"'{sys.executable}' -m lstm_np.predict --model '{model}' "
                           f"--csv '{csv}' >&-"], stderr=subprocess.PIPE, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().startswith("error: could not write the results to standard output")
    assert "Traceback" not in done.stderr


def test_sigterm_during_training_exits_143_and_leaves_nothing(tmp_path):
    out = tmp_path / "run"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "lstm_np.train", "--epochs", "200", "--units", "16",
                             "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    for line in proc.stdout:
        if line.startswith("Epoch 1/"):
            break
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    lines = [line for line in err.strip().splitlines()
             if not line.startswith("compiling kernels, first run only")]
    assert lines == ["terminated; nothing was saved"], err
    assert "leaked" not in err and "Traceback" not in err
    assert not out.exists()
    assert [p for p in os.listdir(tmp_path) if p.startswith(".")] == []


def test_sigterm_handler_is_restored_after_a_command(trained, capsys):
    model, csv = trained
    before = signal.getsignal(signal.SIGTERM)
    code, _, err = run(predict.main, ["--model", model, "--csv", csv], capsys)
    assert code == 0, err
    assert signal.getsignal(signal.SIGTERM) == before
