"""The GRU layer: its gradients are exact, its layout and initialisation are Keras's, and it sits
in a model, trains, saves and loads like the LSTM. That its two implementations (the readable
cell, the compiled kernels) agree is tested in tests/test_recurrent.py."""
import numpy as np
import pytest

import lstm_np
from lstm_np import GRU, Dense, Sequential
from lstm_np.gates import GRU_GATES, gate_slice
from lstm_np.gradcheck import numerical_gradient, relative_error

N, T, D, H = 2, 4, 3, 5     # small and all different, so a transposed axis cannot hide


@pytest.fixture
def rng():
    return np.random.default_rng(2014)


def make_layer(rng, dtype="float64", **kwargs):
    """A built GRU with asymmetric random weights and non-zero input and recurrent biases."""
    layer = GRU(H, **kwargs)
    layer.build((T, D), rng, dtype)
    for w in layer.params.values():
        w[...] = rng.normal(scale=0.5, size=w.shape)
    return layer


def numeric_gradient(loss, array, eps=4e-4):
    """Central differences at ``eps`` and ``eps / 2`` combined (Richardson) so that their O(eps²)
    errors cancel, leaving O(eps⁴). The large step keeps rounding in the loss (the kernels'
    activations are exact to ~1e-14, not to the last bit) far below the 1e-6 we check."""
    return (4 * numerical_gradient(loss, array, eps / 2) - numerical_gradient(loss, array, eps)) / 3


@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("activation,recurrent_activation",
                         [("tanh", "sigmoid"), ("relu", "hard_sigmoid"), ("linear", "tanh")])
def test_gradients_match_finite_differences(rng, return_sequences, activation,
                                             recurrent_activation):
    layer = make_layer(rng, return_sequences=return_sequences, activation=activation,
                       recurrent_activation=recurrent_activation)
    x = rng.normal(size=(N, T, D))
    h0 = rng.normal(size=(N, H))
    w_out = rng.normal(size=(N, T, H) if return_sequences else (N, H))   # L = Σ y * w_out

    def loss():
        return float(np.sum(layer.forward(x, initial_state=[h0])[0] * w_out))

    y, cache = layer.forward(x, initial_state=[h0])
    (dx, dh0), grads = layer.backward(w_out, cache)
    assert list(grads) == ["kernel", "recurrent_kernel", "bias"]
    for key, w in layer.params.items():
        assert relative_error(grads[key], numeric_gradient(loss, w)) < 1e-6, key
    for name, analytic, array in (("x", dx, x), ("h0", dh0, h0)):
        assert relative_error(analytic, numeric_gradient(loss, array)) < 1e-6, name


def test_gradients_without_bias(rng):
    layer = make_layer(rng, use_bias=False)
    assert list(layer.params) == ["kernel", "recurrent_kernel"]
    x, w_out = rng.normal(size=(N, T, D)), rng.normal(size=(N, H))

    def loss():
        return float(np.sum(layer.forward(x)[0] * w_out))

    dx, grads = layer.backward(w_out, layer.forward(x)[1])
    assert relative_error(dx, numeric_gradient(loss, x)) < 1e-6
    for key, w in layer.params.items():
        assert relative_error(grads[key], numeric_gradient(loss, w)) < 1e-6, key


def test_return_state_gradients(rng):
    layer = make_layer(rng, return_sequences=True, return_state=True)
    x, h0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H))
    w_y, w_h = rng.normal(size=(N, T, H)), rng.normal(size=(N, H))

    def loss():
        y, h = layer.forward(x, initial_state=h0)[0]       # a bare array works as well as [h0]
        return float(np.sum(y * w_y) + np.sum(h * w_h))

    (y, h), cache = layer.forward(x, initial_state=h0)
    np.testing.assert_array_equal(h, y[:, -1])
    (dx, dh0), grads = layer.backward([w_y, w_h], cache)
    for name, analytic, array in (("x", dx, x), ("h0", dh0, h0)):
        assert relative_error(analytic, numeric_gradient(loss, array)) < 1e-6, name
    for key, w in layer.params.items():
        assert relative_error(grads[key], numeric_gradient(loss, w)) < 1e-6, key


def test_float32_agrees_with_float64(rng):
    layer64 = make_layer(rng, return_sequences=True)
    layer32 = GRU(H, return_sequences=True)
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
    assert dx32.dtype == np.float32
    np.testing.assert_allclose(dx32, dx64, atol=1e-5)
    for key in g64:
        assert g32[key].dtype == np.float32
        np.testing.assert_allclose(g32[key], g64[key], atol=1e-5)


def test_keras_layout_and_initialisation(rng):
    layer = GRU(H, input_shape=(T, D))
    layer.build((T, D), rng, "float64")
    kernel, recurrent_kernel, bias = layer.weights
    assert kernel.shape == (D, 3 * H) and recurrent_kernel.shape == (H, 3 * H)
    assert bias.shape == (2, 3 * H)       # row 0 input bias, row 1 recurrent bias
    limit = np.sqrt(6 / (D + 3 * H))
    assert np.all(np.abs(kernel) <= limit) and np.abs(kernel).max() > 0.5 * limit
    # one orthogonal (H, 3H) matrix: its rows are orthonormal
    np.testing.assert_allclose(recurrent_kernel @ recurrent_kernel.T, np.eye(H), atol=1e-12)
    np.testing.assert_array_equal(bias, 0)


@pytest.mark.parametrize("use_bias,expected", [(True, 3 * H * (D + H) + 6 * H),
                                               (False, 3 * H * (D + H))])
def test_parameter_count_matches_keras(rng, use_bias, expected):
    layer = GRU(H, use_bias=use_bias)
    layer.build((T, D), rng, "float32")
    assert layer.count_params() == expected


def test_update_gate_one_copies_the_state(rng):
    """With z = 1 the new state is the old one, whatever the input: h_T = h_0."""
    layer = make_layer(rng)
    layer.params["kernel"][:, gate_slice("z", H, GRU_GATES)] = 0
    layer.params["recurrent_kernel"][:, gate_slice("z", H, GRU_GATES)] = 0
    layer.params["bias"][0, gate_slice("z", H, GRU_GATES)] = 1e3      # z = σ(1000) = 1
    h0 = rng.normal(size=(N, H))
    y, _ = layer.forward(rng.normal(size=(N, T, D)), initial_state=[h0])
    np.testing.assert_allclose(y, h0, atol=1e-12)


def test_batch_rows_are_independent(rng):
    layer = make_layer(rng, return_sequences=True)
    x = rng.normal(size=(3, T, D))
    y, _ = layer.forward(x)
    assert y.shape == (3, T, H)
    for k in range(3):
        np.testing.assert_allclose(layer.forward(x[k:k + 1])[0][0], y[k], atol=1e-12)


def test_trains_in_a_model_and_survives_save_and_load(rng, tmp_path):
    model = Sequential([GRU(H, return_sequences=True, input_shape=(T, D)), GRU(4), Dense(1)],
                       seed=0)
    assert [layer.name for layer in model.layers] == ["gru", "gru_1", "dense"]
    model.compile(optimizer="adam", loss="mse")
    x, y = rng.normal(size=(16, T, D)), rng.normal(size=(16, 1))
    history = model.fit(x, y, epochs=3, batch_size=8, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    model.save(tmp_path / "m.npz")
    loaded = lstm_np.load_model(tmp_path / "m.npz")
    assert [type(layer) for layer in loaded.layers] == [GRU, GRU, Dense]
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_invalid_arguments():
    with pytest.raises(ValueError, match="units"):
        GRU(0)
    with pytest.raises(ValueError, match="activation"):
        GRU(3, recurrent_activation="softmax")


def test_matches_torch_gru(rng):
    """PyTorch's nn.GRU is the same math: blocks r, z, n there are z, r, h here."""
    torch = pytest.importorskip("torch")
    layer = make_layer(rng, return_sequences=True, return_state=True)
    kernel, recurrent_kernel, bias = layer.weights
    torch_order = [gate_slice(g, H, GRU_GATES) for g in ("r", "z", "h")]
    gru = torch.nn.GRU(D, H, batch_first=True).double()
    with torch.no_grad():
        gru.weight_ih_l0.copy_(torch.tensor(
            np.concatenate([kernel[:, s] for s in torch_order], 1).T))
        gru.weight_hh_l0.copy_(torch.tensor(
            np.concatenate([recurrent_kernel[:, s] for s in torch_order], 1).T))
        gru.bias_ih_l0.copy_(torch.tensor(np.concatenate([bias[0, s] for s in torch_order])))
        gru.bias_hh_l0.copy_(torch.tensor(np.concatenate([bias[1, s] for s in torch_order])))
    x, h0 = rng.normal(size=(N, T, D)), rng.normal(size=(N, H))
    w_y, w_h = rng.normal(size=(N, T, H)), rng.normal(size=(N, H))
    (y, h_T), cache = layer.forward(x, initial_state=[h0])
    (dx, dh0), _ = layer.backward([w_y, w_h], cache)

    x_torch = torch.tensor(x, requires_grad=True)
    h0_torch = torch.tensor(h0[None], requires_grad=True)
    y_torch, h_torch = gru(x_torch, h0_torch)
    (torch.sum(y_torch * torch.tensor(w_y)) + torch.sum(h_torch[0] * torch.tensor(w_h))).backward()
    np.testing.assert_allclose(y, y_torch.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(h_T, h_torch[0].detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(dx, x_torch.grad.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(dh0, h0_torch.grad[0].numpy(), rtol=0, atol=1e-12)
