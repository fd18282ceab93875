"""Every writer refuses what it must not write (issue 19, items 1-3), before any work.

The class of targets: an existing file (replaced only with --force / overwrite=True), a device
(/dev/null), a folder, a FIFO, a socket (never replaced), a symbolic or hard link to one of the
run's inputs (never written, whatever --force says), a name too long for the file system, a
missing parent folder, a path through a file and a dangling symbolic link: each ends in one
sentence (exit 2 for a command), and the target is left as it was.
"""
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lstm_np.files import OutputError, check_output
from lstm_np.forecast import predict, train
from lstm_np.forecast.runfolder import STAGING
from lstm_np.layers import Dense, LSTM
from lstm_np.models import Sequential

from conftest import assert_user_error, run

TINY = ["--window", "5", "--test-days", "5", "--epochs", "2", "--units", "4", "--batch-size", "8",
        "--quiet"]


def write_csv(path, n=80):
    rng = np.random.default_rng(0)
    pd.DataFrame({"Date": pd.date_range("2021-01-01", periods=n).strftime("%Y-%m-%d"),
                  "Close": 30_000 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))}).to_csv(path, index=False)
    return path


@pytest.fixture
def no_training(monkeypatch):
    def fit(*args, **kwargs):
        raise AssertionError("training started before the check")
    monkeypatch.setattr(Sequential, "fit", fit)


def state(path):
    """What is at ``path``: its kind and, for a regular file, its bytes (compared before/after)."""
    try:
        info = os.lstat(path)
    except OSError:  # missing, or a name too long to exist
        return None
    content = Path(path).read_bytes() if os.path.isfile(path) and not os.path.islink(path) else None
    return (info.st_mode, info.st_ino, content)


def make_target(kind, tmp_path, input_file):
    """A target path of the given kind; returns (path, words the refusal must contain, refused
    even with overwrite)."""
    target = tmp_path / "target.out"
    if kind == "existing file":
        target.write_bytes(b"the user's file")
        return target, "already exists", False
    if kind == "device":
        return Path(os.devnull), "character device", True
    if kind == "folder":
        target.mkdir()
        return target, "a folder", True
    if kind == "fifo":
        os.mkfifo(target)
        return target, "FIFO", True
    if kind == "socket":
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(target))
        server.close()
        return target, "socket", True
    if kind == "symlink to input":
        target.symlink_to(input_file)
        return target, "is the input", True
    if kind == "hard link to input":
        os.link(input_file, target)
        return target, "is the input", True
    if kind == "name too long":
        return tmp_path / ("x" * 300 + ".png"), "too long", True
    if kind == "missing parent":
        return tmp_path / "no" / "such" / "folder" / "f.png", "does not exist", True
    if kind == "path through a file":
        return input_file / "sub.png", "not a folder", True
    if kind == "dangling symlink":
        target.symlink_to(tmp_path / "gone" / "x.png")
        return target, "does not exist", True
    raise AssertionError(kind)


KINDS = ["existing file", "device", "folder", "fifo", "socket", "symlink to input", "hard link to input",
         "name too long", "missing parent", "path through a file", "dangling symlink"]


@pytest.mark.parametrize("overwrite", [False, True])
@pytest.mark.parametrize("kind", KINDS)
def test_check_output_refuses_the_class(tmp_path, kind, overwrite):
    data = tmp_path / "in.csv"
    data.write_text("Date,Close\n")
    target, words, always = make_target(kind, tmp_path, data)
    before, kept = state(target), data.read_bytes()
    if overwrite and not always:
        assert check_output(target, overwrite=True, inputs=[data]) == str(target)
    else:
        with pytest.raises(OutputError, match=words) as caught:
            check_output(target, overwrite=overwrite, inputs=[data], force="--force")
        assert len(str(caught.value).splitlines()) == 1
    assert state(target) == before and data.read_bytes() == kept


def test_a_new_file_and_a_link_to_a_file_are_writable(tmp_path):
    assert check_output(tmp_path / "new.png") == str(tmp_path / "new.png")
    (tmp_path / "real.png").write_bytes(b"old")
    (tmp_path / "link.png").symlink_to(tmp_path / "real.png")
    # the link's file is written (replaced atomically), the link stays
    assert check_output(tmp_path / "link.png", overwrite=True) == str(tmp_path / "real.png")


def small_model():
    return Sequential([LSTM(2, input_shape=(3, 1)), Dense(1)], seed=0)


@pytest.mark.parametrize("kind", [k for k in KINDS if "input" not in k])
def test_sequential_save_refuses_the_class(tmp_path, kind):
    target, words, always = make_target(kind, tmp_path, tmp_path / "a-file")
    if kind == "path through a file":
        (tmp_path / "a-file").write_text("x")
    before = state(target)
    with pytest.raises(OutputError, match=words):
        small_model().save(target)
    assert state(target) == before
    if not always:
        small_model().save(target, overwrite=True)
        assert Path(target).read_bytes()[:2] == b"PK"


def test_sequential_save_writes_a_new_file(tmp_path):
    small_model().save(tmp_path / "m.npz")
    assert (tmp_path / "m.npz").stat().st_size > 0


# ------------------------------------------------------------------ commands ---

@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny model file and its CSV for the predict tests."""
    folder = tmp_path_factory.mktemp("trained")
    csv = write_csv(folder / "btc.csv")
    assert train.main(["--csv", str(csv), "--out", str(folder / "run"), *TINY]) == 0
    return folder / "run" / "model.npz", csv


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("force", [False, True])
def test_predict_plot_refuses_the_class(trained, tmp_path, capsys, kind, force):
    model, csv = trained
    target, words, always = make_target(kind, tmp_path, csv)
    before, kept = state(target), (model.read_bytes(), csv.read_bytes())
    argv = ["--model", model, "--csv", csv, "--plot", target] + (["--force"] if force else [])
    code, stdout, err = run(predict.main, argv, capsys)
    if force and not always:
        assert code == 0, err
        assert f"wrote the plot to {target}" in stdout
        assert Path(target).read_bytes()[:4] == b"\x89PNG"
    else:
        assert_user_error(code, err)
        assert err.startswith("error: --plot ") and words in err and stdout == ""
        assert state(target) == before
    assert (model.read_bytes(), csv.read_bytes()) == kept


@pytest.mark.parametrize("which", ["model", "csv"])
def test_predict_plot_onto_its_own_inputs_is_refused_even_with_force(trained, capsys, which):
    model, csv = trained
    kept = (model.read_bytes(), csv.read_bytes())
    target = model if which == "model" else csv
    code, _, err = run(predict.main, ["--model", model, "--csv", csv, "--plot", target, "--force"], capsys)
    assert_user_error(code, err)
    assert "is the input" in err and (model.read_bytes(), csv.read_bytes()) == kept


def test_predict_plot_onto_the_models_own_data_file_is_refused(trained, capsys):
    model, csv = trained   # no --csv: the model reads the file it was trained on
    kept = csv.read_bytes()
    code, _, err = run(predict.main, ["--model", model, "--plot", csv, "--force"], capsys)
    assert_user_error(code, err)
    assert "is the input" in err and csv.read_bytes() == kept


def test_predict_plot_with_json_says_what_it_wrote_on_stderr(trained, tmp_path, capsys):
    model, csv = trained
    code, stdout, err = run(predict.main, ["--model", model, "--csv", csv, "--json", "--plot",
                                           tmp_path / "p.png"], capsys)
    assert code == 0, err
    __import__("json").loads(stdout)
    assert f"wrote the plot to {tmp_path / 'p.png'}" in err


@pytest.mark.parametrize("link", ["same path", "symlink", "hard link"])
def test_train_never_overwrites_its_own_input_in_out(tmp_path, capsys, no_training, link):
    """issue 19 item 2: train --csv X/history.csv --out X --force."""
    out = tmp_path / "X"
    out.mkdir()
    data = write_csv(out / "history.csv") if link == "same path" else write_csv(tmp_path / "prices.csv")
    if link == "symlink":
        (out / "history.csv").symlink_to(data)
    elif link == "hard link":
        os.link(data, out / "history.csv")
    kept = data.read_bytes()
    code, _, err = run(train.main, ["--csv", data, "--out", out, "--force", *TINY], capsys)
    assert_user_error(code, err)
    assert "history.csv" in err and "is the input" in err
    assert data.read_bytes() == kept and not (out / STAGING).exists()


@pytest.mark.parametrize("kind", ["folder", "fifo", "device"])
def test_train_refuses_an_output_name_that_is_not_a_file(tmp_path, capsys, no_training, kind):
    out = tmp_path / "X"
    out.mkdir()
    name = out / "loss.png"
    if kind == "folder":
        name.mkdir()
        (name / "keep.txt").write_text("mine")
    elif kind == "fifo":
        os.mkfifo(name)
    else:
        name.symlink_to(os.devnull)
    code, _, err = run(train.main, ["--csv", write_csv(tmp_path / "p.csv"), "--out", out, "--force", *TINY],
                       capsys)
    assert_user_error(code, err)
    assert "loss.png" in err and "never replaced" in err
    assert kind != "folder" or (name / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize("kind", ["dangling symlink", "path through a file", "device", "name too long"])
def test_train_out_found_up_front(tmp_path, capsys, no_training, kind):
    """issue 19 item 3: found before any training, with the sentence that says why."""
    data = write_csv(tmp_path / "p.csv")
    out = {"dangling symlink": tmp_path / "link",
           "path through a file": data / "sub",
           "device": Path(os.devnull),
           "name too long": tmp_path / ("x" * 300)}[kind]
    if kind == "dangling symlink":
        out.symlink_to(tmp_path / "gone")
    code, stdout, err = run(train.main, ["--csv", data, "--out", out, *TINY], capsys)
    assert_user_error(code, err)
    words = {"dangling symlink": "symbolic link to", "path through a file": "is a file, not a folder",
             "device": "character device, not a folder", "name too long": "too long"}[kind]
    assert err.startswith(f"error: --out {out}") and words in err and stdout == ""


def test_too_many_layers_are_refused_before_training(tmp_path, capsys, no_training):
    """issue 19 item 3: --units with 50 values trained and then refused to save."""
    units = ",".join(["2"] * 50)
    code, _, err = run(train.main, ["--csv", write_csv(tmp_path / "p.csv"), "--out", tmp_path / "o",
                                    *TINY, "--units", units], capsys)
    assert_user_error(code, err)
    assert "--units" in err and "layers" in err and not (tmp_path / "o").exists()


# ------------------------------------------------- item 3: another file system ---

@pytest.fixture
def mount_point(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip("mounting a file system needs root")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_out_at_a_mount_point_is_staged_on_its_own_file_system(mount_point, tmp_path, capsys):
    assert os.stat(mount_point).st_dev != os.stat(tmp_path).st_dev
    code, stdout, err = run(train.main, ["--csv", write_csv(tmp_path / "p.csv"), "--out", mount_point,
                                         *TINY], capsys)
    assert code == 0, err
    assert sorted(os.listdir(mount_point)) == sorted(train.OUTPUT_FILES)
    assert f"in {mount_point}" in stdout


def test_staging_is_on_the_output_folders_file_system(tmp_path):
    from lstm_np.forecast.runfolder import output_folder, release

    folder = output_folder(tmp_path / "run", force=False)
    try:
        assert os.path.dirname(folder.staging) == str(tmp_path / "run")
        assert os.stat(folder.staging).st_dev == os.stat(tmp_path / "run").st_dev
    finally:
        release(folder)
    assert not (tmp_path / "run").exists()


def test_a_real_command_refuses_a_device_plot_in_one_sentence(trained):
    model, csv = trained
    done = subprocess.run([sys.executable, "-m", "lstm_np.predict", "--model", str(model), "--csv", str(csv),
                           "--plot", os.devnull, "--force"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == (f"error: --plot {os.devnull} is a character device, not a regular file, "
                                   "and is never replaced; give a file name.")
