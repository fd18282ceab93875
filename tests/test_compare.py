"""``lstm_np.compare`` and ``lstm_np.train --model gru|rnn|mlp``, run for real through ``main(argv)``
on a small synthetic price file.

Contract: the comparison exits 0 and writes compare.json, compare.md and compare.png with every
model's mean ± sd beside the naive forecast; each --model trains end to end and its saved file
forecasts with predict; a bad flag exits 2 with one ``error: ...`` line and writes nothing.
"""
import json

import numpy as np
import pytest

from lstm_np.forecast import build_model, compare, model_inputs, predict, train
from lstm_np.forecast.options import seed_list
from lstm_np.forecast.train import OUTPUT_FILES

from conftest import assert_user_error, run, write_price_csv

TINY = ["--window", "5", "--test-days", "10", "--epochs", "2", "--units", "4", "--batch-size", "16"]
ALL = ("lstm", "gru", "rnn", "mlp")


@pytest.fixture(scope="module")
def csv(tmp_path_factory):
    """120 days of a calm random walk around $30,000."""
    return write_price_csv(tmp_path_factory.mktemp("data") / "btc.csv", 120)


# ------------------------------------------------------------- comparison ---

def test_compare_reports_every_model_beside_the_naive_forecast(tmp_path, csv, capsys):
    out = tmp_path / "cmp"
    code, stdout, err = run(compare.main, ["--csv", csv, *TINY, "--seeds", "2", "--out", out], capsys)
    assert code == 0, err
    assert all((out / name).is_file() for name in compare.OUTPUT_FILES)
    assert (out / "compare.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    report = json.loads((out / "compare.json").read_text())
    assert list(report["models"]) == list(ALL)
    for kind, s in report["models"].items():
        assert s["n_runs"] == 2 and s["n_failed"] == 0, kind
        for key in ("mae_mean", "mae_sd", "rmse_mean", "rmse_sd", "mae_ratio", "train_seconds_mean"):
            assert np.isfinite(s[key]) and s[key] >= 0, (kind, key)
        maes = [r["mae"] for r in report["runs"] if r["model"] == kind]
        assert s["mae_mean"] == pytest.approx(np.mean(maes))
        assert s["mae_sd"] == pytest.approx(np.std(maes, ddof=1))
        assert s["mae_ratio"] == pytest.approx(s["mae_mean"] / report["naive"]["mae"])
    assert report["naive"]["mae"] > 0 and report["naive"]["rmse"] >= report["naive"]["mae"]
    assert sorted((r["model"], r["seed"]) for r in report["runs"]) == sorted(
        (k, s) for k in ALL for s in (0, 1))
    assert report["best"] in ALL and report["n_test"] == 10

    table = (out / "compare.md").read_text()
    for name in ("LSTM", "GRU", "SimpleRNN", "MLP", "naive (tomorrow = today)", " ± "):
        assert name in table and name in stdout
    assert stdout.count("] ") >= 8  # one progress line per (model, seed) run
    assert "Epoch 1/2" not in stdout  # epoch lines only with --verbose
    verdict = stdout.strip().splitlines()[-2]
    assert verdict == report["verdict"] and "naive forecast" in verdict
    assert verdict.startswith(report["models"][report["best"]]["name"] + " had the lowest mean test MAE")


def test_compare_with_chosen_seeds_and_one_model_is_quiet(tmp_path, csv, capsys):
    out = tmp_path / "one"
    code, stdout, err = run(compare.main, ["--csv", csv, *TINY, "--models", "mlp", "--seeds", "7,",
                                           "--quiet", "--out", out], capsys)
    assert code == 0, err
    report = json.loads((out / "compare.json").read_text())
    assert list(report["models"]) == ["mlp"] and [r["seed"] for r in report["runs"]] == [7]
    assert report["models"]["mlp"]["mae_sd"] is None  # one seed: no spread to report
    assert "[1/1]" not in stdout and "| MLP 4 |" in stdout


def test_beyond_one_step_the_naive_row_names_the_origins_price(tmp_path, csv, capsys):
    out = tmp_path / "h3"
    code, stdout, err = run(compare.main, ["--csv", csv, *TINY, "--models", "mlp", "--seeds", "1",
                                           "--horizon", "3", "--quiet", "--out", out], capsys)
    assert code == 0, err
    assert "| naive (the origin's price) |" in stdout and "tomorrow = today" not in stdout


def test_runs_are_repeatable_for_a_seed(tmp_path, csv, capsys):
    reports = []
    for name in ("a", "b"):
        code, _, err = run(compare.main, ["--csv", csv, *TINY, "--models", "gru,mlp", "--seeds", "3,",
                                          "--quiet", "--out", tmp_path / name], capsys)
        assert code == 0, err
        reports.append(json.loads((tmp_path / name / "compare.json").read_text()))
    assert [r["mae"] for r in reports[0]["runs"]] == [r["mae"] for r in reports[1]["runs"]]


def test_compare_on_two_workers_gives_the_in_process_runs(tmp_path, csv, capsys):
    """The same task runner as the backtest: runs listed in the same order, equal bit for bit."""
    reports = []
    for name, extra in (("here", []), ("workers", ["--workers", "2"])):
        code, stdout, err = run(compare.main, ["--csv", csv, *TINY, "--models", "lstm,mlp", "--seeds", "2",
                                               *extra, "--out", tmp_path / name], capsys)
        assert code == 0, err
        assert stdout.count("] ") >= 4  # one line per run, in completion order
        reports.append(json.loads((tmp_path / name / "compare.json").read_text()))
    here, workers = reports
    assert workers["options"]["workers"] == 2 and here["options"]["workers"] is None
    assert [(r["model"], r["seed"]) for r in workers["runs"]] == [(r["model"], r["seed"]) for r in here["runs"]]
    assert [r["mae"] for r in workers["runs"]] == [r["mae"] for r in here["runs"]]


@pytest.mark.parametrize("argv", [
    ["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"],
    ["--workers", "0"],
    ["--models", "lstm,transformer"],
    ["--models", "lstm,lstm"],
    ["--models", ""],
    ["--seeds", "0"],
    ["--seeds", "1,1"],
    ["--seeds", "-1,2"],
    ["--seeds", "three"],
    ["--epochs", "0"],
    ["--quiet", "--verbose"],
], ids=lambda a: " ".join(a))
def test_bad_flags_exit_2_with_one_line(tmp_path, csv, capsys, argv):
    out = tmp_path / "never"
    code, _, err = run(compare.main, ["--csv", csv, *TINY, *argv, "--out", out], capsys)
    assert_user_error(code, err)
    assert not out.exists()


def test_bad_models_message_names_the_choices(csv, capsys):
    code, _, err = run(compare.main, ["--csv", csv, "--models", "lstm,cnn"], capsys)
    assert_user_error(code, err)
    assert "lstm,gru,rnn,mlp" in err and "'lstm,cnn'" in err


def test_non_empty_out_is_refused_without_force(tmp_path, csv, capsys):
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    code, _, err = run(compare.main, ["--csv", csv, *TINY, "--models", "mlp", "--seeds", "1",
                                      "--out", out], capsys)
    assert_user_error(code, err)
    assert "--force" in err and sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_seed_list_reads_a_count_or_a_list():
    assert seed_list("3") == (0, 1, 2)
    assert seed_list("0,4,7") == (0, 4, 7)
    assert seed_list("5,") == (5,)


# ------------------------------------------------- train --model, predict ---

def test_mlp_takes_the_window_as_features():
    model = build_model("mlp", (8, 4), 0.2, window=5, seed=0, dtype="float64")
    x = np.arange(30.0).reshape(6, 5, 1)
    assert model.input_shape == (5,)
    assert model_inputs("mlp", x).shape == (6, 5) and model_inputs("gru", x).shape == (6, 5, 1)
    assert model.predict(model_inputs("mlp", x)).shape == (6, 1)


@pytest.mark.parametrize("kind", ["gru", "rnn", "mlp"])
def test_train_each_model_then_predict(tmp_path, csv, capsys, kind):
    out = tmp_path / kind
    code, stdout, err = run(train.main, ["--csv", csv, *TINY, "--model", kind, "--quiet", "--out", out],
                            capsys)
    assert code == 0, err
    assert all((out / name).is_file() for name in OUTPUT_FILES)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["options"]["model"] == kind and np.isfinite(metrics["mae"])
    if kind == "rnn":
        return  # predict's recurrent path is the same for every RNN; gru covers it
    code, stdout, err = run(predict.main, ["--model", out / "model.npz", "--json"], capsys)
    assert code == 0, err
    [result] = json.loads(stdout)  # predict --json: a list of {date, forecast, low, high}
    assert np.isfinite(result["forecast"]) and result["forecast"] > 0
