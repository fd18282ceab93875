"""Live comparison with Keras 3 (skipped when Keras and TensorFlow are not installed; the
committed golden files in tests/golden carry the same check into CI)."""
import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from lstm_np import Adam  # noqa: E402

# (learning_rate, beta_1, beta_2, epsilon): Keras's defaults, and two others
HYPER = [(1e-3, 0.9, 0.999, 1e-7), (0.05, 0.8, 0.99, 1e-3), (3e-4, 0.95, 0.9999, 1e-8)]


def keras_adam(w0, grads, dtype, learning_rate, beta_1, beta_2, epsilon):
    floatx = keras.config.floatx()
    keras.config.set_floatx(dtype)       # the learning rate is stored in floatx
    try:
        opt = keras.optimizers.Adam(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                                    epsilon=epsilon)
        var = keras.Variable(w0, dtype=dtype)
        out = []
        for g in grads:
            opt.apply_gradients([(tf.constant(g), var)])
            out.append(np.array(var.numpy()))
        return out
    finally:
        keras.config.set_floatx(floatx)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("hyper", HYPER)
def test_adam_matches_live_keras_bit_for_bit(dtype, hyper):
    """30 steps with gradients from 1e-3 to 1e2. (Past step 30 TensorFlow's own ``pow`` is
    sometimes one unit off the correctly rounded power, e.g. 0.999**31 in float64, and the
    weights then differ in their last bits.)"""
    rng = np.random.default_rng(3)
    w0 = rng.normal(size=(7, 9)).astype(dtype)
    grads = [(rng.normal(size=(7, 9)) * 10.0 ** rng.uniform(-3, 2)).astype(dtype)
             for _ in range(30)]
    theirs = keras_adam(w0, grads, dtype, *hyper)
    opt, params = Adam(*hyper), {"w": w0.copy()}
    for t, (g, expected) in enumerate(zip(grads, theirs), start=1):
        opt.apply_gradients(params, {"w": g})
        np.testing.assert_array_equal(params["w"], expected, err_msg=f"step {t}")
