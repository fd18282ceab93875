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


def crafted(epoch, predict, cold, torch_epoch, keras_epoch):
    """A grid report and two compare reports with the given lstm_np ÷ peer ratios."""
    grid_report = {"results": [{"units": "50/100", "features": 1, "dtype": "float32",
                                "epoch_ratio": epoch, "predict_ratio": predict}],
                   "cold_start": {"difference": cold}}
    compare_reports = [{"dataset": d, "n_train": 100,
                        "ratios": {"lstm_np/torch": {"epoch": torch_epoch, "predict": 2.0},
                                   "lstm_np/keras": {"epoch": keras_epoch, "predict": 0.1}}}
                       for d in ("btc-daily", "btc-15min")]
    return grid_report, compare_reports


def verdicts(rows):
    return [(r["scope"], r["measure"], r["met"]) for r in rows]


def test_targets_are_met_at_or_below_the_limits():
    rows = bench_all.targets(*crafted(0.8, 1.0, 10.0, 0.8, 0.35))
    assert [r["met"] for r in rows] == [True] * 7
    assert bench_all.targets_lines(rows)[0] == "7 of 7 measured targets met."


def test_targets_flip_to_not_met_just_above_the_limits():
    rows = bench_all.targets(*crafted(0.81, 1.01, 10.5, 0.81, 0.36))
    assert verdicts(rows) == [("grid", "epoch ÷ torch", False),
                              ("grid", "predict ÷ torch", False),
                              ("cold start", "cold − warm (s)", False),
                              ("seed model", "epoch ÷ torch", False),
                              ("seed model", "epoch ÷ keras", False),
                              ("seed model", "epoch ÷ torch", False),
                              ("seed model", "epoch ÷ keras", False)]
    lines = bench_all.targets_lines(rows)
    assert lines[0] == "0 of 7 measured targets met."
    assert "| grid | 50/100 units, 1 feature(s), float32 | epoch ÷ torch | 0.81 | ≤ 0.8 " \
           "| **not met** |" in lines


def test_targets_without_a_peer_say_not_measured():
    grid_report, compare_reports = crafted(0.5, None, 3.0, 0.5, None)
    del grid_report["cold_start"]
    rows = bench_all.targets(grid_report, compare_reports)
    assert [r["met"] for r in rows] == [True, None, True, None, True, None]
    assert bench_all.targets_lines(rows)[0] == "3 of 3 measured targets met (3 not measured)."


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
