"""Dense, Dropout, the losses and the optimizers, each against its definition."""
import numpy as np
import pytest

from lstm_np import SGD, Adam, Dense, Dropout
from lstm_np.gradcheck import numerical_gradient, relative_error
from lstm_np.losses import MeanAbsoluteError, MeanSquaredError


@pytest.mark.parametrize("activation", [None, "tanh", "sigmoid", "relu"])
@pytest.mark.parametrize("shape", [(2, 3), (2, 4, 3)])
def test_dense_gradients(rng, activation, shape):
    layer = Dense(5, activation=activation)
    layer.build(shape[1:], rng, "float64")
    layer.params["bias"][...] = rng.normal(size=5)
    x = rng.normal(size=shape)
    w_out = rng.normal(size=shape[:-1] + (5,))

    def loss():
        return float(np.sum(layer.forward(x)[0] * w_out))

    y, cache = layer.forward(x)
    assert y.shape == shape[:-1] + (5,)
    dx, grads = layer.backward(w_out, cache)
    assert relative_error(dx, numerical_gradient(loss, x)) < 1e-6
    for key, w in layer.params.items():
        assert relative_error(grads[key], numerical_gradient(loss, w)) < 1e-6, key


def test_dense_initialisation(rng):
    layer = Dense(7)
    layer.build((3,), rng, "float32")
    assert layer.params["kernel"].dtype == np.float32
    assert np.all(np.abs(layer.params["kernel"]) <= np.sqrt(6 / 10))
    np.testing.assert_array_equal(layer.params["bias"], 0)


def test_dropout_gradient_with_a_fixed_mask(rng):
    layer = Dropout(0.3)
    x = rng.normal(size=(4, 6, 3))
    _, mask = layer.forward(x, training=True, rng=rng)
    w_out = rng.normal(size=x.shape)

    def loss():
        return float(np.sum(layer.forward(x, mask=mask)[0] * w_out))

    dx, grads = layer.backward(w_out, mask)
    assert grads == {}
    assert relative_error(dx, numerical_gradient(loss, x)) < 1e-6


def test_dropout_is_inverted_and_off_at_inference(rng):
    layer = Dropout(0.2)
    x = np.ones((200, 60, 5))
    y, mask = layer.forward(x, training=True, rng=rng)
    kept = y != 0
    np.testing.assert_allclose(y[kept], 1 / 0.8)               # survivors scaled by 1/(1-rate)
    assert abs(kept.mean() - 0.8) < 0.01                       # keep probability 1 - rate
    assert not np.all(kept[:, 0] == kept[:, 1])                # a fresh mask per timestep
    np.testing.assert_array_equal(layer.forward(x, training=False)[0], x)
    with pytest.raises(ValueError):
        Dropout(1.0)


def test_losses_are_keras_means_and_their_gradients(rng):
    y_pred, y_true = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    mse, mae = MeanSquaredError().value_and_grad, MeanAbsoluteError().value_and_grad
    loss, dy = mse(y_true, y_pred)
    assert loss == pytest.approx(np.mean(np.mean((y_pred - y_true) ** 2, axis=-1)))
    assert relative_error(dy, numerical_gradient(lambda: mse(y_true, y_pred)[0], y_pred)) < 1e-6
    loss, dy = mae(y_true, y_pred)
    assert loss == pytest.approx(np.mean(np.abs(y_pred - y_true)))
    assert relative_error(dy, numerical_gradient(lambda: mae(y_true, y_pred)[0], y_pred)) < 1e-6


def test_adam_first_steps_match_the_closed_form(rng):
    w = rng.normal(size=(3, 4))
    grads = [rng.normal(size=(3, 4)) for _ in range(3)]
    opt = Adam()
    params = {"layer/kernel": w.copy()}
    b1, b2, eps, lr = 0.9, 0.999, 1e-7, 1e-3
    m = v = np.zeros_like(w)
    expected = w.copy()
    for t, g in enumerate(grads, start=1):
        opt.apply_gradients(params, {"layer/kernel": g})
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        # as real Keras 3 does: the betas of the bias correction pass through float32
        lr_t = lr * np.sqrt(1 - np.float32(b2).item() ** t) / (1 - np.float32(b1).item() ** t)
        expected = expected - lr_t * m / (np.sqrt(v) + eps)
        np.testing.assert_allclose(params["layer/kernel"], expected, rtol=0, atol=1e-12)
    # the first step of Adam moves every weight by about lr, whatever the gradient's size
    first = {"k": w.copy()}
    Adam(learning_rate=0.01).apply_gradients(first, {"k": np.sign(grads[0]) + grads[0]})
    np.testing.assert_allclose(np.abs(first["k"] - w), 0.01, rtol=1e-3)


def test_sgd_with_and_without_momentum(rng):
    w, g = rng.normal(size=5), rng.normal(size=5)
    params = {"w": w.copy()}
    SGD(learning_rate=0.1).apply_gradients(params, {"w": g})
    np.testing.assert_allclose(params["w"], w - 0.1 * g)
    opt, params = SGD(learning_rate=0.1, momentum=0.9), {"w": w.copy()}
    opt.apply_gradients(params, {"w": g})
    opt.apply_gradients(params, {"w": g})
    np.testing.assert_allclose(params["w"], w - 0.1 * g - (0.9 * 0.1 * g + 0.1 * g))


def test_optimizer_arguments_are_checked():
    with pytest.raises(ValueError):
        Adam(learning_rate=0)
    with pytest.raises(ValueError):
        SGD(momentum=1.5)


@pytest.mark.parametrize("make", [
    lambda: __import__("lstm_np").LSTM(4, "tanh", "sigmoid", True, "glorot_uniform"),
    lambda: __import__("lstm_np").GRU(4, "tanh", "sigmoid", True, "glorot_uniform"),
    lambda: __import__("lstm_np").SimpleRNN(4, "tanh", "yes"),
])
def test_a_string_where_a_flag_goes_is_refused(make):
    """Keras's fifth positional argument is kernel_initializer; here it is unit_forget_bias (LSTM)
    or reset_after (GRU). A string there must not silently become True."""
    with pytest.raises(TypeError, match="must be True or False"):
        make()


def test_flags_accept_numpy_and_0_1():
    import numpy as np
    from lstm_np import GRU, LSTM

    assert LSTM(3, unit_forget_bias=np.bool_(False)).cell.unit_forget_bias is False
    assert GRU(3, reset_after=0).cell.reset_after is False
