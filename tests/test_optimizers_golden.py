"""Every optimizer, schedule, clipping mode and weight decay against trajectories recorded
from Keras 3 (TensorFlow backend) by tests/golden/make_golden_optimizers.py.

Measured when the files were written (Keras 3.15.1, TensorFlow 2.21): bit for bit in float64
and float32 for every case except the norm clippings, whose sum of squares TensorFlow adds in
another order: float64 within 1 ulp (1.4e-16 relative), float32 within 2 ulp (2e-7)."""
import functools
import json
from pathlib import Path

import numpy as np
import pytest

from lstm_np import optimizers

GOLDEN = Path(__file__).parent / "golden"
ULPS = {"float64": 2, "float32": 4}     # allowed; the measured worst is 1 and 2


@functools.cache
def load(dtype):
    with np.load(GOLDEN / f"optimizers_{dtype}.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def cases():
    return json.loads(str(load("float64")["cases"]))


def build(arguments):
    arguments = dict(arguments)
    lr = arguments.get("learning_rate")
    if isinstance(lr, dict):
        arguments["learning_rate"] = optimizers.schedules.deserialize(lr)
    return arguments


def test_the_cases_cover_every_optimizer_schedule_clipping_and_weight_decay():
    used = cases()
    assert {name for _, name, _ in used} == {cls.__name__ for cls in optimizers.OPTIMIZERS.values()}
    schedules = {a["learning_rate"]["class_name"] for _, _, a in used
                 if isinstance(a.get("learning_rate"), dict)}
    assert schedules == set(optimizers.schedules.SCHEDULES)
    for option in ("clipnorm", "clipvalue", "global_clipnorm", "weight_decay", "amsgrad",
                   "nesterov", "centered"):
        assert any(option in a for _, _, a in used), option
    assert all(int(load(dtype)["steps"]) >= 15 for dtype in ULPS)


@pytest.mark.parametrize("dtype", list(ULPS))
@pytest.mark.parametrize("case, class_name, arguments", cases(), ids=[c[0] for c in cases()])
def test_optimizer_follows_keras_step_for_step(case, class_name, arguments, dtype):
    g = load(dtype)
    params = {k[3:]: v.copy() for k, v in g.items() if k.startswith("w0/")}
    opt = getattr(optimizers, class_name)(**build(arguments))
    for t in range(1, int(g["steps"]) + 1):
        opt.apply_gradients(params, {p: g[f"{case}/g/{p}"][t - 1] for p in params})
        for p, w in params.items():
            expected = g[f"{case}/w/{p}"][t - 1]
            assert w.dtype == expected.dtype
            ulps = np.abs(w - expected) / np.spacing(np.abs(expected))
            assert ulps.max() <= ULPS[dtype], f"{case} step {t} {p}: {ulps.max()} ulp"
