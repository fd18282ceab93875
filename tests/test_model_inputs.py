"""What Sequential accepts: targets shaped exactly like the outputs (issue 13, item 3), a
positive batch size (item 4), finite inputs and targets, non-empty sets, and optimizers with
finite arguments. Everything else is one clear ValueError, never a broadcast, a
ZeroDivisionError or a misleading hint."""
import numpy as np
import pytest

from lstm_np import GRU, LSTM, SGD, Adam, Dense, Sequential, SimpleRNN
from lstm_np.losses import MeanSquaredError

RECURRENT = [LSTM, GRU, SimpleRNN]


def one_output_model(layer=LSTM, dtype="float64", seed=0):
    model = Sequential([layer(4, input_shape=(5, 2)), Dense(1)], seed=seed, dtype=dtype)
    return model.compile(optimizer=Adam(0.01), loss="mse", metrics=["mae"])


def data(n=12, seed=1):
    rng = np.random.default_rng(seed)
    return rng.random((n, 5, 2)), rng.random(n)          # y is 1-D


# ---------------------------------------------------------------------------- item 3: targets
@pytest.mark.parametrize("layer", RECURRENT)
def test_evaluate_with_1d_targets_equals_the_mean_squared_error(layer):
    """The reproduction: a 1-D y was broadcast (N,1) - (N,) to N×N and evaluate reported a
    wrong loss (0.0387 instead of 0.0281 on the bundled test set)."""
    model = one_output_model(layer)
    x, y = data()
    prediction = model.predict(x)
    expected = float(np.mean((prediction[:, 0] - y) ** 2))
    loss, mae = model.evaluate(x, y)
    assert loss == pytest.approx(expected, rel=1e-12)
    assert mae == pytest.approx(float(np.mean(np.abs(prediction[:, 0] - y))), rel=1e-12)
    assert model.evaluate(x, y.reshape(-1, 1)) == [loss, mae]


def test_fit_with_1d_targets_trains_exactly_as_with_a_column():
    x, y = data()
    a, b = one_output_model(seed=3), one_output_model(seed=3)
    history_a = a.fit(x, y, epochs=2, batch_size=5, validation_data=(x[:4], y[:4]), verbose=0)
    history_b = b.fit(x, y[:, None], epochs=2, batch_size=5,
                      validation_data=(x[:4], y[:4, None]), verbose=0)
    assert history_a.history == history_b.history
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    assert a.train_on_batch(x, y) == b.train_on_batch(x, y[:, None])
    assert a.compute_gradients(x, y)[0] == b.compute_gradients(x, y[:, None])[0]


@pytest.mark.parametrize("bad_y, message", [
    (np.zeros((1, 1)), "x has 12 samples but y has 1"),                   # one row, broadcast
    (np.zeros((12, 2)), r"y has shape \(12, 2\) but the model's outputs have shape \(12, 1\)"),
    (np.zeros((12, 1, 1)), r"y has shape \(12, 1, 1\)"),
    (np.zeros(11), "x has 12 samples but y has 11"),
    (np.zeros(()), r"y has shape \(\)"),
])
def test_targets_of_another_shape_are_refused_everywhere(bad_y, message):
    model = one_output_model()
    x, _ = data()
    for call in (lambda: model.evaluate(x, bad_y), lambda: model.fit(x, bad_y, verbose=0),
                 lambda: model.train_on_batch(x, bad_y),
                 lambda: model.compute_gradients(x, bad_y)):
        with pytest.raises(ValueError, match=message):
            call()


def test_validation_targets_of_another_shape_are_refused_before_training():
    model = one_output_model()
    x, y = data()
    before = model.get_weights()
    with pytest.raises(ValueError, match="x has 4 samples but validation y has 1"):
        model.fit(x, y, validation_data=(x[:4], y[:1].reshape(1, 1)), verbose=0)
    with pytest.raises(ValueError, match=r"validation y has shape \(4, 2\)"):
        model.fit(x, y, validation_data=(x[:4], np.zeros((4, 2))), verbose=0)
    with pytest.raises(ValueError, match="validation_data must be a pair"):
        model.fit(x, y, validation_data=x[:4], verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_a_two_output_model_needs_two_columns():
    model = Sequential([Dense(2, input_shape=(3,))], seed=0).compile()
    x = np.ones((4, 3))
    with pytest.raises(ValueError, match=r"y has shape \(4,\) but the model's outputs"):
        model.evaluate(x, np.ones(4))
    assert np.isfinite(model.evaluate(x, np.ones((4, 2))))


def test_the_losses_themselves_refuse_mismatched_shapes():
    with pytest.raises(ValueError, match="must match exactly"):
        MeanSquaredError().value_and_grad(np.zeros(3), np.zeros((3, 1)))
    with pytest.raises(ValueError, match="at least one sample"):
        MeanSquaredError().value_and_grad(np.zeros((0, 1)), np.zeros((0, 1)))


# ------------------------------------------------------------------------ item 4: batch size
@pytest.mark.parametrize("batch_size", [-1, 0, 2.5, True, "8", float("inf")])
def test_predict_refuses_a_batch_size_that_is_not_a_positive_integer(batch_size):
    """The reproduction: predict(x, batch_size=-1) returned shape (0,) for 32 inputs."""
    model = one_output_model()
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        model.predict(np.zeros((32, 5, 2)), batch_size=batch_size)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        model.fit(*data(), batch_size=batch_size, verbose=0)


def test_predict_in_batches_gives_every_row_and_no_rows_give_an_empty_output():
    model = one_output_model()
    x = np.random.default_rng(0).random((32, 5, 2))
    whole = model.predict(x)
    assert whole.shape == (32, 1)
    np.testing.assert_allclose(model.predict(x, batch_size=5), whole, rtol=0, atol=1e-12)
    np.testing.assert_allclose(model.predict(x, batch_size=np.int64(7)), whole, rtol=0,
                               atol=1e-12)
    empty = model.predict(np.zeros((0, 5, 2)))
    assert empty.shape == (0, 1) and empty.dtype == np.float64


# ----------------------------------------------------------------- NaN and infinite values
@pytest.mark.parametrize("where", ["x", "y"])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_nan_or_infinite_data_is_named_up_front_not_blamed_on_the_learning_rate(where, value):
    """The reproduction: NaN in x or y was reported as "try a lower learning rate", and inf in
    x was accepted."""
    model = one_output_model()
    x, y = data()
    (x if where == "x" else y)[3] = value
    before = model.get_weights()
    for call in (lambda: model.fit(x, y, verbose=0), lambda: model.evaluate(x, y),
                 lambda: model.train_on_batch(x, y)):
        with pytest.raises(ValueError, match=rf"^{where} holds \d+ NaN or infinite value") as err:
            call()
        assert "learning rate" not in str(err.value)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    if where == "x":
        with pytest.raises(ValueError, match=r"x holds 10 NaN or infinite value\(s\) \(the "
                                             r"first at index \(3, 0, 0\)\); remove"):
            model.predict(x)


def test_values_too_large_for_float32_are_refused_in_a_float32_model():
    model = one_output_model(dtype="float32")
    x, y = data()
    x[0, 0, 0] = 1e300                                  # finite in float64, inf in float32
    with pytest.raises(ValueError, match=r"x holds 1 NaN .* index \(0, 0, 0\)\) after "
                                         "conversion to float32"):
        model.predict(x)
    x[0, 0, 0] = np.nan                                 # NaN from the start: no such note
    with pytest.raises(ValueError, match=r"index \(0, 0, 0\)\); remove"):
        model.predict(x)


def test_nan_in_validation_data_is_named():
    model = one_output_model()
    x, y = data()
    x_val = x[:3].copy()
    x_val[1, 2, 0] = np.nan
    with pytest.raises(ValueError, match=r"^validation x holds 1 NaN"):
        model.fit(x, y, validation_data=(x_val, y[:3]), verbose=0)


@pytest.mark.parametrize("x", [np.array([["a"]]), np.ones((2, 5, 2), complex),
                               np.ones((2, 5, 2), bool), [[1.0, 2.0], [3.0]]])
def test_inputs_that_are_not_real_numbers_are_refused(x):
    with pytest.raises(ValueError, match="x (must hold real numbers|is not a rectangular)"):
        one_output_model().predict(x)


# ------------------------------------------------------------------------------ empty sets
def test_empty_sets_are_refused_with_a_sentence_not_a_zero_division():
    model = one_output_model()
    x, y = data()
    with pytest.raises(ValueError, match="^x has no samples"):
        model.evaluate(x[:0], y[:0])
    with pytest.raises(ValueError, match="^x has no samples"):
        model.fit(x[:0], y[:0], verbose=0)
    with pytest.raises(ValueError, match="^validation x has no samples"):
        model.fit(x, y, validation_data=(x[:0], y[:0]), verbose=0)
    with pytest.raises(ValueError, match="leaves no sample for validation"):
        model.fit(x, y, validation_split=1e-17, verbose=0)
    with pytest.raises(ValueError, match="no training samples left"):
        model.fit(x[:1], y[:1], validation_split=0.5, verbose=0)


@pytest.mark.parametrize("epochs", [-1, 1.5, True, None])
def test_epochs_must_be_a_non_negative_integer(epochs):
    with pytest.raises(ValueError, match="epochs must be a non-negative integer"):
        one_output_model().fit(*data(), epochs=epochs, verbose=0)


# ---------------------------------------------------------------------- optimizer arguments
@pytest.mark.parametrize("make", [
    lambda: SGD(float("inf")), lambda: SGD(float("nan")), lambda: SGD(0.0), lambda: SGD(-0.1),
    lambda: SGD("0.1"), lambda: SGD(True), lambda: SGD(0.1, momentum=float("nan")),
    lambda: SGD(0.1, momentum=1.0), lambda: Adam(float("inf")), lambda: Adam(float("nan")),
    lambda: Adam(-1e-3), lambda: Adam(beta_1=float("nan")), lambda: Adam(beta_2=1.0),
    lambda: Adam(epsilon=0.0), lambda: Adam(epsilon=float("inf")), lambda: Adam(None),
])
def test_optimizers_refuse_non_finite_or_out_of_range_arguments(make):
    with pytest.raises(ValueError, match="must be"):
        make()


def test_optimizers_accept_numpy_numbers():
    assert SGD(np.float32(0.5)).learning_rate == 0.5
    assert Adam(np.float64(1e-3), beta_1=np.float32(0.5)).beta_1 == 0.5


# ------------------------------------------------------------------------------ set_weights
@pytest.mark.parametrize("bad, message", [
    (lambda w: w.astype(complex), "must hold real numbers, got dtype complex128"),
    (lambda w: np.full_like(w, np.nan), "holds .* NaN or infinite"),
    (lambda w: w.astype(object), "must hold real numbers, got dtype object"),
    (lambda w: w[:1], "has shape"),
])
def test_set_weights_refuses_what_a_model_file_may_not_hold_and_changes_nothing(bad, message):
    model = one_output_model()
    before = model.get_weights()
    weights = [w + 1 for w in before]
    weights[2] = bad(weights[2])
    with pytest.raises(ValueError, match=message):
        model.set_weights(weights)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_set_weights_takes_integer_weights_as_their_values():
    model = Sequential([Dense(1, input_shape=(2,))], dtype="float32")
    model.set_weights([np.array([[1], [2]], np.int64), np.array([3], np.int64)])
    assert model.predict(np.array([[1.0, 1.0]]))[0, 0] == 6.0
