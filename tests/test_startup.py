"""The commands start fast when they stop early: ``--help`` and flag errors load none of the
heavy libraries (Numba, matplotlib, pandas, SciPy, Dask), and the package's names still import.

The library test suite starts many command subprocesses; each one that stops at its flags used to
spend about a second importing those libraries before argparse looked at its arguments.
"""
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import lstm_np
import lstm_np.forecast

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("numba", "matplotlib", "pandas", "scipy", "distributed", "dask", "h5py")
COMMANDS = ("train", "predict", "compare", "backtest", "tune")

# Runs in a fresh interpreter: every command's --help and a flag each refuses, then reports which
# heavy libraries are loaded. One interpreter for all of them keeps the test quick.
PROBE = """
import contextlib, importlib, io, json, sys
codes = {}
for name in %(commands)r:
    for module in ("lstm_np." + name, "lstm_np.forecast." + name):
        main = importlib.import_module(module).main
        for argv in (["--help"], ["--epochs" if name != "predict" else "--days", "0"]):
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                codes[module + " " + " ".join(argv)] = main(argv)
print(json.dumps({"codes": codes, "loaded": [m for m in %(heavy)r if m in sys.modules]}))
"""


def probe():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-c", PROBE % {"commands": COMMANDS, "heavy": HEAVY}],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_help_and_flag_errors_load_no_heavy_library():
    got = probe()
    assert got["loaded"] == []
    for call, code in got["codes"].items():  # --help exits 0, a refused flag 2 (a user error)
        assert code == (0 if call.endswith("--help") else 2), call


def test_the_package_names_still_import():
    for module in (lstm_np, lstm_np.forecast):
        assert set(module.__all__) <= set(dir(module))
        for name in module.__all__:
            assert getattr(module, name) is not None, name
    from lstm_np import (GRU, LSTM, SGD, Adam, Callback, Dense, Dropout, EarlyStopping, History,  # noqa: F401
                         Layer, ModelFileError, NonFiniteLossError, Sequential, SimpleRNN, gradcheck,
                         keep_memory_mapped, load_model)
    from lstm_np.models import Sequential as defined
    assert Sequential is defined
    assert callable(gradcheck)  # the function, not its module of the same name
    try:
        lstm_np.no_such_name
    except AttributeError:
        pass
    else:
        raise AssertionError("an unknown name must raise AttributeError")


def test_the_flags_name_what_the_pipeline_builds():
    from lstm_np.forecast import options, pipeline
    assert options.MODELS == options.model_kinds() and set(options.MODELS) == {*pipeline.RECURRENT, "mlp"}
    assert tuple(pipeline.OPTIMIZERS) == options.OPTIMIZER_NAMES
    assert [pipeline.NAMES[kind] for kind in options.MODELS] == ["LSTM", "GRU", "SimpleRNN", "MLP"]


def test_task_functions_still_pickle_by_reference():
    from lstm_np.forecast import backtest, compare, tune
    for function in (backtest.run_fold, compare.run_task, tune.run_trial):
        assert pickle.loads(pickle.dumps(function)) is function
