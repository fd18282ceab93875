"""The command line, run for real: ``lstm_np.train`` and ``lstm_np.predict`` through ``main(argv)``
(and as subprocesses), on small price files in every accepted layout and on every bad input.

Contract: success exits 0 and writes every output; a user error exits 2 with exactly one
``error: ...`` line on stderr, no traceback, and no file written or overwritten.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lstm_np.forecast import predict, train
from lstm_np.models import Sequential
from lstm_np.forecast.train import OUTPUT_FILES

from conftest import assert_user_error, run

TINY = ["--window", "5", "--test-days", "5", "--epochs", "2", "--units", "4", "--batch-size", "8",
        "--quiet"]
METRIC_KEYS = {"mae", "rmse", "mape", "naive_mae", "naive_rmse", "naive_mape", "n_train", "n_val",
               "n_test", "test_start", "test_end", "epochs", "train_seconds", "source", "options"}


# ------------------------------------------------------------------ helpers ---

def prices(n=80, seed=0):
    """A calm random walk around $30,000: small relative moves keep every forecast positive."""
    rng = np.random.default_rng(seed)
    return 30_000 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))


def days(n=80, start="2021-01-01"):
    return pd.date_range(start, periods=n, freq="D")


def write_csv(path, frame):
    frame.to_csv(path, index=False)
    return path


def snapshot(folder):
    """Every file under ``folder`` with its bytes, to prove nothing changed."""
    folder = Path(folder)
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# Each layout the issue names: (file name, DataFrame builder).
def yahoo(n=80):
    p = prices(n)
    return pd.DataFrame({"Date": days(n).strftime("%Y-%m-%d"), "Open": p, "High": p * 1.01,
                         "Low": p * 0.99, "Close": p, "Adj Close": p, "Volume": 1e9})


def lower_case(n=80):
    return pd.DataFrame({"date": days(n).strftime("%Y-%m-%d"), "close": prices(n, 1)})


def adj_close_datetime(n=80):
    return pd.DataFrame({"Datetime": days(n).strftime("%Y-%m-%d %H:%M:%S"), "Adj Close": prices(n, 2)})


def price_newest_first_thousands(n=80):
    frame = pd.DataFrame({"day": days(n).strftime("%Y-%m-%d"),
                          "Price": [f"{v:,.2f}" for v in prices(n, 3)]})  # "30,123.45"
    return frame.iloc[::-1]


def timestamp_with_gaps(n=80):
    frame = pd.DataFrame({"timestamp": (days(n).astype("int64") // 10**9),
                          "close": prices(n, 4).astype(object)})
    frame.loc[10, "close"] = None
    frame.loc[20, "close"] = 0
    frame.loc[30, "close"] = "null"
    frame = pd.concat([frame, frame.iloc[[40]]])  # a duplicated day
    return frame.drop(index=50)  # a calendar gap


def eth_investing_com(n=80):
    """Investing.com's layout for ETH: newest first, "Oct 27, 2021" dates, quoted thousands."""
    p = prices(n, 5) / 10  # ~$3,000
    return pd.DataFrame({"Date": days(n, "2021-08-01").strftime("%b %d, %Y"),
                         "Price": [f"{v:,.2f}" for v in p], "Open": [f"{v:,.2f}" for v in p],
                         "High": [f"{v * 1.02:,.2f}" for v in p], "Low": [f"{v * 0.98:,.2f}" for v in p],
                         "Vol.": "1.23M", "Change %": "0.50%"}).iloc[::-1]


LAYOUTS = {"yahoo": yahoo, "lower_case": lower_case, "adj_close_datetime": adj_close_datetime,
           "price_newest_first_thousands": price_newest_first_thousands,
           "timestamp_with_gaps": timestamp_with_gaps, "eth_investing_com": eth_investing_com}


@pytest.fixture
def csv(tmp_path):
    return write_csv(tmp_path / "btc.csv", yahoo())


@pytest.fixture
def trained(tmp_path, csv, capsys):
    """A tiny trained run: (out dir, csv path)."""
    out = tmp_path / "run"
    code, _, err = run(train.main, ["--csv", csv, "--out", out, *TINY], capsys)
    assert code == 0, err
    return out, csv


# ------------------------------------------------------------------ success ---

def test_tiny_run_and_predict_as_real_subprocesses(tmp_path, csv):
    out = tmp_path / "sub"
    done = subprocess.run([sys.executable, "-m", "lstm_np.train", "--csv", str(csv), "--out", str(out),
                           *TINY], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "naive" in done.stdout and "wins" in done.stdout
    assert all((out / name).is_file() for name in OUTPUT_FILES)
    done = subprocess.run([sys.executable, "-m", "lstm_np.predict", "--model", str(out / "model.npz")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1].startswith("2021-03-22: ")


def test_every_command_runs_under_both_names_as_a_real_command():
    """``python -m`` under the short and the package name prints the help, with no warning
    (``-W error``: runpy warns when a module is imported twice). The commands start side by side:
    each is a fresh interpreter importing lstm_np, and they do not depend on each other."""
    modules = ["lstm_np.train", "lstm_np.forecast.train", "lstm_np.forecast.predict",   # lstm_np.predict:
               "lstm_np.forecast.compare", "lstm_np.compare",                          # run for real below
               "lstm_np.forecast.backtest", "lstm_np.backtest"]
    procs = {module: subprocess.Popen([sys.executable, "-W", "error", "-m", module, "--help"],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for module in modules}
    outputs = {module: proc.communicate(timeout=120) for module, proc in procs.items()}
    for module, (out, err) in outputs.items():
        assert procs[module].returncode == 0, (module, err)
        assert "examples:" in out and err == "", module
    for text in ("--csv", "--window", "(default: 60)", "--units", "50,100", "--force", "examples:"):
        assert text in outputs["lstm_np.train"][0]


def test_commands_turn_on_the_malloc_setting(monkeypatch, capsys):
    import lstm_np.forecast.cli as cli
    calls = []
    monkeypatch.setattr(cli, "keep_memory_mapped", lambda: calls.append(1))
    assert train.main(["--help"]) == 0
    assert calls == [1]


def test_an_option_is_defined_once_for_train_and_compare():
    from dataclasses import fields
    from lstm_np.forecast.options import CompareOptions, TrainingOptions, TrainOptions
    from lstm_np.forecast import compare
    shared = ["--window", "7", "--test-days", "9", "--val-split", "0.2", "--units", "8,4", "--dropout", "0.1",
              "--epochs", "3", "--batch-size", "5", "--optimizer", "sgd", "--learning-rate", "0.5",
              "--dtype", "float64", "--dataset", "btc-15min", "--column", "Open", "--date-column", "Date",
              "--target", "diff", "--horizon", "3", "--features", "volume,close", "--strategy", "recursive",
              "--patience", "4", "--interval", "0.8"]
    one = train.parse_args(shared + ["--seed", "4"])
    many = compare.parse_args(shared + ["--seeds", "4,5", "--models", "gru"])
    run = many.run("gru", 4)
    assert isinstance(run, TrainOptions) and run.model == "gru" and run.seed == 4
    for f in fields(TrainingOptions):  # every shared option reaches both commands, parsed the same way
        assert getattr(one, f.name) == getattr(many, f.name) == getattr(run, f.name), f.name
    assert {f.name for f in fields(CompareOptions)} >= {f.name for f in fields(TrainingOptions)}
    assert (one.target, one.horizon, one.features, one.strategy, one.patience, one.interval) == \
        ("diff", 3, ("close", "volume"), "recursive", 4, 0.8)  # close always first
    from lstm_np.forecast import backtest
    folds = backtest.parse_args(shared + ["--seeds", "2", "--models", "gru", "--folds", "4"])
    task = folds.training("gru", 4)
    assert isinstance(task, TrainOptions) and task.model == "gru"
    for f in fields(TrainingOptions):  # the backtest trains with the same options, parsed the same way
        assert getattr(one, f.name) == getattr(folds, f.name) == getattr(task, f.name), f.name


@pytest.mark.parametrize("layout", LAYOUTS)
def test_train_accepts_every_layout(tmp_path, capsys, layout):
    path = write_csv(tmp_path / f"{layout}.csv", LAYOUTS[layout]())
    out = tmp_path / "out"
    code, stdout, err = run(train.main, ["--csv", path, "--out", out, *TINY], capsys)
    assert code == 0, err
    assert err == ""
    assert sorted(os.listdir(out)) == sorted(OUTPUT_FILES)
    metrics = json.loads((out / "metrics.json").read_text())
    assert METRIC_KEYS <= set(metrics)
    assert metrics["n_test"] == 5 and metrics["epochs"] == 2
    assert all(np.isfinite(metrics[k]) and metrics[k] > 0 for k in ("mae", "rmse", "naive_mae"))
    assert metrics["options"]["window"] == 5 and metrics["options"]["units"] == [4]
    assert metrics["test_start"] < metrics["test_end"]
    history = (out / "history.csv").read_text().splitlines()
    assert history[0] == "epoch,loss,val_loss,seconds,best" and len(history) == 3
    assert sum(int(row.split(",")[-1]) for row in history[1:]) == 1  # one best epoch, marked
    assert (out / "forecast.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for word in ("MAE", "RMSE", "MAPE", "naive", "ratio", "wins"):
        assert word in stdout


def test_cleaning_is_reported(tmp_path, capsys):
    path = write_csv(tmp_path / "messy.csv", timestamp_with_gaps().iloc[::-1])
    code, stdout, err = run(train.main, ["--csv", path, "--out", tmp_path / "o",
                                         *[a for a in TINY if a != "--quiet"]], capsys)
    assert code == 0, err
    assert "sorted by date" in stdout
    assert "1 duplicate date dropped" in stdout
    assert "missing prices interpolated" in stdout
    assert "calendar gap" in stdout
    assert "Epoch 2/2" in stdout and "val_loss" in stdout  # fit's progress line
    assert "Total params" in stdout  # the model summary


def test_model_file_carries_what_predict_needs(trained):
    from lstm_np import load_model
    out, csv = trained
    extra = load_model(out / "model.npz").extra
    assert extra["window"] == 5 and extra["column"] == "Close"
    assert extra["source"] == str(csv) and extra["last_date"] == "2021-03-21"
    assert {"data_min", "data_max"} <= set(extra["scaler"])


def test_predict_round_trips_a_trained_model(trained, capsys):
    out, csv = trained
    code, stdout, err = run(predict.main, ["--model", out / "model.npz"], capsys)
    assert code == 0, err
    line = stdout.strip().splitlines()[-1]
    date, rest = line.split(": ", 1)
    assert pd.Timestamp(date) == pd.Timestamp("2021-03-22")  # the day after the last one
    value = float(rest.split(" ")[0].replace(",", ""))
    assert np.isfinite(value) and value > 0
    assert "last close 2021-03-21" in line

    code, stdout, err = run(predict.main, ["--model", out / "model.npz", "--csv", csv, "--json"], capsys)
    assert code == 0, err
    [result] = json.loads(stdout)  # one model step: a list of one {date, forecast, low, high}
    assert set(result) == {"date", "forecast", "low", "high"}
    assert result["date"] == "2021-03-22"
    assert result["forecast"] == pytest.approx(value, abs=0.01)
    assert result["low"] <= result["forecast"] <= result["high"]


def test_predict_on_another_layout_detects_its_columns(trained, tmp_path, capsys):
    out, _ = trained
    other = write_csv(tmp_path / "other.csv", price_newest_first_thousands(30))
    code, stdout, err = run(predict.main, ["--model", out / "model.npz", "--csv", other], capsys)
    assert code == 0, err
    assert stdout.strip().splitlines()[-1].startswith("2021-01-31: ")


def test_force_overwrites_a_previous_run(trained, capsys):
    out, csv = trained
    before = (out / "model.npz").read_bytes()
    code, _, err = run(train.main, ["--csv", csv, "--out", out, "--force", *TINY, "--seed", "1"], capsys)
    assert code == 0, err
    assert (out / "model.npz").read_bytes() != before


def test_bundled_default_data_end_to_end(tmp_path, capsys):
    out = tmp_path / "default"
    code, stdout, err = run(train.main, ["--epochs", "1", "--units", "8", "--out", out, "--quiet"], capsys)
    assert code == 0, err
    assert sorted(os.listdir(out)) == sorted(OUTPUT_FILES)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["source"] == "btc-daily" and metrics["n_test"] == 60
    assert metrics["test_end"] == "2021-10-27"
    code, stdout, err = run(predict.main, ["--model", out / "model.npz"], capsys)
    assert code == 0, err
    assert stdout.strip().splitlines()[-1].startswith("2021-10-28: ")


# ------------------------------------------------------------- bad training ---

def bad_files(tmp_path):
    return {
        "no_price_column": write_csv(tmp_path / "nocol.csv", pd.DataFrame(
            {"Date": days(80).strftime("%Y-%m-%d"), "Volume": prices(80)})),
        "too_few_rows": write_csv(tmp_path / "short.csv", yahoo(10)),
        "mostly_missing": write_csv(tmp_path / "missing.csv", pd.DataFrame(
            {"Date": days(80).strftime("%Y-%m-%d"), "Close": [v if k % 3 == 0 else None
                                                               for k, v in enumerate(prices(80))]})),
        "empty": tmp_path / "empty.csv",
    }


BAD_TRAIN = {
    "negative_epochs": ["--epochs", "-3"],
    "zero_epochs": ["--epochs", "0"],
    "window_longer_than_data": ["--window", "200"],
    "test_days_too_many": ["--test-days", "100"],
    "val_split_out_of_range": ["--val-split", "1.5"],
    "dropout_one": ["--dropout", "1"],
    "bad_units": ["--units", "50,abc"],
    "zero_units": ["--units", "0"],
    "negative_learning_rate": ["--learning-rate", "-0.1"],
    "unknown_optimizer": ["--optimizer", "ftrl"],
    "unknown_model": ["--model", "transformer"],
    "unknown_flag": ["--epoch", "3"],
    "csv_and_dataset": ["--dataset", "btc-daily"],
    "nan_loss": ["--optimizer", "sgd", "--learning-rate", "1e6"],
}


@pytest.mark.parametrize("case", BAD_TRAIN)
def test_bad_flags_exit_2_and_write_nothing(tmp_path, csv, capsys, case):
    out = tmp_path / "out"
    code, _, err = run(train.main, ["--csv", csv, "--out", out, *TINY, *BAD_TRAIN[case]], capsys)
    assert_user_error(code, err)
    assert not out.exists()
    if case == "nan_loss":
        assert "NaN" in err and "learning rate" in err


@pytest.mark.parametrize("case", ["no_price_column", "too_few_rows", "mostly_missing", "empty",
                                  "missing_file"])
def test_bad_data_exits_2_and_writes_nothing(tmp_path, capsys, case):
    files = bad_files(tmp_path)
    files["empty"].write_text("")
    path = files.get(case, tmp_path / "does-not-exist.csv")
    out = tmp_path / "out"
    code, _, err = run(train.main, ["--csv", path, "--out", out, *TINY], capsys)
    assert_user_error(code, err)
    assert not out.exists()


def test_non_empty_out_is_refused_without_force(trained, capsys):
    out, csv = trained
    (out / "notes.txt").write_text("mine")
    before = snapshot(out)
    code, _, err = run(train.main, ["--csv", csv, "--out", out, *TINY, "--seed", "1"], capsys)
    assert_user_error(code, err)
    assert "--force" in err
    assert snapshot(out) == before


def test_out_that_is_a_file_is_refused(tmp_path, csv, capsys):
    target = tmp_path / "file"
    target.write_bytes(b"keep")
    code, _, err = run(train.main, ["--csv", csv, "--out", target, *TINY], capsys)
    assert_user_error(code, err)
    assert target.read_bytes() == b"keep"


def test_nan_loss_with_force_keeps_the_previous_model(trained, capsys):
    out, csv = trained
    before = snapshot(out)
    code, _, err = run(train.main, ["--csv", csv, "--out", out, "--force", *TINY,
                                    "--optimizer", "sgd", "--learning-rate", "1e6"], capsys)
    assert_user_error(code, err)
    assert snapshot(out) == before


def test_ctrl_c_during_training_saves_nothing(tmp_path, csv, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(Sequential, "fit", interrupted)
    out = tmp_path / "out"
    code, _, err = run(train.main, ["--csv", csv, "--out", out, *TINY], capsys)
    assert code == 130
    assert err.strip() == "interrupted; nothing was saved"
    assert not out.exists()


def test_ctrl_c_while_writing_outputs_leaves_no_partial_files(tmp_path, csv, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(train, "plot_loss", interrupted)  # the last file written
    out = tmp_path / "out"
    code, _, err = run(train.main, ["--csv", csv, "--out", out, *TINY], capsys)
    assert code == 130
    assert not out.exists()


# ------------------------------------------------------------ bad predicting ---

class OpensAFile:
    """Unpickling this would create ``marker``: proof that nothing in a model file runs."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def bad_models(tmp_path):
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"PK\x03\x04 this is not really a zip file")
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, config=np.array([OpensAFile(tmp_path / "marker")], dtype=object))
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, weights=np.zeros(3))
    bare = tmp_path / "bare.npz"  # an lstm_np model, but not saved by the CLI: no scaler
    from lstm_np import LSTM, Dense
    Sequential([LSTM(2, input_shape=(5, 1)), Dense(1)], seed=0).save(bare)
    return {"missing": tmp_path / "nope.npz", "corrupt": corrupt, "object_array": pickled,
            "foreign": foreign, "no_scaler": bare}


@pytest.mark.parametrize("case", ["missing", "corrupt", "object_array", "foreign", "no_scaler"])
def test_bad_model_files_exit_2(tmp_path, csv, capsys, case):
    path = bad_models(tmp_path)[case]
    code, _, err = run(predict.main, ["--model", path, "--csv", csv], capsys)
    assert_user_error(code, err)
    assert not (tmp_path / "marker").exists()


def test_predict_data_too_short_for_the_window(trained, tmp_path, capsys):
    out, _ = trained
    short = write_csv(tmp_path / "short.csv", yahoo(3))
    code, _, err = run(predict.main, ["--model", out / "model.npz", "--csv", short], capsys)
    assert_user_error(code, err)
    assert "window" in err or "5" in err


def test_predict_usage_error_is_one_line(capsys):
    code, _, err = run(predict.main, [], capsys)
    assert_user_error(code, err)
    assert "--model" in err


# ------------------------------------------------------ reading options ---

@pytest.mark.parametrize("main", [train.main, predict.main])
def test_reading_flags_are_offered_by_every_command(main, capsys):
    from lstm_np.forecast import compare
    for command in (main, compare.main):
        assert command(["--help"]) == 0
        shown = capsys.readouterr().out
        for flag in ("--decimal", "--thousands", "--date-format", "--delimiter", "--timeout"):
            assert flag in shown


def test_predict_passes_the_reading_flags_on(trained, tmp_path, capsys):
    out, _ = trained
    path = tmp_path / "eu.csv"  # 01.01.2021 ... 10.01.2021: ten days, or ten months
    rows = [f"{d:%d.%m.%Y};{str(round(v, 2)).replace('.', ',')}\n" for d, v in zip(days(10), prices(10))]
    path.write_text("Date;Close\n" + "".join(rows))
    code, _, err = run(predict.main, ["--model", out / "model.npz", "--csv", path], capsys)
    assert_user_error(code, err)
    assert "--date-format" in err
    code, stdout, err = run(predict.main, ["--model", out / "model.npz", "--csv", path, "--json",
                                           "--date-format", "%d.%m.%Y"], capsys)
    assert code == 0, err
    assert json.loads(stdout)[0]["date"] == "2021-01-11"


def test_predict_reads_the_training_file_as_train_was_told(tmp_path, capsys):
    rows = [f"{d:%d.%m.%Y};{v:.2f}\n" for d, v in zip(days(12), prices(12))]  # 01.01 ... 12.01
    path = tmp_path / "eu.csv"
    path.write_text("Date;Close\n" + "".join(rows))
    out = tmp_path / "run"
    code, _, err = run(train.main, ["--csv", path, "--out", out, *TINY, "--window", "3", "--test-days", "3",
                                    "--val-split", "0", "--date-format", "%d.%m.%Y"], capsys)
    assert code == 0, err
    code, stdout, err = run(predict.main, ["--model", out / "model.npz", "--json"], capsys)
    assert code == 0, err
    assert json.loads(stdout)[0]["date"] == "2021-01-13"


def test_a_reader_that_stops_early_gets_no_traceback(trained):
    """`predict --json | head -1`: the pipe closes before predict writes; no BrokenPipe traceback."""
    reader = subprocess.Popen([sys.executable, "-m", "lstm_np.predict", "--model",
                               str(trained[0] / "model.npz"), "--json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    reader.stdout.close()                       # like head, gone before the first line
    _, err = reader.communicate(timeout=120)
    assert reader.returncode == 141, err.decode()
    assert b"Traceback" not in err, err.decode()
