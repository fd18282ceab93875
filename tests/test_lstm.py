"""The LSTM layer: its gradients are exact, it is initialised as in Keras, and its gates behave
as the equations say. That its two implementations (the readable cell, the compiled kernels)
agree is tested for all three recurrent layers at once, in tests/test_recurrent.py."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import random_lstm_weights
from lstm_np import LSTM
from lstm_np.gradcheck import numerical_gradient, relative_error

N, T, D, H = 2, 4, 3, 5     # small and all different, so a transposed axis cannot hide


def make_layer(rng, dtype="float64", **kwargs):
    layer = LSTM(H, **kwargs)
    layer.build((T, D), rng, dtype)
    for key, w in zip(layer.params, random_lstm_weights(rng, D, H)):
        layer.params[key][...] = w
    return layer


@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("activation,recurrent_activation",
                         [("tanh", "sigmoid"), ("relu", "hard_sigmoid"), ("linear", "tanh")])
def test_gradients_match_finite_differences(rng, return_sequences, activation,
                                             recurrent_activation):
    layer = make_layer(rng, return_sequences=return_sequences, activation=activation,
                       recurrent_activation=recurrent_activation)
    x = rng.normal(size=(N, T, D))
    h0, c0 = rng.normal(size=(N, H)), rng.normal(size=(N, H))
    out_shape = (N, T, H) if return_sequences else (N, H)
    w_out = rng.normal(size=out_shape)          # a random weighted loss: L = Σ y * w_out

    def loss():
        return float(np.sum(layer.forward(x, initial_state=[h0, c0])[0] * w_out))

    y, cache = layer.forward(x, initial_state=[h0, c0])
    (dx, dh0, dc0), grads = layer.backward(w_out, cache)
    for key, w in layer.params.items():
        assert relative_error(grads[key], numerical_gradient(loss, w)) < 1e-6, key
    for name, analytic, array in (("x", dx, x), ("h0", dh0, h0), ("c0", dc0, c0)):
        assert relative_error(analytic, numerical_gradient(loss, array)) < 1e-6, name


def test_return_state_gradients(rng):
    layer = make_layer(rng, return_sequences=True, return_state=True)
    x = rng.normal(size=(N, T, D))
    w_y, w_h, w_c = rng.normal(size=(N, T, H)), rng.normal(size=(N, H)), rng.normal(size=(N, H))

    def loss():
        y, h, c = layer.forward(x)[0]
        return float(np.sum(y * w_y) + np.sum(h * w_h) + np.sum(c * w_c))

    (y, h, c), cache = layer.forward(x)
    np.testing.assert_array_equal(h, y[:, -1])
    dx, grads = layer.backward([w_y, w_h, w_c], cache)
    assert relative_error(dx, numerical_gradient(loss, x)) < 1e-6
    for key, w in layer.params.items():
        assert relative_error(grads[key], numerical_gradient(loss, w)) < 1e-6, key


def test_float32_agrees_with_float64(rng):
    layer64 = make_layer(rng, return_sequences=True)
    layer32 = LSTM(H, return_sequences=True)
    layer32.build((T, D), rng, "float32")
    for key in layer32.params:
        layer32.params[key][...] = layer64.params[key]
    x = rng.normal(size=(N, T, D))
    y64, cache64 = layer64.forward(x)
    y32, cache32 = layer32.forward(x.astype(np.float32))
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32, y64, atol=1e-5)
    dy = rng.normal(size=y64.shape)
    dx64, g64 = layer64.backward(dy, cache64)
    dx32, g32 = layer32.backward(dy.astype(np.float32), cache32)
    np.testing.assert_allclose(dx32, dx64, atol=1e-4)
    for key in g64:
        assert g32[key].dtype == np.float32
        np.testing.assert_allclose(g32[key], g64[key], atol=1e-4)


def test_keras_initialisation(rng):
    layer = LSTM(H, input_shape=(T, D))
    layer.build((T, D), rng, "float64")
    kernel, recurrent_kernel, bias = layer.weights
    limit = np.sqrt(6 / (D + 4 * H))
    assert np.all(np.abs(kernel) <= limit) and np.abs(kernel).max() > 0.5 * limit
    # one orthogonal (H, 4H) matrix: its rows are orthonormal
    np.testing.assert_allclose(recurrent_kernel @ recurrent_kernel.T, np.eye(H), atol=1e-12)
    np.testing.assert_array_equal(bias, np.r_[np.zeros(H), np.ones(H), np.zeros(2 * H)])
    no_forget = LSTM(H, unit_forget_bias=False)
    no_forget.build((T, D), rng, "float64")
    np.testing.assert_array_equal(no_forget.params["bias"], 0)


def test_forget_gate_one_and_input_gate_zero_copies_the_cell(rng):
    """With f = 1 and i = 0 the cell state is carried through time unchanged."""
    layer = make_layer(rng, return_state=True)
    layer.params["kernel"][...] = 0
    layer.params["recurrent_kernel"][...] = 0
    bias = layer.params["bias"]
    bias[:H], bias[H:2 * H] = -1e3, 1e3     # i = σ(-1000) = 0, f = σ(1000) = 1
    c0 = rng.normal(size=(N, H))
    (_, _, c_T), _ = layer.forward(rng.normal(size=(N, T, D)), initial_state=[np.zeros((N, H)), c0])
    np.testing.assert_allclose(c_T, c0, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 6), t=st.integers(1, 7), d=st.integers(1, 4), h=st.integers(1, 6),
       return_sequences=st.booleans())
def test_shapes_and_batch_independence(n, t, d, h, return_sequences):
    rng = np.random.default_rng(n * 1000 + t * 100 + d * 10 + h)
    layer = LSTM(h, return_sequences=return_sequences)
    layer.build((t, d), rng, "float64")
    x = rng.normal(size=(n, t, d))
    y, _ = layer.forward(x)
    assert y.shape == ((n, t, h) if return_sequences else (n, h))
    for k in range(n):   # each row of the batch is computed on its own
        np.testing.assert_allclose(layer.forward(x[k:k + 1])[0][0], y[k], atol=1e-12)
    assert np.all(np.abs(y) < 1)   # h = o * tanh(c) with o in (0, 1)


def test_invalid_arguments():
    with pytest.raises(ValueError, match="units"):
        LSTM(0)
    with pytest.raises(ValueError, match="activation"):
        LSTM(3, activation="softmax")
    with pytest.raises(ValueError, match="initializer"):
        LSTM(3, kernel_initializer="he_normal")
