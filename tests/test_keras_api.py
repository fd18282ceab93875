"""``import lstm_np as keras``: Keras 3's namespaces, losses, metrics, functional chains, data
sources for fit, callbacks and the Keras-2 spellings old tutorials use."""
import csv
import warnings

import numpy as np
import pytest

import lstm_np as keras
from lstm_np import losses, metrics
from lstm_np.callbacks import EarlyStopping

# --- namespaces ---------------------------------------------------------------------------


def test_the_keras_namespaces_answer():
    assert keras.layers.LSTM is keras.LSTM and keras.models.Sequential is keras.Sequential
    assert keras.models.Model is keras.Model and callable(keras.models.load_model)
    assert keras.layers.Input is keras.Input
    for name in ("Adam", "SGD"):
        assert hasattr(keras.optimizers, name)
    for name in ("ModelCheckpoint", "ReduceLROnPlateau", "LearningRateScheduler", "CSVLogger",
                 "TerminateOnNaN", "LambdaCallback", "EarlyStopping", "History", "Callback"):
        assert hasattr(keras.callbacks, name), name
    assert callable(keras.utils.timeseries_dataset_from_array)
    assert keras.losses.Huber and keras.metrics.RootMeanSquaredError
    assert keras.preprocessing.sequence.TimeseriesGenerator
    from lstm_np.layers import Dense, Input  # noqa: F401


# --- losses -------------------------------------------------------------------------------

def _numerical(f, y, eps=1e-6):
    grad = np.zeros_like(y)
    for i in np.ndindex(y.shape):
        old = y[i]
        y[i] = old + eps
        up = f()
        y[i] = old - eps
        down = f()
        y[i] = old
        grad[i] = (up - down) / (2 * eps)
    return grad


# Each formula written out again, independently, from Keras 3's source.
FORMULAS = {
    "mse": lambda t, p: np.mean((t - p) ** 2, axis=-1),
    "mae": lambda t, p: np.mean(np.abs(t - p), axis=-1),
    "mape": lambda t, p: 100 * np.mean(np.abs((t - p) / np.maximum(np.abs(t), 1e-7)), axis=-1),
    "msle": lambda t, p: np.mean((np.log(np.maximum(p, 1e-7) + 1)
                                  - np.log(np.maximum(t, 1e-7) + 1)) ** 2, axis=-1),
    "huber": lambda t, p: np.mean(np.where(np.abs(p - t) <= 1, 0.5 * (p - t) ** 2,
                                           np.abs(p - t) - 0.5), axis=-1),
    # Keras subtracts log 2 rounded to float32: 1.9e-9 below the exact value
    "log_cosh": lambda t, p: np.mean(np.log(np.cosh(p - t)), axis=-1)
    + (np.log(2) - float(np.float32(np.log(2)))),
}


@pytest.mark.parametrize("name", FORMULAS)
def test_each_loss_is_keras_formula_with_an_exact_gradient(name):
    rng = np.random.default_rng(1)
    y_true = rng.uniform(0.1, 2, size=(5, 3))
    y_pred = y_true + rng.normal(scale=1.5, size=(5, 3))   # some beyond Huber's delta
    function = getattr(losses, name)
    np.testing.assert_allclose(function(y_true, y_pred), FORMULAS[name](y_true, y_pred),
                               rtol=1e-12)
    loss = losses.get(name)
    value, grad = loss.value_and_grad(y_true, y_pred)
    assert value == pytest.approx(np.mean(FORMULAS[name](y_true, y_pred)), rel=1e-12)
    numerical = _numerical(lambda: loss.value_and_grad(y_true, y_pred)[0], y_pred)
    np.testing.assert_allclose(grad, numerical, rtol=1e-5, atol=1e-9)


def test_loss_names_and_classes_as_keras_spells_them():
    for name, cls in [("mse", losses.MeanSquaredError), ("MSE", losses.MeanSquaredError),
                      ("mean_absolute_error", losses.MeanAbsoluteError),
                      ("MeanAbsolutePercentageError", losses.MeanAbsolutePercentageError),
                      ("msle", losses.MeanSquaredLogarithmicError), ("huber", losses.Huber),
                      ("Huber", losses.Huber), ("log_cosh", losses.LogCosh),
                      ("LogCosh", losses.LogCosh)]:
        assert isinstance(losses.get(name), cls), name
    assert losses.Huber(delta=0.5)([[0.0]], [[2.0]]) == pytest.approx(0.5 * 2 - 0.125)
    with pytest.raises(ValueError, match="unknown loss 'logcosh'; lstm_np supports .*huber"):
        losses.get("logcosh")                     # Keras 3 refuses it too


def test_msle_clamps_negative_values_and_passes_no_gradient_there():
    value, grad = losses.MeanSquaredLogarithmicError().value_and_grad(
        np.array([[1.0, 1.0]]), np.array([[-3.0, 1.0]]))
    assert value == pytest.approx(np.log(2) ** 2 / 2) and grad[0, 0] == 0 and grad[0, 1] == 0


# --- metrics ------------------------------------------------------------------------------

def small(seed=0, **compile_args):
    model = keras.Sequential([keras.Input(shape=(4, 2)), keras.layers.LSTM(3),
                              keras.layers.Dense(1)], seed=seed, dtype="float64")
    model.compile(optimizer="adam", **compile_args)
    return model


def data(n=12, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 4, 2)), rng.random((n, 1))


def test_metrics_are_reported_under_keras_names_in_history_and_evaluate():
    x, y = data()
    model = small(loss="mse", metrics=["mae", "mse", "rmse", keras.metrics.MeanAbsoluteError(),
                                       "MAPE", keras.losses.huber])
    history = model.fit(x, y, epochs=2, batch_size=5, validation_data=(x, y), verbose=0)
    names = ["mae", "mse", "rmse", "mean_absolute_error", "MAPE", "huber"]
    assert list(history.history) == ["loss", *names, "val_loss", *[f"val_{n}" for n in names]]
    values = model.evaluate(x, y)
    result = model.evaluate(x, y, return_dict=True)
    assert list(result) == ["loss", *names] and values == list(result.values())
    y_pred = model.predict(x)
    assert result["mae"] == pytest.approx(np.mean(np.abs(y_pred - y)), rel=1e-12)
    assert result["rmse"] == pytest.approx(np.sqrt(np.mean((y_pred - y) ** 2)), rel=1e-12)
    assert result["mse"] == pytest.approx(result["loss"], rel=1e-12)
    assert history.history["val_mae"][-1] == pytest.approx(result["mae"], rel=1e-12)
    # the training value is the mean over the epoch's samples, as each batch was seen
    assert history.history["mse"][0] == pytest.approx(history.history["loss"][0], rel=1e-12)


def test_repeated_and_unknown_metric_names():
    model = small(loss="mse", metrics=["mae", "mae"])
    assert model.metrics_names == ["loss", "mae", "mae_1"]
    with pytest.raises(ValueError, match="unknown metric 'accuracy'; lstm_np supports"):
        small(loss="mse", metrics=["accuracy"])


def test_root_mean_squared_error_accumulates_over_batches():
    m = metrics.RootMeanSquaredError()
    m.update_state([[0.0]], [[3.0]])
    m.update_state([[0.0], [0.0]], [[4.0], [0.0]])
    assert m.result() == pytest.approx(np.sqrt(25 / 3))
    m.reset_state()
    assert m.result() == 0.0


# --- the functional API -------------------------------------------------------------------

def test_a_functional_chain_equals_the_same_sequential():
    inputs = keras.Input(shape=(4, 2))
    x = keras.layers.LSTM(3, return_sequences=True)(inputs)
    x = keras.layers.Dropout(0.1)(x)
    outputs = keras.layers.Dense(1)(keras.layers.LSTM(2)(x))
    assert outputs.shape == (None, 1)
    functional = keras.Model(inputs, outputs, seed=3, dtype="float64")
    sequential = keras.Sequential([keras.Input(shape=(4, 2)),
                                   keras.layers.LSTM(3, return_sequences=True),
                                   keras.layers.Dropout(0.1), keras.layers.LSTM(2),
                                   keras.layers.Dense(1)], seed=3, dtype="float64")
    x_data, y_data = data()
    for model in (functional, sequential):
        model.compile("adam", "mse")
    history = [m.fit(x_data, y_data, epochs=2, verbose=0).history for m in
               (functional, sequential)]
    assert history[0] == history[1]
    np.testing.assert_array_equal(functional.predict(x_data), sequential.predict(x_data))


def test_branching_graphs_are_refused_with_one_sentence():
    inputs = keras.Input(shape=(4, 2))
    a = keras.layers.Dense(1)(inputs)
    with pytest.raises(ValueError, match="one chain.*got 2 outputs"):
        keras.Model(inputs, [a, a])
    with pytest.raises(ValueError, match="one chain.*called on 2 tensors"):
        keras.layers.Dense(1)([inputs, a])
    with pytest.raises(ValueError, match="do not come from these inputs"):
        keras.Model(keras.Input(shape=(4, 2)), a)
    dense = keras.layers.Dense(2)
    with pytest.raises(ValueError, match="a layer is used twice"):
        keras.Model(inputs, dense(dense(inputs)))
    with pytest.raises(TypeError, match="subclassing"):
        keras.Model()


def test_input_batch_shape_fixes_the_default_batch_size():
    model = keras.Sequential([keras.Input(batch_shape=(3, 4, 2)), keras.layers.Dense(1)])
    assert model.batch_size == 3 and model.input_shape == (4, 2)
    with pytest.raises(ValueError, match="first element"):
        model.add(keras.Input(shape=(4, 2)))


# --- data sources -------------------------------------------------------------------------

def test_timeseries_dataset_cuts_keras_windows():
    data = np.arange(40.0).reshape(20, 2)
    targets = np.arange(20.0) * 10
    ds = keras.utils.timeseries_dataset_from_array(data, targets, sequence_length=3,
                                                   sequence_stride=2, sampling_rate=2,
                                                   batch_size=2, start_index=1, end_index=15)
    windows = [(x, y) for x, y in ds]
    assert len(ds) == len(windows) == 3
    x = np.concatenate([w[0] for w in windows])
    y = np.concatenate([w[1] for w in windows])
    starts = [1, 3, 5, 7, 9]                        # start + 2 * (3 - 1) < 15
    np.testing.assert_array_equal(x, np.stack([data[s:s + 5:2] for s in starts]))
    np.testing.assert_array_equal(y, targets[starts])
    assert x.shape == (5, 3, 2) and windows[0][0].numpy().shape == (2, 3, 2)


def test_a_shuffled_dataset_holds_every_window_once_each_pass():
    data = np.arange(30.0)[:, None]
    ds = keras.utils.timeseries_dataset_from_array(data, data[:, 0], sequence_length=4,
                                                   batch_size=3, shuffle=True, seed=5)
    passes = [np.concatenate([y for _, y in ds]) for _ in range(2)]
    for targets in passes:
        assert sorted(targets) == list(range(27))
    assert not np.array_equal(passes[0], passes[1])            # reshuffled locally
    first = np.arange(27)
    np.random.RandomState(5).shuffle(first)                    # Keras's global shuffle
    np.testing.assert_array_equal(np.sort(ds.starts), np.arange(27))
    np.testing.assert_array_equal(ds.starts, first)


def test_fit_takes_datasets_generators_and_sequences():
    x, y = data(20)
    ds = keras.utils.timeseries_dataset_from_array(np.concatenate([x[:, 0], x[-1, 1:]]),
                                                   None, sequence_length=4, batch_size=8)
    assert sum(len(batch) for batch in ds) == 20
    model = small(loss="mse", metrics=["mae"])
    pairs = [(x[i:i + 8], y[i:i + 8]) for i in range(0, 20, 8)]
    history = model.fit(pairs, epochs=2, verbose=0, validation_data=pairs)
    assert len(history.history["val_mae"]) == 2
    assert model.evaluate(pairs) == pytest.approx(model.evaluate(x, y), rel=1e-12)
    np.testing.assert_array_equal(model.predict(pairs), model.predict(x))

    def endless():
        while True:
            yield from pairs

    history = model.fit(endless(), steps_per_epoch=3, epochs=2, initial_epoch=1, verbose=0)
    assert history.epoch == [1]
    with pytest.warns(UserWarning, match="ran out of data"):
        history = model.fit(iter(pairs), epochs=3, verbose=0)
    assert history.epoch == [0]


def test_a_generator_of_bad_batches_fails_with_one_sentence():
    model = small(loss="mse")
    with pytest.raises(ValueError, match=r"fit expects batches \(x, y\)"):
        model.fit((np.zeros((2, 4, 2)) for _ in range(2)), verbose=0)
    with pytest.raises(ValueError, match=r"got a tuple of 4"):
        model.fit([(np.zeros((2, 4, 2)),) * 4], verbose=0)


# --- callbacks ----------------------------------------------------------------------------

class FakeModel:
    """Enough of a model for a callback: weights are the epoch number."""

    def __init__(self):
        self.weights, self.stop_training, self.metrics = 0, False, []

    def get_weights(self):
        return self.weights

    def set_weights(self, weights):
        self.weights = weights


def run_early_stopping(values, monitor="val_loss", model=None, **kwargs):
    stop, model = EarlyStopping(monitor=monitor, **kwargs), model or FakeModel()
    stop.set_model(model)
    model.stop_training = False
    stop.on_train_begin()
    for epoch, value in enumerate(values):
        model.weights = epoch
        stop.on_epoch_end(epoch, {monitor: value})
        if model.stop_training:
            break
    stop.on_train_end()
    return epoch, model.weights


def test_early_stopping_accepts_a_nan_first_value_as_keras_3():
    # issue 19 item 15: Keras stops at epoch 2 with epoch-0 weights
    assert run_early_stopping([np.nan, 1, .9, .95, .97, .99, .5], patience=2,
                              restore_best_weights=True) == (2, 0)
    assert run_early_stopping([np.inf, 1, .9, .95], patience=1,
                              restore_best_weights=True) == (3, 2)
    assert run_early_stopping([-np.inf, 1, .9, .95], patience=1,
                              restore_best_weights=True) == (1, 0)
    assert run_early_stopping([3, 2, 2.5, 1], patience=-1, restore_best_weights=True) == (2, 1)


def test_early_stopping_auto_mode_follows_the_metrics_direction():
    model = FakeModel()
    up = keras.metrics.MeanMetricWrapper(lambda t, p: p, name="auc")
    up.direction = "up"
    model.metrics = [up, keras.metrics.get("mae")]
    assert run_early_stopping([.5, .6, .7, .65, .6], monitor="val_auc", model=model,
                              patience=1, restore_best_weights=True) == (3, 2)
    assert run_early_stopping([.5, .6, .7], monitor="val_mae", model=model, patience=0,
                              restore_best_weights=True) == (1, 0)
    with pytest.raises(ValueError, match="cannot tell whether that metric"):
        run_early_stopping([1.0], monitor="val_unknown")
    assert run_early_stopping([1.0, 2.0, 3.0], monitor="val_unknown", mode="min",
                              patience=1) == (1, 1)


def test_model_checkpoint_reduce_lr_scheduler_csv_and_lambda(tmp_path):
    x, y = data()
    model = small(loss="mse")
    seen = []
    best = tmp_path / "sub" / "best-{epoch:02d}.npz"
    callbacks = [
        keras.callbacks.ModelCheckpoint(best, monitor="loss", save_best_only=True),
        keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr if epoch < 1 else lr / 2),
        keras.callbacks.ReduceLROnPlateau(monitor="loss", patience=0, factor=0.5,
                                          min_delta=10.0),
        keras.callbacks.CSVLogger(tmp_path / "log.csv"),
        keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(epoch)),
    ]
    history = model.fit(x, y, epochs=3, verbose=0, callbacks=callbacks)
    assert seen == [0, 1, 2]
    # the scheduler halves from epoch 1; the plateau (min_delta 10: no epoch after the first
    # improves) halves at the end of epochs 1 and 2; the logs hold each epoch's own rate
    assert history.history["learning_rate"] == pytest.approx([1e-3, 5e-4, 1.25e-4])
    assert model.optimizer.learning_rate == pytest.approx(6.25e-5)
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == \
        [f"best-0{k}.npz" for k in (1, 2, 3) if history.history["loss"][k - 1] ==
         min(history.history["loss"][:k])]
    rows = list(csv.DictReader(open(tmp_path / "log.csv")))
    assert [r["epoch"] for r in rows] == ["0", "1", "2"] and "learning_rate" in rows[0]
    assert float(rows[2]["loss"]) == history.history["loss"][2]
    with pytest.raises(ValueError, match=r"needs a filepath ending in \.weights\.h5 or \.npz"):
        keras.callbacks.ModelCheckpoint(tmp_path / "w.h5", save_weights_only=True)


def test_terminate_on_nan_stops_instead_of_raising(capsys):
    x, y = data()
    model = small(loss="mse")
    model.compile(keras.optimizers.SGD(learning_rate=1e30), "mse")
    history = model.fit(x, y * 1e10, epochs=5, batch_size=1, verbose=0,
                        callbacks=[keras.callbacks.TerminateOnNaN()])
    assert "Invalid loss, terminating training" in capsys.readouterr().out
    assert len(history.epoch) == 1
    assert all(np.isfinite(w).all() for w in model.get_weights())


# --- Keras 2 spellings --------------------------------------------------------------------

def test_keras2_spellings_warn_once_with_the_keras3_spelling():
    with pytest.warns(DeprecationWarning, match=r"batch_input_shape= .* keras\.Input\("
                                                r"batch_shape"):
        model = keras.Sequential([keras.layers.Dense(2, batch_input_shape=(4, 3))])
    assert model.batch_size == 4 and model.input_shape == (3,)
    with pytest.warns(DeprecationWarning, match="input_dim= is a Keras 2 spelling"):
        model = keras.Sequential([keras.layers.Dense(2, input_dim=3), keras.layers.Dense(1)])
    assert model.input_shape == (3,)
    model.compile("adam", "mse")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(np.zeros((4, 3)), np.zeros((4, 1)), nb_epoch=2, verbose=0)
        model.reset_states()
    assert len(history.epoch) == 2
    assert [str(w.message).split(" is ")[0] for w in caught] == ["nb_epoch=",
                                                                 "model.reset_states()"]
    with pytest.raises(TypeError, match="Unrecognized keyword arguments passed to Dense"):
        keras.layers.Dense(2, no_such_argument=1)


def test_timeseries_generator_as_keras2_cut_it():
    data = np.arange(20.0)[:, None]
    with pytest.warns(DeprecationWarning, match="timeseries_dataset_from_array"):
        gen = keras.preprocessing.sequence.TimeseriesGenerator(
            data, data[:, 0], length=4, sampling_rate=2, stride=3, start_index=1,
            end_index=17, batch_size=2, reverse=True)
    rows = list(range(5, 18, 3))               # start_index + length .. end_index, every 3
    assert len(gen) == 3
    x = np.concatenate([gen[i][0] for i in range(len(gen))])
    y = np.concatenate([gen[i][1] for i in range(len(gen))])
    np.testing.assert_array_equal(y, data[rows, 0])
    np.testing.assert_array_equal(x, np.stack([data[r - 4:r:2][::-1] for r in rows]))
    model = keras.Sequential([keras.Input(shape=(2, 1)), keras.layers.LSTM(2),
                              keras.layers.Dense(1)], seed=0)
    model.compile("adam", "mse")
    assert len(model.fit(gen, epochs=2, verbose=0).epoch) == 2
    assert model.predict(gen).shape == (5, 1) and np.isfinite(model.evaluate(gen))


def test_the_stateful_airline_pattern_of_keras2_tutorials():
    rng = np.random.default_rng(0)
    x, y = rng.random((6, 3, 1)), rng.random((6, 1))
    with pytest.warns(DeprecationWarning) as caught:
        model = keras.Sequential([keras.layers.LSTM(4, batch_input_shape=(2, 3, 1),
                                                    stateful=True), keras.layers.Dense(1)])
    assert caught[0].filename == __file__            # the warning names the user's line
    model.compile(loss="mean_squared_error", optimizer="adam")
    for _ in range(2):
        model.fit(x, y, epochs=1, batch_size=2, verbose=0, shuffle=False)
        with pytest.warns(DeprecationWarning, match="reset_states"):
            model.reset_states()
    carried = model.predict(x)                       # default batch size: the fixed one, 2
    model.layers[0].reset_states()
    np.testing.assert_array_equal(model.predict(x), carried)
    with pytest.raises(ValueError, match="stateful and carries the states of 2 sequences"):
        model.predict(x, batch_size=3)


def test_variable_length_sequences_with_a_keras2_input_dim():
    with pytest.warns(DeprecationWarning, match="input_dim="):
        model = keras.Sequential([keras.layers.LSTM(3, input_dim=2), keras.layers.Dense(1)])
    assert model.input_shape == (None, 2)
    model.compile("adam", "mse")
    assert model.predict(np.zeros((2, 7, 2))).shape == (2, 1)
    assert model.predict(np.zeros((2, 4, 2))).shape == (2, 1)


def test_model_checkpoint_writes_keras_files(tmp_path):
    pytest.importorskip("h5py")
    x, y = data()
    model = small(loss="mse")
    callbacks = [keras.callbacks.ModelCheckpoint(tmp_path / "w.weights.h5",
                                                 save_weights_only=True),
                 keras.callbacks.ModelCheckpoint(tmp_path / "m-{epoch}.keras")]
    model.fit(x, y, epochs=2, validation_data=(x, y), verbose=0, callbacks=callbacks)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m-1.keras", "m-2.keras",
                                                           "w.weights.h5"]
    np.testing.assert_array_equal(keras.models.load_model(tmp_path / "m-2.keras").predict(x),
                                  model.predict(x))
    copy = small(seed=5, loss="mse")
    copy.load_weights(tmp_path / "w.weights.h5")          # the last epoch's weights
    np.testing.assert_array_equal(copy.predict(x), model.predict(x))
