"""lstm_np.inspect: the traced gates are the layers' own, and the per-step cell gradient is the
one backpropagation through time computes."""
import numpy as np
import pytest

from conftest import random_lstm_weights
from lstm_np import LSTM, Dense, Dropout, Sequential
from lstm_np.gates import gate_slice
from lstm_np.inspect import cell_gradient_norms, trace

N, T, D, H = 2, 4, 3, 5


def two_layer_model(rng):
    model = Sequential([LSTM(H, return_sequences=True, input_shape=(T, D)), Dropout(0.3),
                        LSTM(H + 1), Dense(1)], seed=0, dtype="float64")
    for layer in model.layers[::2][:2]:
        d = layer.params["kernel"].shape[0]
        for key, w in zip(layer.params, random_lstm_weights(rng, d, layer.units)):
            layer.params[key][...] = w
    return model


def test_trace_shapes_and_last_output(rng):
    model = two_layer_model(rng)
    x = rng.normal(size=(N, T, D))
    records = trace(model, x)
    assert len(records) == 2
    for record, units in zip(records, (H, H + 1)):
        assert set(record) == {"i", "f", "g", "o", "c", "h"}
        for name, array in record.items():
            assert array.shape == (N, T, units), name
    # the last LSTM's final h is what that layer outputs (dropout is off at inference)
    last_lstm = model.layers[2]
    y_lstm, _ = last_lstm.forward(records[0]["h"])
    np.testing.assert_array_equal(records[-1]["h"][:, -1], y_lstm)


def test_trace_reads_a_model_running_the_readable_cell_the_same(rng):
    model = two_layer_model(rng)
    readable = Sequential.from_config(model.get_config())
    for layer in readable.layers[::2][:2]:
        layer.implementation = "numpy"
    readable.set_weights(model.get_weights())
    x = rng.normal(size=(N, T, D))
    for ours, theirs in zip(trace(readable, x), trace(model, x)):
        assert set(ours) == set(theirs)
        for name in theirs:
            np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-12, atol=1e-14)


def test_traced_gates_obey_the_cell_equations(rng):
    model = two_layer_model(rng)
    for record in trace(model, rng.normal(size=(N, T, D))):
        for name in "ifo":
            assert np.all((record[name] > 0) & (record[name] < 1)), name
        assert np.all(np.abs(record["g"]) < 1)
        c_prev = np.concatenate([np.zeros_like(record["c"][:, :1]), record["c"][:, :-1]], axis=1)
        np.testing.assert_allclose(record["c"], record["f"] * c_prev + record["i"] * record["g"],
                                   rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(record["h"], record["o"] * np.tanh(record["c"]),
                                   rtol=1e-12, atol=1e-14)


def make_layer(rng, return_sequences=False, activation="tanh", recurrent_activation="sigmoid"):
    layer = LSTM(H, return_sequences=return_sequences, activation=activation,
                 recurrent_activation=recurrent_activation)
    layer.build((T, D), rng, "float64")
    for key, w in zip(layer.params, random_lstm_weights(rng, D, H)):
        layer.params[key][...] = w
    return layer


@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("activation,recurrent_activation",
                         [("tanh", "sigmoid"), ("relu", "hard_sigmoid")])
def test_cell_gradient_at_c0_equals_the_kernels_dc0(rng, return_sequences, activation,
                                                    recurrent_activation):
    layer = make_layer(rng, return_sequences, activation, recurrent_activation)
    x = rng.normal(size=(N, T, D))
    h0, c0 = rng.normal(size=(N, H)), rng.normal(size=(N, H))
    dy_last = rng.normal(size=(N, H))
    norms = cell_gradient_norms(layer, x, dy_last, initial_state=[h0, c0])
    assert norms.shape == (T,)

    y, cache = layer.forward(x, initial_state=[h0, c0])
    dy = dy_last
    if return_sequences:
        dy = np.zeros((N, T, H))
        dy[:, -1] = dy_last
    (_, _, dc0), _ = layer.backward(dy, cache)
    assert abs(norms[0] - np.linalg.norm(dc0)) < 1e-10
    # entry t is dc0 of the rest of the sequence started from the state (h_t, c_t)
    states = cache.batch_major()                            # h, c: (N, T, H), after each step
    for t in range(1, T):
        rest = LSTM(H, activation=activation, recurrent_activation=recurrent_activation)
        rest.build((T - t, D), np.random.default_rng(0), "float64")
        for key in layer.params:
            rest.params[key][...] = layer.params[key]
        _, rest_cache = rest.forward(x[:, t:], initial_state=[states["h"][:, t - 1],
                                                              states["c"][:, t - 1]])
        (_, _, dc_t), _ = rest.backward(dy_last, rest_cache)
        assert abs(norms[t] - np.linalg.norm(dc_t)) < 1e-10, t


def test_forget_bias_one_carries_the_gradient_further_back(rng):
    T_long = 30
    layer = LSTM(H)
    layer.build((T_long, 1), np.random.default_rng(0), "float64")   # Keras init, f bias 1
    x = rng.normal(size=(N, T_long, 1))
    with_bias = cell_gradient_norms(layer, x)
    layer.params["bias"][gate_slice("f", H)] = 0.0                     # same weights, f bias 0
    without_bias = cell_gradient_norms(layer, x)
    assert with_bias[0] > without_bias[0]
    assert with_bias[0] / with_bias[-1] > without_bias[0] / without_bias[-1]
