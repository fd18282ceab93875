"""``python -m lstm_np.tune`` and :func:`lstm_np.forecast.tune.tune`, run for real on a small
synthetic price file: 4 folds of 10 days (2 selection, 2 evaluation), window 5, 2 epochs, a grid
of 4 configurations (units 3,4 x model mlp,lstm), the best 2 refitted.

Contract: the outputs are written with the named columns and keys; no selection score depends
on an evaluation fold's prices; the statistics are the backtest's on the same folds, bit for
bit; trials.csv is byte-identical in-process, on ``--workers 2`` and on a ``--scheduler``, and
after a search killed with SIGKILL is resumed; bad input exits 2 with one line, losing nothing.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from conftest import assert_user_error, run, write_price_csv
from lstm_np.forecast import backtest as bt
from lstm_np.forecast.data import load_prices
from lstm_np.forecast.options import BacktestOptions
from lstm_np.forecast.tune import OUTPUT_FILES, RESULTS, main, trials_csv, tune
from test_backtest_tasks import scheduler_and_worker  # noqa: F401  (a fixture)

TINY = ["--folds", "4", "--evaluation-folds", "2", "--test-days", "10", "--window", "5", "--epochs", "2",
        "--batch-size", "16", "--top", "2", "--quiet"]
GRID = ["--grid", "units=3,4", "--grid", "model=mlp,lstm"]
LIBRARY = dict(folds=4, evaluation_folds=2, test_days=10, window=5, epochs=2, batch_size=16, top=2,
               grid=["units=3,4", "model=mlp,lstm"])
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def csv(tmp_path_factory):
    """150 days of a calm random walk around $30,000."""
    return write_price_csv(tmp_path_factory.mktemp("data") / "btc.csv", 150)


@pytest.fixture(scope="module")
def full_run(csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "t"
    assert main([*TINY, *GRID, "--csv", str(csv), "--out", str(out)]) == 0
    return out


def selection_lines(path):
    return [line for line in path.read_text().splitlines() if line.startswith("selection,")]


def test_tune_writes_every_output(full_run):
    assert sorted(os.listdir(full_run)) == sorted(OUTPUT_FILES)
    trials = pd.read_csv(full_run / "trials.csv")
    assert list(trials.columns[:3]) == ["phase", "config", "fold"]
    assert {"units", "model", "window", "learning_rate", "optimizer", "seeds", "status", "mase", "mae",
            "direction_accuracy", "naive_mae"} <= set(trials.columns)
    assert len(trials) == 4 * 2 + 2 * 2                       # configs x selection folds + top x evaluation
    assert list(trials[trials.phase == "selection"].fold.unique()) == [1, 2]
    assert list(trials[trials.phase == "evaluation"].fold.unique()) == [3, 4]
    assert (trials.status == "ok").all()
    report = json.loads((full_run / "tune.json").read_text())
    assert report["n_grid"] == report["n_tried"] == 4 and report["score"] == "mase"
    assert [f["role"] for f in report["folds"]] == ["selection"] * 2 + ["evaluation"] * 2
    assert report["folds"][-1]["test_end"] == "2021-05-30"
    board = report["leaderboard"]
    assert [e["rank"] for e in board] == [1, 2, 3, 4]
    assert [e["selection"]["mase"] for e in board] == sorted(e["selection"]["mase"] for e in board)
    winner = report["winner"]
    assert winner["config"] == board[0]["config"] == report["top"][0]["config"]
    assert winner["gap"] == winner["evaluation_score"] - winner["selection_score"]
    naive = report["naive"]               # the same days' naive score: the folds' difficulty
    assert winner["selection_vs_naive"] == winner["selection_score"] / naive["selection"]["mase"]
    assert winner["evaluation_vs_naive"] == winner["evaluation_score"] / naive["evaluation"]["mase"]
    assert winner["gap_vs_naive"] == winner["evaluation_vs_naive"] - winner["selection_vs_naive"]
    for key in ("dm_stat", "dm_pvalue", "verdict", "direction_ci", "coverage"):
        assert key in winner["evaluation"]
    md = (full_run / "tune.md").read_text()
    for text in ("## Verdict", "## Leaderboard", "which the search never saw", winner["evaluation"]["verdict"],
                 f"tried 4 configurations", "| naive (tomorrow = today) |"):
        assert text in md
    assert (full_run / "tune.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the selection score in trials.csv is the fold's; the pooled one is their day-weighted mean
    rows = trials[(trials.phase == "selection") & (trials.config == winner["config"])]
    assert winner["selection_score"] == pytest.approx(rows.mase.mean(), rel=1e-12)


def test_the_statistics_are_the_backtest_s_on_the_same_folds(csv, full_run):
    """A backtest of the winner over all 4 folds trains the same models (fold seeds, splits):
    its statistics restricted to the selection / evaluation folds are tune's, bit for bit."""
    report = json.loads((full_run / "tune.json").read_text())
    winner = report["winner"]
    o = winner["options"]
    kind = o["model"]
    result = bt.backtest(csv=str(csv), folds=4, test_days=10, window=5, units=tuple(o["units"]), epochs=2,
                         batch_size=16, models=(kind,), progress=False)
    scales = [f["mase_scale"] for f in result.report["folds"]]
    options = BacktestOptions(**{**result.options.__dict__})
    for phase, folds in (("selection", (1, 2)), ("evaluation", (3, 4))):
        rows = result.forecasts[result.forecasts["fold"].isin(folds)].reset_index(drop=True)
        expected = bt.summarise(options, rows, scales)["models"][kind]
        got = winner[phase]
        for key in ("mae", "rmse", "mape", "mase", "direction_accuracy", "direction_ci", "dm_stat",
                    "dm_pvalue", "verdict", "mae_by_fold"):
            assert got[key] == expected[key], (phase, key)
    full = result.report["models"][kind]
    assert winner["evaluation"]["coverage"] is not None and 0 <= full["coverage"] <= 1


def test_poisoning_the_evaluation_folds_changes_no_selection_score(csv, full_run):
    series = load_prices(str(csv))
    prices = series.prices.copy()
    prices[-20:] = prices[-20:] * np.linspace(3, 0.2, 20)     # the 2 evaluation folds, wrecked
    poisoned = tune(series=replace(series, prices=prices), progress=False, **LIBRARY)
    lines = [line for line in trials_csv(poisoned.trials).splitlines() if line.startswith("selection,")]
    assert lines == selection_lines(full_run / "trials.csv")
    clean = json.loads((full_run / "tune.json").read_text())
    assert poisoned.report["winner"]["config"] == clean["winner"]["config"]
    assert poisoned.report["winner"]["evaluation_score"] != clean["winner"]["evaluation_score"]


def test_two_workers_give_the_same_trials_csv(csv, full_run, tmp_path, capsys):
    code, _, err = run(main, [*TINY, *GRID, "--csv", csv, "--workers", "2", "--out", tmp_path / "w"], capsys)
    assert code == 0, err
    assert (tmp_path / "w" / "trials.csv").read_bytes() == (full_run / "trials.csv").read_bytes()


def test_an_existing_scheduler_gives_the_same_trials_csv(csv, full_run, tmp_path, capsys,
                                                         scheduler_and_worker):  # noqa: F811
    code, _, err = run(main, [*TINY, *GRID, "--csv", csv, "--scheduler", scheduler_and_worker,
                              "--out", tmp_path / "s"], capsys)
    assert code == 0, err
    assert (tmp_path / "s" / "trials.csv").read_bytes() == (full_run / "trials.csv").read_bytes()


def subprocess_env():
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))}


def test_resume_after_a_kill_retrains_nothing_finished_and_writes_the_same_trials(csv, tmp_path, capsys):
    slow = [a for a in TINY if a != "--quiet"]
    slow[slow.index("--epochs") + 1] = "40"                       # trainings of a fraction of a second
    argv = [*slow, "--grid", "units=4,8", "--grid", "dropout=0,0.2", "--model", "lstm", "--csv", str(csv)]
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "lstm_np.tune", *argv, "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=subprocess_env())
    try:
        for line in proc.stderr:
            if line.startswith("selection: 2/8 done"):
                proc.send_signal(signal.SIGKILL)                  # no handler, no clean-up: gone
                break
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (out / "trials.csv").exists()
    kept = (out / RESULTS).read_text().splitlines()
    finished = len(kept) - 1                                      # the first line names the search
    assert 2 <= finished < 12
    with open(out / RESULTS, "ab") as f:                           # and a line cut short by the kill
        f.write(b'{"key": "c3-fold1-seed0", "y_pr')
    code, _, err = run(main, [*argv, "--out", out, "--resume"], capsys)
    assert code == 0, err
    done = [line for line in err.splitlines() if " done, " in line]
    assert sum(int(line.split("/")[1].split()[0]) for line in done if line.endswith(("elapsed",))) \
        == 12 - finished                                          # only the unfinished were trained
    assert (out / RESULTS).read_text().splitlines()[:len(kept)] == kept
    code, _, err = run(main, [*argv, "--quiet", "--out", tmp_path / "whole"], capsys)
    assert code == 0, err
    assert (out / "trials.csv").read_bytes() == (tmp_path / "whole" / "trials.csv").read_bytes()
    assert sorted(os.listdir(out)) == sorted(OUTPUT_FILES)


def test_resume_refuses_another_search_and_changes_nothing(full_run, csv, tmp_path, capsys):
    out = tmp_path / "copy"
    shutil.copytree(full_run, out)
    before = {name: (out / name).read_bytes() for name in os.listdir(out)}
    code, _, err = run(main, [*TINY, *GRID, "--csv", csv, "--epochs", "3", "--out", out, "--resume"], capsys)
    assert_user_error(code, err)
    assert "holds another search" in err
    assert {name: (out / name).read_bytes() for name in os.listdir(out)} == before
    # the same search resumed after it finished trains nothing and writes the same files
    code, _, err = run(main, [*TINY, *GRID, "--csv", csv, "--out", out, "--resume"], capsys)
    assert code == 0, err
    assert (out / "trials.csv").read_bytes() == before["trials.csv"]
    assert (out / RESULTS).read_bytes() == before[RESULTS]


@pytest.mark.parametrize("argv, message", [
    (["--grid", "colour=red"], "unknown axis 'colour'"),
    (["--grid", "optimizer=adam,ftrl"], "optimizer cannot be 'ftrl'"),
    (["--grid", "units="], "an empty grid"),
    ([], "there is nothing to search"),
    (["--grid", "units=3", "--folds", "20"], "150 prices; 20 folds of 10 test days"),
    (["--grid", "units=3", "--evaluation-folds", "4"], "leaves no selection fold"),
    (["--grid", "units=3", "--budget", "3"], "does not pay for one configuration"),
    (["--grid", "units=3", "--resume"], "--resume found no results.jsonl"),
    (["--grid", "units=3", "--score", "r2"], "--score"),
    (["--grid", "units=3", "--samples", "0"], "--samples"),
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(csv, tmp_path, capsys, argv, message):
    code, _, err = run(main, [*TINY, "--csv", csv, *argv, "--out", tmp_path / "x"], capsys)
    assert_user_error(code, err)
    assert message in err
    assert not (tmp_path / "x").exists()


def test_a_folder_holding_a_search_is_not_started_again_without_resume_or_force(full_run, csv, tmp_path, capsys):
    out = tmp_path / "copy"
    shutil.copytree(full_run, out)
    before = (out / RESULTS).read_bytes()
    code, _, err = run(main, [*TINY, *GRID, "--csv", csv, "--out", out], capsys)
    assert_user_error(code, err)
    assert "pass --resume to continue it" in err
    assert (out / RESULTS).read_bytes() == before


def test_the_python_function_returns_what_the_command_writes(csv, full_run, tmp_path):
    result = tune(csv=str(csv), progress=False, **LIBRARY)
    assert trials_csv(result.trials) == (full_run / "trials.csv").read_text()
    assert result.save(tmp_path / "saved") == str(tmp_path / "saved")
    assert sorted(os.listdir(tmp_path / "saved")) == sorted(OUTPUT_FILES)
    assert (tmp_path / "saved" / RESULTS).read_text().splitlines()[0] == \
        (full_run / RESULTS).read_text().splitlines()[0]              # the same search
