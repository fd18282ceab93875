"""benchmarks/grid.py runs end to end at CI size and writes its reports.

As in ``test_benchmarks_smoke.py``, nothing here is about speed. The PyTorch side runs in the
interpreter named by ``LSTM_NP_TORCH_PYTHON`` (default: this one) and is skipped without torch.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

GRID = Path(__file__).resolve().parent.parent / "benchmarks" / "grid.py"
TORCH_PYTHON = os.environ.get("LSTM_NP_TORCH_PYTHON", sys.executable)


def run_grid(*args):
    result = subprocess.run([sys.executable, str(GRID), "--smoke", *args], capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def has_torch(python):
    return subprocess.run([python, "-c", "import torch"], capture_output=True).returncode == 0


@pytest.mark.skipif(not has_torch(TORCH_PYTHON), reason=f"torch not importable by {TORCH_PYTHON}")
def test_grid_smoke_compares_with_torch(tmp_path):
    run_grid("--torch-python", TORCH_PYTHON, "--out", str(tmp_path))
    row = json.loads((tmp_path / "grid.json").read_text())["results"][0]
    assert row["torch_epoch"] > 0 and row["torch_predict"] > 0
    assert row["epoch_ratio"] > 0 and row["predict_ratio"] > 0


def test_grid_refuses_a_bad_flag_in_one_line():
    result = subprocess.run([sys.executable, str(GRID), "--units", "50"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2 and "expected pairs like 50/100" in result.stderr


def test_grid_trains_float64_on_its_own_window_count(tmp_path):
    result = subprocess.run(
        [sys.executable, str(GRID), "--peers", "lstm_np", "--units", "8/8", "--features", "1",
         "--dtypes", "float32,float64", "--windows", "70", "--windows-float64", "65",
         "--epochs", "1", "--rounds", "1", "--predict-runs", "1", "--cold-runs", "0",
         "--out", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "grid.json").read_text())
    assert (report["windows"], report["windows_float64"]) == (70, 65)
    assert [(row["dtype"], row["windows"]) for row in report["results"]] == [
        ("float32", 70), ("float64", 65)]
    table = (tmp_path / "grid.md").read_text()
    assert "| 8/8 | 1 | float32 | 70 |" in table and "| 8/8 | 1 | float64 | 65 |" in table
    assert "70 (float32), 65 (float64)" in table


def test_grid_seed_point_extras_baseline_busy_core_and_flops(tmp_path):
    """--baseline (here: this checkout again) and --busy-core add runs at the first float32
    point; every point reports GFLOP/s against the measured FMA peak."""
    repo = GRID.parent.parent
    run_grid("--peers", "lstm_np", "--baseline", str(repo), "--busy-core", "--out", str(tmp_path))
    report = json.loads((tmp_path / "grid.json").read_text())
    row = report["results"][0]
    for name in ("lstm_np", "baseline", "lstm_np_busy"):
        assert row[f"{name}_epoch"] > 0 and row[f"{name}_predict"] > 0
        assert len(row["raw"][name]["epoch"]) == 1
    assert row["baseline_ratio"] == row["lstm_np_epoch"] / row["baseline_epoch"]
    assert "busy_ratio" not in row                       # no torch: nothing to divide by
    # LSTM(8, seq) -> LSTM(8) -> Dense(1), 1 feature, 60 steps: counted by hand
    per_window = 60 * (2 * 32 * 9 + 2 * 32 * 8 + 2 * 32 * 9)                 # first layer
    per_window += 60 * (2 * 32 * 16 + 2 * 32 * 8 + 2 * 32 * 16 + 2 * 32 * 8)  # second, with dx
    per_window += 6 * 8                                                      # Dense
    assert row["gflop_per_epoch"] == pytest.approx(per_window * 128 / 1e9)
    assert report["peak_gflops_per_core"]["float32"] > 0
    assert row["lstm_np_gflops"] == pytest.approx(row["gflop_per_epoch"] / row["lstm_np_epoch"])
    assert row["lstm_np_peak_fraction"] == pytest.approx(
        row["lstm_np_gflops"] / row["peak_gflops"])
    table = (tmp_path / "grid.md").read_text()
    assert "one core busy" in table and "## FLOPs" in table and "(--baseline)" in table


def test_grid_refuses_a_baseline_that_is_not_a_checkout(tmp_path):
    result = subprocess.run([sys.executable, str(GRID), "--smoke", "--baseline", str(tmp_path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "--baseline must be a checkout of lstm_np" in result.stderr
