"""Every optimizer case of tests/golden/make_golden_optimizers.py against live Keras 3, on other
gradients than the golden files' (skipped when Keras and TensorFlow are not installed)."""
import os
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
pytest.importorskip("tensorflow")
pytest.importorskip("keras")
sys.path.insert(0, str(Path(__file__).parent / "golden"))
import make_golden_optimizers as golden  # noqa: E402

ULPS = {"float64": 2, "float32": 4}


@pytest.mark.parametrize("dtype", list(ULPS))
@pytest.mark.parametrize("case, class_name, arguments", golden.CASES,
                         ids=[c[0] for c in golden.CASES])
def test_optimizer_follows_live_keras(case, class_name, arguments, dtype):
    rng = np.random.default_rng(2026)
    w0 = {p: rng.normal(0.0, 1.0, s).astype(dtype) for p, s in golden.SHAPES.items()}
    grads = golden.gradients(rng, dtype)
    theirs = golden.keras_run(class_name, arguments, w0, grads, dtype)
    mine = golden.ours(class_name, arguments, w0, grads)
    for t, (a, b) in enumerate(zip(mine, theirs), start=1):
        for p in golden.SHAPES:
            ulps = np.abs(a[p] - b[p]) / np.spacing(np.abs(b[p]))
            assert ulps.max() <= ULPS[dtype], f"{case} step {t} {p}: {ulps.max()} ulp"
