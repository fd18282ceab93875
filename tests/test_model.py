"""Sequential: the seed model, exact gradients end to end, Keras's fit semantics, determinism,
saving and loading."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import seed_model
from lstm_np import (LSTM, SGD, Adam, Callback, Dense, Dropout, ModelFileError,
                     NonFiniteLossError, Sequential, gradcheck, load_model)
from lstm_np._jit import jit_enabled
from lstm_np.gradcheck import GradcheckError


def small_model(seed=0, dtype="float64"):
    return Sequential([LSTM(5, return_sequences=True, input_shape=(4, 3)), Dropout(0.5),
                       LSTM(6), Dropout(0.5), Dense(2)], seed=seed, dtype=dtype)


def randomise(model, rng, scale=0.5):
    model.set_weights([rng.normal(scale=scale, size=w.shape) for w in model.get_weights()])


def test_seed_model_has_70901_parameters():
    model = seed_model()
    assert model.count_params() == 70_901
    assert [w.shape for w in model.get_weights()] == [
        (1, 200), (50, 200), (200,), (50, 400), (100, 400), (400,), (100, 1), (1,)]
    lines = []
    model.summary(print_fn=lines.append)
    assert "Total params: 70,901" in lines[-1]
    assert any("lstm_1 (LSTM)" in line and "60,400" in line for line in lines)


def test_gradcheck_small_stack(rng):
    model = small_model()
    randomise(model, rng)
    errors = gradcheck(model, rng.normal(size=(3, 4, 3)), rng.normal(size=(3, 2)),
                       max_entries=None)
    # every weight, then x and the initial states of both LSTM layers
    assert list(errors) == [*model.params, "x", "lstm/h0", "lstm/c0", "lstm_1/h0", "lstm_1/c0"]
    assert max(errors.values()) < 1e-6, errors


def test_gradcheck_whole_seed_model(rng):
    model = seed_model()
    x, y = rng.normal(size=(2, 60, 1)), rng.normal(size=(2, 1))
    errors = gradcheck(model, x, y, max_entries=6)   # 6 random entries of each of its 8 arrays
    assert max(errors.values()) < 1e-6, errors


def test_gradcheck_reports_a_wrong_gradient(rng, monkeypatch):
    """The check can fail: break the backward pass and it says so."""
    model = small_model()
    randomise(model, rng)
    original = Dense.backward

    def broken(self, dy, cache):
        dx, grads = original(self, dy, cache)
        grads["kernel"] = grads["kernel"] * 1.01
        return dx, grads

    monkeypatch.setattr(Dense, "backward", broken)
    x, y = rng.normal(size=(3, 4, 3)), rng.normal(size=(3, 2))
    with pytest.raises(GradcheckError, match=r"^gradcheck failed: dense/kernel\[\d, \d\] has the "
                                             r"analytic gradient .* \(relative error 0.0099 > "
                                             r"tolerance 1e-06\)$"):
        gradcheck(model, x, y)
    errors = gradcheck(model, x, y, raise_exception=False)
    assert errors["dense/kernel"] > 1e-3
    assert errors["lstm/kernel"] < 1e-6


def test_compute_gradients_has_dropout_off_and_changes_nothing(rng):
    model = small_model()
    model.compile(optimizer="adam", loss="mse")
    x, y = rng.normal(size=(3, 4, 3)), rng.normal(size=(3, 2))
    before = model.get_weights()
    loss1, g1 = model.compute_gradients(x, y)
    loss2, g2 = model.compute_gradients(x, y)
    assert loss1 == loss2 and all(np.array_equal(a, b) for a, b in zip(g1, g2))
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert [g.shape for g in g1] == [w.shape for w in before]
    assert loss1 == pytest.approx(model.evaluate(x, y))


def test_predicting_a_batch_equals_predicting_each_row(rng):
    model = seed_model(dtype="float32")
    x = rng.random((7, 60, 1))
    whole = model.predict(x)
    rows = np.concatenate([model.predict(x[k:k + 1]) for k in range(len(x))])
    np.testing.assert_allclose(whole, rows, rtol=0, atol=1e-6)
    np.testing.assert_allclose(model.predict(x, batch_size=3), whole, rtol=0, atol=1e-6)


def test_float32_predictions_agree_with_float64(rng):
    model64 = seed_model(seed=3, dtype="float64")
    model32 = model64.copy(dtype="float32")
    x = rng.random((16, 60, 1))
    p32 = model32.predict(x)
    assert p32.dtype == np.float32
    np.testing.assert_allclose(p32, model64.predict(x), rtol=0, atol=1e-4)


def train_briefly(seed, dtype="float32"):
    rng = np.random.default_rng(7)
    x, y = rng.random((50, 4, 3)), rng.random((50, 2))
    model = small_model(seed=seed, dtype=dtype)
    model.compile(optimizer=Adam(learning_rate=0.01), loss="mse", metrics=["mae"])
    history = model.fit(x, y, epochs=3, batch_size=16, validation_split=0.2, verbose=0)
    return model, history


def test_same_seed_repeats_bit_for_bit():
    (m1, h1), (m2, h2) = train_briefly(seed=11), train_briefly(seed=11)
    for a, b in zip(m1.get_weights(), m2.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert h1.history == h2.history
    m3, _ = train_briefly(seed=12)
    assert not np.array_equal(m1.get_weights()[0], m3.get_weights()[0])


def test_fit_follows_keras_semantics():
    model, history = train_briefly(seed=0)
    assert set(history.history) == {"loss", "mae", "val_loss", "val_mae"}
    assert all(len(v) == 3 for v in history.history.values())
    # 50 samples, validation_split 0.2 -> 40 for training; batch 16 -> 3 steps (last partial)
    assert model.optimizer.iterations == 3 * 3
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_validation_split_takes_the_tail(rng):
    x, y = rng.random((10, 4, 3)), rng.random((10, 2))
    model = small_model()
    model.compile(optimizer=SGD(learning_rate=0.0 + 1e-12), loss="mse")
    history = model.fit(x, y, epochs=1, batch_size=4, validation_split=0.3, verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(model.evaluate(x[7:], y[7:]), rel=1e-6)


@pytest.mark.parametrize("verbose, bar", [(1, " ━━━━━━━━━━━━━━━━━━━━ "), (2, " - ")])
def test_fit_prints_two_lines_per_epoch_as_keras(capsys, verbose, bar):
    rng = np.random.default_rng(0)
    model = small_model()
    model.compile()
    model.fit(rng.random((8, 4, 3)), rng.random((8, 2)), epochs=2, validation_split=0.25,
              batch_size=2, verbose=verbose)
    lines = capsys.readouterr().out.strip().splitlines()   # not a terminal: no redrawing
    assert len(lines) == 4 and lines[2] == "Epoch 2/2"
    assert lines[3].startswith("3/3" + bar) and "/step - loss: " in lines[3]
    assert "val_loss: " in lines[3]


def test_callbacks_can_stop_training():
    class StopAfterOne(Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.stop_training = True

    rng = np.random.default_rng(0)
    model = small_model()
    model.compile()
    history = model.fit(rng.random((8, 4, 3)), rng.random((8, 2)), epochs=5, verbose=0,
                        callbacks=[StopAfterOne()])
    assert len(history.history["loss"]) == 1


def test_a_diverging_loss_stops_with_a_clear_error():
    rng = np.random.default_rng(0)
    model = small_model()
    model.compile(optimizer=SGD(learning_rate=1e9), loss="mse")
    with pytest.raises(NonFiniteLossError, match="lower learning rate"):
        model.fit(rng.random((32, 4, 3)), 1e3 * rng.random((32, 2)), epochs=20, verbose=0)


def test_save_and_load_give_identical_predictions(tmp_path, rng):
    model = seed_model(dtype="float32")
    path = tmp_path / "model.npz"
    model.save(path, extra={"note": "hello"})
    loaded = load_model(path)
    x = rng.random((5, 60, 1))
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.extra == {"note": "hello"}
    assert loaded.dtype == np.float32
    assert [f.name for f in tmp_path.iterdir()] == ["model.npz"]   # no temporary file left


def test_load_refuses_pickles_and_foreign_files(tmp_path):
    evil = tmp_path / "evil.npz"
    model = seed_model()
    weights = {f"weight_{k:03d}": w for k, w in enumerate(model.get_weights())}
    weights["weight_000"] = np.array([object()], dtype=object)      # a pickle inside
    np.savez(evil, config=np.array(json.dumps(model.get_config())), **weights)
    with pytest.raises(ModelFileError, match="weight_000 holds object values"):
        load_model(evil)
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip file")
    with pytest.raises(ModelFileError, match="not a NumPy .npz archive"):
        load_model(junk)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, a=np.zeros(3))
    with pytest.raises(ModelFileError, match="entry 'a.npy' that no lstm_np model file has"):
        load_model(foreign)
    np.savez(foreign, extra=np.array("{}"))
    with pytest.raises(ModelFileError, match="without the 'config' entry"):
        load_model(foreign)
    with pytest.raises(ModelFileError, match="does not exist"):
        load_model(tmp_path / "missing.npz")


def test_saved_files_get_the_usual_permissions(tmp_path):
    """Atomic saving goes through a temporary file (mkstemp makes it 0600); the final file
    must carry the permissions a plain open() would give under the current umask."""
    import os

    path = tmp_path / "model.npz"
    seed_model().save(path)
    mask = os.umask(0o022)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


def test_wrong_input_shape_is_a_clear_error(rng):
    model = seed_model()
    with pytest.raises(ValueError, match=r"expects \(batch, 60, 1\)"):
        model.predict(rng.random((2, 30, 1)))


def kernel_results():
    """Loss, predictions and gradients of an LSTM model and of a mixed LSTM/GRU/SimpleRNN one."""
    from lstm_np import GRU, SimpleRNN
    mixed = Sequential([LSTM(5, return_sequences=True, input_shape=(4, 3)),
                        GRU(6, return_sequences=True), SimpleRNN(4), Dense(2)], dtype="float64")
    arrays = {}
    for name, model, n in (("lstm", small_model(), 3), ("mixed", mixed, 20)):  # 20: several blocks
        randomise(model, np.random.default_rng(5))
        rng = np.random.default_rng(6)
        x, y = rng.normal(size=(n, 4, 3)), rng.normal(size=(n, 2))
        loss, grads = model.compute_gradients(x, y)
        arrays.update({f"{name}_loss": loss, f"{name}_predict": model.predict(x)})
        arrays.update({f"{name}_grad{k}": g for k, g in enumerate(grads)})
    return arrays


JIT_OFF_SCRIPT = """
import sys, numpy as np
sys.path.insert(0, {tests!r})
from test_model import kernel_results
np.savez({out!r}, **kernel_results())
"""


@pytest.mark.skipif(not jit_enabled(), reason="compares against this process's compiled kernels")
def test_kernels_run_without_the_jit(tmp_path):
    """NUMBA_DISABLE_JIT=1 runs the very same kernels (LSTM, GRU, SimpleRNN) as Python and gets
    the same numbers as the compiled kernels of this process."""
    out = str(tmp_path / "jit_off.npz")
    script = JIT_OFF_SCRIPT.format(tests=os.path.dirname(__file__), out=out)
    subprocess.run([sys.executable, "-c", script], check=True,
                   env={**os.environ, "NUMBA_DISABLE_JIT": "1"})
    with np.load(out) as data:
        off = {k: data[k] for k in data.files}
    compiled = kernel_results()
    assert off.keys() == compiled.keys()
    for key, value in compiled.items():
        np.testing.assert_allclose(off[key], value, rtol=1e-12, atol=1e-14, err_msg=key)
