"""The benchmark scripts run end to end (tiny sizes) and write their reports.

Run as subprocesses so their thread settings stay out of this test process. Nothing here is
about speed: only that every file is written and holds an lstm_np time above zero.
"""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run(script, *args):
    result = subprocess.run([sys.executable, str(BENCH / script), *args],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def assert_png(path):
    assert path.read_bytes()[:8] == PNG_MAGIC


def test_compare_smoke_writes_json_markdown_and_chart(tmp_path):
    # One data set: each costs two memory-probe processes, and the second one (btc-15min) runs
    # the very same code on another bundled file, which test_data.py loads.
    run("compare.py", "--smoke", "--dataset", "btc-daily", "--peers", "lstm_np", "--out", str(tmp_path))
    assert not (tmp_path / "compare_btc-15min.json").exists()
    report = json.loads((tmp_path / "compare_btc-daily.json").read_text())
    lstm_np = report["results"]["lstm_np"]
    assert report["smoke"] is True and report["n_train"] > 0
    assert lstm_np["median_epoch_seconds"] > 0
    assert lstm_np["median_predict_seconds"] > 0
    assert lstm_np["test_mae_usd"] > 0
    assert lstm_np["peak_rss_mb"] > 0
    assert 0 < lstm_np["import_seconds"] < 60
    assert lstm_np["first_epoch_overhead_seconds"] is not None
    assert report["threads"]["requested"] == 2
    assert report["machine"]["cpu"]
    table = (tmp_path / "compare.md").read_text()
    assert "| lstm_np |" in table and "Smoke run" in table and "1st-epoch overhead" in table
    assert_png(tmp_path / "compare.png")


def test_scaling_smoke_writes_json_markdown_and_plot(tmp_path):
    out = run("scaling.py", "--smoke", "--out", str(tmp_path))
    if importlib.util.find_spec("torch") is None:
        assert "torch not installed" in out
    report = json.loads((tmp_path / "scaling.json").read_text())
    assert {row["axis"] for row in report["results"]} == {"batch", "timesteps", "units"}
    assert all(row["lstm_np"] > 0 for row in report["results"])
    assert "lstm_np (ms)" in (tmp_path / "scaling.md").read_text()
    assert_png(tmp_path / "scaling.png")


def test_compare_help_lists_the_flags():
    out = run("compare.py", "--help")
    for flag in ("--dataset", "--epochs", "--repeats", "--peers", "--threads", "--out", "--smoke"):
        assert flag in out
