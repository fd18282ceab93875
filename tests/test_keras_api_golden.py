"""lstm_np against real Keras 3: losses, metric names, EarlyStopping and timeseries windows,
through ``tests/golden/keras_api.json`` (made by ``tests/golden/make_keras_api.py``) and, when
Keras is importable, live."""
import json
import sys
from pathlib import Path

import numpy as np
import pytest

import lstm_np as keras

GOLDEN_DIR = Path(__file__).parent / "golden"
sys.path.insert(0, str(GOLDEN_DIR))
import make_keras_api as spec  # noqa: E402

GOLDEN = json.loads((GOLDEN_DIR / "keras_api.json").read_text())


def _float(value):
    return float(value) if isinstance(value, str) else value


def ours_losses():
    out = {}
    for dtype in ("float64", "float32"):
        t, p = np.array(spec.Y_TRUE, dtype), np.array(spec.Y_PRED, dtype)
        out[dtype] = {name: getattr(keras.losses, name)(t, p) for name in spec.LOSSES}
    return out


def ours_metric_names():
    x = np.random.default_rng(0).random((6, 3, 2))
    y = np.random.default_rng(1).random((6, 1))
    model = keras.Sequential([keras.Input((3, 2)), keras.layers.LSTM(2), keras.layers.Dense(1)],
                             seed=0)
    model.compile("adam", "mse", metrics=spec.METRICS)
    history = model.fit(x, y, epochs=1, validation_data=(x, y), verbose=0)
    return {"history": sorted(history.history),
            "evaluate": sorted(model.evaluate(x, y, return_dict=True))}


def ours_stopping():
    return [spec.stopping_trace(keras.callbacks.EarlyStopping, spec.FakeModel([]), case)
            for case in spec.STOPPING]


def ours_windows():
    data, targets = spec.series()
    return [[[x, y] for x, y in keras.utils.timeseries_dataset_from_array(data, targets, **a)]
            for a in spec.WINDOWS]


def check_losses(expected):
    ours = ours_losses()
    for dtype, rtol in (("float64", 1e-13), ("float32", 2e-7)):
        for name in spec.LOSSES:
            np.testing.assert_allclose(ours[dtype][name], expected[dtype][name], rtol=rtol,
                                       atol=0, err_msg=f"{name} {dtype}")


def check_windows(expected):
    for ours, theirs in zip(ours_windows(), expected, strict=True):
        assert len(ours) == len(theirs)
        for (x, y), (kx, ky) in zip(ours, theirs):
            np.testing.assert_array_equal(x, kx)
            np.testing.assert_array_equal(y, ky)


def test_losses_equal_keras_golden():
    check_losses(GOLDEN["losses"])


def test_metric_names_equal_keras_golden():
    assert ours_metric_names() == GOLDEN["metric_names"]


def test_early_stopping_equals_keras_golden():
    for case, kept in zip(spec.STOPPING, GOLDEN["early_stopping"], strict=True):
        np.testing.assert_array_equal(case["values"], [_float(v) for v in kept["values"]])
    assert ours_stopping() == GOLDEN["early_stopping_traces"]


def test_timeseries_windows_equal_keras_golden():
    check_windows(GOLDEN["timeseries"])


def test_live_against_keras():
    pytest.importorskip("keras")
    check_losses(spec.keras_losses())
    assert ours_metric_names() == spec.keras_metric_names()
    assert ours_stopping() == spec.keras_stopping()
    check_windows(spec.keras_windows())
