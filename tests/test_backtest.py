"""``python -m lstm_np.backtest`` and :func:`lstm_np.forecast.backtest.backtest`, run for real on a
small synthetic price file (3 folds of 10 days, window 5, 2 epochs).

Contract: the command writes forecasts.csv (columns exactly ``model, fold, seed, date, y_true,
y_pred, naive``), backtest.json (the listed keys), backtest.md and backtest.png; every statistic
in backtest.json can be recomputed from forecasts.csv (plus the price file, for each fold's MASE
scale); forecasts.csv is byte-identical whether the trainings ran in-process, on ``--workers 2``
or on a ``--scheduler``, and when a worker is killed mid-run; a bad flag exits 2 with one line
and writes nothing; Ctrl-C exits 130 and leaves no output folder.
"""
import json
import os
import signal
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from lstm_np.forecast.runfolder import OutputFolderError
from lstm_np.forecast.data import load_prices
from lstm_np.forecast import stats
from lstm_np.forecast.backtest import CSV_COLUMNS, OUTPUT_FILES, backtest, main
from test_backtest_tasks import scheduler_and_worker  # noqa: F401  (a fixture)
from conftest import write_price_csv

TINY = ["--folds", "3", "--test-days", "10", "--window", "5", "--units", "4", "--epochs", "2",
        "--batch-size", "16", "--quiet"]
MODEL_KEYS = {"mae", "rmse", "mape", "mase", "direction_accuracy", "direction_ci", "direction_pvalue",
              "dm_stat", "dm_pvalue", "verdict", "mae_by_seed", "mae_by_fold"}
FOLD_KEYS = {"fold", "train_start", "train_end", "test_start", "test_end"}


@pytest.fixture(scope="module")
def csv(tmp_path_factory):
    """150 days of a calm random walk around $30,000."""
    return write_price_csv(tmp_path_factory.mktemp("data") / "btc.csv", 150)


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def full_run(csv, tmp_path_factory):
    """Every model, 2 seeds, in-process."""
    out = tmp_path_factory.mktemp("run") / "bt"
    assert main([*TINY, "--csv", str(csv), "--seeds", "2", "--out", str(out)]) == 0
    return out


def test_backtest_writes_every_output_with_the_named_columns_and_keys(full_run):
    assert sorted(os.listdir(full_run)) == sorted(OUTPUT_FILES)
    forecasts = pd.read_csv(full_run / "forecasts.csv")
    assert tuple(forecasts.columns) == CSV_COLUMNS
    assert len(forecasts) == 4 * 3 * 2 * 10            # models x folds x seeds x days
    assert list(forecasts["model"].unique()) == ["lstm", "gru", "rnn", "mlp"]
    report = json.loads((full_run / "backtest.json").read_text())
    assert {"models", "naive", "folds", "options", "seconds"} <= set(report)
    assert list(report["models"]) == ["lstm", "gru", "rnn", "mlp"]
    for entry in report["models"].values():
        assert MODEL_KEYS <= set(entry)
        assert set(entry["mae_by_seed"]) == {"0", "1"} and set(entry["mae_by_fold"]) == {"1", "2", "3"}
    assert {"mae", "rmse", "mape", "mase"} <= set(report["naive"])
    assert [f["fold"] for f in report["folds"]] == [1, 2, 3]
    assert all(FOLD_KEYS <= set(f) for f in report["folds"])
    assert report["folds"][-1]["test_end"] == "2021-05-30"        # the last fold ends with the data
    assert report["options"]["seeds"] == [0, 1] and report["seconds"] > 0
    md = (full_run / "backtest.md").read_text()
    for text in ("3 folds of 10 days", "| LSTM |", "| MLP |", "| naive (tomorrow = today) |", "## MAE by fold",
                 "the mean over the seeds", report["models"]["gru"]["verdict"]):
        assert text in md
    assert (full_run / "backtest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_every_statistic_can_be_recomputed_from_forecasts_csv(full_run, csv):
    forecasts = pd.read_csv(full_run / "forecasts.csv", dtype={"date": str})
    report = json.loads((full_run / "backtest.json").read_text())
    prices = load_prices(str(csv))
    dates = prices.dates.strftime("%Y-%m-%d")
    scale = {}
    for f in report["folds"]:   # the MASE scale from the price file and the fold's training dates
        train = prices.prices[(dates >= f["train_start"]) & (dates <= f["train_end"])]
        scale[f["fold"]] = np.mean(np.abs(np.diff(train)))
    naive_done = False
    for kind, entry in report["models"].items():
        rows = forecasts[forecasts["model"] == kind]
        pivot = rows.pivot_table(index=["fold", "date"], columns="seed", values="y_pred", aggfunc="first")
        y_pred = pivot.mean(axis=1).to_numpy()                      # the mean over seeds
        first = rows[rows["seed"] == 0].set_index(["fold", "date"]).loc[pivot.index]
        y_true, last = first["y_true"].to_numpy(), first["naive"].to_numpy()
        day_scale = np.array([scale[k] for k, _ in pivot.index])
        err = y_pred - y_true
        assert entry["mae"] == pytest.approx(np.mean(np.abs(err)), rel=1e-12)
        assert entry["rmse"] == pytest.approx(np.sqrt(np.mean(err ** 2)), rel=1e-12)
        assert entry["mape"] == pytest.approx(100 * np.mean(np.abs(err) / y_true), rel=1e-12)
        assert entry["mase"] == pytest.approx(np.mean(np.abs(err) / day_scale), rel=1e-12)
        hits = np.sign(y_pred - last) == np.sign(y_true - last)
        moved = y_true != last
        assert entry["direction_accuracy"] == pytest.approx(hits[moved].mean(), rel=1e-12)
        dm = stats.diebold_mariano(y_true, y_pred, last)
        assert entry["dm_stat"] == pytest.approx(dm.stat, rel=1e-10)
        assert entry["dm_pvalue"] == pytest.approx(dm.pvalue, rel=1e-9, abs=1e-300)
        assert entry["verdict"] == stats.verdict(dm)
        for seed, mae in entry["mae_by_seed"].items():
            assert mae == pytest.approx(np.mean(np.abs(pivot[int(seed)].to_numpy() - y_true)), rel=1e-12)
        for fold, mae in entry["mae_by_fold"].items():
            in_fold = pivot.index.get_level_values("fold") == int(fold)
            assert mae == pytest.approx(np.mean(np.abs(err[in_fold])), rel=1e-12)
        if not naive_done:
            naive_done = True
            assert report["naive"]["mae"] == pytest.approx(np.mean(np.abs(last - y_true)), rel=1e-12)
            assert report["naive"]["mase"] == pytest.approx(np.mean(np.abs(last - y_true) / day_scale),
                                                            rel=1e-12)


def test_intraday_test_windows_are_counted_in_prices():
    from lstm_np.forecast.backtest import describe_window
    assert describe_window({"options": {"test_days": 96}, "step_seconds": 900.0}) == "96 prices 0:15:00 apart"
    assert describe_window({"options": {"test_days": 30}, "step_seconds": 86400.0}) == "30 days"


def test_the_python_function_returns_what_the_command_writes(csv, full_run, tmp_path):
    result = backtest(csv=str(csv), folds=3, test_days=10, window=5, units=(4,), epochs=2,
                      batch_size=16, seeds=(0, 1), progress=False)
    written = pd.read_csv(full_run / "forecasts.csv", dtype={"date": str})
    pd.testing.assert_frame_equal(result.forecasts, written, check_exact=True)
    report = json.loads((full_run / "backtest.json").read_text())
    assert result.report["models"]["lstm"]["mae"] == report["models"]["lstm"]["mae"]
    assert result.save(tmp_path / "saved") == str(tmp_path / "saved")
    assert sorted(os.listdir(tmp_path / "saved")) == sorted(OUTPUT_FILES)
    with pytest.raises(OutputFolderError, match="not empty"):
        result.save(tmp_path / "saved")


def test_in_process_and_two_workers_write_identical_forecasts(csv, full_run, tmp_path, capsys):
    code, _, err = run([*TINY, "--csv", csv, "--seeds", "2", "--workers", "2", "--out", tmp_path / "w"],
                       capsys)
    assert code == 0, err
    assert (tmp_path / "w" / "forecasts.csv").read_bytes() == (full_run / "forecasts.csv").read_bytes()


def test_existing_scheduler_writes_identical_forecasts(csv, full_run, tmp_path, capsys,
                                                       scheduler_and_worker):  # noqa: F811
    code, _, err = run([*TINY, "--csv", csv, "--seeds", "2", "--scheduler", scheduler_and_worker,
                        "--out", tmp_path / "s"], capsys)
    assert code == 0, err
    assert (tmp_path / "s" / "forecasts.csv").read_bytes() == (full_run / "forecasts.csv").read_bytes()


def command_line(csv, out, *extra):
    return [sys.executable, "-m", "lstm_np.backtest", "--csv", str(csv), "--folds", "3", "--test-days", "10",
            "--window", "5", "--units", "4", "--batch-size", "16", "--out", str(out), *extra]


def subprocess_env(**extra):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path, **extra}


def test_a_worker_killed_mid_backtest_changes_no_forecast(csv, tmp_path):
    psutil = pytest.importorskip("psutil")
    slow = ["--models", "lstm", "--epochs", "20", "--seeds", "2"]   # 6 trainings of half a second
    # the reference: in this process (the same bits on any thread count is the kernels' promise,
    # tested in test_determinism.py; this test is about the lost worker)
    assert main(command_line(csv, tmp_path / "ref", *slow, "--quiet")[3:]) == 0
    proc = subprocess.Popen(command_line(csv, tmp_path / "killed", *slow, "--workers", "2"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=subprocess_env())
    killed = None
    try:
        for line in proc.stderr:
            if "backtest: 1/6 done" in line:   # both workers are busy with trainings (5 are left)
                workers = [p for p in psutil.Process(proc.pid).children(recursive=True)
                           if "spawn_main" in " ".join(p.cmdline())]
                assert len(workers) == 2
                killed = workers[0].pid
                os.kill(killed, signal.SIGKILL)
                break
        proc.stderr.read()
        proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert killed is not None
    assert not psutil.pid_exists(killed) or psutil.Process(killed).status() == psutil.STATUS_ZOMBIE
    assert proc.returncode == 0
    assert (tmp_path / "killed" / "forecasts.csv").read_bytes() == (tmp_path / "ref" / "forecasts.csv").read_bytes()


def test_rolling_training_windows_and_absolute_loss(csv, tmp_path, capsys):
    code, out, _ = run([*TINY, "--csv", csv, "--models", "mlp", "--train-days", "40", "--dm-loss", "abs",
                        "--out", tmp_path / "r"], capsys)
    assert code == 0
    report = json.loads((tmp_path / "r" / "backtest.json").read_text())
    assert [f["n_train"] for f in report["folds"]] == [40, 40, 40]
    assert [f["train_start"] for f in report["folds"]] == ["2021-03-22", "2021-04-01", "2021-04-11"]
    forecasts = pd.read_csv(tmp_path / "r" / "forecasts.csv")
    dm = stats.diebold_mariano(forecasts["y_true"], forecasts["y_pred"], forecasts["naive"], loss="abs")
    assert report["models"]["mlp"]["dm_stat"] == pytest.approx(dm.stat, rel=1e-10)
    assert f"MLP: {report['models']['mlp']['verdict']}" in out


def test_returns_extra_inputs_early_stopping_and_intervals_in_every_fold(tmp_path, capsys):
    rng = np.random.default_rng(1)
    n = 150
    path = tmp_path / "ohlcv.csv"
    pd.DataFrame({"Date": pd.date_range("2021-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
                  "Close": 30_000 * np.exp(np.cumsum(rng.normal(0, 0.01, n))),
                  "Volume": rng.uniform(1e9, 2e9, n)}).to_csv(path, index=False)
    code, out, err = run([*TINY, "--csv", path, "--models", "lstm,mlp", "--target", "log-return",
                          "--features", "close,volume", "--patience", "1", "--interval", "0.8",
                          "--out", tmp_path / "o"], capsys)
    assert code == 0, err
    report = json.loads((tmp_path / "o" / "backtest.json").read_text())
    assert report["options"]["target"] == "log-return" and report["options"]["features"] == ["close", "volume"]
    assert report["interval"] == 0.8
    for entry in report["models"].values():
        assert 0 <= entry["coverage"] <= 1           # every fold's own split-conformal intervals
    assert "target log-return, inputs close,volume, early stopping (patience 1)" in out
    assert "80% interval coverage" in (tmp_path / "o" / "backtest.md").read_text()
    forecasts = pd.read_csv(tmp_path / "o" / "forecasts.csv")
    assert forecasts["y_pred"].gt(0).all()           # log-return forecasts mapped back to prices


def test_a_horizon_is_scored_at_every_step_and_tested_at_the_last(csv, tmp_path, capsys):
    code, out, err = run([*TINY, "--csv", csv, "--models", "mlp", "--seeds", "2", "--horizon", "3",
                          "--out", tmp_path / "h"], capsys)
    assert code == 0, err
    forecasts = pd.read_csv(tmp_path / "h" / "forecasts.csv", dtype={"date": str})
    assert tuple(forecasts.columns) == ("model", "fold", "seed", "step", "date", "y_true", "y_pred", "naive")
    assert len(forecasts) == 3 * 2 * 3 * 8       # folds x seeds x steps x (10 - 3 + 1) origins
    prices = load_prices(str(csv))
    position = {d: k for k, d in enumerate(prices.dates.strftime("%Y-%m-%d"))}
    for row in forecasts.sample(20, random_state=0).itertuples():
        k = position[row.date]
        assert row.y_true == prices.prices[k]
        assert row.naive == prices.prices[k - row.step]   # naive: the price at the origin
    report = json.loads((tmp_path / "h" / "backtest.json").read_text())
    entry = report["models"]["mlp"]
    mean = forecasts.groupby(["fold", "step", "date"], sort=False)[["y_true", "y_pred", "naive"]].mean()
    steps = mean.index.get_level_values("step")
    for s in (1, 2, 3):
        at = mean[steps == s]
        assert entry["mae_by_step"][s - 1] == pytest.approx(np.mean(np.abs(at["y_pred"] - at["y_true"])),
                                                            rel=1e-12)
        assert report["naive"]["mae_by_step"][s - 1] == pytest.approx(
            np.mean(np.abs(at["naive"] - at["y_true"])), rel=1e-12)
        dm = stats.diebold_mariano(at["y_true"], at["y_pred"], at["naive"], h=s)
        assert entry["dm_by_step"][s - 1]["dm_stat"] == pytest.approx(dm.stat, rel=1e-10)
    assert (entry["dm_stat"], entry["verdict"]) == (entry["dm_by_step"][2]["dm_stat"],
                                                   entry["dm_by_step"][2]["verdict"])
    md = (tmp_path / "h" / "backtest.md").read_text()
    assert "## By step ahead" in md and "3 steps ahead (direct)" in md


def test_progress_bar_goes_to_stderr(csv, tmp_path, capsys):
    argv = [a for a in TINY if a != "--quiet"]
    code, out, err = run([*argv, "--csv", csv, "--models", "mlp", "--out", tmp_path / "p"], capsys)
    assert code == 0
    assert "backtest: 3/3 done" in err and "backtest:" not in out


@pytest.mark.parametrize("argv, message", [
    (["--folds", "0"], "--folds"),
    (["--folds", "20"], "150 prices; 20 folds of 10 test days"),
    (["--train-days", "6"], "--train-days 6 is too short for --window 5"),
    (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "not allowed with argument"),
    (["--dm-loss", "mse"], "--dm-loss"),
    (["--horizon", "11"], "--horizon 11 needs test windows of at least 11 prices"),
    (["--models", "lstm,cnn"], "--models"),
])
def test_bad_flags_exit_2_with_one_line_and_write_nothing(csv, tmp_path, capsys, argv, message):
    code, _, err = run([*TINY, "--csv", csv, *argv, "--out", tmp_path / "x"], capsys)
    assert code == 2
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1 and message in err
    assert not (tmp_path / "x").exists()


def test_non_empty_out_is_refused_without_force(csv, tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("mine")
    code, _, err = run([*TINY, "--csv", csv, "--models", "mlp", "--out", tmp_path], capsys)
    assert code == 2 and "not empty" in err
    assert os.listdir(tmp_path) == ["keep.txt"]


def test_ctrl_c_exits_130_and_leaves_no_output_folder(csv, tmp_path):
    out = tmp_path / "interrupted"
    proc = subprocess.Popen(command_line(csv, out, "--epochs", "100000", "--models", "mlp"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=subprocess_env(), text=True,
                            start_new_session=True)
    try:
        for line in proc.stdout:      # the plan is printed just before the trainings start
            if "trainings" in line:
                break
        os.killpg(proc.pid, signal.SIGINT)   # what Ctrl-C in a terminal sends
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    assert err.strip().splitlines()[-1] == "interrupted; nothing was saved"
    assert not out.exists()
