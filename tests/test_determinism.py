"""The same bits on any thread count and in any batch (issue 11, item 4).

A sequence's prediction goes through exactly the same arithmetic whatever the batch it comes in
and however many threads run: blocks of a fixed width, padded; weight gradients summed in block
order; Dense rows formed one by one; no BLAS thread pool involved. These tests compare bit for
bit, never with a tolerance.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

from lstm_np import GRU, LSTM, Dense, Dropout, Sequential, SimpleRNN

T, D = 5, 3


def mixed_model(dtype):
    """All three recurrent layers and Dense; GRU's 10 input features take the BLAS path of the
    input projection, the others the loop path for a handful of features."""
    model = Sequential([LSTM(10, return_sequences=True, input_shape=(T, D)), Dropout(0.3),
                        GRU(12, return_sequences=True), SimpleRNN(9), Dense(2)],
                       seed=3, dtype=dtype)
    model.compile(optimizer="adam", loss="mse")
    return model


def data(n, dtype, seed=4):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, T, D)).astype(dtype), rng.normal(size=(n, 2)).astype(dtype)


THREADS_SCRIPT = """
import sys, numpy as np
sys.path.insert(0, {tests!r})
from test_determinism import data, mixed_model
arrays = {{}}
for dtype in ("float32", "float64"):
    for n in (17, 48, 80):                      # one block + 1, three blocks, five blocks
        x, y = data(n, dtype)
        model = mixed_model(dtype)
        arrays[f"{{dtype}}_predict_{{n}}"] = model.predict(x, batch_size=n)
        loss, grads = model.compute_gradients(x, y)
        arrays[f"{{dtype}}_loss_{{n}}"] = np.asarray(loss)
        arrays.update({{f"{{dtype}}_grad_{{n}}_{{k}}": g for k, g in enumerate(grads)}})
    x, y = data(48, dtype)
    model = mixed_model(dtype)
    model.fit(x, y, epochs=2, batch_size=20, verbose=0)   # dropout and shuffling on
    arrays.update({{f"{{dtype}}_fit_{{k}}": w for k, w in enumerate(model.get_weights())}})
np.savez({out!r}, **arrays)
"""


def test_training_and_prediction_are_the_same_bits_on_1_2_and_3_threads(tmp_path):
    """Kernel threads and BLAS threads set to 1, 2 and 3 in fresh processes: predictions,
    gradients of batches of 17, 48 and 80, and the weights after a short fit agree bit for bit."""
    results = {}
    for threads in ("1", "2", "3"):
        out = str(tmp_path / f"threads{threads}.npz")
        env = {**os.environ, "NUMBA_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads,
               "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
        script = THREADS_SCRIPT.format(tests=os.path.dirname(__file__), out=out)
        subprocess.run([sys.executable, "-c", script], check=True, env=env)
        with np.load(out) as saved:
            results[threads] = {k: saved[k] for k in saved.files}
    assert len(results["1"]) > 40
    for threads in ("2", "3"):
        assert results[threads].keys() == results["1"].keys()
        for key, value in results["1"].items():
            np.testing.assert_array_equal(results[threads][key], value, err_msg=key)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_prediction_does_not_depend_on_batch_size(dtype):
    model = mixed_model(dtype)
    x, _ = data(70, dtype)
    whole = model.predict(x, batch_size=64)
    for batch_size in (1, 7, 70):
        np.testing.assert_array_equal(model.predict(x, batch_size=batch_size), whole)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_prediction_does_not_depend_on_the_other_rows_of_its_batch(dtype):
    """Shuffled, each row lands at another position of another block beside other rows."""
    model = mixed_model(dtype)
    x, _ = data(70, dtype)
    order = np.random.default_rng(0).permutation(70)
    np.testing.assert_array_equal(model.predict(x[order], batch_size=70), model.predict(x)[order])
    others = np.concatenate([x[:1], data(40, dtype, seed=9)[0]])     # row 0 among strangers
    np.testing.assert_array_equal(model.predict(others)[0], model.predict(x)[0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("activation", [None, "tanh"])
def test_dense_rows_do_not_depend_on_their_batch(dtype, activation):
    """NumPy's matmul takes a dot product for one row and gemv or gemm for several, each
    summing in its own order; the Dense kernel gives every row the same sum."""
    model = Sequential([Dense(33, activation=activation, input_shape=(40,)), Dense(1)],
                       seed=1, dtype=dtype)
    x = np.random.default_rng(2).normal(size=(50, 40)).astype(dtype)
    whole = model.predict(x, batch_size=50)
    for batch_size in (1, 7, 16):
        np.testing.assert_array_equal(model.predict(x, batch_size=batch_size), whole)
