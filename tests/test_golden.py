"""lstm_np against values computed by real Keras 3 and real PyTorch (tests/golden/*.npz, made by
tests/golden/make_golden.py). Runs in CI without either peer installed."""
from pathlib import Path

import numpy as np
import pytest

import lstm_np
from lstm_np import Adam, Dense
from lstm_np.gradcheck import relative_error

GOLDEN = Path(__file__).parent / "golden"
TOL = {"float64": dict(rtol=1e-9, atol=1e-9), "float32": dict(rtol=1e-5, atol=1e-5)}
PEERS = ["", "torch_"]     # Keras's values under plain names, PyTorch's with a prefix


def load(name):
    with np.load(GOLDEN / name, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def recurrent_files():
    return sorted(p.name for p in GOLDEN.glob("*_seq*_float*.npz"))


def build_recurrent(g):
    kind, dtype = str(g["layer"]), str(g["dtype"])
    cls = {"lstm": lstm_np.LSTM, "gru": getattr(lstm_np, "GRU", None),
           "simple_rnn": getattr(lstm_np, "SimpleRNN", None)}[kind]
    assert cls is not None, f"lstm_np has no {kind} layer"
    layer = cls(int(g["units"]), return_sequences=bool(g["return_sequences"]), return_state=True)
    layer.build(g["x"].shape[1:], np.random.default_rng(0), dtype)
    layer.params.update({k: np.array(g[k], dtype=dtype) for k in layer.params})
    return kind, layer


@pytest.mark.parametrize("name", recurrent_files())
@pytest.mark.parametrize("peer", PEERS)
def test_recurrent_layer_matches_peer(name, peer):
    g = load(name)
    kind, layer = build_recurrent(g)
    tol = TOL[str(g["dtype"])]
    states = [g["h0"], g["c0"]] if kind == "lstm" else [g["h0"]]
    outputs, cache = layer.forward(g["x"], initial_state=states)
    for ours, key in zip(outputs, ["y", "h_T", "c_T"]):
        np.testing.assert_allclose(ours, g[peer + key], **tol, err_msg=key)
    upstream = [g["dy"], g["dh"]] + ([g["dc"]] if kind == "lstm" else [])
    dinputs, grads = layer.backward(upstream, cache)
    for ours, key in zip(dinputs, ["dx", "dh0", "dc0"]):
        np.testing.assert_allclose(ours, g[peer + key], **tol, err_msg=key)
    for key in layer.params:
        np.testing.assert_allclose(grads[key], g[peer + "d" + key], **tol, err_msg=key)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("peer", PEERS)
def test_dense_matches_peer(dtype, peer):
    g = load(f"dense_{dtype}.npz")
    layer = Dense(g["kernel"].shape[1])
    layer.build(g["x"].shape[1:], np.random.default_rng(0), dtype)
    layer.params.update(kernel=g["kernel"], bias=g["bias"])
    y, cache = layer.forward(g["x"])
    np.testing.assert_allclose(y, g[peer + "y"], **TOL[dtype])
    dx, grads = layer.backward(g["dy"], cache)
    np.testing.assert_allclose(dx, g[peer + "dx"], **TOL[dtype])
    for key in grads:
        np.testing.assert_allclose(grads[key], g[peer + "d" + key], **TOL[dtype])


def golden_seed_model(g, dtype):
    from conftest import seed_model
    model = seed_model(dtype=dtype)
    assert model.count_params() == int(g["n_params"]) == 70_901
    model.set_weights([g[f"w_{k:02d}"] for k in range(8)])
    return model


def test_seed_model_matches_keras_and_torch_in_float64():
    g = load("seed_model_float64.npz")
    model = golden_seed_model(g, "float64")
    prediction = model.predict(g["x"])
    np.testing.assert_allclose(prediction, g["y"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(prediction, g["torch_y"], rtol=0, atol=1e-9)
    loss, grads = model.compute_gradients(g["x"], g["y_true"])
    assert loss == pytest.approx(float(g["loss"]), rel=1e-10)
    assert loss == pytest.approx(float(g["torch_loss"]), rel=1e-10)
    assert np.all(g["torch_dw_max_abs_diff"] < 1e-12)     # the peers agree with each other
    for k, ours in enumerate(grads):
        assert relative_error(ours, g[f"dw_{k:02d}"], floor=0) < 1e-7, k


def test_seed_model_in_float32():
    g = load("seed_model_float64.npz")
    model = golden_seed_model(g, "float32")
    prediction = model.predict(g["x"])
    np.testing.assert_allclose(prediction, g["float32_y"], rtol=0, atol=1e-5)
    np.testing.assert_allclose(prediction, g["torch_float32_y"], rtol=0, atol=1e-5)
    np.testing.assert_allclose(prediction, g["y"], rtol=0, atol=1e-4)
    _, grads = model.compute_gradients(g["x"], g["y_true"])
    for k, ours in enumerate(grads):
        np.testing.assert_allclose(ours, g[f"dw_{k:02d}"], rtol=1e-3,
                                   atol=1e-3 * np.abs(g[f"dw_{k:02d}"]).max())


def adam_files():
    return sorted(p.name for p in GOLDEN.glob("adam_*.npz"))


def test_adam_golden_files_cover_both_dtypes_and_twenty_steps():
    assert adam_files() == ["adam_lr1e-02_float32.npz", "adam_lr1e-02_float64.npz",
                            "adam_lr1e-03_float32.npz", "adam_lr1e-03_float64.npz"]
    assert all(int(load(name)["steps"]) == 20 for name in adam_files())


@pytest.mark.parametrize("name", adam_files())
def test_adam_matches_real_keras_to_the_last_bit(name):
    """Twenty steps of keras.optimizers.Adam (TF backend) on a variable of the file's dtype,
    reproduced bit for bit: the float32-rounded betas in the bias correction, Keras's order of
    operations, every operation in the weights' dtype."""
    g = load(name)
    dtype = str(g["dtype"])
    opt = Adam(learning_rate=float(g["learning_rate"]), beta_1=float(g["beta_1"]),
               beta_2=float(g["beta_2"]), epsilon=float(g["epsilon"]))
    params = {"w": g["w0"].copy()}
    assert params["w"].dtype == np.dtype(dtype)
    for t in range(1, int(g["steps"]) + 1):
        opt.apply_gradients(params, {"w": g[f"g{t}"]})
        np.testing.assert_array_equal(params["w"], g[f"w{t}"], err_msg=f"step {t}")


@pytest.mark.parametrize("name", ["adam_lr1e-03_float64.npz", "adam_lr1e-02_float64.npz"])
def test_the_textbook_adam_formula_is_measurably_not_keras(name):
    """Why the test above needs the float32 betas: the textbook formula with exact betas (the
    files' ``formula_w*``) is off from real Keras by about 6.7e-6 of a step, far above the
    float64 round-off the bit-for-bit test admits (none)."""
    g = load(name)
    lr = float(g["learning_rate"])
    gap = max(np.abs(g[f"w{t}"] - g[f"formula_w{t}"]).max() for t in range(1, 21))
    assert 1e-5 * lr < gap < 1e-3 * lr


ADAM_WITHOUT_JIT = """
import sys
sys.path.insert(0, {tests!r})
import test_golden
for name in test_golden.adam_files():
    test_golden.test_adam_matches_real_keras_to_the_last_bit(name)
print("ok")
"""


def test_adam_matches_real_keras_without_the_jit_too():
    """NUMBA_DISABLE_JIT=1 runs the same update as Python on NumPy scalars; it must give the
    same bits as the compiled kernel, and so as Keras."""
    import os
    import subprocess
    import sys

    script = ADAM_WITHOUT_JIT.format(tests=os.path.dirname(__file__))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env={**os.environ, "NUMBA_DISABLE_JIT": "1"}, check=False)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
