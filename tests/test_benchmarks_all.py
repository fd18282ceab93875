"""benchmarks/all.py: one smoke run end to end, and the targets summary follows the numbers.

Nothing here is about speed. The smoke run times lstm_np alone so that it takes seconds
whatever peers this interpreter has.
"""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
ALL = BENCHMARKS / "all.py"


def load_all():
    """benchmarks/all.py as a module (under another name: ``all`` is a builtin)."""
    spec = importlib.util.spec_from_file_location("bench_all", ALL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench_all = load_all()


def test_all_smoke_writes_one_report_with_every_section(tmp_path):
    result = subprocess.run([sys.executable, str(ALL), "--smoke", "--allow-dirty", "--peers",
                             "lstm_np", "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("grid.json", "grid.md", "compare_btc-daily.json", "compare_btc-15min.json",
                 "compare.md", "all.json", "all.md"):
        assert (tmp_path / name).exists(), name
    report = (tmp_path / "all.md").read_text()
    sections = ["# lstm_np benchmarks", "- Commit `", "- Load average", "- Total wall time",
                "## Grid", "| 8/8 | 1 | float32 | 128 |", "## Cold start",
                "## Seed model", "| btc-daily (256 windows) | lstm_np |", "## Targets"]
    positions = [report.index(s) for s in sections]
    assert positions == sorted(positions)
    summary = json.loads((tmp_path / "all.json").read_text())
    grid_report = json.loads((tmp_path / "grid.json").read_text())
    compare_reports = [json.loads((tmp_path / f"compare_{d}.json").read_text())
                       for d in ("btc-daily", "btc-15min")]
    assert summary["targets"] == bench_all.targets(grid_report, compare_reports)
    # grid.py and compare.py ran for real (their own smoke tests need no run of their own)
    assert grid_report["smoke"] is True and len(grid_report["results"]) == 1
    row = grid_report["results"][0]
    assert (row["units"], row["features"], row["dtype"]) == ("8/8", 1, "float32")
    assert row["lstm_np_epoch"] > 0 and row["lstm_np_predict"] > 0
    assert "Smoke run" in (tmp_path / "grid.md").read_text()
    for compare_report in compare_reports:
        assert compare_report["results"]["lstm_np"]["median_epoch_seconds"] > 0
    assert summary["commit"] in report and summary["total_seconds"] > 0
    # the commit every report names is the one all.py read before writing anything
    assert grid_report["machine"]["lstm_np_commit"].startswith(summary["commit"])
    assert compare_reports[0]["machine"]["lstm_np_commit"] == \
        grid_report["machine"]["lstm_np_commit"]
    assert "## FLOPs" in report and "fraction of FLOP peak" in report


def crafted(epoch, predict, cold, torch_epoch, keras_epoch, baseline=0.9, busy=0.8,
            peak=0.4):
    """A grid report and two compare reports with the given lstm_np ÷ peer ratios."""
    grid_report = {"results": [{"units": "50/100", "features": 1, "dtype": "float32",
                                "epoch_ratio": epoch, "predict_ratio": predict,
                                "baseline_ratio": baseline, "busy_ratio": busy,
                                "lstm_np_peak_fraction": peak}],
                   "cold_start": {"difference": cold}}
    compare_reports = [{"dataset": d, "n_train": 100,
                        "ratios": {"lstm_np/torch": {"epoch": torch_epoch, "predict": 2.0},
                                   "lstm_np/keras": {"epoch": keras_epoch, "predict": 0.1}}}
                       for d in ("btc-daily", "btc-15min")]
    return grid_report, compare_reports


def verdicts(rows):
    return [(r["scope"], r["measure"], r["met"]) for r in rows]


def test_targets_are_met_at_the_limits():
    rows = bench_all.targets(*crafted(0.85, 1.0, 10.0, 0.70, 0.40, 0.95, 0.9, 0.35))
    assert [r["met"] for r in rows] == [True] * 10
    assert bench_all.targets_lines(rows)[0] == "10 of 10 measured targets met."


def test_targets_flip_to_not_met_just_past_the_limits():
    rows = bench_all.targets(*crafted(0.86, 1.01, 10.5, 0.71, 0.41, 0.96, 0.91, 0.34))
    assert verdicts(rows) == [("grid", "epoch ÷ torch", False),
                              ("grid", "predict ÷ torch", False),
                              ("seed point", "epoch ÷ first release", False),
                              ("seed point", "epoch ÷ torch, one core busy", False),
                              ("seed point", "fraction of FLOP peak", False),
                              ("cold start", "cold − warm (s)", False),
                              ("seed model", "epoch ÷ torch", False),
                              ("seed model", "epoch ÷ keras", False),
                              ("seed model", "epoch ÷ torch", False),
                              ("seed model", "epoch ÷ keras", False)]
    lines = bench_all.targets_lines(rows)
    assert lines[0] == "0 of 10 measured targets met."
    assert "| grid | 50/100 units, 1 feature(s), float32 | epoch ÷ torch | 0.86 | ≤ 0.85 " \
           "| **not met** |" in lines
    assert "| seed point | 50/100 units, 1 feature(s), float32 | fraction of FLOP peak | 0.34 " \
           "| ≥ 0.35 | **not met** |" in lines


def test_targets_without_a_peer_say_not_measured():
    grid_report, compare_reports = crafted(0.5, None, 3.0, 0.5, None, None, None, 0.5)
    del grid_report["cold_start"]
    rows = bench_all.targets(grid_report, compare_reports)
    assert [r["met"] for r in rows] == [True, None, None, None, True, True, None, True, None]
    assert bench_all.targets_lines(rows)[0] == "4 of 4 measured targets met (5 not measured)."


def test_the_scripts_report_the_commit_all_py_read():
    """all.py reads the commit once and hands it on, so a report never calls the tree dirty
    because of the files the same run wrote before it."""
    env = bench_all.peers_env("abc1234")
    code = ("import sys; sys.path.insert(0, %r); import bench_common; "
            "print(bench_common.git_commit())" % str(BENCHMARKS))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.strip() == "abc1234"


def test_runs_write_into_a_fresh_folder_unless_told(tmp_path):
    """Without --out nothing goes into the committed benchmarks/results: a new runs/ folder."""
    args = bench_all.parse_args(["--smoke"])
    assert args.out.parent == BENCHMARKS.parent / "runs" and args.out.name.startswith("bench-all-")
    assert not args.out.exists()
    assert bench_all.parse_args(["--out", str(tmp_path)]).out == tmp_path
    import bench_common
    assert bench_common.fresh_out("x") != bench_common.fresh_out("y")


def test_dirty_files_sees_a_changed_file(tmp_path):
    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)
    git("init", "-q")
    (tmp_path / "a.txt").write_text("one\n")
    git("add", "a.txt")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    assert bench_all.dirty_files(tmp_path) == []
    (tmp_path / "a.txt").write_text("two\n")
    assert bench_all.dirty_files(tmp_path) == [" M a.txt"]


def test_refuses_a_dirty_tree_before_measuring(monkeypatch, tmp_path):
    monkeypatch.setattr(bench_all, "dirty_files", lambda: [" M lstm_np/model.py"])
    with pytest.raises(SystemExit, match="uncommitted changes.*\n M lstm_np/model.py"):
        bench_all.main(["--smoke", "--out", str(tmp_path)])
    assert not list(tmp_path.iterdir())


def test_full_run_refuses_missing_peers_but_smoke_leaves_them_out():
    found = {"lstm_np": str(BENCHMARKS.parent / "lstm_np" / "__init__.py"), "torch": True,
             "keras": False}
    full = bench_all.parse_args(["--peers-python", "py"])
    with pytest.raises(SystemExit, match="keras not importable"):
        bench_all.choose_peers(full, found)
    smoke = bench_all.parse_args(["--smoke"])
    assert bench_all.choose_peers(smoke, found) == (("lstm_np", "torch"), ["keras"])


def test_refuses_an_lstm_np_from_elsewhere():
    found = {"lstm_np": "/elsewhere/lstm_np/__init__.py", "torch": True, "keras": True}
    with pytest.raises(SystemExit, match="not from this checkout"):
        bench_all.choose_peers(bench_all.parse_args([]), found)
